#pragma once

#include <CLI/CLI.hpp>

namespace nlk::cli {

// `nlk table delete` and `nlk table update`, added to the `table` command.
void AddTableDmlCommands(CLI::App& table, int& exit_code);

}  // namespace nlk::cli
