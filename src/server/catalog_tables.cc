#include "server/catalog_tables.h"

namespace nlk::server {

CatalogTables CatalogTableConfigs(const catalog::Catalog& catalog, std::string_view root) {
  CatalogTables result;
  for (const catalog::Database& database : catalog.databases) {
    for (const catalog::Table& table : database.tables) {
      std::string name = catalog::QualifiedName(database, table);
      TableConfig config;
      config.access = AccessRulesOf(database, table);
      if (table.kind == catalog::TableKind::kFunction) {
        arrow::Result<std::shared_ptr<arrow::Table>> rows =
            table.function ? table.function(catalog::FunctionContext{.root = std::string(root)})
                           : arrow::Status::Invalid("the table has no function");
        if (!rows.ok() || *rows == nullptr) {
          result.skipped.push_back(
              name + ": its function failed: " +
              (rows.ok() ? std::string("it returned no table") : rows.status().ToString()));
          continue;
        }
        config.name = std::move(name);
        config.format = TableFormat::kMemory;
        config.use_memory_table = true;
        config.rows = *std::move(rows);
        result.tables.push_back(std::move(config));
        continue;
      }
      config.name = std::move(name);
      config.uri = catalog::ResolveUri(table.uri, root);
      config.format =
          table.kind == catalog::TableKind::kParquet ? TableFormat::kParquet : TableFormat::kDelta;
      config.partition_columns = table.partition_columns;
      config.freshness_slo_seconds = table.freshness.slo_seconds;
      result.tables.push_back(std::move(config));
    }
  }
  return result;
}

}  // namespace nlk::server
