// Live facts about the catalog's tables, read from the tables themselves (the Delta log,
// Parquet footers, or by calling a function table), and their drift from the declarations.
// The site shows both; `nlk catalog check` fails on drift.
#pragma once

#include <arrow/dataset/type_fwd.h>
#include <arrow/filesystem/filesystem.h>
#include <arrow/status.h>
#include <arrow/type_fwd.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog.h"

namespace nlk::catalog {

struct CommitSummary {
  int64_t version = 0;
  int64_t timestamp_ms = 0;
  std::string operation;   // "WRITE", "CREATE TABLE", ... or "" when the commit has no info
  std::string parameters;  // operationParameters as compact JSON, or ""
};

struct TableFacts {
  std::shared_ptr<arrow::Schema> schema;
  std::vector<std::string> partition_columns;
  std::optional<int64_t> version;           // Delta tables only
  std::optional<int64_t> row_count;         // unknown when a file has no statistics
  std::optional<int64_t> file_count;        // not for function tables
  std::optional<int64_t> size_bytes;        // not for function tables
  std::optional<int64_t> last_modified_ms;  // the last commit (Delta), newest file (Parquet)
  // The newest commit that may have brought new rows (delta/log/data_freshness.h), within the
  // history read; the newest file for Parquet.
  std::optional<int64_t> data_updated_ms;
  std::vector<CommitSummary> history;  // newest first (Delta tables only)
};

struct TableReport {
  const Database* database = nullptr;
  const Table* table = nullptr;
  std::string qualified_name;
  std::string resolved_uri;  // empty for function tables
  // Nothing is at the table's location yet (no Delta commit, no Parquet path): tables such as
  // the dead letters of an ingest appear only once their writer first writes them. Not a
  // problem; `facts` and `drift` are empty then.
  bool not_created = false;
  // Why the facts could not be read. `facts` is empty then.
  arrow::Status status;
  TableFacts facts;
  // Declared vs real schema and partitions; empty when they agree or the table was unreadable.
  std::vector<std::string> drift;

  // A function table whose code is not in this program: one read from a manifest
  // (manifest_reader.h), whose function answers NotImplemented. Listed, not a problem.
  bool without_code() const {
    return table != nullptr && table->kind == TableKind::kFunction && status.IsNotImplemented();
  }

  // Something `nlk catalog check` reports: drift, or a table that cannot be read.
  bool has_problem() const { return (!status.ok() && !without_code()) || !drift.empty(); }
};

struct InspectOptions {
  std::string root;  // what relative table URIs are resolved against
  int64_t history_limit = 10;
};

// Reads one table's facts and compares them with its declaration. Never fails as a whole: a
// table that cannot be read is reported in TableReport::status.
TableReport InspectTable(const Database& database, const Table& table,
                         const InspectOptions& options);

// How a table that is not created yet comes to exist, for messages: where its rows come from
// (its declared data_input), else how to create it by hand.
std::string CreationHint(const Table& table, const std::string& resolved_uri);

// A table's freshness against its declared objective (Freshness::slo_seconds).
struct FreshnessStatus {
  int64_t slo_seconds = 0;
  std::optional<int64_t> age_seconds;  // unknown for a table not created or unreadable
  bool met = false;                    // false while the age is unknown
};

// Nullopt for a table without an objective.
std::optional<FreshnessStatus> EvaluateFreshness(const TableReport& report, int64_t now_ms);

// A Parquet table's files as an Arrow dataset (hive partitions discovered when the declaration
// has partition columns).
struct ParquetDataset {
  std::shared_ptr<arrow::fs::FileSystem> file_system;
  arrow::fs::FileSelector selector;
  std::shared_ptr<arrow::dataset::Dataset> dataset;
};
arrow::Result<ParquetDataset> OpenParquetDataset(const std::string& uri, const Table& declaration);

// InspectTable for every table, in declaration order.
std::vector<TableReport> InspectCatalog(const Catalog& catalog, const InspectOptions& options);

}  // namespace nlk::catalog
