#include "delta/log/checkpoint_writer.h"

#include <arrow/builder.h>
#include <arrow/io/memory.h>
#include <arrow/table.h>
#include <parquet/arrow/writer.h>
#include <parquet/properties.h>

#include "delta/log/last_checkpoint.h"
#include "delta/log/log_files.h"
#include "delta/log/path_encoding.h"

namespace nlk::delta {

namespace {

std::shared_ptr<arrow::DataType> StringMapType() {
  return arrow::map(arrow::utf8(), arrow::field("value", arrow::utf8(), true));
}

std::shared_ptr<arrow::DataType> DeletionVectorType() {
  return arrow::struct_(
      {arrow::field("storageType", arrow::utf8()), arrow::field("pathOrInlineDv", arrow::utf8()),
       arrow::field("offset", arrow::int32()), arrow::field("sizeInBytes", arrow::int32()),
       arrow::field("cardinality", arrow::int64())});
}

// Top-level columns, in the order Spark writes them.
enum Column { kTxn = 0, kAdd, kRemove, kMetadata, kProtocol, kDomainMetadata, kColumnCount };

std::shared_ptr<arrow::Schema> CheckpointSchema() {
  auto txn =
      arrow::struct_({arrow::field("appId", arrow::utf8()), arrow::field("version", arrow::int64()),
                      arrow::field("lastUpdated", arrow::int64())});
  auto add = arrow::struct_(
      {arrow::field("path", arrow::utf8()), arrow::field("partitionValues", StringMapType()),
       arrow::field("size", arrow::int64()), arrow::field("modificationTime", arrow::int64()),
       arrow::field("dataChange", arrow::boolean()), arrow::field("stats", arrow::utf8()),
       arrow::field("tags", StringMapType()), arrow::field("deletionVector", DeletionVectorType()),
       arrow::field("baseRowId", arrow::int64()),
       arrow::field("defaultRowCommitVersion", arrow::int64()),
       arrow::field("clusteringProvider", arrow::utf8())});
  auto remove = arrow::struct_(
      {arrow::field("path", arrow::utf8()), arrow::field("deletionTimestamp", arrow::int64()),
       arrow::field("dataChange", arrow::boolean()),
       arrow::field("extendedFileMetadata", arrow::boolean()),
       arrow::field("partitionValues", StringMapType()), arrow::field("size", arrow::int64()),
       arrow::field("deletionVector", DeletionVectorType()),
       arrow::field("baseRowId", arrow::int64()),
       arrow::field("defaultRowCommitVersion", arrow::int64())});
  auto format = arrow::struct_(
      {arrow::field("provider", arrow::utf8()), arrow::field("options", StringMapType())});
  auto metadata =
      arrow::struct_({arrow::field("id", arrow::utf8()), arrow::field("name", arrow::utf8()),
                      arrow::field("description", arrow::utf8()), arrow::field("format", format),
                      arrow::field("schemaString", arrow::utf8()),
                      arrow::field("partitionColumns", arrow::list(arrow::utf8())),
                      arrow::field("configuration", StringMapType()),
                      arrow::field("createdTime", arrow::int64())});
  auto protocol = arrow::struct_({arrow::field("minReaderVersion", arrow::int32()),
                                  arrow::field("minWriterVersion", arrow::int32()),
                                  arrow::field("readerFeatures", arrow::list(arrow::utf8())),
                                  arrow::field("writerFeatures", arrow::list(arrow::utf8()))});
  auto domain = arrow::struct_({arrow::field("domain", arrow::utf8()),
                                arrow::field("configuration", arrow::utf8()),
                                arrow::field("removed", arrow::boolean())});
  return arrow::schema({arrow::field("txn", txn), arrow::field("add", add),
                        arrow::field("remove", remove), arrow::field("metaData", metadata),
                        arrow::field("protocol", protocol),
                        arrow::field("domainMetadata", domain)});
}

// Appends values to the child builders of one struct builder, field by field in schema order.
class StructWriter {
 public:
  explicit StructWriter(arrow::StructBuilder* builder) : builder_(builder) {}

  arrow::Status Begin() { return builder_->Append(); }

