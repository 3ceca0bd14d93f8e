// One table as the SQL engine sees it: TableProvider is the interface every table source
// implements (Delta tables in delta_table_provider.h, Parquet files and other Arrow datasets in
// dataset_table_provider.h, in-memory Arrow tables and function results in
// memory_table_provider.h; the query service adds its own). The binder asks a provider for its
// schema, EXPLAIN for its description, and the executor for a scan with the projection, filter
// and limit the optimizer pushed into it. Which provider a name stands for is the catalog's
// business (table_catalog.h).
//
// Thread-safety: a provider may serve several queries at once; Scan is const and each
// PlannedScan belongs to one query.
#pragma once

#include <arrow/compute/expression.h>
#include <arrow/memory_pool.h>
#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sql/execution_guard.h"
#include "sql/query_metrics.h"

namespace nlk::sql {

// What one caller may read of a table it may see, applied by the binder where the table is
// named, beneath everything the query does with it (joins, WHERE, aggregates, subqueries): the
// rows pass `row_filter` first, then each masked column reads as its mask. Both are SQL
// expressions over the table's own columns (no subqueries), e.g. row_filter
// "site = 'berlin'" and mask {"subject_id", "'redacted'"}. A mask whose type differs from its
// column's is cast to it ("NULL" hides a column's values, keeping its type).
struct TableRestriction {
  std::string row_filter;                                  // empty: every row
  std::vector<std::pair<std::string, std::string>> masks;  // column -> expression

  bool empty() const { return row_filter.empty() && masks.empty(); }
};

// What the executor asks of a table for one scan node of a plan.
struct ScanRequest {
  // The table's columns to return, by name, in this order.
  std::vector<std::string> columns;
  // Over the table's column names (they need not be among `columns`). Rows for which it is not
  // true must not be returned; providers use it to skip data as well.
  std::optional<arrow::compute::Expression> filter;
  // The caller reads at most this many rows (after the filter); a provider may stop early.
  std::optional<int64_t> limit;
  // The query's deadline, stop token and memory: a long scan checks guard.Check() between
  // pieces of work; rows the query keeps are allocated from `pool`.
  ExecutionGuard guard;
  arrow::MemoryPool* pool = arrow::default_memory_pool();
};

// A scan planned by a provider, not started.
class PlannedScan {
 public:
  virtual ~PlannedScan() = default;
  // Starts reading; called at most once. Batches have the requested columns, in order, under
  // the table's column names.
  virtual arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> Read() = 0;
  // What the scan pruned and read so far (files_*, row_groups_*, rows_scanned,
  // bytes_scanned); complete once the reader is exhausted. Safe from any thread.
  virtual QueryMetrics metrics() const = 0;
  // One line about pushdown and pruning for EXPLAIN; empty when there is nothing to say.
  virtual std::string Details() const { return ""; }
};

class TableProvider {
 public:
  virtual ~TableProvider() = default;
  // The columns as queries see them.
  virtual std::shared_ptr<arrow::Schema> schema() const = 0;
  // Shown by EXPLAIN, e.g. "delta file:///t @ version 3".
  virtual std::string description() const = 0;
  // Whether reading a few columns costs much less than reading all (columnar files): the
  // executor then answers ORDER BY ... LIMIT by reading the first sort key alone first.
  virtual bool columnar() const { return false; }
  // Validates the request (unknown columns, filters the source cannot evaluate) and plans it.
  virtual arrow::Result<std::shared_ptr<PlannedScan>> Scan(const ScanRequest& request) const = 0;
};

}  // namespace nlk::sql
