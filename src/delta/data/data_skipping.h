// Decides, from min/max/null-count bounds alone, whether any row of a file (or row group) could
// satisfy a filter. Used for partition pruning (a partition value is a bound with min == max),
// file skipping from Delta statistics, and Parquet row-group pruning.
//
// The evaluation is conservative: any expression it does not understand (functions other than
// comparisons, boolean connectives, is_null/is_valid/is_in; columns without bounds; literals of
// incomparable types) "might match", so a file is only skipped when no row can match.
#pragma once

#include <arrow/compute/expression.h>

#include "delta/data/statistics.h"

namespace nlk::delta::data {

// False only if no row described by `bounds` can make `filter` true. `filter` is unbound and
// refers to columns by logical name (nested fields by their path).
bool MightMatch(const arrow::compute::Expression& filter, const FileStatistics& bounds);

// What bounds say about a filter over the rows they describe.
struct BoundsVerdict {
  bool might_match = true;  // false: no row can satisfy the filter
  // true: every row satisfies it (no row can make it false or null), so a reader need not
  // evaluate it. Only from bounds that hold every value (Parquet's; a truncated string bound
  // still does); a column without bounds or null count never qualifies.
  bool matches_all = false;
};
BoundsVerdict JudgeFilter(const arrow::compute::Expression& filter, const FileStatistics& bounds);

}  // namespace nlk::delta::data
