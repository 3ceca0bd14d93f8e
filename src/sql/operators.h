// Our own streaming operators, for what Acero lacks or does not do the way SQL needs:
// ORDER BY (stable, per-key NULLS FIRST/LAST) with a bounded top-k path, LIMIT/OFFSET that stops
// upstream work early, and window functions over ordered partitions. Each wraps its input as a
// RecordBatchReader, so the executor can chain them with Acero plans.
//
// Each reader is used by one thread at a time, like any RecordBatchReader.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/util/cancel.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "sql/logical_plan.h"

namespace nlk::sql {

// Checked between batches by every operator: a stop request or a passed deadline cancels.
struct ExecutionGuard {
  arrow::StopToken stop_token = arrow::StopToken::Unstoppable();
  std::optional<std::chrono::steady_clock::time_point> deadline;

  arrow::Status Check() const;
};

// Sorts by `keys`; with `count`, keeps only rows [offset, offset + count) of the order while
// holding at most about offset + count rows plus one batch (top-k).
std::shared_ptr<arrow::RecordBatchReader> MakeSortReader(
    std::shared_ptr<arrow::RecordBatchReader> input, std::vector<SortKey> keys, int64_t offset,
    std::optional<int64_t> count, ExecutionGuard guard);

// Skips `offset` rows, then passes at most `count` rows and closes the input.
std::shared_ptr<arrow::RecordBatchReader> MakeLimitReader(
    std::shared_ptr<arrow::RecordBatchReader> input, int64_t offset, std::optional<int64_t> count,
    ExecutionGuard guard);

// Appends one column per window call to the input rows (materialises the input).
std::shared_ptr<arrow::RecordBatchReader> MakeWindowReader(
    std::shared_ptr<arrow::RecordBatchReader> input, std::vector<WindowCall> calls,
    std::shared_ptr<arrow::Schema> output_schema, ExecutionGuard guard);

}  // namespace nlk::sql
