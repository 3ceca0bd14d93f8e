#include "delta/table.h"

#include <arrow/array.h>
#include <arrow/compute/api.h>
#include <arrow/table.h>
#include <arrow/type.h>

#include <chrono>
#include <set>

#include "common/arrow_runtime.h"
#include "common/json_writer.h"
#include "delta/data/column_mapping.h"
#include "delta/data/file_writer.h"
#include "delta/data/partition_values.h"
#include "delta/data/scan.h"
#include "delta/data/schema.h"
#include "delta/data/schema_enforcement.h"
#include "delta/data/uuid.h"
#include "delta/log/protocol_support.h"
#include "delta/log/table_constraints.h"
#include "delta/log/table_properties.h"
#include "delta/log/transaction.h"
#include "delta/predicate.h"

namespace nlk::delta {
namespace {

namespace compute = arrow::compute;

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool HasTimestampWithoutZone(const arrow::DataType& type) {
  if (type.id() == arrow::Type::TIMESTAMP) {
    return static_cast<const arrow::TimestampType&>(type).timezone().empty();
  }
  for (const auto& child : type.fields()) {
    if (HasTimestampWithoutZone(*child->type())) return true;
  }
  return false;
}

bool IsTrue(const std::map<std::string, std::string>& properties, const std::string& key) {
  auto it = properties.find(key);
  return it != properties.end() && (it->second == "true" || it->second == "TRUE");
}

// The lowest protocol that the table's features need, so that every current reader can read it
// (PROTOCOL.md: writers should not require more than they use). Column mapping alone is reader
// version 2 and writer version 5; with any reader feature everything goes to table features.
arrow::Result<Protocol> MinimumProtocol(const arrow::Schema& schema,
                                        const std::map<std::string, std::string>& properties) {
  std::vector<std::string> reader_features;
  std::vector<std::string> writer_features;
  bool has_ntz = false;
  for (const auto& field : schema.fields())
    has_ntz = has_ntz || HasTimestampWithoutZone(*field->type());
  if (has_ntz) {
    reader_features.push_back("timestampNtz");
    writer_features.push_back("timestampNtz");
  }
  if (IsTrue(properties, "delta.enableDeletionVectors")) {
    reader_features.push_back("deletionVectors");
    writer_features.push_back("deletionVectors");
  }
  if (IsTrue(properties, "delta.appendOnly")) writer_features.push_back("appendOnly");
  // Row rules: each needs the legacy writer version that introduced it, or its feature.
  int32_t writer_version = 2;
  Metadata described;
  ARROW_ASSIGN_OR_RAISE(described.schema_string, data::SerializeDeltaSchema(schema));
  described.configuration = StringMap(properties.begin(), properties.end());
  ARROW_ASSIGN_OR_RAISE(TableConstraints constraints, ReadTableConstraints(described));
  if (!constraints.invariants.empty()) writer_features.push_back("invariants");
  if (!constraints.checks.empty()) {
    writer_version = 3;
    writer_features.push_back("checkConstraints");
  }
  if (!constraints.generated_columns.empty()) {
    writer_version = 4;
    writer_features.push_back("generatedColumns");
  }
  ARROW_ASSIGN_OR_RAISE(auto mode, data::ColumnMappingModeOf(described.configuration));
  const bool column_mapping = mode != data::ColumnMappingMode::kNone;
  const bool change_data_feed = IsTrue(properties, "delta.enableChangeDataFeed");
  if (change_data_feed) writer_version = std::max(writer_version, 4);
  if (column_mapping) writer_version = std::max(writer_version, 5);
  Protocol protocol;
  if (reader_features.empty()) {
    // appendOnly and invariants are part of writer version 2, CHECK constraints of 3, generated
    // columns and the change data feed of 4, column mapping of reader 2 and writer 5.
    protocol.min_reader_version = column_mapping ? 2 : 1;
    protocol.min_writer_version = writer_version;
    return protocol;
  }
  if (column_mapping) {
    reader_features.push_back("columnMapping");
    writer_features.push_back("columnMapping");
  }
  if (change_data_feed) writer_features.push_back("changeDataFeed");
  protocol.min_reader_version = 3;
  protocol.min_writer_version = 7;
  protocol.reader_features = reader_features;
  protocol.writer_features = writer_features;
  return protocol;
}

arrow::Status CheckPartitionColumns(const std::string& uri, const arrow::Schema& schema,
                                    const std::vector<std::string>& partition_columns) {
  std::set<std::string> seen;
  for (const std::string& column : partition_columns) {
    auto field = schema.GetFieldByName(column);
    if (field == nullptr) {
      return arrow::Status::Invalid("table ", uri, ": partition column '", column,
                                    "' is not in the schema (", schema.ToString(), ")");
    }
    if (!seen.insert(column).second) {
      return arrow::Status::Invalid("table ", uri, ": partition column '", column,
                                    "' is listed twice");
    }
    if (field->type()->num_fields() > 0) {
      return arrow::Status::Invalid("table ", uri, ": partition column '", column,
                                    "' must have a primitive type, not ",
                                    field->type()->ToString());
    }
  }
  if (!partition_columns.empty() &&
      partition_columns.size() == static_cast<size_t>(schema.num_fields())) {
    return arrow::Status::Invalid("table ", uri,
                                  ": at least one column must not be a partition column");
  }
  return arrow::Status::OK();
}

struct WrittenData {
  std::vector<AddFile> files;
  int64_t rows = 0;
};

// Writes the rows of `reader` (batch by batch) or of `table` (at once) into new data files.
arrow::Result<WrittenData> WriteData(const std::shared_ptr<storage::ObjectStore>& store,
                                     const Metadata& metadata, const data::WriteOptions& options,
                                     arrow::RecordBatchReader* reader,
                                     const std::shared_ptr<arrow::Table>& table) {
  ARROW_ASSIGN_OR_RAISE(auto writer, data::DataFileWriter::Make(store, metadata, options));
  WrittenData written;
  auto write_all = [&]() -> arrow::Status {
    if (table != nullptr) {
      written.rows = table->num_rows();
      ARROW_RETURN_NOT_OK(writer->Write(*table));
    }
    while (reader != nullptr) {
      std::shared_ptr<arrow::RecordBatch> batch;
      ARROW_RETURN_NOT_OK(reader->ReadNext(&batch));
      if (!batch) break;
      written.rows += batch->num_rows();
      ARROW_RETURN_NOT_OK(writer->Write(*batch));
    }
    return arrow::Status::OK();
  };
  arrow::Status status = write_all();
  if (!status.ok()) {
    // Nothing will reference the files already written (a refused row, bad input): remove them.
    writer->Abandon();
    return status;
  }
  ARROW_ASSIGN_OR_RAISE(written.files, writer->Finish());
  return written;
}

// Commits, and when the commit definitely failed (a conflict or a refused action) deletes the
// data files this write produced: no version references them, so nothing is lost. After an I/O
// error the commit may have landed, so the files stay (vacuum removes true orphans later).
arrow::Result<CommitResult> CommitOrDiscard(Transaction& transaction,
                                            const std::vector<std::string>& written_paths,
                                            storage::ObjectStore& store) {
  auto committed = transaction.Commit();
  if (!committed.ok() && !committed.status().IsIOError()) {
    for (const std::string& path : written_paths) {
      (void)store.Delete(path);  // best effort: vacuum removes any leftover later
    }
  }
  return committed;
}

std::vector<std::string> PathsOf(const std::vector<AddFile>& files) {
  std::vector<std::string> paths;
  for (const AddFile& file : files) paths.push_back(file.path);
  return paths;
}

std::string PartitionByJson(const std::vector<std::string>& columns) {
  std::string json = "[";
  for (size_t i = 0; i < columns.size(); ++i) {
    json += (i ? ",\"" : "\"") + columns[i] + "\"";
  }
  return json + "]";
}

// Whether the table already recorded every app transaction of this write.
bool AlreadyApplied(const Snapshot& snapshot, const std::vector<SetTransaction>& transactions) {
  if (transactions.empty()) return false;
  for (const SetTransaction& txn : transactions) {
    auto recorded = snapshot.AppTransactionVersion(txn.app_id);
    if (!recorded || *recorded < txn.version) return false;
  }
  return true;
}

// Evaluates a predicate over partition columns for one file's partition values.
class PartitionMatcher {
 public:
  static arrow::Result<PartitionMatcher> Make(const std::string& where,
                                              const arrow::Schema& table_schema,
                                              const std::vector<std::string>& partition_columns,
                                              const StringMap& configuration) {
    arrow::FieldVector fields;
    for (const std::string& column : partition_columns) {
      fields.push_back(table_schema.GetFieldByName(column));
    }
    auto schema = arrow::schema(fields);
    ARROW_ASSIGN_OR_RAISE(auto mode, data::ColumnMappingModeOf(configuration));
    std::vector<std::string> physical_names;
    for (const auto& field : fields) {
      ARROW_ASSIGN_OR_RAISE(std::string physical, data::PhysicalName(*field, mode));
      physical_names.push_back(std::move(physical));
    }
    auto parsed = ParsePredicate(where, *schema);
    if (!parsed.ok()) {
      std::string partitions;
      for (const auto& column : partition_columns)
        partitions += (partitions.empty() ? "" : ", ") + column;
      return arrow::Status::Invalid("overwrite --where may only use partition columns (",
                                    partitions.empty() ? "the table has none" : partitions,
                                    "): ", parsed.status().message());
    }
    ARROW_ASSIGN_OR_RAISE(auto bound, parsed->Bind(*schema));
    return PartitionMatcher(schema, std::move(physical_names), std::move(bound));
  }