  arrow::Status String(const std::optional<std::string>& value) {
    auto* child = static_cast<arrow::StringBuilder*>(Next());
    return value ? child->Append(*value) : child->AppendNull();
  }
  arrow::Status Int64(std::optional<int64_t> value) {
    auto* child = static_cast<arrow::Int64Builder*>(Next());
    return value ? child->Append(*value) : child->AppendNull();
  }
  arrow::Status Int32(std::optional<int32_t> value) {
    auto* child = static_cast<arrow::Int32Builder*>(Next());
    return value ? child->Append(*value) : child->AppendNull();
  }
  arrow::Status Bool(std::optional<bool> value) {
    auto* child = static_cast<arrow::BooleanBuilder*>(Next());
    return value ? child->Append(*value) : child->AppendNull();
  }
  arrow::Status Map(const std::optional<PartitionValues>& values) {
    auto* child = static_cast<arrow::MapBuilder*>(Next());
    if (!values) return child->AppendNull();
    ARROW_RETURN_NOT_OK(child->Append());
    auto* keys = static_cast<arrow::StringBuilder*>(child->key_builder());
    auto* items = static_cast<arrow::StringBuilder*>(child->item_builder());
    for (const auto& [key, value] : *values) {
      ARROW_RETURN_NOT_OK(keys->Append(key));
      ARROW_RETURN_NOT_OK(value ? items->Append(*value) : items->AppendNull());
    }
    return arrow::Status::OK();
  }
  arrow::Status Map(const std::optional<StringMap>& values) {
    if (!values) return Map(std::optional<PartitionValues>());
    PartitionValues nullable(values->begin(), values->end());
    return Map(std::optional<PartitionValues>(std::move(nullable)));
  }
  arrow::Status Strings(const std::optional<std::vector<std::string>>& values) {
    auto* child = static_cast<arrow::ListBuilder*>(Next());
    if (!values) return child->AppendNull();
    ARROW_RETURN_NOT_OK(child->Append());
    auto* items = static_cast<arrow::StringBuilder*>(child->value_builder());
    for (const auto& value : *values) ARROW_RETURN_NOT_OK(items->Append(value));
    return arrow::Status::OK();
  }
  arrow::Status DeletionVector(const std::optional<DeletionVectorDescriptor>& descriptor) {
    auto* child = static_cast<arrow::StructBuilder*>(Next());
    if (!descriptor) return child->AppendNull();
    StructWriter nested(child);
    ARROW_RETURN_NOT_OK(nested.Begin());
    ARROW_RETURN_NOT_OK(nested.String(std::string(1, descriptor->storage_type)));
    ARROW_RETURN_NOT_OK(nested.String(descriptor->path_or_inline_dv));
    ARROW_RETURN_NOT_OK(nested.Int32(descriptor->offset));
    ARROW_RETURN_NOT_OK(nested.Int32(descriptor->size_in_bytes));
    return nested.Int64(descriptor->cardinality);
  }
  StructWriter Nested() { return StructWriter(static_cast<arrow::StructBuilder*>(Next())); }

 private:
  arrow::ArrayBuilder* Next() { return builder_->child_builder(next_child_++).get(); }

  arrow::StructBuilder* builder_;
  int next_child_ = 0;
};

class CheckpointBuilder {
 public:
  arrow::Status Init() {
    schema_ = CheckpointSchema();
    for (const auto& field : schema_->fields()) {
      std::unique_ptr<arrow::ArrayBuilder> builder;
      ARROW_RETURN_NOT_OK(
          arrow::MakeBuilder(arrow::default_memory_pool(), field->type(), &builder));
      builders_.emplace_back(static_cast<arrow::StructBuilder*>(builder.release()));
    }
    return arrow::Status::OK();
  }

  // Starts a row whose only non-null column is `column`.
  arrow::Result<StructWriter> Row(Column column) {
    for (int i = 0; i < kColumnCount; ++i) {
      if (i != column) ARROW_RETURN_NOT_OK(builders_[i]->AppendNull());
    }
    ++num_rows_;
    StructWriter writer(builders_[column].get());
    ARROW_RETURN_NOT_OK(writer.Begin());
    return writer;
  }

