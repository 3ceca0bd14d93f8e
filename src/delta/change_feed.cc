#include "delta/change_feed.h"

#include <arrow/array/builder_primitive.h>
#include <arrow/array/util.h>
#include <arrow/compute/api_vector.h>
#include <arrow/scalar.h>
#include <arrow/type.h>
#include <arrow/util/key_value_metadata.h>

#include <map>
#include <set>
#include <string>
#include <utility>
#include <variant>

#include "delta/data/column_mapping.h"
#include "delta/data/deletion_vector.h"
#include "delta/data/scan.h"
#include "delta/data/schema.h"
#include "delta/log/table_properties.h"
#include "delta/table.h"

namespace nlk::delta {

namespace {

AddFile AsFile(const RemoveFile& remove) {
  AddFile file;
  file.path = remove.path;
  file.partition_values = remove.partition_values.value_or(PartitionValues{});
  file.size = remove.size.value_or(0);
  file.deletion_vector = remove.deletion_vector;
  return file;
}

AddFile AsFile(const AddCdcFile& cdc) {
  AddFile file;
  file.path = cdc.path;
  file.partition_values = cdc.partition_values;
  file.size = cdc.size;
  return file;
}

}  // namespace

arrow::Result<Metadata> ChangeDataFileMetadata(const Metadata& table) {
  ARROW_ASSIGN_OR_RAISE(auto schema, data::ParseDeltaSchema(table.schema_string));
  Metadata metadata = table;
  ARROW_ASSIGN_OR_RAISE(auto mode, data::ColumnMappingModeOf(table.configuration));
  std::shared_ptr<const arrow::KeyValueMetadata> field_metadata;
  if (mode != data::ColumnMappingMode::kNone) {
    // Change data files name every column physically; matching by name reads them in id mode
    // too, and lets `_change_type` (which has no column id) be found.
    metadata.configuration[std::string(data::kColumnMappingModeKey)] = "name";
    field_metadata = arrow::key_value_metadata(
        {std::string(data::kDeltaMetadataKey)},
        {std::string(R"({"delta.columnMapping.physicalName":")") + kChangeTypeColumn + "\"}"});
  }
  ARROW_ASSIGN_OR_RAISE(
      schema, schema->AddField(schema->num_fields(), arrow::field(kChangeTypeColumn, arrow::utf8(),
                                                                  true, field_metadata)));
  ARROW_ASSIGN_OR_RAISE(metadata.schema_string, data::SerializeDeltaSchema(*schema));
  return metadata;
}

bool RecordsChangeDataFeed(const Metadata& metadata) {
  return TableProperties(metadata.configuration).change_data_feed_enabled();
}

namespace {

// One scan of one kind of file of one commit.
struct Segment {
  int64_t version = 0;
  int64_t timestamp_ms = 0;
  std::vector<AddFile> files;
  // The change type of every row; empty: read from the files' `_change_type` column.
  std::string change_type;
  // Set instead of `files`: data files whose deletion vector changed.
  std::vector<std::pair<AddFile, AddFile>> vector_changes;
};

// The rows of `rows` (a whole data file, in physical order) at the given row indexes.
arrow::Result<std::shared_ptr<arrow::RecordBatch>> RowsAt(const arrow::Table& rows,
                                                          const std::vector<uint64_t>& indexes) {
  arrow::UInt64Builder builder;
  ARROW_RETURN_NOT_OK(builder.AppendValues(indexes));
  ARROW_ASSIGN_OR_RAISE(auto index_array, builder.Finish());
  ARROW_ASSIGN_OR_RAISE(auto combined, rows.CombineChunksToBatch());
  ARROW_ASSIGN_OR_RAISE(arrow::Datum taken, arrow::compute::Take(combined, index_array));
  return taken.record_batch();
}

class ChangeFeedReader : public arrow::RecordBatchReader {
 public:
  static arrow::Result<std::shared_ptr<ChangeFeedReader>> Make(
      std::shared_ptr<storage::ObjectStore> store, ChangeFeedPlan plan) {
    auto reader = std::shared_ptr<ChangeFeedReader>(new ChangeFeedReader());
    reader->store_ = std::move(store);
    reader->table_metadata_ = plan.metadata;
    ARROW_ASSIGN_OR_RAISE(reader->change_data_metadata_, ChangeDataFileMetadata(plan.metadata));
    ARROW_ASSIGN_OR_RAISE(auto table_schema, data::ParseDeltaSchema(plan.metadata.schema_string));
    for (const auto& field : table_schema->fields()) {
      reader->data_columns_.push_back(field->name());
    }
    arrow::FieldVector fields;
    for (const auto& field : table_schema->fields()) fields.push_back(field->RemoveMetadata());
    fields.push_back(arrow::field(kChangeTypeColumn, arrow::utf8(), false));
    fields.push_back(arrow::field(kCommitVersionColumn, arrow::int64(), false));
    fields.push_back(arrow::field(kCommitTimestampColumn,
                                  arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"), false));
    reader->schema_ = arrow::schema(std::move(fields));
    for (ChangeFeedCommit& commit : plan.commits) {
      if (commit.from_change_data_files) {
        if (!commit.change_data_files.empty()) {
          reader->segments_.push_back(
              {commit.version, commit.timestamp_ms, std::move(commit.change_data_files), "", {}});
        }
        continue;
      }
      if (!commit.vector_changes.empty()) {
        Segment segment{commit.version, commit.timestamp_ms, {}, "", {}};
        segment.vector_changes = std::move(commit.vector_changes);
        reader->segments_.push_back(std::move(segment));
      }
      if (!commit.removed.empty()) {
        reader->segments_.push_back(
            {commit.version, commit.timestamp_ms, std::move(commit.removed), "delete", {}});
      }
      if (!commit.added.empty()) {
        reader->segments_.push_back(
            {commit.version, commit.timestamp_ms, std::move(commit.added), "insert", {}});
      }
    }
    return reader;
  }

  std::shared_ptr<arrow::Schema> schema() const override { return schema_; }

  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    while (true) {
      if (!pending_.empty()) {
        *out = std::move(pending_.front());
        pending_.erase(pending_.begin());
        return arrow::Status::OK();
      }
      if (current_ != nullptr) {
        std::shared_ptr<arrow::RecordBatch> batch;
        ARROW_RETURN_NOT_OK(current_->ReadNext(&batch));
        if (batch != nullptr) {
          if (batch->num_rows() == 0) continue;
          ARROW_ASSIGN_OR_RAISE(*out, Decorate(*batch));
          return arrow::Status::OK();
        }
        current_.reset();
        ++next_segment_;
      }
      if (next_segment_ >= segments_.size()) {
        *out = nullptr;
        return arrow::Status::OK();
      }
      const Segment& segment = segments_[next_segment_];
      if (!segment.vector_changes.empty()) {
        ARROW_RETURN_NOT_OK(ReadVectorChanges(segment));
        ++next_segment_;
        continue;
      }
      const bool change_data = segment.change_type.empty();
      std::vector<std::string> columns = data_columns_;
      if (change_data) columns.push_back(kChangeTypeColumn);
      data::ScanBuilder builder(store_, change_data ? change_data_metadata_ : table_metadata_,
                                segment.files);
      builder.Select(columns);
      ARROW_ASSIGN_OR_RAISE(auto scan, builder.Build());
      ARROW_ASSIGN_OR_RAISE(current_, scan->ToRecordBatchReader());
    }
  }

 private:
  ChangeFeedReader() = default;

  // Rows whose deletion vector changed: each file is read whole, without a vector, and the rows
  // the two vectors differ by are taken from it.
  arrow::Status ReadVectorChanges(const Segment& segment) {
    for (const auto& [before, after] : segment.vector_changes) {
      data::DeletionVector old_vector;
      data::DeletionVector new_vector;
      if (before.deletion_vector) {
        ARROW_ASSIGN_OR_RAISE(old_vector,
                              data::LoadDeletionVector(*store_, *before.deletion_vector));
      }
      if (after.deletion_vector) {
        ARROW_ASSIGN_OR_RAISE(new_vector,
                              data::LoadDeletionVector(*store_, *after.deletion_vector));
      }
      std::vector<uint64_t> deleted;
      for (uint64_t row : new_vector.ToVector()) {
        if (!old_vector.Contains(row)) deleted.push_back(row);
      }
      std::vector<uint64_t> restored;
      for (uint64_t row : old_vector.ToVector()) {
        if (!new_vector.Contains(row)) restored.push_back(row);
      }
      if (deleted.empty() && restored.empty()) continue;
      AddFile whole = after;
      whole.deletion_vector.reset();
      data::ScanBuilder builder(store_, table_metadata_, {whole});
      builder.Select(data_columns_);
      ARROW_ASSIGN_OR_RAISE(auto scan, builder.Build());
      ARROW_ASSIGN_OR_RAISE(auto rows, scan->ToTable());
      for (const auto& [indexes, change_type] :
           {std::pair{&deleted, "delete"}, std::pair{&restored, "insert"}}) {
        if (indexes->empty()) continue;
        if (indexes->back() >= static_cast<uint64_t>(rows->num_rows())) {
          return arrow::Status::Invalid("the deletion vector of ", after.path, " in version ",
                                        segment.version, " names row ", indexes->back(),
                                        " of a file with ", rows->num_rows(), " rows");
        }
        ARROW_ASSIGN_OR_RAISE(auto batch, RowsAt(*rows, *indexes));
        ARROW_ASSIGN_OR_RAISE(auto decorated, Decorate(*batch, segment, change_type));
        pending_.push_back(std::move(decorated));
      }
    }
    return arrow::Status::OK();
  }

  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Decorate(const arrow::RecordBatch& batch) {
    const Segment& segment = segments_[next_segment_];
    return Decorate(batch, segment, segment.change_type);
  }

  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Decorate(const arrow::RecordBatch& batch,
                                                              const Segment& segment,
                                                              const std::string& change_type_text) {
    const int64_t rows = batch.num_rows();
    arrow::ArrayVector columns;
    const size_t data_count = data_columns_.size();
    for (size_t i = 0; i < data_count; ++i) columns.push_back(batch.column(static_cast<int>(i)));
    if (change_type_text.empty()) {
      auto change_type = batch.column(static_cast<int>(data_count));
      if (change_type->null_count() > 0) {
        return arrow::Status::Invalid("a change data file of version ", segment.version,
                                      " has rows without a _change_type");
      }
      columns.push_back(change_type);
    } else {
      ARROW_ASSIGN_OR_RAISE(auto change_type, arrow::MakeArrayFromScalar(
                                                  arrow::StringScalar(change_type_text), rows));
      columns.push_back(change_type);
    }
    ARROW_ASSIGN_OR_RAISE(auto version,
                          arrow::MakeArrayFromScalar(arrow::Int64Scalar(segment.version), rows));
    columns.push_back(version);
    ARROW_ASSIGN_OR_RAISE(
        auto timestamp,
        arrow::MakeArrayFromScalar(
            arrow::TimestampScalar(segment.timestamp_ms * 1000,
                                   schema_->field(schema_->num_fields() - 1)->type()),
            rows));
    columns.push_back(timestamp);
    return arrow::RecordBatch::Make(schema_, rows, std::move(columns));
  }

  std::shared_ptr<storage::ObjectStore> store_;
  Metadata table_metadata_;
  Metadata change_data_metadata_;
  std::vector<std::string> data_columns_;
  std::shared_ptr<arrow::Schema> schema_;
  std::vector<Segment> segments_;
  size_t next_segment_ = 0;
  std::shared_ptr<arrow::RecordBatchReader> current_;
  std::vector<std::shared_ptr<arrow::RecordBatch>> pending_;
};

}  // namespace

arrow::Result<ChangeFeedPlan> PlanChangeFeed(DeltaLog& log, const ChangeFeedOptions& options) {
  ARROW_ASSIGN_OR_RAISE(auto latest, log.Latest());
  ChangeFeedPlan plan;
  plan.from_version = options.from_version;
  plan.to_version = options.to_version.value_or(latest->version());
  if (plan.from_version < 0) {
    return arrow::Status::Invalid("the first version of a change feed cannot be negative (",
                                  plan.from_version, ")");
  }
  if (plan.from_version > latest->version()) {
    return arrow::Status::Invalid("version ", plan.from_version,
                                  " is after the table's latest version, ", latest->version());
  }
  if (plan.to_version < plan.from_version) {
    return arrow::Status::Invalid("the change feed range ends (version ", plan.to_version,
                                  ") before it starts (version ", plan.from_version, ")");
  }
  if (plan.to_version > latest->version()) {
    return arrow::Status::Invalid("version ", plan.to_version,
                                  " is after the table's latest version, ", latest->version());
  }
  // The metadata each commit ran under: that of the snapshot at the first version, then each
  // commit's own metaData action.
  ARROW_ASSIGN_OR_RAISE(auto first, log.AtVersion(plan.from_version));
  Metadata metadata = first->metadata();
  ARROW_ASSIGN_OR_RAISE(auto history, log.History(latest->version() - plan.from_version + 1));
  std::map<int64_t, int64_t> timestamps;
  for (const auto& record : history) timestamps[record.version] = record.timestamp_ms;

  for (int64_t version = plan.from_version; version <= plan.to_version; ++version) {
    auto actions = log.ReadCommit(version);
    if (!actions.ok()) {
      return actions.status().WithMessage("the change feed needs the commit of version ", version,
                                          ", which cannot be read: ", actions.status().message());
    }
    ChangeFeedCommit commit;
    commit.version = version;
    auto timestamp = timestamps.find(version);
    if (timestamp == timestamps.end()) {
      return arrow::Status::Invalid("the change feed needs the commit of version ", version,
                                    ", which is no longer in the log");
    }
    commit.timestamp_ms = timestamp->second;
    for (const Action& action : *actions) {
      if (const auto* changed = std::get_if<Metadata>(&action)) metadata = *changed;
    }
    if (!TableProperties(metadata.configuration).change_data_feed_enabled()) {
      return arrow::Status::Invalid(
          "change data was not recorded for version ", version,
          ": the table did not enable delta.enableChangeDataFeed then (read versions after it "
          "was enabled)");
    }
    std::map<std::string, const AddFile*> added_paths;
    for (const Action& action : *actions) {
      if (const auto* add = std::get_if<AddFile>(&action); add != nullptr && add->data_change) {
        added_paths[add->path] = add;
      }
    }
    std::set<std::string> re_added;
    for (const Action& action : *actions) {
      if (const auto* cdc = std::get_if<AddCdcFile>(&action)) {
        commit.from_change_data_files = true;
        commit.change_data_files.push_back(AsFile(*cdc));
      } else if (const auto* remove = std::get_if<RemoveFile>(&action);
                 remove != nullptr && remove->data_change && added_paths.count(remove->path)) {
        // The same data file before and after: only the deletion vector changed.
        commit.vector_changes.emplace_back(AsFile(*remove), *added_paths[remove->path]);
        re_added.insert(remove->path);
      }
    }
    for (const Action& action : *actions) {
      if (const auto* add = std::get_if<AddFile>(&action)) {
        if (add->data_change && re_added.count(add->path) == 0) commit.added.push_back(*add);
      } else if (const auto* remove = std::get_if<RemoveFile>(&action)) {
        if (re_added.count(remove->path) > 0) continue;
        if (!remove->data_change) continue;
        if (!metadata.partition_columns.empty() && !remove->partition_values) {
          return arrow::Status::Invalid(
              "version ", version, " removes ", remove->path,
              " without its partition values, so its rows cannot be read as deletes");
        }
        commit.removed.push_back(AsFile(*remove));
      }
    }
    plan.commits.push_back(std::move(commit));
  }
  plan.metadata = std::move(metadata);
  return plan;
}

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> ReadChangeFeed(
    std::shared_ptr<storage::ObjectStore> store, ChangeFeedPlan plan) {
  ARROW_ASSIGN_OR_RAISE(auto reader, ChangeFeedReader::Make(std::move(store), std::move(plan)));
  return reader;
}

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> Table::Changes(
    const ChangeFeedOptions& options) {
  ARROW_ASSIGN_OR_RAISE(ChangeFeedPlan plan, PlanChangeFeed(*log_, options));
  return ReadChangeFeed(store_, std::move(plan));
}

}  // namespace nlk::delta
