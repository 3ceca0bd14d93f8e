// The actions of the Delta transaction log (PROTOCOL.md, "Actions"), as plain values.
//
// Paths in AddFile/RemoveFile are stored decoded (the log holds them URI-encoded); the JSON
// codec in action_json.h encodes and decodes them. Values are immutable once built and safe to
// share between threads.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace nlk::delta {

// Partition values as the log stores them: the serialized string, or nullopt for null.
using PartitionValues = std::map<std::string, std::optional<std::string>>;
using StringMap = std::map<std::string, std::string>;

struct DeletionVectorDescriptor {
  // 'u': relative path derived from a UUID (Z85) with an optional random prefix;
  // 'i': the bitmap inline (Z85); 'p': an absolute path.
  char storage_type = 'u';
  std::string path_or_inline_dv;
  std::optional<int32_t> offset;  // absent for inline vectors
  int32_t size_in_bytes = 0;
  int64_t cardinality = 0;
  // Identifies the vector for reconciliation: storage_type + path_or_inline_dv (+ "@offset").
  std::string UniqueId() const {
    std::string id(1, storage_type);
    id += path_or_inline_dv;
    if (offset) id += "@" + std::to_string(*offset);
    return id;
  }
};

struct Protocol {
  int32_t min_reader_version = 1;
  int32_t min_writer_version = 2;
  // Present only when min_reader_version == 3 / min_writer_version == 7.
  std::optional<std::vector<std::string>> reader_features;
  std::optional<std::vector<std::string>> writer_features;
};

struct Metadata {
  std::string id;
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::string format_provider = "parquet";
  StringMap format_options;
  std::string schema_string;  // Delta schema JSON (PROTOCOL.md "Schema Serialization Format")
  std::vector<std::string> partition_columns;
  StringMap configuration;
  std::optional<int64_t> created_time;
};

struct AddFile {
  std::string path;  // decoded, relative to the table root (or absolute URI)
  PartitionValues partition_values;
  int64_t size = 0;
  int64_t modification_time = 0;
  bool data_change = true;
  std::optional<std::string> stats;  // raw stats JSON, parsed lazily by whoever needs it
  std::optional<StringMap> tags;
  std::optional<DeletionVectorDescriptor> deletion_vector;
  std::optional<int64_t> base_row_id;
  std::optional<int64_t> default_row_commit_version;
  std::optional<std::string> clustering_provider;
};

struct RemoveFile {
  std::string path;
  std::optional<int64_t> deletion_timestamp;
  bool data_change = true;
  std::optional<bool> extended_file_metadata;
  std::optional<PartitionValues> partition_values;
  std::optional<int64_t> size;
  std::optional<std::string> stats;  // JSON commits only; checkpoints drop it
  std::optional<StringMap> tags;
  std::optional<DeletionVectorDescriptor> deletion_vector;
  std::optional<int64_t> base_row_id;
  std::optional<int64_t> default_row_commit_version;
};

struct AddCdcFile {
  std::string path;
  PartitionValues partition_values;
  int64_t size = 0;
  bool data_change = false;
  std::optional<StringMap> tags;
};

// Idempotent-write marker ("txn" in the log).
struct SetTransaction {
  std::string app_id;
  int64_t version = 0;
  std::optional<int64_t> last_updated;
};

// commitInfo is free-form; we keep the raw JSON object and the fields we use.
struct CommitInfo {
  std::string json;  // the whole object, e.g. {"timestamp":...,"operation":"WRITE",...}
  std::optional<int64_t> timestamp;
  std::optional<int64_t> in_commit_timestamp;
  std::optional<std::string> operation;
  std::optional<bool> is_blind_append;
};

struct DomainMetadata {
  std::string domain;
  std::string configuration;
  bool removed = false;
};

struct CheckpointMetadata {
  int64_t version = 0;
  std::optional<StringMap> tags;
};

struct Sidecar {
  std::string path;  // relative to _delta_log/_sidecars/
  int64_t size_in_bytes = 0;
  int64_t modification_time = 0;
  std::optional<StringMap> tags;
};

// The primary key of a logical file (PROTOCOL.md "Action Reconciliation"): the path plus the
// deletion vector's unique id, or the path alone when there is no deletion vector.
inline std::string LogicalFileKey(const std::string& path,
                                  const std::optional<DeletionVectorDescriptor>& deletion_vector) {
  std::string key = path;
  key.push_back('\0');
  if (deletion_vector) key += deletion_vector->UniqueId();
  return key;
}

// The remove action that deletes `file` from the table, carrying its partition values, size and
// deletion vector (extendedFileMetadata) as Spark does so readers of the log need no lookup.
RemoveFile MakeRemoveFile(const AddFile& file, int64_t deletion_timestamp_ms,
                          bool data_change = true);

using Action = std::variant<Protocol, Metadata, AddFile, RemoveFile, AddCdcFile, SetTransaction,
                            CommitInfo, DomainMetadata, CheckpointMetadata, Sidecar>;

}  // namespace nlk::delta
