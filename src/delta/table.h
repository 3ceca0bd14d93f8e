// The table API: what programs (the nlk CLI, ingest, the query service) use to create, write,
// read and inspect Delta tables. It joins the log layer (snapshots, commits) and the data layer
// (Parquet files, scans) behind a few calls.
//
// Thread-safety: a Table may be used from several threads; each call works on its own snapshot
// and commits through the Delta protocol, so concurrent writers (threads or processes) are safe.
#pragma once

#include <arrow/compute/expression.h>
#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "delta/dml/row_level_operation.h"
#include "delta/log/actions.h"
#include "delta/log/delta_log.h"
#include "delta/log/snapshot.h"
#include "storage/object_store.h"

namespace nlk::delta {

namespace data {
class Scan;
}  // namespace data

class TableScan;

struct CreateOptions {
  std::vector<std::string> partition_columns;
  // delta.* table properties and user ones; neuralake.writer defaults to nlk (see
  // log/table_properties.h).
  std::map<std::string, std::string> properties;
  std::optional<std::string> name;
  std::optional<std::string> description;
};

struct WriteOptions {
  // Add new nullable columns found in the input to the table schema (old files untouched).
  bool schema_evolution = false;
  // Idempotent writes: `txn` actions committed atomically with the data. The write is skipped
  // (WriteResult::version == -1) when the table already records, for every app id given, a
  // version >= the one given here. Streaming ingest uses one app id per topic-partition.
  std::vector<SetTransaction> app_transactions;
  int64_t target_file_size_bytes = 128LL * 1024 * 1024;
};

struct ReadOptions {
  std::optional<int64_t> version;
  std::optional<int64_t> timestamp_ms;
  std::vector<std::string> columns;   // empty: all
  std::optional<std::string> filter;  // predicate language of delta/predicate.h
  std::optional<int64_t> limit;
};

struct WriteResult {
  int64_t version = -1;  // the committed version; -1 when skipped as already applied
  int64_t files_added = 0;
  int64_t files_removed = 0;
  int64_t rows_written = 0;
  // A failed automatic checkpoint or log cleanup after the commit; the commit itself stands.
  arrow::Status maintenance_status;
};

class Table {
 public:
  // Opens an existing table; "not a Delta table" if there is none at `uri`.
  static arrow::Result<std::shared_ptr<Table>> Open(const std::string& uri);
  // Whether a table exists at `uri` (its log has a commit or a checkpoint), so callers can
  // tell a table not created yet from one that cannot be read. Errors only when the storage
  // cannot be listed.
  static arrow::Result<bool> Exists(const std::string& uri);
  // Creates a table at version 0 with `schema`, then writes `data` (if any) in the same commit.
  static arrow::Result<std::shared_ptr<Table>> Create(
      const std::string& uri, const std::shared_ptr<arrow::Schema>& schema,
      const CreateOptions& options, std::shared_ptr<arrow::RecordBatchReader> data = nullptr);

  arrow::Result<WriteResult> Append(std::shared_ptr<arrow::RecordBatchReader> data,
                                    const WriteOptions& options = {});
  // Replaces the whole table, or only the rows of the partitions matching `where` (which may
  // only name partition columns).
  arrow::Result<WriteResult> Overwrite(std::shared_ptr<arrow::RecordBatchReader> data,
                                       const std::optional<std::string>& where,
                                       const WriteOptions& options = {});

  arrow::Result<std::shared_ptr<const Snapshot>> SnapshotFor(const ReadOptions& options);
  // Writes a checkpoint at the latest version and returns that version.
  arrow::Result<int64_t> Checkpoint();
  arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> Read(const ReadOptions& options);
  // The scan Read runs, planned (files pruned and skipped) but not started: for callers that
  // also want its figures (Scan::metrics) once they have read the rows.
  arrow::Result<std::shared_ptr<data::Scan>> PlanRead(const ReadOptions& options);
  // A scan to configure (see TableScan below): the one way engines read this table's rows.
  TableScan NewScan() const;