  arrow::Result<std::shared_ptr<arrow::Table>> Finish() {
    std::vector<std::shared_ptr<arrow::Array>> arrays;
    for (auto& builder : builders_) {
      std::shared_ptr<arrow::Array> array;
      ARROW_RETURN_NOT_OK(builder->Finish(&array));
      arrays.push_back(std::move(array));
    }
    return arrow::Table::Make(schema_, arrays, num_rows_);
  }

  int64_t num_rows() const { return num_rows_; }

 private:
  std::shared_ptr<arrow::Schema> schema_;
  std::vector<std::unique_ptr<arrow::StructBuilder>> builders_;
  int64_t num_rows_ = 0;
};

arrow::Status AppendSnapshot(const Snapshot& snapshot, int64_t now_ms, CheckpointBuilder& builder) {
  {
    const Protocol& protocol = snapshot.protocol();
    ARROW_ASSIGN_OR_RAISE(auto row, builder.Row(kProtocol));
    ARROW_RETURN_NOT_OK(row.Int32(protocol.min_reader_version));
    ARROW_RETURN_NOT_OK(row.Int32(protocol.min_writer_version));
    // Feature lists must be non-null exactly on reader 3 / writer 7 tables.
    ARROW_RETURN_NOT_OK(
        row.Strings(protocol.min_reader_version >= 3
                        ? protocol.reader_features.value_or(std::vector<std::string>{})
                        : std::optional<std::vector<std::string>>()));
    ARROW_RETURN_NOT_OK(
        row.Strings(protocol.min_writer_version >= 7
                        ? protocol.writer_features.value_or(std::vector<std::string>{})
                        : std::optional<std::vector<std::string>>()));
  }
  {
    const Metadata& metadata = snapshot.metadata();
    ARROW_ASSIGN_OR_RAISE(auto row, builder.Row(kMetadata));
    ARROW_RETURN_NOT_OK(row.String(metadata.id));
    ARROW_RETURN_NOT_OK(row.String(metadata.name));
    ARROW_RETURN_NOT_OK(row.String(metadata.description));
    StructWriter format = row.Nested();
    ARROW_RETURN_NOT_OK(format.Begin());
    ARROW_RETURN_NOT_OK(format.String(metadata.format_provider));
    ARROW_RETURN_NOT_OK(format.Map(std::optional<StringMap>(metadata.format_options)));
    ARROW_RETURN_NOT_OK(row.String(metadata.schema_string));
    ARROW_RETURN_NOT_OK(row.Strings(metadata.partition_columns));
    ARROW_RETURN_NOT_OK(row.Map(std::optional<StringMap>(metadata.configuration)));
    ARROW_RETURN_NOT_OK(row.Int64(metadata.created_time));
  }
  for (const auto& [app_id, txn] : snapshot.app_transactions()) {
    ARROW_ASSIGN_OR_RAISE(auto row, builder.Row(kTxn));
    ARROW_RETURN_NOT_OK(row.String(txn.app_id));
    ARROW_RETURN_NOT_OK(row.Int64(txn.version));
    ARROW_RETURN_NOT_OK(row.Int64(txn.last_updated));
  }
  for (const auto& [name, domain] : snapshot.domain_metadata()) {
    ARROW_ASSIGN_OR_RAISE(auto row, builder.Row(kDomainMetadata));
    ARROW_RETURN_NOT_OK(row.String(domain.domain));
    ARROW_RETURN_NOT_OK(row.String(domain.configuration));
    ARROW_RETURN_NOT_OK(row.Bool(domain.removed));
  }
  const auto write_stats = snapshot.properties().Get("delta.checkpoint.writeStatsAsJson");
  const bool include_stats = !write_stats || *write_stats != "false";
  for (const auto& file : snapshot.files()) {
    ARROW_ASSIGN_OR_RAISE(auto row, builder.Row(kAdd));
    ARROW_RETURN_NOT_OK(row.String(EncodeLogPath(file.path)));
    ARROW_RETURN_NOT_OK(row.Map(std::optional<PartitionValues>(file.partition_values)));
    ARROW_RETURN_NOT_OK(row.Int64(file.size));
    ARROW_RETURN_NOT_OK(row.Int64(file.modification_time));
    // A checkpoint re-states files; it changes no data.
    ARROW_RETURN_NOT_OK(row.Bool(false));
    ARROW_RETURN_NOT_OK(row.String(include_stats ? file.stats : std::nullopt));
    ARROW_RETURN_NOT_OK(row.Map(file.tags));
    ARROW_RETURN_NOT_OK(row.DeletionVector(file.deletion_vector));
    ARROW_RETURN_NOT_OK(row.Int64(file.base_row_id));
    ARROW_RETURN_NOT_OK(row.Int64(file.default_row_commit_version));
    ARROW_RETURN_NOT_OK(row.String(file.clustering_provider));
  }
  ARROW_ASSIGN_OR_RAISE(auto tombstones, snapshot.UnexpiredTombstones(now_ms));
  for (const auto& remove : tombstones) {
    ARROW_ASSIGN_OR_RAISE(auto row, builder.Row(kRemove));
    ARROW_RETURN_NOT_OK(row.String(EncodeLogPath(remove.path)));
    ARROW_RETURN_NOT_OK(row.Int64(remove.deletion_timestamp));
    ARROW_RETURN_NOT_OK(row.Bool(false));
    ARROW_RETURN_NOT_OK(row.Bool(remove.extended_file_metadata));
    ARROW_RETURN_NOT_OK(row.Map(remove.partition_values));
    ARROW_RETURN_NOT_OK(row.Int64(remove.size));
    ARROW_RETURN_NOT_OK(row.DeletionVector(remove.deletion_vector));
    ARROW_RETURN_NOT_OK(row.Int64(remove.base_row_id));
    ARROW_RETURN_NOT_OK(row.Int64(remove.default_row_commit_version));
  }
  return arrow::Status::OK();
}

}  // namespace

arrow::Result<std::shared_ptr<arrow::Buffer>> BuildCheckpointParquet(const Snapshot& snapshot,
                                                                     int64_t now_ms,
                                                                     int64_t* num_actions) {
  CheckpointBuilder builder;
  ARROW_RETURN_NOT_OK(builder.Init());
  ARROW_RETURN_NOT_OK(AppendSnapshot(snapshot, now_ms, builder));
  ARROW_ASSIGN_OR_RAISE(auto table, builder.Finish());
  *num_actions = builder.num_rows();

  ARROW_ASSIGN_OR_RAISE(auto sink, arrow::io::BufferOutputStream::Create());
  // Snappy: what Spark writes for checkpoints, and readable by every Parquet reader.
  auto properties =
      parquet::WriterProperties::Builder().compression(parquet::Compression::SNAPPY)->build();
  ARROW_RETURN_NOT_OK(parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), sink,
                                                 /*chunk_size=*/64 * 1024, properties));
  return sink->Finish();
}

