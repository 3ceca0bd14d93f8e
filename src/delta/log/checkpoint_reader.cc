#include "delta/log/checkpoint_reader.h"

#include <arrow/array.h>
#include <arrow/memory_pool.h>
#include <arrow/record_batch.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/schema.h>

#include <numeric>

#include "delta/log/action_json.h"
#include "delta/log/log_error.h"
#include "delta/log/path_encoding.h"

namespace nlk::delta {

namespace {

const std::set<std::string> kAllActionColumns = {
    "add", "remove",         "metaData",           "protocol",
    "txn", "domainMetadata", "checkpointMetadata", "sidecar"};

// Typed, null-tolerant access to one row of a struct column.
class Row {
 public:
  Row(const arrow::StructArray* array, int64_t index) : array_(array), index_(index) {}

  const arrow::Array* Child(std::string_view name) const {
    if (array_ == nullptr) return nullptr;
    const int field = array_->struct_type()->GetFieldIndex(std::string(name));
    return field < 0 ? nullptr : array_->field(field).get();
  }

  bool Has(std::string_view name) const {
    const arrow::Array* child = Child(name);
    return child != nullptr && child->IsValid(index_);
  }

  std::optional<std::string> String(std::string_view name) const {
    const arrow::Array* child = Child(name);
    if (child == nullptr || child->IsNull(index_)) return std::nullopt;
    return StringValue(*child, index_);
  }

  std::optional<int64_t> Int(std::string_view name) const {
    const arrow::Array* child = Child(name);
    if (child == nullptr || child->IsNull(index_)) return std::nullopt;
    switch (child->type_id()) {
      case arrow::Type::INT64:
        return static_cast<const arrow::Int64Array*>(child)->Value(index_);
      case arrow::Type::INT32:
        return static_cast<const arrow::Int32Array*>(child)->Value(index_);
      case arrow::Type::INT16:
        return static_cast<const arrow::Int16Array*>(child)->Value(index_);
      case arrow::Type::INT8:
        return static_cast<const arrow::Int8Array*>(child)->Value(index_);
      default:
        return std::nullopt;
    }
  }

  std::optional<bool> Bool(std::string_view name) const {
    const arrow::Array* child = Child(name);
    if (child == nullptr || child->IsNull(index_) || child->type_id() != arrow::Type::BOOL) {
      return std::nullopt;
    }
    return static_cast<const arrow::BooleanArray*>(child)->Value(index_);
  }

  std::optional<PartitionValues> Map(std::string_view name) const {
    const arrow::Array* child = Child(name);
    if (child == nullptr || child->IsNull(index_) || child->type_id() != arrow::Type::MAP) {
      return std::nullopt;
    }
    const auto* map = static_cast<const arrow::MapArray*>(child);
    PartitionValues values;
    const int64_t begin = map->value_offset(index_);
    const int64_t end = map->value_offset(index_ + 1);
    for (int64_t i = begin; i < end; ++i) {
      auto key = StringValue(*map->keys(), i);
      if (!key) continue;
      values.emplace(std::move(*key),
                     map->items()->IsNull(i) ? std::nullopt : StringValue(*map->items(), i));
    }
    return values;
  }

  std::optional<StringMap> NonNullMap(std::string_view name) const {
    auto nullable = Map(name);
    if (!nullable) return std::nullopt;
    StringMap map;
    for (auto& [key, value] : *nullable) {
      if (value) map.emplace(key, std::move(*value));
    }
    return map;
  }

  std::optional<std::vector<std::string>> Strings(std::string_view name) const {
    const arrow::Array* child = Child(name);
    if (child == nullptr || child->IsNull(index_) || child->type_id() != arrow::Type::LIST) {
      return std::nullopt;
    }
    const auto* list = static_cast<const arrow::ListArray*>(child);
    std::vector<std::string> strings;
    for (int64_t i = list->value_offset(index_); i < list->value_offset(index_ + 1); ++i) {
      if (auto text = StringValue(*list->values(), i)) strings.push_back(std::move(*text));
    }
    return strings;
  }

