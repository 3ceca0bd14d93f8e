// The catalog manifest: one JSON document describing every catalog, database and table, and the
// list of tables the query service serves. Its format is documented in docs/catalog.md and
// versioned by kManifestFormatVersion: fields may be added within a version, never renamed or
// removed.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <string>

#include "catalog/catalog.h"

namespace nlk::catalog {

inline constexpr int64_t kManifestFormatVersion = 1;

struct ManifestOptions {
  std::string root;  // what relative table URIs are resolved against (resolved_uri, serve)
};

// Validates `catalog` (see validation.h) and returns the manifest as indented JSON. Depends only
// on the declarations, never on the tables' contents, so it is the same on every machine with
// the same root. Thread-safe.
arrow::Result<std::string> BuildManifest(const Catalog& catalog, const ManifestOptions& options);

}  // namespace nlk::catalog
