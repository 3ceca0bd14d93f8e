// One table as the query service sees it: a Delta table whose snapshot is kept current by
// incremental log updates (only commits after the cached version are read), optionally with
// its rows held in memory, a Parquet file/directory held in memory, or an Arrow table the program
// supplied (TableFormat::kMemory), held as given.
//
// Thread-safety: all methods may be called concurrently. Refresh() swaps an immutable state
// under a mutex; queries keep the state they started with, so a refresh never changes the
// rows of a query in flight.
#pragma once

#include <arrow/compute/expression.h>
#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/table.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "delta/data/scan.h"
#include "delta/log/snapshot.h"
#include "delta/table.h"
#include "server/freshness_histogram.h"
#include "server/server_config.h"

namespace nlk::server {

// Which version of a table a request reads; both empty: the latest cached snapshot.
struct TableVersionRequest {
  std::optional<int64_t> version;
  std::optional<int64_t> timestamp_ms;
  bool latest() const { return !version && !timestamp_ms; }
};

struct TableScanRequest {
  std::vector<std::string> columns;                  // empty: all, in table order
  std::optional<arrow::compute::Expression> filter;  // unbound, logical column names
  std::optional<int64_t> limit;
  TableVersionRequest at;
  // Checked before each data file is read; a failing status (the query's deadline) ends the
  // scan with it.
  std::function<arrow::Status()> cancellation;
};

struct TableScan {
  std::shared_ptr<arrow::RecordBatchReader> reader;
  // What was pruned and read so far; complete once the reader is exhausted.
  std::function<delta::data::ScanMetrics()> metrics;
  int64_t version = -1;  // the Delta version read; -1 for Parquet tables
};

// What /metrics reports per table.
struct TableStatus {
  int64_t version = -1;
  int64_t commit_timestamp_ms = 0;
  // The newest commit that may have brought data: maintenance commits (OPTIMIZE, VACUUM) do not
  // count. Delta tables only.
  int64_t data_timestamp_ms = 0;
  // When the cached state was last confirmed current (a successful refresh), ms since epoch.
  int64_t checked_at_ms = 0;
  int64_t files = 0;
  int64_t memory_bytes = 0;
  int64_t refresh_failures = 0;
};

class ServedTable {
 public:
  // Opens the table and loads its first state; a missing or unreadable table fails here.
  static arrow::Result<std::shared_ptr<ServedTable>> Open(const TableConfig& config,
                                                          std::chrono::milliseconds reload);

  const std::string& name() const { return config_.name; }
  const TableConfig& config() const { return config_; }
  std::chrono::milliseconds reload_interval() const { return reload_interval_; }
  bool is_delta() const { return config_.format == TableFormat::kDelta; }

  // The schema of the latest cached state.
  std::shared_ptr<arrow::Schema> schema() const;
  TableStatus status() const;
  // Commit-to-queryable delays of the versions refreshes made visible (Delta tables).
  const FreshnessHistogram& freshness() const { return freshness_; }

  // Follows the log: reads the commits after the cached version and, for memory tables, loads
  // the files added and drops the files removed. A no-op for Parquet tables.
  arrow::Status Refresh();

  // A streaming scan with projection, filter and limit pushed down. Time travel reads the data
  // files of that version even for memory tables.
  arrow::Result<TableScan> Scan(const TableScanRequest& request);

  // The Delta snapshot a request reads (kNotFound-style errors for versions that do not exist).
  arrow::Result<std::shared_ptr<const delta::Snapshot>> SnapshotFor(const TableVersionRequest& at);
  // The whole table in memory, for SQL over memory tables (latest version only); nullptr when
  // the table is not held in memory.
  std::shared_ptr<arrow::Table> MemoryTable() const;
  // MemoryTable() and the Delta version it holds (-1 for other tables), from one state.
  std::pair<std::shared_ptr<arrow::Table>, int64_t> MemoryTableAndVersion() const;
  // The Delta table (Delta tables only; nullptr otherwise).
  const std::shared_ptr<delta::Table>& delta_table() const { return table_; }

 private:
  struct MemoryFile {
    delta::AddFile add;
    arrow::RecordBatchVector batches;
    int64_t bytes = 0;
  };
  // Everything a query needs, frozen at one version.
  struct State {
    std::shared_ptr<const delta::Snapshot> snapshot;  // nullptr for Parquet tables
    std::shared_ptr<arrow::Schema> schema;
    // Memory tables: the rows of each live file, keyed by path and deletion vector.
    std::shared_ptr<const std::map<std::string, MemoryFile>> memory_files;
    std::shared_ptr<arrow::Table> memory_table;
    int64_t memory_bytes = 0;
    int64_t checked_at_ms = 0;
    // Delta: the newest commit that may have brought data (delta/log/data_freshness.h).
    int64_t data_timestamp_ms = 0;
  };

  ServedTable(TableConfig config, std::chrono::milliseconds reload)
      : config_(std::move(config)), reload_interval_(reload) {}

  arrow::Status LoadParquet();
  arrow::Status LoadRows();
  arrow::Result<std::shared_ptr<const State>> BuildDeltaState(
      std::shared_ptr<const delta::Snapshot> snapshot, const State* previous) const;
  std::shared_ptr<const State> state() const;
  arrow::Result<TableScan> ScanMemory(const State& state, const TableScanRequest& request);
  arrow::Result<TableScan> ScanFiles(std::shared_ptr<const delta::Snapshot> snapshot,
                                     const TableScanRequest& request);

  const TableConfig config_;
  const std::chrono::milliseconds reload_interval_;
  std::shared_ptr<delta::Table> table_;
  // Serializes refreshes so two never load the same new files.
  std::mutex refresh_mutex_;
  mutable std::mutex state_mutex_;
  std::shared_ptr<const State> state_;
  int64_t refresh_failures_ = 0;  // guarded by state_mutex_
  FreshnessHistogram freshness_;
  // Time-travel snapshots recently asked for, by version (bounded; see kMaxCachedVersions).
  std::mutex versions_mutex_;
  std::map<int64_t, std::shared_ptr<const delta::Snapshot>> versions_;
};

}  // namespace nlk::server
