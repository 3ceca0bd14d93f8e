// The catalog seen by the SQL engine: a TableCatalog resolves a table name, once per query,
// into the TableProvider it stands for (table_provider.h) and the caller's restriction on it.
// The query server implements its own catalog (config tables, snapshot caches, time travel);
// MapTableCatalog is a ready-made one for tools and tests.
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>
#include <arrow/table.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sql/table_provider.h"

namespace nlk::sql {

// What one table name stands for during one query. Copyable; shares the table it refers to.
struct ResolvedTable {
  std::shared_ptr<TableProvider> table;
  TableRestriction restriction;  // none by default
};

// Thread-safety: implementations must allow concurrent Resolve calls (queries run in parallel).
class TableCatalog {
 public:
  virtual ~TableCatalog() = default;
  // The table `name` as written in the query (case preserved; quoted names keep their case).
  // Unknown names are a KeyError; the engine adds the list of TableNames() to its message.
  virtual arrow::Result<ResolvedTable> Resolve(const std::string& name) = 0;
  // The names a query may use, for "did you mean" style errors and tooling.
  virtual std::vector<std::string> TableNames() const = 0;
};

// A catalog over a fixed set of names. Delta tables registered by URI are re-resolved to their
// latest snapshot on each query. Thread-safe.
class MapTableCatalog : public TableCatalog {
 public:
  // Called on each query that names the table.
  using Resolver = std::function<arrow::Result<std::shared_ptr<TableProvider>>()>;

  void Register(const std::string& name, Resolver resolver);
  void RegisterTable(const std::string& name, std::shared_ptr<arrow::Table> table);
  // Opens the Delta table at `uri` now (so a wrong URI fails here) and follows its latest
  // version on every query.
  arrow::Status RegisterDelta(const std::string& name, const std::string& uri);
  // A Parquet file or a directory of them.
  arrow::Status RegisterParquet(const std::string& name, const std::string& uri);

  arrow::Result<ResolvedTable> Resolve(const std::string& name) override;
  std::vector<std::string> TableNames() const override;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, Resolver> resolvers_;
};

}  // namespace nlk::sql
