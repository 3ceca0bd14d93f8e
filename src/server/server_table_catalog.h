// The SQL engine's view of the served tables. A table name may carry a time-travel suffix,
// written as a quoted identifier since '@' is not part of a bare SQL name:
//
//   SELECT count(*) FROM "samples@v3"                          -- version 3
//   SELECT count(*) FROM "samples@2026-01-01T00:00:00Z"        -- as of that time
//
// A table answers SQL from the same data as REST: Delta tables resolve to their cached
// snapshot (the engine pushes projections, filters and limits into the Delta scan and skips
// files by statistics), memory tables (use_memory_table) to their rows in memory at the
// latest version and to their files for time travel, as REST does, and Parquet tables to their
// rows in memory. Sources are described by table name, never by location (EXPLAIN is visible
// to clients). Tables not created yet or unavailable resolve to their registry error.
//
// With an AccessPolicy (access_policy.h), tables the caller may not read resolve exactly as
// unknown names do and are not among TableNames(); the others carry the caller's row filter
// and masks for the binder to apply.
//
// Thread-safety: Resolve may be called concurrently (the registry is thread-safe).
#pragma once

#include <string>
#include <vector>

#include "server/access_policy.h"
#include "server/table_registry.h"
#include "sql/table_catalog.h"

namespace nlk::server {

class ServerTableCatalog : public sql::TableCatalog {
 public:
  explicit ServerTableCatalog(const TableRegistry& registry,
                              std::shared_ptr<const AccessPolicy> policy = nullptr)
      : registry_(registry), policy_(std::move(policy)) {}

  arrow::Result<sql::ResolvedTable> Resolve(const std::string& name) override;
  std::vector<std::string> TableNames() const override;

 private:
  // The registry's table `name`, or a KeyError when unknown or not readable by the caller.
  arrow::Result<std::shared_ptr<ServedTable>> Lookup(const std::string& name) const;
  static arrow::Result<std::shared_ptr<sql::TableProvider>> ResolveServed(
      ServedTable& table, const std::string& base, const TableVersionRequest& at);

  const TableRegistry& registry_;
  std::shared_ptr<const AccessPolicy> policy_;
};

}  // namespace nlk::server
