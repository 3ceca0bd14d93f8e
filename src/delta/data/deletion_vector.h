// Deletion vectors (PROTOCOL.md "Deletion Vectors", Appendix "Deletion Vector Format" and
// "Deletion Vector File Storage Format"): loading the set of deleted row indexes a
// DeletionVectorDescriptor points at, and encoding them for writers and tests.
#pragma once

#include <arrow/result.h>
#include <roaring/roaring.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "delta/data/uuid.h"
#include "delta/log/actions.h"
#include "storage/object_store.h"

namespace nlk::delta::data {

// A set of 64-bit row indexes: 32-bit Roaring bitmaps keyed by the high 32 bits, the layout of
// Delta's RoaringBitmapArray.
//
// Thread-safety: const methods may be called concurrently; mutation needs exclusive access.
class DeletionVector {
 public:
  DeletionVector() = default;
  DeletionVector(DeletionVector&&) = default;
  DeletionVector& operator=(DeletionVector&&) = default;

  static DeletionVector FromRows(const std::vector<uint64_t>& rows);

  void Add(uint64_t row);
  bool Contains(uint64_t row) const;
  uint64_t Cardinality() const;
  std::vector<uint64_t> ToVector() const;
  // Offsets (relative to `start`) of the deleted rows in [start, start + length), ascending.
  std::vector<int64_t> DeletedInRange(uint64_t start, int64_t length) const;

  // The serialized RoaringBitmapArray: magic number 1681511377 (little endian), then the
  // portable 64-bit Roaring format (bucket count as 8 bytes, then per bucket a 4-byte key and a
  // portable 32-bit bitmap).
  std::string Serialize() const;
  // Reads the portable layout above, and also the older "native" layout (big-endian magic
  // 1681511376, a bitmap count, then size-prefixed bitmaps) used by the protocol's own example.
  static arrow::Result<DeletionVector> Deserialize(std::string_view bytes);

 private:
  struct BitmapDeleter {
    void operator()(roaring_bitmap_t* bitmap) const { roaring_bitmap_free(bitmap); }
  };
  using Bitmap = std::unique_ptr<roaring_bitmap_t, BitmapDeleter>;
  static arrow::Result<DeletionVector> DeserializeNative(std::string_view bytes);
  std::map<uint32_t, Bitmap> buckets_;
};

// The CRC-32 (IEEE 802.3, as java.util.zip.CRC32) of `bytes`.
uint32_t Crc32(std::string_view bytes);

// Where a storageType 'u' or 'p' vector lives, relative to the table root:
// "<prefix>/deletion_vector_<uuid>.bin" for 'u'; for 'p' the absolute path with the store's root
// removed (a path outside the table is an error).
arrow::Result<std::string> DeletionVectorPath(const DeletionVectorDescriptor& descriptor,
                                              const std::string& table_root_uri);

// Loads the deleted rows a descriptor points at: inline ('i', Z85) or from a file ('u', 'p'),
// verifying the version byte, the size, the CRC-32 checksum and the cardinality. A corrupt or
// missing vector is an error naming the file.
arrow::Result<DeletionVector> LoadDeletionVector(storage::ObjectStore& store,
                                                 const DeletionVectorDescriptor& descriptor);

// ---- writing (used by DELETE/UPDATE and tests) ----

// A deletion vector file holding `vectors` in order: version byte 1, then per vector its size
// (big endian), its serialized bytes and their CRC-32 (big endian). `offsets` receives each
// vector's offset (where its size field starts), for the descriptors.
std::string EncodeDeletionVectorFile(const std::vector<std::string>& serialized_vectors,
                                     std::vector<int32_t>* offsets);

// A descriptor for a vector stored at `offset` in "<prefix>/deletion_vector_<uuid>.bin".
arrow::Result<DeletionVectorDescriptor> RelativePathDescriptor(const UuidBytes& uuid,
                                                               std::string_view prefix,
                                                               int32_t offset,
                                                               int32_t size_in_bytes,
                                                               int64_t cardinality);

// A descriptor holding `vector` inline (Z85, padded to 4 bytes).
arrow::Result<DeletionVectorDescriptor> InlineDescriptor(const DeletionVector& vector);

}  // namespace nlk::delta::data
