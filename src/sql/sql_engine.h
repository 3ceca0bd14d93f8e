// The SQL engine's public API: read-only PostgreSQL-dialect SQL over the tables a
// TableCatalog names (Delta tables, Parquet datasets, in-memory Arrow tables: each a
// TableProvider, table_provider.h).
//
//   auto catalog = std::make_shared<nlk::sql::MapTableCatalog>();
//   ARROW_RETURN_NOT_OK(catalog->RegisterDelta("samples", "/data/samples"));
//   nlk::sql::SqlEngine engine(catalog);
//   ARROW_ASSIGN_OR_RAISE(auto result, engine.Execute("SELECT channel, avg(voltage_uv) "
//                                                     "FROM samples GROUP BY channel", {}));
//   // result.reader streams the rows; result.metrics() says what was scanned and pruned.
//
// Statements: SELECT (WITH, UNION/INTERSECT/EXCEPT, joins, subqueries in FROM, IN/EXISTS
// subqueries in WHERE, uncorrelated scalar subqueries anywhere a value goes (run once while
// planning, so they prune scans like constants), GROUP BY/HAVING, window functions, ORDER BY,
// LIMIT/OFFSET; ORDER BY ... LIMIT is a streaming top-k) and
// EXPLAIN [ANALYZE] SELECT .... EXPLAIN answers one utf8 column "plan", a row per line, showing
// the optimised plan with the projections, filters and limits pushed into each scan and how
// many files (and, with ANALYZE, row groups) were pruned.
//
// Errors (arrow::Status):
//   Invalid   "SQL error at position N: reason" for bad SQL (N counts characters from 1),
//             unknown columns (listing the columns in scope), type errors;
//             "read-only: INSERT statements are not allowed; ..." for DDL/DML.
//   KeyError  an unknown table ("SQL error at position N: table "x" does not exist; available
//             tables: ...").
//   CapacityError  the result exceeds QueryOptions::max_rows (raised while reading).
//   OutOfMemory    the query needs more than QueryOptions::max_memory_bytes.
//   Cancelled      the timeout passed or the stop token fired (raised while reading).
//   IOError etc.   storage failures, passed through.
//
// Thread-safety: a SqlEngine is immutable; Execute may be called from many threads at once.
// Each QueryResult (and its reader) belongs to one consumer thread.
#pragma once

#include <arrow/memory_pool.h>
#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/util/cancel.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "sql/ast.h"
#include "sql/query_memory_pool.h"
#include "sql/query_metrics.h"
#include "sql/table_catalog.h"

namespace nlk::sql {

struct QueryOptions {
  // More result rows than this fail the read with CapacityError (no silent truncation).
  std::optional<int64_t> max_rows;
  // Wall-clock budget from Execute(); checked between batches by every operator.
  std::optional<std::chrono::milliseconds> timeout;
  // Lets the caller cancel (e.g. the client went away).
  arrow::StopToken stop_token = arrow::StopToken::Unstoppable();
  // Pool for Acero and our operators. Null: the default pool.
  arrow::MemoryPool* memory_pool = nullptr;
  // The query's memory budget for what it holds: join build sides, aggregate groups, the rows
  // sorts, top-k and windows keep (and the working memory of full sorts and windows). Batches
  // streaming through scans, filters, projections, join probes and a top-k's per-batch work are
  // not charged, nor is the fixed scratch space Acero sets up per plan. A query that needs more
  // fails with OutOfMemory ("query memory limit exceeded: ..."; IsQueryMemoryLimitError tells it
  // apart), from Execute or while reading. Unset: no limit.
  std::optional<int64_t> max_memory_bytes;
};

struct QueryResult {
  std::shared_ptr<arrow::Schema> schema;  // the output columns, as named by the query
  std::shared_ptr<arrow::RecordBatchReader> reader;
  bool is_explain = false;

  // Scan figures (files and row groups pruned: final after Execute; rows and bytes scanned
  // and rows returned: growing as the reader is consumed). Safe to call from any thread.
  QueryMetrics metrics() const { return metrics_source ? metrics_source() : QueryMetrics{}; }
  std::function<QueryMetrics()> metrics_source;
};

class SqlEngine {
 public:
  explicit SqlEngine(std::shared_ptr<TableCatalog> catalog);

  // Parses, binds, optimises and starts `sql`. Table names are resolved once, here.
  arrow::Result<QueryResult> Execute(std::string_view sql, const QueryOptions& options = {}) const;
  // A query parsed already from `sql` (its locations point into it), e.g. the SELECT of an
  // INSERT ... SELECT; `statement.select` must be set.
  arrow::Result<QueryResult> ExecuteParsed(std::string_view sql, const Statement& statement,
                                           const QueryOptions& options = {}) const;

  // The columns Execute(sql) would return, with the same names and types, found by planning
  // alone: no table is scanned (uncorrelated scalar subqueries excepted, which planning runs
  // to their first two rows). Errors as Execute's.
  arrow::Result<std::shared_ptr<arrow::Schema>> Describe(std::string_view sql,
                                                         const QueryOptions& options = {}) const;

 private:
  struct Planned;
  arrow::Result<Planned> Plan(std::string_view sql, const QueryOptions& options,
                              const Statement* parsed = nullptr) const;
  arrow::Result<QueryResult> Run(std::string_view sql, const QueryOptions& options,
                                 const Statement* parsed) const;

  std::shared_ptr<TableCatalog> catalog_;
};

}  // namespace nlk::sql
