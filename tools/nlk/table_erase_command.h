// `nlk table erase URI --where PRED [--retention-hours N | --now]`: erasure that leaves no copy of
// the rows in the table's files or log (delta/erase.h).
#pragma once

#include <CLI/CLI.hpp>

namespace nlk::cli {

void AddTableEraseCommand(CLI::App& table, int& exit_code);

}  // namespace nlk::cli