  std::optional<Row> Struct(std::string_view name) const {
    const arrow::Array* child = Child(name);
    if (child == nullptr || child->IsNull(index_) || child->type_id() != arrow::Type::STRUCT) {
      return std::nullopt;
    }
    return Row(static_cast<const arrow::StructArray*>(child), index_);
  }

 private:
  static std::optional<std::string> StringValue(const arrow::Array& array, int64_t index) {
    if (array.IsNull(index)) return std::nullopt;
    switch (array.type_id()) {
      case arrow::Type::STRING:
        return static_cast<const arrow::StringArray&>(array).GetString(index);
      case arrow::Type::LARGE_STRING:
        return static_cast<const arrow::LargeStringArray&>(array).GetString(index);
      case arrow::Type::BINARY:
        return static_cast<const arrow::BinaryArray&>(array).GetString(index);
      case arrow::Type::STRING_VIEW:
        return std::string(static_cast<const arrow::StringViewArray&>(array).GetView(index));
      default:
        return std::nullopt;
    }
  }

  const arrow::StructArray* array_;
  int64_t index_;
};

class RowDecoder {
 public:
  RowDecoder(std::string path) : path_(std::move(path)) {}

  arrow::Status Missing(std::string_view column, std::string_view field, int64_t row) const {
    return LogError(LogErrorKind::kCorruptLog,
                    "Invalid checkpoint " + path_ + ": row " + std::to_string(row) + " has a '" +
                        std::string(column) + "' action without the required field '" +
                        std::string(field) + "'");
  }

  static std::optional<DeletionVectorDescriptor> DeletionVector(const Row& row) {
    auto dv = row.Struct("deletionVector");
    if (!dv) return std::nullopt;
    DeletionVectorDescriptor descriptor;
    const auto storage_type = dv->String("storageType").value_or("u");
    descriptor.storage_type = storage_type.empty() ? 'u' : storage_type[0];
    descriptor.path_or_inline_dv = dv->String("pathOrInlineDv").value_or("");
    if (auto offset = dv->Int("offset")) descriptor.offset = static_cast<int32_t>(*offset);
    descriptor.size_in_bytes = static_cast<int32_t>(dv->Int("sizeInBytes").value_or(0));
    descriptor.cardinality = dv->Int("cardinality").value_or(0);
    return descriptor;
  }

