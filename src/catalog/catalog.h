// Tables declared in code: a Catalog holds Databases, which hold Tables. Everything a user
// browses or calls (the manifest, the site, the snippets, the query service's table list) is
// generated from these declarations, and `nlk catalog check` compares them with the real tables.
//
// The types are plain aggregates so that a catalog reads like a declaration:
//
//   Catalog{.name = "neuralake",
//           .description = "...",
//           .databases = {Database{.name = "neural",
//                                  .tables = {Table{.name = "samples",
//                                                   .kind = TableKind::kDelta,
//                                                   .uri = "neural/samples", ...}}}}};
//
// Designated initializers must follow the member order below; the compiler says so otherwise.
// Names are checked while compiling (see name.h); everything else by ValidateCatalog.
//
// Thread-safety: a Catalog is immutable once built and may be read from any thread. Function
// tables must be safe to call concurrently if a program calls them from several threads.
#pragma once

#include <arrow/result.h>
#include <arrow/table.h>
#include <arrow/type_fwd.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/name.h"

namespace nlk::catalog {

enum class TableKind {
  kDelta,    // a Delta Lake table at `uri`
  kParquet,  // a directory of Parquet files at `uri`; hive-style (`col=value/`) when partitioned
  kFunction  // rows computed by `function` each time the table is read
};

std::string_view TableKindName(TableKind kind);

// What a function table receives: where the catalog's relative URIs point, so a function can
// read the catalog's other tables.
struct FunctionContext {
  std::string root;
};

using TableFunction =
    std::function<arrow::Result<std::shared_ptr<arrow::Table>>(const FunctionContext&)>;

// An example filter shown on the site and used in the table's snippets. `filter` is a predicate
// in the language of delta/predicate.h, which is also valid SQL, so the same text runs in
// `nlk table read --filter`, in a WHERE clause and in Spark's `where`.
struct DocsFilter {
  std::string filter;
  std::string description;
};

// How current the data is, in words a reader understands ("seconds behind the devices").
//
// `slo_seconds` is the service-level objective that makes it checkable: new data lands at least
// that often. `nlk catalog check --freshness` and nlk serve's nlk_table_freshness_slo_met gauge
// compare it with the age of the table's newest data commit (commits of maintenance, such as
// OPTIMIZE or VACUUM, bring no new data and do not count). 0: no objective.
struct Freshness {
  std::string latency;           // from the event to the row being readable
  std::string update_frequency;  // how often new data lands
  int64_t slo_seconds = 0;
};

struct Deprecation {
  std::string message;      // why, and what to do instead
  std::string replacement;  // "database.table" of the successor, or empty
  std::string since;        // a date or release, free text
};

// The engine that commits to a table (docs/spark.md, "One writer per table"). Each table has
// exactly one: nlk refuses to write a table declared kSpark, and the Spark jobs refuse to write
// one declared kNlk. The tables themselves carry the same fact in their neuralake.writer
// property (delta/log/table_properties.h), which holds without the catalog.
enum class WriterEngine { kNlk, kSpark };

std::string_view WriterEngineName(WriterEngine engine);

// Where a derived table's rows come from: the catalog tables it is computed from, and the job
// that computes it.
struct Lineage {
  std::vector<std::string> sources;  // "database.table" of this catalog
  std::string job;                   // e.g. "jobs/downsample.py"
};

// A column computed at read time from the stored ones, as a SQL expression over them.
struct ComputedColumn {
  std::string name;
  std::string expression;
  std::string description;
};

// How sensitive data is. PII and PHI columns are the ones masks protect; kUnclassified means
// nobody said.
enum class Classification { kUnclassified, kPublic, kPii, kPhi };

std::string_view ClassificationName(Classification classification);  // "", public, pii, phi

// Who may read a database's or a table's rows when `nlk serve` authenticates callers (bearer
// tokens carry a principal and groups). A table is readable by the grantees of its database
// and of itself; a table neither grants is readable by nobody (the catalog is deny by default).
struct ReadGrants {
  std::vector<std::string> principals;
  std::vector<std::string> groups;

