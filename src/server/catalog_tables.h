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
  // "database.table" of the tables that cannot be served (function tables, whose rows are
  // computed in the program rather than stored at a URI).
  std::vector<std::string> skipped;
};

// One TableConfig per Delta and Parquet table, its URI resolved against `root` as the catalog
// tools do (catalog::ResolveUri).
CatalogTables CatalogTableConfigs(const catalog::Catalog& catalog, std::string_view root);

}  // namespace nlk::server
