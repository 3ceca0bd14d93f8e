#pragma once

#include <CLI/CLI.hpp>

namespace nlk::cli {

// `nlk table delete`, `nlk table update` and `nlk table merge`, added to the `table` command.
void AddTableDmlCommands(CLI::App& table, int& exit_code);

}  // namespace nlk::cli
