// The tables of a catalog (src/catalog/) as tables for the query service, each served under its
// "database.table" name, so `nlk serve --catalog` needs no config file of its own. The catalog
// layer knows nothing of the server; this mapping lives here for that reason.
//
// Plain functions over immutable values; safe from any thread.
#pragma once

#include <arrow/result.h>

#include <string>
#include <string_view>
#include <vector>

#include "catalog/catalog.h"
#include "server/server_config.h"

namespace nlk::server {

struct CatalogTables {
  std::vector<TableConfig> tables;
  // One line per table that cannot be served ("database.table: reason"): function tables whose
  // function failed.
  std::vector<std::string> skipped;
};

// Each carries the table's access rules (access_policy.h). One TableConfig per Delta and Parquet
// table, its URI resolved against `root` as the catalog tools do (catalog::ResolveUri), and one
// TableFormat::kMemory config per function table holding the rows its function returned when called
// here with `root`: a snapshot taken once (at server startup), never recomputed. A function that
// fails or returns no table is skipped.
CatalogTables CatalogTableConfigs(const catalog::Catalog& catalog, std::string_view root);

}  // namespace nlk::server
