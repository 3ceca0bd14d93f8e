#include "writer_rule.h"

#include "catalog/project_catalog.h"
#include "catalog_commands.h"
#include "delta/log/protocol_support.h"
#include "delta/table.h"

namespace nlk::cli {
namespace {

arrow::Status CheckCatalog(const std::string& uri) {
  const catalog::Catalog& project = catalog::ProjectCatalog();
  const std::string root = CatalogRoot("");
  catalog::TableAt declared = catalog::FindTableAt(project, uri, root);
  if (declared.table == nullptr || declared.table->writer == catalog::WriterEngine::kNlk) {
    return arrow::Status::OK();
  }
  const catalog::Table& table = *declared.table;
  std::string job = table.lineage.job.empty() ? "" : " (" + table.lineage.job + ")";
  return arrow::Status::Invalid(
      "catalog ", project.name.view(), " declares ",
      catalog::QualifiedName(*declared.database, table), " at ", uri, " as written by ",
      catalog::WriterEngineName(table.writer), job,
      ", so nlk does not write it: one engine writes each table (docs/spark.md). Read it "
      "freely; catalog URIs were resolved against ",
      root, " (--root of nlk catalog, or $NLK_CATALOG_ROOT)");
}

}  // namespace

arrow::Status CheckNlkMayWrite(const std::string& uri) {
  ARROW_RETURN_NOT_OK(CheckCatalog(uri));
  auto table = delta::Table::Open(uri);
  if (!table.ok()) return arrow::Status::OK();  // nothing there yet, or the command reports it
  ARROW_ASSIGN_OR_RAISE(auto snapshot, (*table)->log()->Latest());
  arrow::Status status = delta::CheckWriteSupported(snapshot->protocol(), snapshot->metadata());
  if (status.ok()) return status;
  return status.WithMessage(uri, ": ", status.message());
}

}  // namespace nlk::cli
