#pragma once

#include <CLI/CLI.hpp>

namespace nlk::cli {

// `nlk catalog manifest|site|check`: the catalog of this build (catalog/project_catalog.h) as a
// manifest, as a static site, and checked against the real tables.
void AddCatalogCommands(CLI::App& app, int& exit_code);

}  // namespace nlk::cli
