// `nlk sql`: runs one read-only SQL query over tables named on the command line.
#pragma once

#include <CLI/CLI.hpp>

namespace nlk::cli {

void AddSqlCommand(CLI::App& app, int& exit_code);

}  // namespace nlk::cli
