// Rewrites a bound logical plan so that less data is read and moved:
//   - filter pushdown: WHERE terms travel down through projections, sorts, group keys and the
//     matching sides of joins, and land in the table scan, where the Delta engine uses them for
//     partition pruning, file skipping by statistics and Parquet row-group pruning;
//   - projection pushdown: scans read only the columns some operator above uses;
//   - limit pushdown: LIMIT right above a scan (through projections) caps the scan;
//   - top-k: ORDER BY ... LIMIT n keeps only n rows instead of sorting everything.
//
// Pure; thread-safe for distinct plans.
#pragma once

#include <arrow/result.h>

#include "sql/logical_plan.h"

namespace nlk::sql {

arrow::Result<PlanPointer> Optimize(PlanPointer plan);

}  // namespace nlk::sql