  // ---- Row-level operations (delta/dml/row_level_operation.h) ----
  // Deletes the rows matching `predicate` (all rows when absent), in copy-on-write or
  // deletion-vector mode. Predicates are unbound expressions over logical column names, e.g.
  // from ParsePredicate.
  arrow::Result<dml::DmlResult> Delete(const std::optional<arrow::compute::Expression>& predicate,
                                       const dml::DmlOptions& options = {});
  // Sets columns of the rows matching `predicate` (all rows when absent).
  arrow::Result<dml::DmlResult> Update(const std::vector<dml::Assignment>& assignments,
                                       const std::optional<arrow::compute::Expression>& predicate,
                                       const dml::DmlOptions& options = {});

  const std::shared_ptr<DeltaLog>& log() const { return log_; }
  const std::shared_ptr<storage::ObjectStore>& store() const { return store_; }

 private:
  Table(std::shared_ptr<storage::ObjectStore> store, std::shared_ptr<DeltaLog> log);

  std::shared_ptr<storage::ObjectStore> store_;
  std::shared_ptr<DeltaLog> log_;
};

// ---- Scan handle --------------------------------------------------------------------------
// One scan of one snapshot with pushdown, for engines (the SQL engine, the query service): pick
// the snapshot (latest by default, a version, a timestamp, or one the caller already holds),
// the columns, a filter over logical column names and a limit; Plan() prunes partitions and
// skips files by statistics, and the planned scan streams the rows and reports what it pruned
// and read (data::Scan::metrics).
//
//   ARROW_ASSIGN_OR_RAISE(auto scan, table->NewScan().Columns({"ts", "value"})
//                                        .Filter(compute::greater(compute::field_ref("value"),
//                                                                 compute::literal(3)))
//                                        .Limit(100)
//                                        .Plan());
//   ARROW_ASSIGN_OR_RAISE(auto reader, scan->ToRecordBatchReader());
//
// Not thread-safe while configured; the planned scan is.
class TableScan {
 public:
  TableScan(std::shared_ptr<storage::ObjectStore> store, std::shared_ptr<DeltaLog> log)
      : store_(std::move(store)), log_(std::move(log)) {}

  // Which snapshot: a version, the latest at or before a time, or one the caller holds (a
  // cached snapshot of this table). The last one given wins; none: the latest.
  TableScan& Version(int64_t version);
  TableScan& Timestamp(int64_t timestamp_ms);
  TableScan& Snapshot(std::shared_ptr<const delta::Snapshot> snapshot);
  // Only these live files of the snapshot, in this order (default: all of them).
  TableScan& Files(std::vector<AddFile> files);
  // Output columns by logical name, in this order (not called: all; an empty list: none, for
  // callers that only count rows).
  TableScan& Columns(std::vector<std::string> columns);
  TableScan& Filter(arrow::compute::Expression filter);
  TableScan& Limit(int64_t rows);
  // Files read ahead concurrently (1: one at a time).
  TableScan& Parallelism(int files);
  // Checked before each data file is read; a failing status ends the scan with it.
  TableScan& Cancellation(std::function<arrow::Status()> check);

  // The snapshot this scan reads.
  arrow::Result<std::shared_ptr<const delta::Snapshot>> ResolveSnapshot() const;
  // Validates the request (unknown columns, unsupported filters) and plans the files to read.
  arrow::Result<std::shared_ptr<data::Scan>> Plan() const;

 private:
  std::shared_ptr<storage::ObjectStore> store_;
  std::shared_ptr<DeltaLog> log_;
  std::optional<int64_t> version_;
  std::optional<int64_t> timestamp_ms_;
  std::shared_ptr<const delta::Snapshot> snapshot_;
  std::optional<std::vector<AddFile>> files_;
  std::optional<std::vector<std::string>> columns_;
  std::optional<arrow::compute::Expression> filter_;
  std::optional<int64_t> limit_;
  std::optional<int> parallelism_;
  std::function<arrow::Status()> cancellation_;
};

}  // namespace nlk::delta
