#include "sql/table_catalog.h"

#include <utility>

#include "delta/table.h"
#include "sql/dataset_table_provider.h"
#include "sql/delta_table_provider.h"
#include "sql/memory_table_provider.h"

namespace nlk::sql {

void MapTableCatalog::Register(const std::string& name, Resolver resolver) {
  std::lock_guard<std::mutex> lock(mutex_);
  resolvers_[name] = std::move(resolver);
}

void MapTableCatalog::RegisterTable(const std::string& name, std::shared_ptr<arrow::Table> table) {
  auto provider = std::make_shared<MemoryTableProvider>(std::move(table), "memory table " + name);
  Register(name,
           [provider]() -> arrow::Result<std::shared_ptr<TableProvider>> { return provider; });
}

arrow::Status MapTableCatalog::RegisterDelta(const std::string& name, const std::string& uri) {
  ARROW_ASSIGN_OR_RAISE(auto table, delta::Table::Open(uri));
  Register(name, [table]() -> arrow::Result<std::shared_ptr<TableProvider>> {
    ARROW_ASSIGN_OR_RAISE(auto snapshot, table->log()->Latest());
    return DeltaTableProvider::Make(table, std::move(snapshot));
  });
  return arrow::Status::OK();
}

arrow::Status MapTableCatalog::RegisterParquet(const std::string& name, const std::string& uri) {
  ARROW_ASSIGN_OR_RAISE(std::shared_ptr<TableProvider> provider,
                        DatasetTableProvider::Parquet(uri));
  Register(name,
           [provider]() -> arrow::Result<std::shared_ptr<TableProvider>> { return provider; });
  return arrow::Status::OK();
}

arrow::Result<ResolvedTable> MapTableCatalog::Resolve(const std::string& name) {
  Resolver resolver;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = resolvers_.find(name);
    if (found == resolvers_.end()) return arrow::Status::KeyError("table '", name, "'");
    resolver = found->second;
  }
  ResolvedTable resolved;
  ARROW_ASSIGN_OR_RAISE(resolved.table, resolver());
  return resolved;
}

std::vector<std::string> MapTableCatalog::TableNames() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> names;
  for (const auto& [name, resolver] : resolvers_) names.push_back(name);
  return names;
}

}  // namespace nlk::sql
