#include "ingest/table_sink.h"

#include <string>
#include <utility>

#include "delta/data/file_writer.h"
#include "delta/data/schema.h"
#include "delta/log/delta_log.h"
#include "storage/object_store.h"

namespace nlk::ingest {
namespace {

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
  ARROW_ASSIGN_OR_RAISE(delta::WriteResult written,
                        table_->NewWrite()
                            .OnSnapshot(snapshot)
                            .Data(batches)
                            .SchemaEvolution(schema_evolution)
                            .FileOptions(StreamingWriteOptions())
                            .AppTransactions(transactions)
                            // The operation Delta's own streaming sink records, so history
                            // readers recognise it.
                            .Operation("STREAMING UPDATE", {{"outputMode", "\"Append\""}})
                            .Commit());
  SinkCommit outcome;
  outcome.version = written.version;
  outcome.rows = written.rows_written;
  outcome.files = written.files_added;
  outcome.bytes = written.bytes_written;
  outcome.maintenance_status = written.maintenance_status;
  return outcome;
}

}  // namespace nlk::ingest