  arrow::Result<Action> Decode(std::string_view column, const Row& row, int64_t index) const {
    if (column == "add") {
      AddFile add;
      auto path = row.String("path");
      if (!path) return Missing(column, "path", index);
      add.path = DecodeLogPath(*path);
      add.partition_values = row.Map("partitionValues").value_or(PartitionValues{});
      add.size = row.Int("size").value_or(0);
      add.modification_time = row.Int("modificationTime").value_or(0);
      add.data_change = row.Bool("dataChange").value_or(false);
      add.stats = row.String("stats");
      add.tags = row.NonNullMap("tags");
      add.deletion_vector = DeletionVector(row);
      add.base_row_id = row.Int("baseRowId");
      add.default_row_commit_version = row.Int("defaultRowCommitVersion");
      add.clustering_provider = row.String("clusteringProvider");
      return add;
    }
    if (column == "remove") {
      RemoveFile remove;
      auto path = row.String("path");
      if (!path) return Missing(column, "path", index);
      remove.path = DecodeLogPath(*path);
      remove.deletion_timestamp = row.Int("deletionTimestamp");
      remove.data_change = row.Bool("dataChange").value_or(false);
      remove.extended_file_metadata = row.Bool("extendedFileMetadata");
      remove.partition_values = row.Map("partitionValues");
      remove.size = row.Int("size");
      remove.deletion_vector = DeletionVector(row);
      remove.base_row_id = row.Int("baseRowId");
      remove.default_row_commit_version = row.Int("defaultRowCommitVersion");
      return remove;
    }
    if (column == "metaData") {
      Metadata metadata;
      auto id = row.String("id");
      if (!id) return Missing(column, "id", index);
      metadata.id = std::move(*id);
      metadata.name = row.String("name");
      metadata.description = row.String("description");
      if (auto format = row.Struct("format")) {
        metadata.format_provider = format->String("provider").value_or("parquet");
        metadata.format_options = format->NonNullMap("options").value_or(StringMap{});
      }
      auto schema = row.String("schemaString");
      if (!schema) return Missing(column, "schemaString", index);
      metadata.schema_string = std::move(*schema);
      metadata.partition_columns =
          row.Strings("partitionColumns").value_or(std::vector<std::string>{});
      metadata.configuration = row.NonNullMap("configuration").value_or(StringMap{});
      metadata.created_time = row.Int("createdTime");
      return metadata;
    }
    if (column == "protocol") {
      Protocol protocol;
      auto reader_version = row.Int("minReaderVersion");
      auto writer_version = row.Int("minWriterVersion");
      if (!reader_version) return Missing(column, "minReaderVersion", index);
      if (!writer_version) return Missing(column, "minWriterVersion", index);
      protocol.min_reader_version = static_cast<int32_t>(*reader_version);
      protocol.min_writer_version = static_cast<int32_t>(*writer_version);
      protocol.reader_features = row.Strings("readerFeatures");
      protocol.writer_features = row.Strings("writerFeatures");
      return protocol;
    }
    if (column == "txn") {
      SetTransaction txn;
      auto app_id = row.String("appId");
      if (!app_id) return Missing(column, "appId", index);
      txn.app_id = std::move(*app_id);
      txn.version = row.Int("version").value_or(0);
      txn.last_updated = row.Int("lastUpdated");
      return txn;
    }
    if (column == "domainMetadata") {
      DomainMetadata domain;
      auto name = row.String("domain");
      if (!name) return Missing(column, "domain", index);
      domain.domain = std::move(*name);
      domain.configuration = row.String("configuration").value_or("");
      domain.removed = row.Bool("removed").value_or(false);
      return domain;
    }
    if (column == "checkpointMetadata") {
      CheckpointMetadata metadata;
      metadata.version = row.Int("version").value_or(0);
      metadata.tags = row.NonNullMap("tags");
      return metadata;
    }
    Sidecar sidecar;
    auto path = row.String("path");
    if (!path) return Missing(column, "path", index);
    sidecar.path = DecodeLogPath(*path);
    sidecar.size_in_bytes = row.Int("sizeInBytes").value_or(0);
    sidecar.modification_time = row.Int("modificationTime").value_or(0);
    sidecar.tags = row.NonNullMap("tags");
    return sidecar;
  }

