#pragma once

#include <CLI/CLI.hpp>

namespace nlk::cli {

// `nlk retention`: deletes the partitions of the catalog's tables that are older than their
// declared retention (catalog::Retention, delta/retention.h), once or as a daemon.
void AddRetentionCommand(CLI::App& app, int& exit_code);

}  // namespace nlk::cli
