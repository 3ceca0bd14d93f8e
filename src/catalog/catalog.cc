#include "catalog/catalog.h"

#include <filesystem>

namespace nlk::catalog {
namespace {

// One spelling per location, so that two URIs of the same table compare equal.
std::string NormalizeLocation(std::string_view uri) {
  std::string text(uri);
  if (text.starts_with("file://")) text.erase(0, std::string_view("file://").size());
  if (text.find("://") == std::string::npos) {
    std::error_code error;
    std::filesystem::path absolute = std::filesystem::absolute(text, error);
    if (!error) text = absolute.lexically_normal().string();
  }
  while (text.size() > 1 && text.back() == '/') text.pop_back();
  return text;
}

}  // namespace

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

std::string_view ClassificationName(Classification classification) {
  switch (classification) {
    case Classification::kUnclassified:
      return "";
    case Classification::kPublic:
      return "public";
    case Classification::kPii:
      return "pii";
    case Classification::kPhi:
      return "phi";
  }
  return "";
}

std::string_view WriterEngineName(WriterEngine engine) {
  switch (engine) {
    case WriterEngine::kNlk:
      return "nlk";
    case WriterEngine::kSpark:
      return "spark";
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

TableAt FindTableAt(const Catalog& catalog, std::string_view uri, std::string_view root) {
  const std::string wanted = NormalizeLocation(uri);
  for (const Database& database : catalog.databases) {
    for (const Table& table : database.tables) {
      if (table.kind == TableKind::kFunction) continue;
      if (NormalizeLocation(ResolveUri(table.uri, root)) == wanted) return {&database, &table};
    }
  }
  return {};
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
