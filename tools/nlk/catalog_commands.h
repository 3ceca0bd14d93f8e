#pragma once

#include <CLI/CLI.hpp>

#include <arrow/result.h>

#include <memory>
#include <string>

#include "catalog/manifest_reader.h"

namespace nlk::cli {

// `nlk catalog manifest|site|check`: the catalog of this build (catalog/project_catalog.h) as a
// manifest, as a static site, and checked against the real tables.
void AddCatalogCommands(CLI::App& app, int& exit_code);

// Where the catalog's relative table URIs point: `root_option` (--root), else
// $NLK_CATALOG_ROOT, else the working directory. A local root is made absolute so that the
// manifest and the snippets work from anywhere. Shared by `nlk catalog` and `nlk serve --catalog`.
std::string CatalogRoot(const std::string& root_option);

// A catalog from a manifest file (`--manifest`, `--catalog-manifest`), validated as the linked
// catalog is, and the root its relative URIs resolve against: `root_option` when given, else
// the root recorded in the manifest, else as CatalogRoot.
struct ManifestSelection {
  std::shared_ptr<const catalog::ManifestCatalog> manifest;
  std::string root;
};
arrow::Result<ManifestSelection> LoadCatalogManifest(const std::string& path,
                                                     const std::string& root_option);

}  // namespace nlk::cli