  arrow::Result<bool> Matches(const PartitionValues& values) const {
    arrow::ArrayVector columns;
    for (int i = 0; i < schema_->num_fields(); ++i) {
      const auto& field = schema_->field(i);
      // Partition values are keyed by physical names (the logical ones without column mapping).
      auto it = values.find(physical_names_[i]);
      std::optional<std::string> text = it == values.end() ? std::nullopt : it->second;
      ARROW_ASSIGN_OR_RAISE(auto array, data::MakePartitionArray(text, field->type(), 1));
      columns.push_back(array);
    }
    auto batch = arrow::RecordBatch::Make(schema_, 1, columns);
    ARROW_ASSIGN_OR_RAISE(auto result,
                          compute::ExecuteScalarExpression(bound_, compute::ExecBatch(*batch)));
    std::shared_ptr<arrow::Scalar> scalar =
        result.is_scalar() ? result.scalar() : result.make_array()->GetScalar(0).ValueOrDie();
    return scalar->is_valid && static_cast<const arrow::BooleanScalar&>(*scalar).value;
  }

 private:
  PartitionMatcher(std::shared_ptr<arrow::Schema> schema, std::vector<std::string> physical_names,
                   compute::Expression bound)
      : schema_(std::move(schema)),
        physical_names_(std::move(physical_names)),
        bound_(std::move(bound)) {}

