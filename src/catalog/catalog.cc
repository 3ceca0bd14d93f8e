#include "catalog/catalog.h"

namespace nlk::catalog {

std::string_view TableKindName(TableKind kind) {
  switch (kind) {
    case TableKind::kDelta:
      return "delta";
    case TableKind::kParquet:
      return "parquet";
    case TableKind::kFunction:
      return "function";
  }
  return "unknown";
}

const Table* Catalog::FindTable(std::string_view database, std::string_view table) const {
  for (const Database& candidate : databases) {
    if (candidate.name.view() != database) continue;
    for (const Table& entry : candidate.tables) {
      if (entry.name.view() == table) return &entry;
    }
  }
  return nullptr;
}

std::string QualifiedName(const Database& database, const Table& table) {
  return database.name.str() + "." + table.name.str();
}

std::string ResolveUri(std::string_view uri, std::string_view root) {
  bool absolute = uri.find("://") != std::string_view::npos || uri.starts_with('/');
  if (absolute || root.empty()) return std::string(uri);
  std::string resolved(root);
  if (!resolved.ends_with('/')) resolved += '/';
  resolved += uri;
  return resolved;
}

}  // namespace nlk::catalog
