// Reads a catalog back from a manifest (manifest.h, docs/catalog.md "Manifest format"), so that a
// catalog declared without a C++ build (the Python package's decorators write one) is validated,
// served and shown by the same code as the catalog linked into nlk.
//
// Only the declarations are read: the fields a manifest derives from them (qualified_name,
// resolved_uri, hive_partitioning and the serve section) are recomputed, so a hand-edited
// manifest cannot make them disagree. Fields this version does not know are ignored, as the
// format requires of readers. A manifest carries the declaration of a function table but not its
// code: such a table's function fails with NotImplemented, naming the table, which callers that
// compute function tables (nlk serve, the site) report for that table alone.
#pragma once

#include <arrow/result.h>

#include <deque>
#include <memory>
#include <string>
#include <string_view>

#include "catalog/catalog.h"

namespace nlk::catalog {

// Immutable once read; safe to share between threads.
struct ManifestCatalog {
  ManifestCatalog() = default;
  // The Names view `names`: a copy would view the original's.
  ManifestCatalog(const ManifestCatalog&) = delete;
  ManifestCatalog& operator=(const ManifestCatalog&) = delete;

  Catalog catalog{.name = Name::Unchecked({})};  // named while reading
  std::string root;  // the manifest's "root": what its relative table URIs were resolved against

  // The text the catalog's Names view (a Name holds no copy); never modified after reading.
  std::deque<std::string> names;
};

// Parses manifest JSON. Errors name the offending field by its path (e.g.
// "catalogs[0].databases[1].tables[2].kind: 'view' is not delta, parquet or function"). The
// result is not validated: run ValidateCatalog (or BuildManifest) on it.
arrow::Result<std::shared_ptr<const ManifestCatalog>> ParseManifest(std::string_view json);

// ParseManifest on the contents of the local file at `path`, then ValidateCatalog, so that a
// manifest from any language is held to the rules of a catalog declared in C++.
arrow::Result<std::shared_ptr<const ManifestCatalog>> LoadManifestFile(const std::string& path);

}  // namespace nlk::catalog
