#include "delta/data/deletion_vector_writer.h"

#include <arrow/buffer.h>

#include "common/json_value.h"
#include "common/json_writer.h"
#include "delta/data/uuid.h"

namespace nlk::delta::data {

DeletionVectorWriter::DeletionVectorWriter(std::shared_ptr<storage::ObjectStore> store,
                                           DeletionVectorWriteOptions options)
    : store_(std::move(store)), options_(options) {}

size_t DeletionVectorWriter::Add(const DeletionVector& vector) {
  serialized_.push_back(vector.Serialize());
  cardinalities_.push_back(static_cast<int64_t>(vector.Cardinality()));
  return serialized_.size() - 1;
}

arrow::Result<WrittenDeletionVectors> DeletionVectorWriter::Finish() {
  WrittenDeletionVectors written;
  written.descriptors.resize(serialized_.size());
  std::vector<size_t> in_file;
  for (size_t i = 0; i < serialized_.size(); ++i) {
    if (static_cast<int64_t>(serialized_[i].size()) <= options_.max_inline_bytes) {
      ARROW_ASSIGN_OR_RAISE(auto vector, DeletionVector::Deserialize(serialized_[i]));
      ARROW_ASSIGN_OR_RAISE(written.descriptors[i], InlineDescriptor(vector));
    } else {
      in_file.push_back(i);
    }
  }
  if (in_file.empty()) return written;

  std::vector<std::string> file_vectors;
  for (size_t i : in_file) file_vectors.push_back(serialized_[i]);
  std::vector<int32_t> offsets;
  std::string bytes = EncodeDeletionVectorFile(file_vectors, &offsets);
  const UuidBytes uuid = RandomUuid();
  const std::string path = "deletion_vector_" + UuidToString(uuid) + ".bin";
  ARROW_RETURN_NOT_OK(store_->Write(path, arrow::Buffer::FromString(std::move(bytes))));
  written.file_path = path;
  for (size_t k = 0; k < in_file.size(); ++k) {
    const size_t i = in_file[k];
    ARROW_ASSIGN_OR_RAISE(
        written.descriptors[i],
        RelativePathDescriptor(uuid, "", offsets[k], static_cast<int32_t>(serialized_[i].size()),
                               cardinalities_[i]));
  }
  return written;
}

arrow::Result<std::string> StatisticsWithWideBounds(const std::optional<std::string>& stats,
                                                    int64_t physical_rows) {
  std::string out = "{";
  bool has_records = false;
  if (stats && !stats->empty()) {
    ARROW_ASSIGN_OR_RAISE(JsonValue parsed, ParseJson(*stats));
    if (parsed.type() != JsonValue::Type::kObject) {
      return arrow::Status::Invalid("file statistics are not a JSON object: ", *stats);
    }
    for (const auto& [key, value] : parsed.object()) {
      if (key == "tightBounds") continue;
      has_records = has_records || key == "numRecords";
      AppendJsonString(&out, key);
      out += ":" + value.CompactRaw() + ",";
    }
  }
  if (!has_records) out += "\"numRecords\":" + std::to_string(physical_rows) + ",";
  return out + "\"tightBounds\":false}";
}

}  // namespace nlk::delta::data
