// GROUP BY one integer column with count, sum, avg, min and max over numbers — the per-channel
// and per-device aggregates neural queries run — computed straight into arrays indexed by the
// key value instead of through Acero's hash aggregate. Channels and device numbers span a few
// hundred values, so a group is found by one subtraction; each aggregate is a tight typed loop.
// On the per-channel aggregate over 9 M samples, Acero spent about two thirds of the query in
// its hash table and in fminf/fmaxf (perf; docs/benchmarks.md).
//
// The results are Acero's: the same output columns, types and values, NULL keys as one group,
// nulls skipped, NULL for a group without values, and floating-point min/max ignoring NaN
// unless a group holds nothing else. Groups come out in order of first appearance in the input
// (SQL leaves the order open; Acero's is close to it). Keys spread over more than
// kMaxDirectKeyRange values fall back to a hash map inside the operator, so eligibility depends
// on types alone. Inputs whose first batch has 16 Ki rows or more are aggregated by two threads,
// each into its own groups, merged at the end.
#pragma once

#include <arrow/record_batch.h>

#include <cstdint>
#include <memory>

#include "sql/logical_plan.h"
#include "sql/operators.h"

namespace nlk::sql {

// The widest key range aggregated by direct indexing.
inline constexpr int64_t kMaxDirectKeyRange = 1 << 16;

// Whether `node` (a kAggregate over `input_schema`) is one this operator computes exactly.
bool SmallKeyAggregateApplies(const LogicalOperator& node, const arrow::Schema& input_schema);

// Reads all of `input` and emits the groups as one batch of node.schema (none without input
// rows). `node` must satisfy SmallKeyAggregateApplies.
std::shared_ptr<arrow::RecordBatchReader> MakeSmallKeyAggregateReader(
    std::shared_ptr<arrow::RecordBatchReader> input, const LogicalOperator& node,
    ExecutionGuard guard);

}  // namespace nlk::sql
