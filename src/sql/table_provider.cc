#include "sql/table_provider.h"

#include <arrow/dataset/discovery.h>
#include <arrow/dataset/file_parquet.h>
#include <arrow/filesystem/api.h>

#include <utility>

#include "delta/data/schema.h"
#include "delta/table.h"

namespace nlk::sql {

arrow::Result<TableSource> TableSource::Delta(std::shared_ptr<storage::ObjectStore> store,
                                              std::shared_ptr<const delta::Snapshot> snapshot) {
  TableSource source;
  source.kind = Kind::kDelta;
  ARROW_ASSIGN_OR_RAISE(source.schema,
                        delta::data::ParseDeltaSchema(snapshot->metadata().schema_string));
  source.description =
      "delta " + snapshot->table_uri() + " @ version " + std::to_string(snapshot->version());
  source.store = std::move(store);
  source.snapshot = std::move(snapshot);
  return source;
}

TableSource TableSource::Dataset(std::shared_ptr<arrow::dataset::Dataset> dataset,
                                 std::string description) {
  TableSource source;
  source.kind = Kind::kDataset;
  source.schema = dataset->schema();
  source.dataset = std::move(dataset);
  source.description = std::move(description);
  return source;
}

TableSource TableSource::Memory(std::shared_ptr<arrow::Table> table, std::string description) {
  TableSource source;
  source.kind = Kind::kMemory;
  source.schema = table->schema();
  source.table = std::move(table);
  source.description = std::move(description);
  return source;
}

void MapTableProvider::Register(const std::string& name, Resolver resolver) {
  std::lock_guard<std::mutex> lock(mutex_);
  resolvers_[name] = std::move(resolver);
}

void MapTableProvider::RegisterTable(const std::string& name, std::shared_ptr<arrow::Table> table) {
  Register(name, [name, table]() { return TableSource::Memory(table, "memory table " + name); });
}

arrow::Status MapTableProvider::RegisterDelta(const std::string& name, const std::string& uri) {
  ARROW_ASSIGN_OR_RAISE(auto table, delta::Table::Open(uri));
  Register(name, [table]() -> arrow::Result<TableSource> {
    ARROW_ASSIGN_OR_RAISE(auto snapshot, table->log()->Latest());
    return TableSource::Delta(table->store(), std::move(snapshot));
  });
  return arrow::Status::OK();
}

arrow::Status MapTableProvider::RegisterParquet(const std::string& name, const std::string& uri) {
  std::string path;
  ARROW_ASSIGN_OR_RAISE(auto filesystem, arrow::fs::FileSystemFromUriOrPath(uri, &path));
  ARROW_ASSIGN_OR_RAISE(auto info, filesystem->GetFileInfo(path));
  auto format = std::make_shared<arrow::dataset::ParquetFileFormat>();
  std::shared_ptr<arrow::dataset::DatasetFactory> factory;
  if (info.IsDirectory()) {
    arrow::fs::FileSelector selector;
    selector.base_dir = path;
    selector.recursive = true;
    ARROW_ASSIGN_OR_RAISE(
        factory, arrow::dataset::FileSystemDatasetFactory::Make(filesystem, selector, format, {}));
  } else if (info.IsFile()) {
    ARROW_ASSIGN_OR_RAISE(factory, arrow::dataset::FileSystemDatasetFactory::Make(
                                       filesystem, std::vector<std::string>{path}, format, {}));
  } else {
    return arrow::Status::IOError("no Parquet file or directory at '", uri, "'");
  }
  ARROW_ASSIGN_OR_RAISE(auto dataset, factory->Finish());
  Register(name, [dataset, uri]() { return TableSource::Dataset(dataset, "parquet " + uri); });
  return arrow::Status::OK();
}

arrow::Result<TableSource> MapTableProvider::Resolve(const std::string& name) {
  Resolver resolver;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = resolvers_.find(name);
    if (found == resolvers_.end()) return arrow::Status::KeyError("table '", name, "'");
    resolver = found->second;
  }
  return resolver();
}

std::vector<std::string> MapTableProvider::TableNames() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> names;
  for (const auto& [name, resolver] : resolvers_) names.push_back(name);
  return names;
}

}  // namespace nlk::sql