  std::shared_ptr<arrow::Schema> schema_;
  std::vector<std::string> physical_names_;
  compute::Expression bound_;
};

}  // namespace

Table::Table(std::shared_ptr<storage::ObjectStore> store, std::shared_ptr<DeltaLog> log)
    : store_(std::move(store)), log_(std::move(log)) {}

arrow::Result<std::shared_ptr<Table>> Table::Open(const std::string& uri) {
  ARROW_RETURN_NOT_OK(InitializeArrowCompute());
  ARROW_ASSIGN_OR_RAISE(auto store, storage::OpenObjectStore(uri));
  ARROW_ASSIGN_OR_RAISE(auto log, DeltaLog::Open(store));
  ARROW_ASSIGN_OR_RAISE(bool exists, log->TableExists());
  if (!exists) {
    return arrow::Status::Invalid("not a Delta table: ", uri,
                                  " (no _delta_log; create it with `nlk table create`)");
  }
  return std::shared_ptr<Table>(new Table(std::move(store), std::move(log)));
}

arrow::Result<bool> Table::Exists(const std::string& uri) {
  ARROW_ASSIGN_OR_RAISE(auto store, storage::OpenObjectStore(uri));
  ARROW_ASSIGN_OR_RAISE(auto log, DeltaLog::Open(store));
  return log->TableExists();
}

arrow::Result<std::shared_ptr<Table>> Table::Create(
    const std::string& uri, const std::shared_ptr<arrow::Schema>& schema,
    const CreateOptions& options, std::shared_ptr<arrow::RecordBatchReader> data) {
  ARROW_RETURN_NOT_OK(InitializeArrowCompute());
  ARROW_ASSIGN_OR_RAISE(auto store, storage::OpenObjectStore(uri));
  ARROW_ASSIGN_OR_RAISE(auto log, DeltaLog::Open(store));
  ARROW_ASSIGN_OR_RAISE(bool exists, log->TableExists());
  if (exists) {
    return arrow::Status::Invalid("table already exists: ", uri,
                                  " (use `nlk table append` or `overwrite`)");
  }
  ARROW_RETURN_NOT_OK(CheckPartitionColumns(uri, *schema, options.partition_columns));

  Metadata metadata;
  metadata.id = data::UuidToString(data::RandomUuid());
  metadata.name = options.name;
  metadata.description = options.description;
  metadata.partition_columns = options.partition_columns;
  metadata.configuration = StringMap(options.properties.begin(), options.properties.end());
  ARROW_ASSIGN_OR_RAISE(auto mode, data::ColumnMappingModeOf(metadata.configuration));
  if (mode != data::ColumnMappingMode::kNone) {
    // Every column gets a physical name and an id; the files use those from the first one on.
    int64_t max_column_id = 0;
    ARROW_ASSIGN_OR_RAISE(auto mapped, data::AssignColumnMapping(*schema, &max_column_id));
    ARROW_ASSIGN_OR_RAISE(metadata.schema_string, data::SerializeDeltaSchema(*mapped));
    metadata.configuration[std::string(data::kMaxColumnIdKey)] = std::to_string(max_column_id);
  } else {
    ARROW_ASSIGN_OR_RAISE(metadata.schema_string, data::SerializeDeltaSchema(*schema));
  }
  // Marks the table as nlk's to write unless the caller named a writer; naming another engine is
  // refused at commit.
  metadata.configuration.emplace(kWriterEngineProperty, kNlkWriterEngine);
  metadata.created_time = NowMillis();
  ARROW_ASSIGN_OR_RAISE(Protocol protocol, MinimumProtocol(*schema, options.properties));

  auto transaction = log->StartTransaction(nullptr);
  transaction->UpdateProtocol(protocol);
  transaction->UpdateMetadata(metadata);
  StringMap parameters = {{"partitionBy", PartitionByJson(options.partition_columns)}};
  std::vector<std::string> written_paths;
  if (data) {
    ARROW_ASSIGN_OR_RAISE(WrittenData written,
                          WriteData(store, metadata, data::WriteOptions{}, data.get(), nullptr));
    written_paths = PathsOf(written.files);
    for (AddFile& file : written.files) transaction->AddFile(std::move(file));
    transaction->SetOperation("CREATE TABLE AS SELECT", parameters);
  } else {
    transaction->SetOperation("CREATE TABLE", parameters);
  }
  ARROW_RETURN_NOT_OK(CommitOrDiscard(*transaction, written_paths, *store).status());
  return std::shared_ptr<Table>(new Table(std::move(store), std::move(log)));
}

arrow::Result<std::shared_ptr<const Snapshot>> Table::SnapshotFor(const ReadOptions& options) {
  if (options.version) return log_->AtVersion(*options.version);
  if (options.timestamp_ms) return log_->AtTimestamp(*options.timestamp_ms);
  return log_->Latest();
}

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> Table::Read(const ReadOptions& options) {
  ARROW_ASSIGN_OR_RAISE(auto scan, PlanRead(options));
  return scan->ToRecordBatchReader();
}

arrow::Result<std::shared_ptr<data::Scan>> Table::PlanRead(const ReadOptions& options) {
  ARROW_ASSIGN_OR_RAISE(auto snapshot, SnapshotFor(options));
  const Metadata& metadata = snapshot->metadata();
  data::ScanBuilder builder(store_, metadata, snapshot->files());
  if (!options.columns.empty()) builder.Select(options.columns);
  if (options.filter) {
    ARROW_ASSIGN_OR_RAISE(auto schema, data::ParseDeltaSchema(metadata.schema_string));
    ARROW_ASSIGN_OR_RAISE(auto filter, ParsePredicate(*options.filter, *schema));
    builder.Filter(std::move(filter));
  }
  if (options.limit) builder.Limit(*options.limit);
  return builder.Build();
}

arrow::Result<int64_t> Table::Checkpoint() {
  ARROW_ASSIGN_OR_RAISE(auto snapshot, log_->Latest());
  ARROW_RETURN_NOT_OK(CheckWriteSupported(snapshot->protocol(), snapshot->metadata()));
  ARROW_RETURN_NOT_OK(log_->Checkpoint(*snapshot).status());
  return snapshot->version();
}

// ---- Writing ----------------------------------------------------------------------------------

WriteBuilder Table::NewWrite() const { return WriteBuilder(store_, log_); }

arrow::Result<WriteResult> Table::Append(std::shared_ptr<arrow::RecordBatchReader> data,
                                         const WriteOptions& options) {
  return NewWrite().Data(std::move(data)).Options(options).Commit();
}

arrow::Result<WriteResult> Table::Overwrite(std::shared_ptr<arrow::RecordBatchReader> data,
                                            const std::optional<std::string>& where,
                                            const WriteOptions& options) {
  return NewWrite().Data(std::move(data)).Overwrite(where).Options(options).Commit();
}

WriteBuilder::WriteBuilder(std::shared_ptr<storage::ObjectStore> store,
                           std::shared_ptr<DeltaLog> log)
    : store_(std::move(store)), log_(std::move(log)) {}

WriteBuilder& WriteBuilder::Data(std::shared_ptr<arrow::RecordBatchReader> reader) {
  reader_ = std::move(reader);
  batches_.clear();
  return *this;
}

WriteBuilder& WriteBuilder::Data(std::vector<std::shared_ptr<arrow::RecordBatch>> batches) {
  batches_ = std::move(batches);
  reader_ = nullptr;
  return *this;
}

WriteBuilder& WriteBuilder::Append() {
  overwrite_ = false;
  where_.reset();
  return *this;
}

WriteBuilder& WriteBuilder::Overwrite(std::optional<std::string> where) {
  overwrite_ = true;
  where_ = std::move(where);
  return *this;
}

WriteBuilder& WriteBuilder::SchemaEvolution(bool enabled) {
  schema_evolution_ = enabled;
  return *this;
}

WriteBuilder& WriteBuilder::FileOptions(const data::WriteOptions& options) {
  file_options_ = options;
  return *this;
}

WriteBuilder& WriteBuilder::TargetFileSize(int64_t bytes) {
  target_file_size_ = bytes;
  return *this;
}

WriteBuilder& WriteBuilder::AppTransactions(std::vector<SetTransaction> transactions) {
  app_transactions_ = std::move(transactions);
  return *this;
}

WriteBuilder& WriteBuilder::Options(const WriteOptions& options) {
  schema_evolution_ = options.schema_evolution;
  app_transactions_ = options.app_transactions;
  target_file_size_ = options.target_file_size_bytes;
  return *this;
}

WriteBuilder& WriteBuilder::Operation(std::string name, StringMap parameters) {
  operation_.emplace(std::move(name), std::move(parameters));
  return *this;
}

WriteBuilder& WriteBuilder::OnSnapshot(std::shared_ptr<const Snapshot> snapshot) {
  snapshot_ = std::move(snapshot);
  return *this;
}

arrow::Result<WriteResult> WriteBuilder::Commit() {
  if (committed_) return arrow::Status::Invalid("a write can be committed only once");
  committed_ = true;
  std::shared_ptr<const Snapshot> snapshot = snapshot_;
  if (snapshot == nullptr) {
    ARROW_ASSIGN_OR_RAISE(snapshot, log_->Latest());
  }
  WriteResult outcome;
  if (AlreadyApplied(*snapshot, app_transactions_)) return outcome;

  // Batches are written as one table; batches without rows are no data at all.
  std::shared_ptr<arrow::Table> table;
  int64_t batch_rows = 0;
  for (const auto& batch : batches_) batch_rows += batch->num_rows();
  if (batch_rows > 0) {
    ARROW_ASSIGN_OR_RAISE(table, arrow::Table::FromRecordBatches(batches_));
  }
  std::shared_ptr<arrow::Schema> incoming = table != nullptr     ? table->schema()
                                            : reader_ != nullptr ? reader_->schema()
                                                                 : nullptr;

  Metadata metadata = snapshot->metadata();
  ARROW_ASSIGN_OR_RAISE(auto table_schema, data::ParseDeltaSchema(metadata.schema_string));
  bool evolved = false;
  if (incoming != nullptr && schema_evolution_) {
    ARROW_ASSIGN_OR_RAISE(auto mode, data::ColumnMappingModeOf(metadata.configuration));
    ARROW_ASSIGN_OR_RAISE(int64_t max_column_id, data::MaxColumnIdOf(metadata.configuration));
    ARROW_ASSIGN_OR_RAISE(std::string merged,
                          data::MergeSchemas(*table_schema, *incoming, mode, &max_column_id));
    if (merged != metadata.schema_string) {
      evolved = true;
      metadata.schema_string = merged;
      if (mode != data::ColumnMappingMode::kNone) {
        metadata.configuration[std::string(data::kMaxColumnIdKey)] = std::to_string(max_column_id);
      }
    }
  } else if (incoming != nullptr) {
    // Generated columns may be left out: the file writer computes them.
    ARROW_ASSIGN_OR_RAISE(TableConstraints constraints, ReadTableConstraints(metadata));
    for (const GeneratedColumn& generated : constraints.generated_columns) {
      const int index = table_schema->GetFieldIndex(generated.column);
      if (index < 0) continue;
      ARROW_ASSIGN_OR_RAISE(
          table_schema,
          table_schema->SetField(index, table_schema->field(index)->WithNullable(true)));
    }
    auto check = data::CheckWriteSchema(*table_schema, *incoming);
    if (!check.ok()) {
      return arrow::Status::Invalid(check.message(),
                                    overwrite_ ? " (nothing was written)"
                                               : " (nothing was written; pass --schema-evolution "
                                                 "to add new columns)");
    }
  }

  std::optional<PartitionMatcher> matcher;
  if (where_) {
    ARROW_ASSIGN_OR_RAISE(auto made,
                          PartitionMatcher::Make(*where_, *table_schema, metadata.partition_columns,
                                                 metadata.configuration));
    matcher.emplace(std::move(made));
  }
  data::WriteOptions file_options = file_options_;
  if (target_file_size_) file_options.target_file_size = *target_file_size_;
  WrittenData written;
  if (table != nullptr || reader_ != nullptr) {
    ARROW_ASSIGN_OR_RAISE(written, WriteData(store_, metadata, file_options, reader_.get(), table));
  }
  // Like Spark's replaceWhere: new rows must fall inside what is replaced, or they would
  // silently land outside the overwritten partitions.
  if (matcher) {
    for (const AddFile& file : written.files) {
      ARROW_ASSIGN_OR_RAISE(bool inside, matcher->Matches(file.partition_values));
      if (!inside) {
        for (const AddFile& orphan : written.files) {
          ARROW_RETURN_NOT_OK(store_->Delete(orphan.path));
        }
        return arrow::Status::Invalid("overwrite: input rows fall outside --where '", *where_,
                                      "' (nothing was written)");
      }
    }
  }

  auto transaction = log_->StartTransaction(snapshot);
  const int64_t now = NowMillis();
  if (overwrite_) {
    if (matcher) {
      transaction->ReadPartitions([matcher](const PartitionValues& values) {
        auto matches = matcher->Matches(values);
        return !matches.ok() || *matches;  // an undecidable partition counts as read
      });
    } else {
      transaction->ReadWholeTable();
    }
    for (const AddFile& file : snapshot->files()) {
      if (matcher) {
        ARROW_ASSIGN_OR_RAISE(bool matches, matcher->Matches(file.partition_values));
        if (!matches) continue;
      }
      transaction->RemoveFile(MakeRemoveFile(file, now));
      ++outcome.files_removed;
    }
  }
  for (const SetTransaction& txn : app_transactions_) {
    // Declared as read so that a concurrent commit of the same app id is a conflict.
    (void)transaction->AppTransactionVersion(txn.app_id);
    SetTransaction recorded = txn;
    if (!recorded.last_updated) recorded.last_updated = now;
    transaction->SetAppTransaction(recorded);
  }
  if (evolved) transaction->UpdateMetadata(metadata);
  outcome.files_added = static_cast<int64_t>(written.files.size());
  outcome.rows_written = written.rows;
  std::vector<std::string> written_paths = PathsOf(written.files);
  for (AddFile& file : written.files) {
    outcome.bytes_written += file.size;
    transaction->AddFile(std::move(file));
  }
  if (operation_) {
    transaction->SetOperation(operation_->first, operation_->second);
  } else {
    StringMap parameters = {{"mode", overwrite_ ? "Overwrite" : "Append"},
                            {"partitionBy", PartitionByJson(metadata.partition_columns)}};
    if (where_) {
      std::string quoted;
      AppendJsonString(&quoted, *where_);
      parameters["predicate"] = quoted;
    }
    transaction->SetOperation("WRITE", parameters);
  }
  ARROW_ASSIGN_OR_RAISE(CommitResult committed,
                        CommitOrDiscard(*transaction, written_paths, *store_));
  outcome.version = committed.version;
  outcome.maintenance_status = committed.post_commit_status;
  return outcome;
}

// ---- Scan handle --------------------------------------------------------------------------

TableScan Table::NewScan() const { return TableScan(store_, log_); }

TableScan& TableScan::Version(int64_t version) {
  version_ = version;
  timestamp_ms_.reset();
  snapshot_ = nullptr;
  return *this;
}

TableScan& TableScan::Timestamp(int64_t timestamp_ms) {
  timestamp_ms_ = timestamp_ms;
  version_.reset();
  snapshot_ = nullptr;
  return *this;
}

TableScan& TableScan::Snapshot(std::shared_ptr<const delta::Snapshot> snapshot) {
  snapshot_ = std::move(snapshot);
  version_.reset();
  timestamp_ms_.reset();
  return *this;
}

TableScan& TableScan::Files(std::vector<AddFile> files) {
  files_ = std::move(files);
  return *this;
}

TableScan& TableScan::Columns(std::vector<std::string> columns) {
  columns_ = std::move(columns);
  return *this;
}

TableScan& TableScan::Filter(arrow::compute::Expression filter) {
  filter_ = std::move(filter);
  return *this;
}

TableScan& TableScan::Limit(int64_t rows) {
  limit_ = rows;
  return *this;
}

TableScan& TableScan::Parallelism(int files) {
  parallelism_ = files;
  return *this;
}

TableScan& TableScan::Cancellation(std::function<arrow::Status()> check) {
  cancellation_ = std::move(check);
  return *this;
}

arrow::Result<std::shared_ptr<const Snapshot>> TableScan::ResolveSnapshot() const {
  if (snapshot_) return snapshot_;
  if (version_) return log_->AtVersion(*version_);
  if (timestamp_ms_) return log_->AtTimestamp(*timestamp_ms_);
  return log_->Latest();
}

arrow::Result<std::shared_ptr<data::Scan>> TableScan::Plan() const {
  ARROW_ASSIGN_OR_RAISE(auto snapshot, ResolveSnapshot());
  data::ScanBuilder builder(store_, snapshot->metadata(), files_ ? *files_ : snapshot->files());
  if (columns_) builder.Select(*columns_);
  if (filter_) builder.Filter(*filter_);
  if (limit_) builder.Limit(*limit_);
  if (parallelism_) builder.Parallelism(*parallelism_);
  if (cancellation_) builder.Cancellation(cancellation_);
  return builder.Build();
}

}  // namespace nlk::delta
