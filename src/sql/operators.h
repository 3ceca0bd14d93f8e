// Our own streaming operators, for what Acero lacks or does not do the way SQL needs:
// ORDER BY (stable, per-key NULLS FIRST/LAST) with a bounded top-k path, LIMIT/OFFSET that stops
// upstream work early, and window functions over ordered partitions. Each wraps its input as a
// RecordBatchReader, so the executor can chain them with Acero plans.
//
// Each reader is used by one thread at a time, like any RecordBatchReader.
#pragma once

#include <arrow/memory_pool.h>
#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/util/cancel.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "sql/execution_guard.h"
#include "sql/logical_plan.h"

namespace nlk::sql {

// Sorts by `keys` (stable). With `count` it is a streaming top-k: it keeps the best
// offset + count rows seen so far and, once it has them, filters each arriving batch down to the
// rows that could still rank before the worst of them, so it holds about offset + count rows
// plus a few candidates, never the input. Emits rows [offset, offset + count) of the order.
std::shared_ptr<arrow::RecordBatchReader> MakeSortReader(
    std::shared_ptr<arrow::RecordBatchReader> input, std::vector<SortKey> keys, int64_t offset,
    std::optional<int64_t> count, ExecutionGuard guard);

// Passes its input through and charges the query's memory budget for every batch until it is
// destroyed: for the build side of a hash join, which the join keeps whole.
std::shared_ptr<arrow::RecordBatchReader> MakeHoldingReader(
    std::shared_ptr<arrow::RecordBatchReader> input, ExecutionGuard guard);

// Skips `offset` rows, then passes at most `count` rows and closes the input.
std::shared_ptr<arrow::RecordBatchReader> MakeLimitReader(
    std::shared_ptr<arrow::RecordBatchReader> input, int64_t offset, std::optional<int64_t> count,
    ExecutionGuard guard);

// Appends one column per window call to the input rows (materialises the input).
std::shared_ptr<arrow::RecordBatchReader> MakeWindowReader(
    std::shared_ptr<arrow::RecordBatchReader> input, std::vector<WindowCall> calls,
    std::shared_ptr<arrow::Schema> output_schema, ExecutionGuard guard);

}  // namespace nlk::sql