  bool empty() const { return principals.empty() && groups.empty(); }
};

// A column's classification and, for PII and PHI columns, what callers read instead of its
// values. `mask` is a SQL expression over the table's columns, cast to the column's type
// (e.g. "'redacted'", "left(subject_id, 2) || '***'"); kMaskDeny hides the values (every row
// reads NULL). Callers in `unmasked_groups` read the real values.
inline constexpr std::string_view kMaskDeny = "deny";

struct ColumnPolicy {
  std::string column;
  Classification classification = Classification::kUnclassified;
  std::string mask;  // empty: not masked; kMaskDeny; or an expression
  std::vector<std::string> unmasked_groups;
};

// The rows members of `group` see: those where `predicate` (SQL over the table's columns, no
// subqueries) holds, e.g. {"site-berlin", "site = 'berlin'"}. A caller in several filtered
// groups sees the rows any of their filters allows; filters apply whatever other groups the
// caller is in.
struct RowFilter {
  std::string group;
  std::string predicate;
};

// How long a table's rows are kept: `nlk retention` deletes the partitions whose `column` value
// is older than `keep` (delta/retention.h). `column` must be a date or timestamp partition
// column, e.g. {.column = "day", .keep = std::chrono::days{90}}.
struct Retention {
  std::string column;
  std::chrono::days keep{0};
};

struct Table {
  Name name;
  TableKind kind = TableKind::kDelta;
  // Delta and Parquet tables: an absolute URI (s3://..., file://..., /path) or a path relative
  // to the catalog root chosen at generation time (--root / NLK_CATALOG_ROOT).
  std::string uri;
  // Function tables only.
  TableFunction function;
  // Optional: the schema the data must have. Declared schemas are checked against the real
  // table (drift); without one, the site shows the table's own schema.
  std::shared_ptr<arrow::Schema> schema;
  std::vector<std::string> partition_columns;
  std::string description;
  std::string owner;
  std::vector<std::string> tags;
  std::string data_input;  // where the rows come from (a device stream, a job, a table)
  Freshness freshness;
  std::string example_notebook;  // a URL or path of a notebook or page showing the table in use
  std::vector<DocsFilter> docs_filters;
  std::vector<std::string> unique_columns;  // together, identify a row
  std::optional<Deprecation> deprecation;
  std::vector<ComputedColumn> computed_columns;
  // Delta and Parquet tables only; function tables are computed, never written.
  WriterEngine writer = WriterEngine::kNlk;
  Lineage lineage;  // empty for tables that are not derived from other catalog tables
  // Governance (docs/catalog.md, "Access"): enforced by `nlk serve` for authenticated callers.
  Classification classification = Classification::kUnclassified;
  ReadGrants read;  // in addition to the database's
  std::vector<ColumnPolicy> column_policies;
  std::vector<RowFilter> row_filters;
  // Delta tables only; none: rows are kept for ever.
  std::optional<Retention> retention;
};

struct Database {
  Name name;
  std::string description;
  std::vector<Table> tables;
  ReadGrants read;  // readers of every table of the database
};

struct Catalog {
  Name name;
  std::string description;
  std::vector<Database> databases;

  // The table `database`.`table`, or nullptr.
  const Table* FindTable(std::string_view database, std::string_view table) const;
};

// The declared table stored at `uri`, or {nullptr, nullptr}. Catalog URIs are resolved against
// `root` (ResolveUri); local paths are compared made absolute and normalised, `file://` or not,
// and a trailing '/' never matters.
struct TableAt {
  const Database* database = nullptr;
  const Table* table = nullptr;
};
TableAt FindTableAt(const Catalog& catalog, std::string_view uri, std::string_view root);

// "database.table", the name under which the query service serves a table.
std::string QualifiedName(const Database& database, const Table& table);

// `uri` when it is absolute (has a scheme or starts with '/'), else `root`/`uri`. An empty root
// leaves relative URIs relative to the working directory.
std::string ResolveUri(std::string_view uri, std::string_view root);

}  // namespace nlk::catalog
