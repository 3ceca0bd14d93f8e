// Reading a Delta table's data: given the live AddFiles and Metadata of a snapshot (from the log
// layer), prune partitions, skip files by statistics, prune Parquet row groups, read the rest,
// apply deletion vectors and the filter, restore partition columns, and map physical column
// names back to logical ones.
//
//   ARROW_ASSIGN_OR_RAISE(auto scan, ScanBuilder(store, metadata, files)
//                                        .Select({"ts", "value"})
//                                        .Filter(compute::greater(compute::field_ref("value"),
//                                                                 compute::literal(3)))
//                                        .Build());
//   ARROW_ASSIGN_OR_RAISE(auto reader, scan->ToRecordBatchReader());
#pragma once

#include <arrow/compute/expression.h>
#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/table.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "delta/data/column_mapping.h"
#include "delta/data/scan_cache.h"
#include "delta/log/actions.h"
#include "storage/object_store.h"

namespace nlk::delta::data {

// What a scan pruned and read. Planning figures are final after Build; reading figures grow as
// batches are consumed.
struct ScanMetrics {
  int64_t files_total = 0;
  int64_t files_pruned_by_partition = 0;
  int64_t files_skipped_by_stats = 0;
  int64_t files_skipped_by_limit = 0;
  int64_t files_read = 0;
  int64_t row_groups_total = 0;  // in the files opened
  int64_t row_groups_pruned = 0;
  // Of those read, how many the filter was not evaluated on: their statistics showed every
  // row passes.
  int64_t row_groups_unfiltered = 0;
  int64_t rows_skipped_by_page_index = 0;  // in row groups read, pages the page index ruled out
  int64_t bytes_read = 0;                  // compressed column chunk bytes fetched
  int64_t rows_read = 0;                   // physical rows decoded
  int64_t rows_deleted = 0;                // removed by deletion vectors
  int64_t rows_output = 0;
};

class Scan;

// Configures a scan. Not thread-safe; the Scan it builds is.
class ScanBuilder {
 public:
  // `files` are the snapshot's live AddFiles; `metadata` its current Metadata.
  ScanBuilder(std::shared_ptr<storage::ObjectStore> store, Metadata metadata,
              std::vector<AddFile> files);

  // The output columns, by logical top-level name, in this order (default: all columns).
  ScanBuilder& Select(std::vector<std::string> columns);
  // Rows for which `filter` is not true are dropped. Refers to logical column names; columns it
  // uses need not be selected.
  ScanBuilder& Filter(arrow::compute::Expression filter);
  // At most this many rows are returned.
  ScanBuilder& Limit(int64_t rows);
  // Maximum rows per output batch.
  ScanBuilder& BatchSize(int64_t rows);
  // How many files are read ahead concurrently (1: sequential). Read-ahead runs on a thread
  // pool of the scan module, never on Arrow's I/O pool, so a reader may be consumed from an
  // I/O-pool task (as Acero's record_batch_reader_source does) without risking a deadlock.
  ScanBuilder& Parallelism(int files);
  // Checked before each file is read (from any thread): a failing status, such as a query's
  // deadline or stop request, ends the scan with that status, so a scan that filters out
  // almost everything still stops between files instead of running through the table.
  ScanBuilder& Cancellation(std::function<arrow::Status()> check);
  // Where parsed footers and statistics are kept (default: ScanCache::Default(); nullptr: no
  // caching).
  ScanBuilder& Cache(std::shared_ptr<ScanCache> cache);

  // Validates the request (unknown columns, unsupported filters) and plans which files to read.
  arrow::Result<std::shared_ptr<Scan>> Build();

 private:
  std::shared_ptr<storage::ObjectStore> store_;
  Metadata metadata_;
  std::vector<AddFile> files_;
  std::optional<std::vector<std::string>> columns_;
  std::optional<arrow::compute::Expression> filter_;
  std::optional<int64_t> limit_;
  int64_t batch_size_ = 64 * 1024;
  int parallelism_ = 4;
  std::shared_ptr<ScanCache> cache_ = ScanCache::Default();
  std::function<arrow::Status()> cancellation_;
};

// A planned scan.
//
// Thread-safety: all methods are safe to call concurrently; each reader it returns is not.
class Scan : public std::enable_shared_from_this<Scan> {
 public:
  // The schema of the batches returned.
  const std::shared_ptr<arrow::Schema>& schema() const { return output_schema_; }
  // The files left to read after partition pruning and stats skipping.
  const std::vector<AddFile>& files() const { return files_; }
  ScanMetrics metrics() const;

  // Streams the rows file by file, in the order of files(). A data file missing from storage
  // is an error naming the file.
  arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> ToRecordBatchReader();
  arrow::Result<std::shared_ptr<arrow::Table>> ToTable();

  // Reads one file of files() completely (the unit a reader schedules). Public so engines can
  // spread files over their own workers.
  arrow::Result<arrow::RecordBatchVector> ReadFile(size_t file_index) const;

 private:
  friend class ScanBuilder;
  struct Counters;

  Scan();

  std::shared_ptr<storage::ObjectStore> store_;
  std::shared_ptr<ScanCache> cache_;
  ColumnMappingMode mode_ = ColumnMappingMode::kNone;
  std::shared_ptr<arrow::Schema> table_schema_;  // logical
  std::shared_ptr<arrow::Schema> read_schema_;   // logical columns needed (output + filter)
  std::shared_ptr<arrow::Schema> output_schema_;
  std::vector<std::string> partition_columns_;              // logical names
  std::optional<arrow::compute::Expression> filter_;        // unbound, logical names
  std::optional<arrow::compute::Expression> bound_filter_;  // bound to read_schema_
  std::optional<int64_t> limit_;
  int64_t batch_size_ = 0;
  int parallelism_ = 1;
  std::function<arrow::Status()> cancellation_;  // may be empty
  std::vector<AddFile> files_;
  ScanMetrics planning_metrics_;
  std::unique_ptr<Counters> counters_;
};

}  // namespace nlk::delta::data
