#pragma once

#include <CLI/CLI.hpp>

namespace nlk::cli {

// `nlk serve`: the ROAPI-compatible SQL and REST query service over Delta and Parquet tables.
void AddServeCommand(CLI::App& app, int& exit_code);

}  // namespace nlk::cli
