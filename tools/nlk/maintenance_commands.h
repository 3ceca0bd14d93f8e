#pragma once

#include <CLI/CLI.hpp>

namespace nlk::cli {

// `nlk optimize` (bin-packing compaction) and `nlk vacuum` (deleting unreferenced files), each
// once or, with --every SECONDS, as a daemon until SIGTERM/SIGINT.
void AddMaintenanceCommands(CLI::App& app, int& exit_code);

}  // namespace nlk::cli
