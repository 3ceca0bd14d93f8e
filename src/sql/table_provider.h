// The catalog seen by the SQL engine: a TableProvider resolves a table name, once per query,
// into a TableSource — a Delta snapshot, an Arrow dataset (e.g. Parquet files) or an in-memory
// Arrow table. The query server implements its own provider (config tables, snapshot caches,
// time travel); MapTableProvider is a ready-made one for tools and tests.
#pragma once

#include <arrow/dataset/dataset.h>
#include <arrow/result.h>
#include <arrow/table.h>
#include <arrow/type_fwd.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "delta/log/snapshot.h"
#include "storage/object_store.h"

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

// What one table name stands for during one query. Copyable; shares the data it refers to.
struct TableSource {
  enum class Kind { kDelta, kDataset, kMemory };

  Kind kind = Kind::kMemory;
  std::shared_ptr<arrow::Schema> schema;  // logical columns, as queries see them
  std::string description;                // shown by EXPLAIN, e.g. "delta file:///t @ v3"

  std::shared_ptr<storage::ObjectStore> store;       // kDelta
  std::shared_ptr<const delta::Snapshot> snapshot;   // kDelta
  std::shared_ptr<arrow::dataset::Dataset> dataset;  // kDataset
  std::shared_ptr<arrow::Table> table;               // kMemory
  TableRestriction restriction;                      // none by default

  // A Delta table at one snapshot; scans push projections, filters and limits into it.
  static arrow::Result<TableSource> Delta(std::shared_ptr<storage::ObjectStore> store,
                                          std::shared_ptr<const delta::Snapshot> snapshot);
  // Parquet (or other) files through Arrow Datasets, with projection and filter pushdown.
  static TableSource Dataset(std::shared_ptr<arrow::dataset::Dataset> dataset,
                             std::string description);
  static TableSource Memory(std::shared_ptr<arrow::Table> table, std::string description);
};

// Thread-safety: implementations must allow concurrent Resolve calls (queries run in parallel).
class TableProvider {
 public:
  virtual ~TableProvider() = default;
  // The table `name` as written in the query (case preserved; quoted names keep their case).
  // Unknown names are a KeyError; the engine adds the list of TableNames() to its message.
  virtual arrow::Result<TableSource> Resolve(const std::string& name) = 0;
  // The names a query may use, for "did you mean" style errors and tooling.
  virtual std::vector<std::string> TableNames() const = 0;
};

// A provider over a fixed set of names. Delta tables registered by URI are re-resolved to their
// latest snapshot on each query. Thread-safe.
class MapTableProvider : public TableProvider {
 public:
  using Resolver = std::function<arrow::Result<TableSource>()>;

  void Register(const std::string& name, Resolver resolver);
  void RegisterTable(const std::string& name, std::shared_ptr<arrow::Table> table);
  // Opens the Delta table at `uri` now (so a wrong URI fails here) and follows its latest
  // version on every query.
  arrow::Status RegisterDelta(const std::string& name, const std::string& uri);
  // A Parquet file or a directory of them.
  arrow::Status RegisterParquet(const std::string& name, const std::string& uri);

  arrow::Result<TableSource> Resolve(const std::string& name) override;
  std::vector<std::string> TableNames() const override;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, Resolver> resolvers_;
};

}  // namespace nlk::sql
