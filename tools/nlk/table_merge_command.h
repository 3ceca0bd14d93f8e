#pragma once

#include <CLI/CLI.hpp>

namespace nlk::cli {

// `nlk table merge`, added to the `table` command.
void AddTableMergeCommand(CLI::App& table, int& exit_code);

}  // namespace nlk::cli
