#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace nlk::cli {

// `nlk catalog manifest|site|check`: the catalog of this build (catalog/project_catalog.h) as a
// manifest, as a static site, and checked against the real tables.
void AddCatalogCommands(CLI::App& app, int& exit_code);

// Where the catalog's relative table URIs point: `root_option` (--root), else
// $NLK_CATALOG_ROOT, else the working directory. A local root is made absolute so that the
// manifest and the snippets work from anywhere. Shared by `nlk catalog` and `nlk serve --catalog`.
std::string CatalogRoot(const std::string& root_option);

}  // namespace nlk::cli
