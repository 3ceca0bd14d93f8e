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

#include "delta/change_feed.h"
#include "delta/data/file_writer.h"
#include "delta/dml/merge.h"
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
  int64_t bytes_written = 0;  // of the data files added
  // A failed automatic checkpoint or log cleanup after the commit; the commit itself stands.
  arrow::Status maintenance_status;
};

class WriteBuilder;

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

  // Starts a write (append or overwrite) to commit with WriteBuilder::Commit; see below.
  WriteBuilder NewWrite() const;
  // NewWrite().Data(data).Options(options).Commit().
  arrow::Result<WriteResult> Append(std::shared_ptr<arrow::RecordBatchReader> data,
                                    const WriteOptions& options = {});
  // Replaces the whole table, or only the rows of the partitions matching `where` (which may
  // only name partition columns): NewWrite().Data(data).Overwrite(where).Options(options)
  // .Commit().
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
  // MERGE INTO this table from `source` (delta/dml/merge.h: expressions over "target.<col>"
  // and "source.<col>").
  arrow::Result<dml::MergeResult> Merge(const std::shared_ptr<arrow::RecordBatchReader>& source,
                                        const dml::MergeSpec& spec,
                                        const dml::DmlOptions& options = {});
  arrow::Result<dml::MergeResult> Merge(const std::shared_ptr<arrow::Table>& source,
                                        const dml::MergeSpec& spec,
                                        const dml::DmlOptions& options = {});

  // ---- Change data feed (delta/change_feed.h) ----
  // The rows inserted, deleted and updated by the commits of a version range, with
  // _change_type, _commit_version and _commit_timestamp.
  arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> Changes(
      const ChangeFeedOptions& options);

  // ---- Schema changes (delta/column_changes.cc) ----
  // Metadata-only changes of a table with column mapping (mode name or id): the data files keep
  // their physical column names, so nothing is rewritten. Both return the committed version.
  // Renames top-level column `from` to `to` (a partition column too).
  arrow::Result<int64_t> RenameColumn(const std::string& from, const std::string& to);
  // Drops top-level columns (not partition columns, and not every data column).
  arrow::Result<int64_t> DropColumns(const std::vector<std::string>& columns);

  const std::shared_ptr<DeltaLog>& log() const { return log_; }
  const std::shared_ptr<storage::ObjectStore>& store() const { return store_; }

 private:
  Table(std::shared_ptr<storage::ObjectStore> store, std::shared_ptr<DeltaLog> log);

  std::shared_ptr<storage::ObjectStore> store_;
  std::shared_ptr<DeltaLog> log_;
};

// ---- Writing -------------------------------------------------------------------------------
//
// One write to a table: its rows go to new Parquet data files, which are committed as one new
// version together with any schema change, removed files (overwrite) and txn actions.
//
//   ARROW_ASSIGN_OR_RAISE(auto result, table->NewWrite()
//                                          .Data(reader)
//                                          .SchemaEvolution(true)
//                                          .AppTransactions({{"job-7", 42, std::nullopt}})
//                                          .Commit());
//
// What a write checks and does, in order:
//  1. The snapshot: the one given to OnSnapshot, else the latest. Everything below is decided on
//     it, and the commit goes on top of it: a concurrent commit that conflicts with what the
//     write read (see log/conflict_checker.h) fails the write with a conflict, and other
//     concurrent commits are rebased over, as for every Delta commit.
//  2. App transactions: when the snapshot already records, for every app id given, a version
//     >= the one given, nothing is written (WriteResult::version == -1). Every app id given is
//     declared as read, so a concurrent commit of the same app id is a conflict: a caller that
//     checked its recorded versions on the snapshot it passes to OnSnapshot gets exactly-once.
//     A transaction without last_updated gets the commit time.
//  3. The schema: the rows' columns must fit the table's (missing nullable columns are written
//     as nulls); with SchemaEvolution, new nullable columns are added to the table schema in the
//     same commit instead (files already written are left as they are).
//  4. The rows are written into files of about TargetFileSize bytes, with FileOptions' layout.
//     An overwrite with a `where` refuses rows outside the partitions it selects.
//  5. The commit: the new files, the files removed by an overwrite, the txn actions, and
//     commitInfo with Operation's name and parameters (by default WRITE with mode and
//     partitionBy, as Spark records). When the commit fails for sure (a conflict, a refused
//     action) the new files are deleted again; after an I/O error, when it may have landed, they
//     stay (vacuum removes true orphans).
//
// A write with no rows (an empty reader, no batches) still commits: a version that records
// only its txn actions, or, for an overwrite, only the removal of what it replaces.
//
// Thread-safety: a WriteBuilder belongs to one thread; Commit may be called once.
class WriteBuilder {
 public:
  // The rows, read to the end by Commit. The reader's schema is what step 3 checks, even when
  // it yields no rows.
  WriteBuilder& Data(std::shared_ptr<arrow::RecordBatchReader> reader);
  // The rows as batches of one schema, handed to the file writer as one table so that it may
  // encode a row group's columns in parallel (see data::WriteOptions::use_threads). Batches
  // holding no rows at all count as no data (no schema check, no schema change).
  WriteBuilder& Data(std::vector<std::shared_ptr<arrow::RecordBatch>> batches);

  // Append (the default): add the rows to the table.
  WriteBuilder& Append();
  // Replace the table's rows: all of them, or those of the partitions matching `where` (a
  // predicate of delta/predicate.h over partition columns only), like Spark's replaceWhere.
  WriteBuilder& Overwrite(std::optional<std::string> where = std::nullopt);

  WriteBuilder& SchemaEvolution(bool enabled = true);
  // The Parquet layout of the data files (codec, encodings, row groups, threads). Its
  // target_file_size is replaced by TargetFileSize when that is called (in either order).
  WriteBuilder& FileOptions(const data::WriteOptions& options);
  WriteBuilder& TargetFileSize(int64_t bytes);
  WriteBuilder& AppTransactions(std::vector<SetTransaction> transactions);
  // schema_evolution, app_transactions and target_file_size_bytes of `options`.
  WriteBuilder& Options(const WriteOptions& options);
  // commitInfo.operation and operationParameters. Parameter values are strings, as Spark
  // records them; some hold JSON text (partitionBy: "[\"p\"]").
  WriteBuilder& Operation(std::string name, StringMap parameters = {});
  // Commit on top of `snapshot` (of this table), e.g. the one a caller read before deciding to
  // write; see step 1 and 2 above.
  WriteBuilder& OnSnapshot(std::shared_ptr<const Snapshot> snapshot);

  arrow::Result<WriteResult> Commit();

 private:
  friend class Table;
  WriteBuilder(std::shared_ptr<storage::ObjectStore> store, std::shared_ptr<DeltaLog> log);

  std::shared_ptr<storage::ObjectStore> store_;
  std::shared_ptr<DeltaLog> log_;
  std::shared_ptr<arrow::RecordBatchReader> reader_;
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches_;
  bool overwrite_ = false;
  std::optional<std::string> where_;
  bool schema_evolution_ = false;
  data::WriteOptions file_options_;
  std::optional<int64_t> target_file_size_;
  std::vector<SetTransaction> app_transactions_;
  std::optional<std::pair<std::string, StringMap>> operation_;
  std::shared_ptr<const Snapshot> snapshot_;
  bool committed_ = false;
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
