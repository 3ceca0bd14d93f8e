#pragma once

#include <CLI/CLI.hpp>

namespace nlk::cli {

// `nlk ingest`: consumes a Kafka topic into a Delta table with exactly-once commits, until
// SIGTERM/SIGINT (or --exit-when-idle).
void AddIngestCommand(CLI::App& app, int& exit_code);

}  // namespace nlk::cli