arrow::Result<CheckpointInfo> WriteCheckpoint(storage::ObjectStore& store, const Snapshot& snapshot,
                                              int64_t now_ms) {
  CheckpointInfo info;
  info.version = snapshot.version();
  info.path = ClassicCheckpointPath(snapshot.version());
  info.num_add_files = static_cast<int64_t>(snapshot.files().size());
  ARROW_ASSIGN_OR_RAISE(auto buffer, BuildCheckpointParquet(snapshot, now_ms, &info.num_actions));
  info.size_in_bytes = buffer->size();
  // Built in memory and written in one call, so no reader ever sees half a checkpoint.
  ARROW_RETURN_NOT_OK(store.Write(info.path, buffer));

  // _last_checkpoint is only a hint, but moving it backwards would make readers replay more.
  auto existing = store.Read(kLastCheckpointPath);
  if (existing.ok()) {
    auto parsed = ParseLastCheckpoint(std::string_view(**existing));
    if (parsed.ok() && parsed->version > info.version) return info;
  }
  LastCheckpoint last_checkpoint;
  last_checkpoint.version = info.version;
  last_checkpoint.size = info.num_actions;
  last_checkpoint.size_in_bytes = info.size_in_bytes;
  last_checkpoint.num_of_add_files = info.num_add_files;
  ARROW_RETURN_NOT_OK(store.Write(
      kLastCheckpointPath, arrow::Buffer::FromString(SerializeLastCheckpoint(last_checkpoint))));
  return info;
}

}  // namespace nlk::delta
