#include "server/catalog_tables.h"

namespace nlk::server {

CatalogTables CatalogTableConfigs(const catalog::Catalog& catalog, std::string_view root) {
  CatalogTables result;
  for (const catalog::Database& database : catalog.databases) {
    for (const catalog::Table& table : database.tables) {
      std::string name = catalog::QualifiedName(database, table);
      if (table.kind == catalog::TableKind::kFunction) {
        result.skipped.push_back(std::move(name));
        continue;
      }
      TableConfig config;
      config.name = std::move(name);
      config.uri = catalog::ResolveUri(table.uri, root);
      config.format =
          table.kind == catalog::TableKind::kParquet ? TableFormat::kParquet : TableFormat::kDelta;
      config.partition_columns = table.partition_columns;
      result.tables.push_back(std::move(config));
    }
  }
  return result;
}

}  // namespace nlk::server
