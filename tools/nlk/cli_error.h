// How every nlk command reports failure: one line on stderr and a non-zero exit.
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>

#include <string>

namespace nlk::cli {

// Exit codes: 1 for errors in what the user asked (bad input, missing table, conflicts),
// 2 for wrong command-line usage (CLI11 reports those itself).
constexpr int kExitFailure = 1;

// Prints "nlk: <message>" for a failed status and returns the exit code for it.
int ReportError(const arrow::Status& status);

}  // namespace nlk::cli
