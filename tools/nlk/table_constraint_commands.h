#pragma once

#include <CLI/CLI.hpp>

namespace nlk::cli {

// `nlk table constraint add URI NAME EXPR` and `nlk table constraint drop URI NAME
// [--if-exists]`, added to the `table` command.
void AddTableConstraintCommands(CLI::App& table, int& exit_code);

}  // namespace nlk::cli
