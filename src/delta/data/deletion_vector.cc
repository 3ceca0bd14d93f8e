#include "delta/data/deletion_vector.h"

#include <array>

#include "delta/data/z85.h"

namespace nlk::delta::data {
namespace {

constexpr uint32_t kRoaringBitmapArrayMagic = 1681511377;
// The older "native" RoaringBitmapArray layout, which the protocol's inline example uses: this
// magic, a bitmap count and per bitmap its size, all big endian; bitmap i holds high bits i.
constexpr uint32_t kNativeRoaringBitmapArrayMagic = 1681511376;
constexpr uint8_t kDeletionVectorFileVersion = 1;
// A Delta UUID in Z85 is 16 bytes -> 20 characters.
constexpr size_t kZ85UuidLength = 20;

constexpr std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t value = i;
    for (int bit = 0; bit < 8; ++bit) value = (value & 1) ? 0xEDB88320u ^ (value >> 1) : value >> 1;
    table[i] = value;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kCrcTable = MakeCrcTable();

uint32_t ReadLittleEndian32(const char* data) {
  uint32_t value = 0;
  for (int i = 3; i >= 0; --i) value = value << 8 | static_cast<unsigned char>(data[i]);
  return value;
}

uint64_t ReadLittleEndian64(const char* data) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = value << 8 | static_cast<unsigned char>(data[i]);
  return value;
}

uint32_t ReadBigEndian32(const uint8_t* data) {
  return uint32_t{data[0]} << 24 | uint32_t{data[1]} << 16 | uint32_t{data[2]} << 8 | data[3];
}

void AppendLittleEndian(uint64_t value, int bytes, std::string* out) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>(value >> (8 * i)));
}

void AppendBigEndian32(uint32_t value, std::string* out) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>(value >> shift));
}

std::string UuidText(const std::string& bytes) {
  UuidBytes uuid;
  for (size_t i = 0; i < uuid.size(); ++i) uuid[i] = static_cast<uint8_t>(bytes[i]);
  return UuidToString(uuid);
}

}  // namespace