 private:
  std::string path_;
};

// Leaf column indices under `field`, leaving out the derived *_parsed structs.
void CollectLeaves(const parquet::arrow::SchemaField& field, bool top_level,
                   std::vector<int>* leaves) {
  if (!top_level) {
    const std::string& name = field.field->name();
    if (name == "stats_parsed" || name == "partitionValues_parsed") return;
  }
  if (field.is_leaf()) {
    leaves->push_back(field.column_index);
    return;
  }
  for (const auto& child : field.children) CollectLeaves(child, false, leaves);
}

}  // namespace

std::string SidecarPath(const Sidecar& sidecar) {
  // Sidecars always live in _delta_log/_sidecars; writers should store the bare file name, and
  // for a longer path only the name identifies the file inside that directory.
  const size_t slash = sidecar.path.rfind('/');
  const std::string name =
      slash == std::string::npos ? sidecar.path : sidecar.path.substr(slash + 1);
  return std::string(kSidecarDirectory) + name;
}

arrow::Status ReadCheckpointParquet(storage::ObjectStore& store, const std::string& path,
                                    const std::set<std::string>& columns, const ActionSink& sink) {
  ARROW_ASSIGN_OR_RAISE(auto file, store.OpenForRead(path));
  // Checkpoint columns are decoded, turned into actions and dropped at once; the system
  // allocator returns that transient memory for the actions built next, where the default
  // pool (mimalloc) would keep it and raise the peak of loading a large table by ~40%.
  auto opened = parquet::arrow::OpenFile(file, arrow::system_memory_pool());
  if (!opened.ok()) {
    return LogError(LogErrorKind::kCorruptLog,
                    "Cannot read checkpoint " + path + " as Parquet: " + opened.status().message());
  }
  std::unique_ptr<parquet::arrow::FileReader> reader = std::move(opened).ValueUnsafe();
  std::vector<int> leaves;
  for (const auto& field : reader->manifest().schema_fields) {
    if (columns.count(field.field->name()) > 0) CollectLeaves(field, true, &leaves);
  }
  if (leaves.empty()) return arrow::Status::OK();
  std::vector<int> row_groups(reader->num_row_groups());
  std::iota(row_groups.begin(), row_groups.end(), 0);
  auto batches = reader->GetRecordBatchReader(row_groups, leaves);
  if (!batches.ok()) {
    return LogError(LogErrorKind::kCorruptLog,
                    "Cannot read checkpoint " + path + ": " + batches.status().message());
  }
  const RowDecoder decoder(path);
  int64_t row_base = 0;
  while (true) {
    std::shared_ptr<arrow::RecordBatch> batch;
    auto status = (*batches)->ReadNext(&batch);
    if (!status.ok()) {
      return LogError(LogErrorKind::kCorruptLog,
                      "Cannot read checkpoint " + path + ": " + status.message());
    }
    if (batch == nullptr) break;
    for (int column = 0; column < batch->num_columns(); ++column) {
      const std::string& name = batch->schema()->field(column)->name();
      const auto& array = batch->column(column);
      if (columns.count(name) == 0 || array->type_id() != arrow::Type::STRUCT) continue;
      const auto* structs = static_cast<const arrow::StructArray*>(array.get());
      for (int64_t row = 0; row < structs->length(); ++row) {
        if (structs->IsNull(row)) continue;
        ARROW_ASSIGN_OR_RAISE(auto action, decoder.Decode(name, Row(structs, row), row_base + row));
        ARROW_RETURN_NOT_OK(sink(std::move(action)));
      }
    }
    row_base += batch->num_rows();
  }
  return arrow::Status::OK();
}

arrow::Status ReadCheckpoint(storage::ObjectStore& store, const std::vector<LogFile>& parts,
                             const ActionSink& sink) {
  std::vector<Sidecar> sidecars;
  const ActionSink collect = [&](Action action) -> arrow::Status {
    if (auto* sidecar = std::get_if<Sidecar>(&action)) {
      sidecars.push_back(std::move(*sidecar));
      return arrow::Status::OK();
    }
    return sink(std::move(action));
  };
  for (const auto& part : parts) {
    if (part.is_json) {
      ARROW_ASSIGN_OR_RAISE(auto buffer, store.Read(part.object.path));
      ARROW_ASSIGN_OR_RAISE(auto actions,
                            ParseActionLines(std::string_view(*buffer), part.object.path));
      for (auto& action : actions) ARROW_RETURN_NOT_OK(collect(std::move(action)));
    } else {
      ARROW_RETURN_NOT_OK(
          ReadCheckpointParquet(store, part.object.path, kAllActionColumns, collect));
    }
  }
  for (const auto& sidecar : sidecars) {
    ARROW_RETURN_NOT_OK(
        ReadCheckpointParquet(store, SidecarPath(sidecar), {"add", "remove"}, sink));
  }
  return arrow::Status::OK();
}

}  // namespace nlk::delta
