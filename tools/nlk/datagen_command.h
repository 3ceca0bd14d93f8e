#pragma once

#include <CLI/CLI.hpp>

namespace nlk::cli {

// `nlk datagen`: writes synthetic neural data to a Parquet file or a Delta table.
void AddDatagenCommand(CLI::App& app, int& exit_code);

}  // namespace nlk::cli
