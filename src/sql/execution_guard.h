// What every operator and scan of one query shares: its stop token, deadline and memory.
#pragma once

#include <arrow/memory_pool.h>
#include <arrow/status.h>
#include <arrow/util/cancel.h>

#include <chrono>
#include <memory>
#include <optional>

#include "sql/query_memory_pool.h"

namespace nlk::sql {

// What every operator of one query shares. Check() runs between batches: a stop request or a
// passed deadline cancels. Operators allocate from `memory_pool`; when the query has a memory
// budget, they also charge it for the input batches they hold (which scans allocate elsewhere).
struct ExecutionGuard {
  arrow::StopToken stop_token = arrow::StopToken::Unstoppable();
  std::optional<std::chrono::steady_clock::time_point> deadline;
  arrow::MemoryPool* memory_pool = arrow::default_memory_pool();
  std::shared_ptr<QueryMemoryPool> memory_budget;  // null: no limit

  arrow::Status Check() const;
  // For working memory that lives only while one batch is processed (streaming operators,
  // Acero plans that hold no rows): the budget's parent, so it is not charged.
  arrow::MemoryPool* transient_pool() const {
    return memory_budget != nullptr ? memory_budget->parent() : memory_pool;
  }
};

}  // namespace nlk::sql
