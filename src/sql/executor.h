// Runs an optimised logical plan: table scans (each through its TableProvider, with the
// projection, filter and limit pushed into it), Acero for filter/project/aggregate/hash
// join/union, and our operators (operators.h) for sort, top-k, limit and windows. Results stream
// as a RecordBatchReader.
//
// Thread-safety: an Executor serves one query; its metrics() may be read from any thread
// while the query runs.
#pragma once

#include <arrow/memory_pool.h>
#include <arrow/record_batch.h>
#include <arrow/result.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sql/logical_plan.h"
#include "sql/operators.h"
#include "sql/query_metrics.h"

namespace nlk::sql {

class Executor : public std::enable_shared_from_this<Executor> {
 public:
  Executor(ExecutionGuard guard, arrow::MemoryPool* memory_pool);

  // Plans every table scan of `plan` (Delta pruning happens here), so EXPLAIN can report it.
  arrow::Status Prepare(const PlanPointer& plan);
  // Starts the plan; Prepare is called first if it was not.
  arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> Execute(const PlanPointer& plan);

  QueryMetrics metrics() const;
  // One line about the scan of `node` (pushdown and pruning), for EXPLAIN.
  std::string DescribeScan(const LogicalOperator& node) const;

 private:
  ScanRequest RequestFor(const LogicalOperator& node) const;
  arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> Reader(const PlanPointer& node);
  // `hold_join_builds`: the plan allocates outside the query's budget, so hash joins read
  // their build side through a reader that charges it.
  arrow::Result<arrow::acero::Declaration> Declare(const PlanPointer& node, bool hold_join_builds);
  arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> ScanReader(const PlanPointer& node);
  // Late materialisation for ORDER BY ... LIMIT over a wide scan: reads the first sort key's
  // column alone, finds the k-th best value and pushes "key at least as good" into the scan, so
  // files and row groups that cannot hold a top row are skipped by their statistics and the
  // other columns are decoded only for the rest.
  arrow::Status NarrowTopKScan(const LogicalOperator& top);

  ExecutionGuard guard_;
  arrow::MemoryPool* memory_pool_;
  // Guards the scans, which metrics() reads from other threads while the query runs.
  mutable std::mutex scans_mutex_;
  std::map<const LogicalOperator*, std::shared_ptr<PlannedScan>> scans_;
  std::vector<std::shared_ptr<PlannedScan>> key_scans_;  // NarrowTopKScan's first pass
};

// Runs an Acero plan and reads its output, watching `guard` (deadline, stop token, memory
// budget): unlike acero::DeclarationToReader it never waits forever on a plan that failed to
// start, and it stops the plan's tasks before returning an error.
arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> RunPlan(
    arrow::acero::Declaration declaration, arrow::MemoryPool* pool, ExecutionGuard guard);

// The plan as indented text lines; scans are described by `executor` when given.
std::vector<std::string> ExplainPlan(const PlanPointer& plan, const Executor* executor);

}  // namespace nlk::sql