uint32_t Crc32(std::string_view bytes) {
  uint32_t crc = 0xFFFFFFFFu;
  for (char c : bytes) crc = kCrcTable[(crc ^ static_cast<unsigned char>(c)) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

DeletionVector DeletionVector::FromRows(const std::vector<uint64_t>& rows) {
  DeletionVector vector;
  for (uint64_t row : rows) vector.Add(row);
  for (auto& [key, bitmap] : vector.buckets_) roaring_bitmap_run_optimize(bitmap.get());
  return vector;
}

void DeletionVector::Add(uint64_t row) {
  auto key = static_cast<uint32_t>(row >> 32);
  auto& bucket = buckets_[key];
  if (!bucket) bucket.reset(roaring_bitmap_create());
  roaring_bitmap_add(bucket.get(), static_cast<uint32_t>(row));
}

bool DeletionVector::Contains(uint64_t row) const {
  auto it = buckets_.find(static_cast<uint32_t>(row >> 32));
  return it != buckets_.end() &&
         roaring_bitmap_contains(it->second.get(), static_cast<uint32_t>(row));
}

uint64_t DeletionVector::Cardinality() const {
  uint64_t total = 0;
  for (const auto& [key, bitmap] : buckets_) total += roaring_bitmap_get_cardinality(bitmap.get());
  return total;
}

std::vector<uint64_t> DeletionVector::ToVector() const {
  std::vector<uint64_t> rows;
  rows.reserve(Cardinality());
  for (const auto& [key, bitmap] : buckets_) {
    roaring_uint32_iterator_t iterator;
    roaring_init_iterator(bitmap.get(), &iterator);
    while (iterator.has_value) {
      rows.push_back(uint64_t{key} << 32 | iterator.current_value);
      roaring_advance_uint32_iterator(&iterator);
    }
  }
  return rows;
}

std::vector<int64_t> DeletionVector::DeletedInRange(uint64_t start, int64_t length) const {
  std::vector<int64_t> offsets;
  if (length <= 0) return offsets;
  uint64_t end = start + static_cast<uint64_t>(length);  // exclusive
  for (auto it = buckets_.lower_bound(static_cast<uint32_t>(start >> 32)); it != buckets_.end();
       ++it) {
    uint64_t bucket_base = uint64_t{it->first} << 32;
    if (bucket_base >= end) break;
    roaring_uint32_iterator_t iterator;
    roaring_init_iterator(it->second.get(), &iterator);
    uint64_t first = std::max(start, bucket_base);
    roaring_move_uint32_iterator_equalorlarger(&iterator, static_cast<uint32_t>(first));
    while (iterator.has_value) {
      uint64_t row = bucket_base | iterator.current_value;
      if (row >= end) break;
      offsets.push_back(static_cast<int64_t>(row - start));
      roaring_advance_uint32_iterator(&iterator);
    }
  }
  return offsets;
}

std::string DeletionVector::Serialize() const {
  std::string bytes;
  AppendLittleEndian(kRoaringBitmapArrayMagic, 4, &bytes);
  uint64_t non_empty = 0;
  for (const auto& [key, bitmap] : buckets_) non_empty += !roaring_bitmap_is_empty(bitmap.get());
  AppendLittleEndian(non_empty, 8, &bytes);
  for (const auto& [key, bitmap] : buckets_) {
    if (roaring_bitmap_is_empty(bitmap.get())) continue;
    AppendLittleEndian(key, 4, &bytes);
    size_t offset = bytes.size();
    bytes.resize(offset + roaring_bitmap_portable_size_in_bytes(bitmap.get()));
    roaring_bitmap_portable_serialize(bitmap.get(), bytes.data() + offset);
  }
  return bytes;
}

arrow::Result<DeletionVector> DeletionVector::DeserializeNative(std::string_view bytes) {
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  uint32_t bitmap_count = ReadBigEndian32(data + 4);
  size_t position = 8;
  DeletionVector vector;
  for (uint32_t key = 0; key < bitmap_count; ++key) {
    if (bytes.size() - position < 4) {
      return arrow::Status::Invalid("deletion vector is truncated in bitmap ", key);
    }
    uint32_t size = ReadBigEndian32(data + position);
    position += 4;
    if (key & 0x80000000u || size > bytes.size() - position) {
      return arrow::Status::Invalid("deletion vector bitmap ", key, " is truncated");
    }
    Bitmap bitmap(roaring_bitmap_portable_deserialize_safe(bytes.data() + position, size));
    if (!bitmap || roaring_bitmap_portable_size_in_bytes(bitmap.get()) != size) {
      return arrow::Status::Invalid("deletion vector bitmap ", key,
                                    " is not a valid Roaring bitmap");
    }
    position += size;
    if (!roaring_bitmap_is_empty(bitmap.get())) vector.buckets_[key] = std::move(bitmap);
  }
  if (position != bytes.size()) {
    return arrow::Status::Invalid("deletion vector has ", bytes.size() - position,
                                  " trailing bytes");
  }
  return vector;
}

arrow::Result<DeletionVector> DeletionVector::Deserialize(std::string_view bytes) {
  if (bytes.size() < 12) {
    return arrow::Status::Invalid("deletion vector is truncated: ", bytes.size(),
                                  " bytes, need at least 12");
  }
  uint32_t magic = ReadLittleEndian32(bytes.data());
  if (ReadBigEndian32(reinterpret_cast<const uint8_t*>(bytes.data())) ==
      kNativeRoaringBitmapArrayMagic) {
    return DeserializeNative(bytes);
  }
  if (magic != kRoaringBitmapArrayMagic) {
    return arrow::Status::Invalid("deletion vector has magic number ", magic, ", expected ",
                                  kRoaringBitmapArrayMagic, " (portable RoaringBitmapArray)");
  }
  uint64_t bucket_count = ReadLittleEndian64(bytes.data() + 4);
  size_t position = 12;
  DeletionVector vector;
  int64_t previous_key = -1;
  for (uint64_t i = 0; i < bucket_count; ++i) {
    if (bytes.size() - position < 4) {
      return arrow::Status::Invalid("deletion vector is truncated in bucket ", i);
    }
    uint32_t key = ReadLittleEndian32(bytes.data() + position);
    position += 4;
    if (key & 0x80000000u) {
      return arrow::Status::Invalid("deletion vector bucket key ", key,
                                    " has its most significant bit set");
    }
    if (static_cast<int64_t>(key) <= previous_key) {
      return arrow::Status::Invalid("deletion vector bucket keys are not ascending");
    }
    previous_key = key;
    const char* data = bytes.data() + position;
    size_t available = bytes.size() - position;
    size_t size = roaring_bitmap_portable_deserialize_size(data, available);
    if (size == 0) {
      return arrow::Status::Invalid("deletion vector bucket ", i, " is not a valid Roaring bitmap");
    }
    Bitmap bitmap(roaring_bitmap_portable_deserialize_safe(data, available));
    if (!bitmap) {
      return arrow::Status::Invalid("deletion vector bucket ", i, " is not a valid Roaring bitmap");
    }
    position += size;
    vector.buckets_[key] = std::move(bitmap);
  }
  if (position != bytes.size()) {
    return arrow::Status::Invalid("deletion vector has ", bytes.size() - position,
                                  " trailing bytes");
  }
  return vector;
}

arrow::Result<std::string> DeletionVectorPath(const DeletionVectorDescriptor& descriptor,
                                              const std::string& table_root_uri) {
  const std::string& stored = descriptor.path_or_inline_dv;
  if (descriptor.storage_type == 'u') {
    if (stored.size() < kZ85UuidLength) {
      return arrow::Status::Invalid("deletion vector path '", stored,
                                    "' is shorter than a Z85 UUID (20 characters)");
    }
    std::string_view prefix(stored.data(), stored.size() - kZ85UuidLength);
    ARROW_ASSIGN_OR_RAISE(std::string uuid_bytes,
                          Z85Decode(std::string_view(stored).substr(prefix.size())));
    std::string file_name = "deletion_vector_" + UuidText(uuid_bytes) + ".bin";
    if (prefix.empty()) return file_name;
    return std::string(prefix) + "/" + file_name;
  }
  if (descriptor.storage_type == 'p') {
    // Compare without scheme decorations: "file:///t", "file:/t" and "/t" name the same root.
    auto strip = [](std::string_view uri) {
      for (std::string_view scheme : {"file://", "file:"}) {
        if (uri.starts_with(scheme)) {
          uri.remove_prefix(scheme.size());
          break;
        }
      }
      while (uri.size() > 1 && uri.back() == '/') uri.remove_suffix(1);
      return std::string(uri);
    };
    std::string root = strip(table_root_uri);
    std::string path = strip(stored);
    if (path.size() > root.size() + 1 && path.starts_with(root) && path[root.size()] == '/') {
      return path.substr(root.size() + 1);
    }
    return arrow::Status::NotImplemented("deletion vector at absolute path '", stored,
                                         "' lies outside the table root '", table_root_uri, "'");
  }
  return arrow::Status::Invalid("deletion vector storage type '",
                                std::string(1, descriptor.storage_type),
                                "' has no path (expected 'u' or 'p')");
}

arrow::Result<DeletionVector> LoadDeletionVector(storage::ObjectStore& store,
                                                 const DeletionVectorDescriptor& descriptor) {
  if (descriptor.size_in_bytes < 0) {
    return arrow::Status::Invalid("deletion vector has negative sizeInBytes");
  }
  std::string where;
  DeletionVector vector;
  if (descriptor.storage_type == 'i') {
    where = "inline deletion vector";
    ARROW_ASSIGN_OR_RAISE(std::string bytes, Z85Decode(descriptor.path_or_inline_dv));
    if (bytes.size() < static_cast<size_t>(descriptor.size_in_bytes)) {
      return arrow::Status::Invalid(where, " decodes to ", bytes.size(),
                                    " bytes, fewer than its sizeInBytes ",
                                    descriptor.size_in_bytes);
    }
    bytes.resize(descriptor.size_in_bytes);  // drop the Z85 padding
    auto parsed = DeletionVector::Deserialize(bytes);
    if (!parsed.ok()) return parsed.status().WithMessage(where, ": ", parsed.status().message());
    vector = std::move(*parsed);
  } else {
    ARROW_ASSIGN_OR_RAISE(std::string path, DeletionVectorPath(descriptor, store.root_uri()));
    where = "deletion vector file '" + path + "'";
    // The protocol reads an absent offset as 0; writers always record it.
    int64_t offset = descriptor.offset.value_or(0);
    auto version = store.ReadRange(path, 0, 1);
    if (!version.ok()) {
      return version.status().WithMessage("cannot read ", where, ": ", version.status().message());
    }
    if ((*version)->size() != 1 || (*version)->data()[0] != kDeletionVectorFileVersion) {
      return arrow::Status::Invalid(where, " has an unknown format version (expected 1)");
    }
    int64_t length = 4 + int64_t{descriptor.size_in_bytes} + 4;
    auto range = store.ReadRange(path, offset, length);
    if (!range.ok()) {
      return range.status().WithMessage("cannot read ", where, ": ", range.status().message());
    }
    const auto& buffer = *range;
    if (buffer->size() != length) {
      return arrow::Status::Invalid(where, " is truncated: wanted ", length, " bytes at offset ",
                                    offset, ", got ", buffer->size());
    }
    uint32_t stored_size = ReadBigEndian32(buffer->data());
    if (stored_size != static_cast<uint32_t>(descriptor.size_in_bytes)) {
      return arrow::Status::Invalid(where, " stores a vector of ", stored_size, " bytes at offset ",
                                    offset, " but the log says ", descriptor.size_in_bytes);
    }
    std::string_view bytes(reinterpret_cast<const char*>(buffer->data()) + 4, stored_size);
    uint32_t checksum = ReadBigEndian32(buffer->data() + 4 + stored_size);
    if (Crc32(bytes) != checksum) {
      return arrow::Status::Invalid(where, " fails its CRC-32 checksum at offset ", offset,
                                    ": the file is corrupt");
    }
    auto parsed = DeletionVector::Deserialize(bytes);
    if (!parsed.ok()) return parsed.status().WithMessage(where, ": ", parsed.status().message());
    vector = std::move(*parsed);
  }
  if (vector.Cardinality() != static_cast<uint64_t>(descriptor.cardinality)) {
    return arrow::Status::Invalid(where, " holds ", vector.Cardinality(),
                                  " rows but the log says cardinality ", descriptor.cardinality);
  }
  return vector;
}

std::string EncodeDeletionVectorFile(const std::vector<std::string>& serialized_vectors,
                                     std::vector<int32_t>* offsets) {
  std::string file(1, static_cast<char>(kDeletionVectorFileVersion));
  offsets->clear();
  for (const auto& bytes : serialized_vectors) {
    offsets->push_back(static_cast<int32_t>(file.size()));
    AppendBigEndian32(static_cast<uint32_t>(bytes.size()), &file);
    file += bytes;
    AppendBigEndian32(Crc32(bytes), &file);
  }
  return file;
}

arrow::Result<DeletionVectorDescriptor> RelativePathDescriptor(const UuidBytes& uuid,
                                                               std::string_view prefix,
                                                               int32_t offset,
                                                               int32_t size_in_bytes,
                                                               int64_t cardinality) {
  ARROW_ASSIGN_OR_RAISE(
      std::string encoded,
      Z85Encode(std::string_view(reinterpret_cast<const char*>(uuid.data()), uuid.size())));
  DeletionVectorDescriptor descriptor;
  descriptor.storage_type = 'u';
  descriptor.path_or_inline_dv = std::string(prefix) + encoded;
  descriptor.offset = offset;
  descriptor.size_in_bytes = size_in_bytes;
  descriptor.cardinality = cardinality;
  return descriptor;
}

arrow::Result<DeletionVectorDescriptor> InlineDescriptor(const DeletionVector& vector) {
  std::string bytes = vector.Serialize();
  auto size = static_cast<int32_t>(bytes.size());
  bytes.resize((bytes.size() + 3) / 4 * 4, '\0');
  DeletionVectorDescriptor descriptor;
  descriptor.storage_type = 'i';
  ARROW_ASSIGN_OR_RAISE(descriptor.path_or_inline_dv, Z85Encode(bytes));
  descriptor.size_in_bytes = size;
  descriptor.cardinality = static_cast<int64_t>(vector.Cardinality());
  return descriptor;
}

}  // namespace nlk::delta::data
