// SQL functions that Arrow's compute library lacks, registered in its function registry so that
// expressions and Acero plans call them by name like any Arrow function:
//
//   sum_checked, hash_sum_checked   sum() of signed integers as int64, failing with "sum() out of
//                                    range for bigint" where Arrow's sum would wrap around
//
// Thread-safe: registration happens once per process.
#pragma once

#include <arrow/status.h>

namespace nlk::sql {

inline constexpr char kCheckedSum[] = "sum_checked";

// Registers the functions above in Arrow's default function registry; cheap after the first
// call.
arrow::Status RegisterSqlFunctions();

}  // namespace nlk::sql
