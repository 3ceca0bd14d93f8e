#pragma once

#include <CLI/CLI.hpp>

namespace nlk::cli {

// `nlk table rename-column` and `nlk table drop-column`, added to the `table` command.
void AddTableColumnCommands(CLI::App& table, int& exit_code);

}  // namespace nlk::cli
