#include "delta/log/last_checkpoint.h"

#include "common/json_value.h"
#include "common/json_writer.h"

namespace nlk::delta {

namespace {

std::optional<int64_t> IntField(const JsonValue& object, std::string_view key) {
  const JsonValue* value = object.Find(key);
  if (value == nullptr || value->type() != JsonValue::Type::kInteger) return std::nullopt;
  return value->integer();
}

}  // namespace

arrow::Result<LastCheckpoint> ParseLastCheckpoint(std::string_view json) {
  auto parsed = ParseJson(json);
  if (!parsed.ok() || parsed->type() != JsonValue::Type::kObject) {
    return arrow::Status::Invalid("_delta_log/_last_checkpoint is not a JSON object");
  }
  const JsonValue& object = *parsed;
  LastCheckpoint last_checkpoint;
  auto version = IntField(object, "version");
  if (!version || *version < 0) {
    return arrow::Status::Invalid("_delta_log/_last_checkpoint has no valid 'version'");
  }
  last_checkpoint.version = *version;
  last_checkpoint.size = IntField(object, "size").value_or(0);
  last_checkpoint.parts = IntField(object, "parts");
  last_checkpoint.size_in_bytes = IntField(object, "sizeInBytes");
  last_checkpoint.num_of_add_files = IntField(object, "numOfAddFiles");
  return last_checkpoint;
}

std::string SerializeLastCheckpoint(const LastCheckpoint& last_checkpoint) {
  JsonWriter writer;
  writer.BeginObject();
  writer.Key("version");
  writer.Int(last_checkpoint.version);
  writer.Key("size");
  writer.Int(last_checkpoint.size);
  if (last_checkpoint.parts) {
    writer.Key("parts");
    writer.Int(*last_checkpoint.parts);
  }
  if (last_checkpoint.size_in_bytes) {
    writer.Key("sizeInBytes");
    writer.Int(*last_checkpoint.size_in_bytes);
  }
  if (last_checkpoint.num_of_add_files) {
    writer.Key("numOfAddFiles");
    writer.Int(*last_checkpoint.num_of_add_files);
  }
  writer.EndObject();
  return writer.Take();
}

}  // namespace nlk::delta
