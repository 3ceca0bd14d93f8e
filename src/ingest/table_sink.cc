#include "ingest/table_sink.h"

#include <arrow/table.h>

#include <string>
#include <utility>

#include "delta/data/column_mapping.h"
#include "delta/data/file_writer.h"
#include "delta/data/schema.h"
#include "delta/data/schema_enforcement.h"
#include "delta/log/delta_log.h"
#include "delta/log/log_error.h"
#include "delta/log/transaction.h"
#include "storage/object_store.h"

namespace nlk::ingest {
namespace {

// The new metadata when `incoming` adds columns, or nullopt when the schema stays.
arrow::Result<std::optional<delta::Metadata>> EvolvedMetadata(const delta::Metadata& current,
                                                              const arrow::Schema& table_schema,
                                                              const arrow::Schema& incoming) {
  ARROW_ASSIGN_OR_RAISE(auto mode, delta::data::ColumnMappingModeOf(current.configuration));
  ARROW_ASSIGN_OR_RAISE(int64_t max_column_id, delta::data::MaxColumnIdOf(current.configuration));
  ARROW_ASSIGN_OR_RAISE(std::string merged,
                        delta::data::MergeSchemas(table_schema, incoming, mode, &max_column_id));
  if (merged == current.schema_string) return std::nullopt;
  delta::Metadata evolved = current;
  evolved.schema_string = std::move(merged);
  if (mode != delta::data::ColumnMappingMode::kNone) {
    evolved.configuration[std::string(delta::data::kMaxColumnIdKey)] =
        std::to_string(max_column_id);
  }
  return evolved;
}

// Streams carry measured values (voltages, band powers) that are nearly all distinct, so their
// float columns skip dictionary encoding; their integers (time stamps, sequence numbers,
// channels) are written plain under LZ4, which takes half the CPU of dictionary or delta
// encoding for files a tenth larger (nlk optimize rewrites them with dictionaries and snappy);
// and a flush encodes its columns in parallel: it runs on the writer's flush thread while the
// polling thread keeps consuming.
delta::data::WriteOptions StreamingWriteOptions() {
  delta::data::WriteOptions options;
  options.dictionary_for_floating_point = false;
  options.dictionary_for_integers = false;
  options.compression = parquet::Compression::LZ4;
  options.dictionary_strings = true;
  options.use_threads = true;
  return options;
}

}  // namespace

TableSink::TableSink(std::string uri, std::shared_ptr<arrow::Schema> create_schema,
                     delta::CreateOptions create_options)
    : uri_(std::move(uri)),
      create_schema_(std::move(create_schema)),
      create_options_(std::move(create_options)) {}

arrow::Result<std::unique_ptr<TableSink>> TableSink::Open(
    const std::string& uri, std::shared_ptr<arrow::Schema> create_schema,
    delta::CreateOptions create_options) {
  std::unique_ptr<TableSink> sink(
      new TableSink(uri, std::move(create_schema), std::move(create_options)));
  ARROW_ASSIGN_OR_RAISE(auto snapshot, sink->Refresh());
  if (snapshot == nullptr && sink->create_schema_ == nullptr) {
    return arrow::Status::Invalid(
        "table ", uri,
        " does not exist; create it first (nlk table create) or let ingest create it with "
        "--schema-from-datagen samples|spikes|band_power");
  }
  return sink;
}

arrow::Result<std::shared_ptr<const delta::Snapshot>> TableSink::Refresh() {
  if (table_ == nullptr) {
    // Only "no table here" means the table is still to be created; anything else (an
    // unreachable store, a corrupt log) must stop the writer.
    ARROW_ASSIGN_OR_RAISE(auto store, storage::OpenObjectStore(uri_));
    ARROW_ASSIGN_OR_RAISE(auto log, delta::DeltaLog::Open(store));
    ARROW_ASSIGN_OR_RAISE(bool exists, log->TableExists());
    if (!exists) return nullptr;
    ARROW_ASSIGN_OR_RAISE(table_, delta::Table::Open(uri_));
  }
  if (snapshot_ == nullptr) {
    ARROW_ASSIGN_OR_RAISE(snapshot_, table_->log()->Latest());
  } else {
    ARROW_ASSIGN_OR_RAISE(snapshot_, table_->log()->Update(snapshot_));
  }
  return snapshot_;
}

arrow::Result<std::shared_ptr<arrow::Schema>> TableSink::Schema() {
  ARROW_ASSIGN_OR_RAISE(auto snapshot, Refresh());
  if (snapshot == nullptr) return create_schema_;
  return delta::data::ParseDeltaSchema(snapshot->metadata().schema_string);
}

arrow::Result<std::shared_ptr<const delta::Snapshot>> TableSink::EnsureCreated() {
  ARROW_ASSIGN_OR_RAISE(auto snapshot, Refresh());
  if (snapshot != nullptr) return snapshot;
  auto created = delta::Table::Create(uri_, create_schema_, create_options_);
  if (!created.ok()) {
    // Another writer of the group may have created it first; then its table is ours too.
    ARROW_ASSIGN_OR_RAISE(snapshot, Refresh());
    if (snapshot == nullptr) return created.status();
    return snapshot;
  }
  return Refresh();
}

arrow::Result<SinkCommit> TableSink::Commit(const std::shared_ptr<const delta::Snapshot>& snapshot,
                                            const std::shared_ptr<arrow::RecordBatch>& batch,
                                            const std::vector<delta::SetTransaction>& transactions,
                                            bool schema_evolution) {
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  if (batch != nullptr) batches.push_back(batch);
  return Commit(snapshot, batches, transactions, schema_evolution);
}

arrow::Result<SinkCommit> TableSink::Commit(
    const std::shared_ptr<const delta::Snapshot>& snapshot,
    const std::vector<std::shared_ptr<arrow::RecordBatch>>& batches,
    const std::vector<delta::SetTransaction>& transactions, bool schema_evolution) {
  if (snapshot == nullptr || table_ == nullptr) {
    return arrow::Status::Invalid("table ", uri_, " must be created before committing to it");
  }
  delta::Metadata metadata = snapshot->metadata();
  bool evolved = false;
  std::vector<delta::AddFile> files;
  SinkCommit outcome;
  int64_t rows = 0;
  for (const auto& batch : batches) rows += batch->num_rows();
  if (rows > 0) {
    ARROW_ASSIGN_OR_RAISE(auto data, arrow::Table::FromRecordBatches(batches));
    if (schema_evolution) {
      ARROW_ASSIGN_OR_RAISE(auto table_schema,
                            delta::data::ParseDeltaSchema(metadata.schema_string));
      ARROW_ASSIGN_OR_RAISE(auto evolved_metadata,
                            EvolvedMetadata(metadata, *table_schema, *data->schema()));
      if (evolved_metadata) {
        metadata = std::move(*evolved_metadata);
        evolved = true;
      }
    }
    ARROW_ASSIGN_OR_RAISE(auto writer, delta::data::DataFileWriter::Make(table_->store(), metadata,
                                                                         StreamingWriteOptions()));
    ARROW_RETURN_NOT_OK(writer->Write(*data));
    ARROW_ASSIGN_OR_RAISE(files, writer->Finish());
    outcome.rows = rows;
  }

  auto transaction = table_->log()->StartTransaction(snapshot);
  for (const delta::SetTransaction& txn : transactions) {
    // Declared as read so that a concurrent commit of the same app id is a conflict.
    (void)transaction->AppTransactionVersion(txn.app_id);
    transaction->SetAppTransaction(txn);
  }
  if (evolved) transaction->UpdateMetadata(metadata);
  std::vector<std::string> written_paths;
  for (delta::AddFile& file : files) {
    outcome.bytes += file.size;
    written_paths.push_back(file.path);
    transaction->AddFile(std::move(file));
  }
  outcome.files = static_cast<int64_t>(written_paths.size());
  // The operation Delta's own streaming sink records, so history readers recognise it.
  transaction->SetOperation("STREAMING UPDATE", {{"outputMode", "\"Append\""}});
  auto committed = transaction->Commit();
  if (!committed.ok()) {
    // After an I/O error the commit may have landed and its files must stay; any other failure
    // means no version references them.
    if (!committed.status().IsIOError()) {
      for (const std::string& path : written_paths) {
        (void)table_->store()->Delete(path);  // best effort: vacuum removes leftovers
      }
    }
    return committed.status();
  }
  outcome.version = committed->version;
  outcome.maintenance_status = committed->post_commit_status;
  return outcome;
}

}  // namespace nlk::ingest
