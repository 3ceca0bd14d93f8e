// A per-query memory budget: a MemoryPool that forwards to another pool, counts the bytes the
// query holds and refuses an allocation that would take it over the limit with
// Status::OutOfMemory (the query then fails cleanly instead of growing without bound).
//
// It is meant for what a query holds across batches, not for batches streaming through:
// Acero plans that aggregate allocate from it (through unrefusing()); plans that only filter,
// project, union or join allocate from the parent, and a hash join's build side, which the join
// keeps, is charged as it is read; full sorts and windows allocate from it; a top-k charges the
// rows it keeps, not its per-batch work. Operators that hold batches allocated elsewhere (Delta
// scans use Arrow's default pool) charge them with Reserve/Release so the budget covers what the
// query keeps, not only what it copies.
//
// Buffers can outlive the query (a caller may keep result batches after dropping the reader),
// so the pool must outlive them: Create returns a handle, and the pool deletes itself once the
// handle is gone and its last allocation is freed.
//
// Thread-safety: all methods are safe to call concurrently.
#pragma once

#include <arrow/memory_pool.h>
#include <arrow/status.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace nlk::sql {

class QueryMemoryPool : public arrow::MemoryPool {
 public:
  // `limit` bytes at most (allocations plus reservations) on top of `parent`.
  static std::shared_ptr<QueryMemoryPool> Create(arrow::MemoryPool* parent, int64_t limit);

  using arrow::MemoryPool::Allocate;
  using arrow::MemoryPool::Free;
  using arrow::MemoryPool::Reallocate;

  arrow::Status Allocate(int64_t size, int64_t alignment, uint8_t** out) override;
  arrow::Status Reallocate(int64_t old_size, int64_t new_size, int64_t alignment,
                           uint8_t** ptr) override;
  void Free(uint8_t* buffer, int64_t size, int64_t alignment) override;

  // Charges `bytes` the query holds but did not allocate here; OutOfMemory past the limit.
  arrow::Status Reserve(int64_t bytes);
  void Release(int64_t bytes);

  int64_t bytes_allocated() const override;  // allocations plus reservations
  int64_t max_memory() const override;
  int64_t total_bytes_allocated() const override;
  int64_t num_allocations() const override;
  std::string backend_name() const override;

  // While one is alive on a thread, what that thread allocates from `pool` is counted apart
  // and not charged: for the fixed scratch space Acero's nodes set up as a plan starts
  // (per-thread temporary stacks, the same whatever the data), which would otherwise take a
  // small budget before any row is read. Scopes do not nest.
  class UnchargedScope {
   public:
    explicit UnchargedScope(QueryMemoryPool* pool);
    ~UnchargedScope();
    UnchargedScope(const UnchargedScope&) = delete;
    UnchargedScope& operator=(const UnchargedScope&) = delete;

   private:
    QueryMemoryPool* previous_;
  };

  int64_t limit() const { return limit_; }
  // The pool allocations are forwarded to; allocating there directly is not charged.
  arrow::MemoryPool* parent() const { return parent_; }

  // The same budget for Acero plans, which cannot take a refused allocation everywhere (a
  // hash table whose growth is refused is left full, and the next batch for it probes
  // forever). Allocations there are charged but never refused; the first that goes past the
  // limit records overrun() and calls the listeners, and the plan's reader stops the plan and
  // fails the query with that status.
  arrow::MemoryPool* unrefusing() { return &unrefusing_; }
  // OK, or the OutOfMemory status of the first allocation past the limit in unrefusing().
  arrow::Status overrun() const;
  bool overran() const { return overran_.load(std::memory_order_acquire); }
  // `listener` runs (on the allocating thread) when the budget is overrun; returns an id for
  // RemoveOverrunListener.
  int AddOverrunListener(std::function<void()> listener);
  void RemoveOverrunListener(int id);

 private:
  class Unrefusing : public arrow::MemoryPool {
   public:
    explicit Unrefusing(QueryMemoryPool* owner) : owner_(owner) {}
    using arrow::MemoryPool::Allocate;
    using arrow::MemoryPool::Free;
    using arrow::MemoryPool::Reallocate;
    arrow::Status Allocate(int64_t size, int64_t alignment, uint8_t** out) override {
      return owner_->DoAllocate(size, alignment, out, /*refuse=*/false);
    }
    arrow::Status Reallocate(int64_t old_size, int64_t new_size, int64_t alignment,
                             uint8_t** ptr) override {
      return owner_->DoReallocate(old_size, new_size, alignment, ptr, /*refuse=*/false);
    }
    void Free(uint8_t* buffer, int64_t size, int64_t alignment) override {
      owner_->Free(buffer, size, alignment);
    }
    int64_t bytes_allocated() const override { return owner_->bytes_allocated(); }
    int64_t max_memory() const override { return owner_->max_memory(); }
    int64_t total_bytes_allocated() const override { return owner_->total_bytes_allocated(); }
    int64_t num_allocations() const override { return owner_->num_allocations(); }
    std::string backend_name() const override { return owner_->backend_name(); }

   private:
    QueryMemoryPool* owner_;
  };

  QueryMemoryPool(arrow::MemoryPool* parent, int64_t limit);
  ~QueryMemoryPool() override = default;

  arrow::Status DoAllocate(int64_t size, int64_t alignment, uint8_t** out, bool refuse);
  arrow::Status DoReallocate(int64_t old_size, int64_t new_size, int64_t alignment, uint8_t** ptr,
                             bool refuse);
  arrow::Status Charge(int64_t bytes, const char* what, bool refuse = true);
  // One reference for the handle, one per live allocation.
  void Unreference();

  arrow::MemoryPool* parent_;
  // Allocations made in an UnchargedScope: address -> size.
  std::mutex uncharged_mutex_;
  std::unordered_map<uint8_t*, int64_t> uncharged_;
  std::atomic<int64_t> uncharged_count_{0};
  Unrefusing unrefusing_{this};
  std::atomic<bool> overran_{false};
  mutable std::mutex overrun_mutex_;
  arrow::Status overrun_;
  std::vector<std::pair<int, std::function<void()>>> listeners_;
  int next_listener_ = 0;
  int64_t limit_;
  std::atomic<int64_t> bytes_{0};
  std::atomic<int64_t> peak_{0};
  std::atomic<int64_t> total_{0};
  std::atomic<int64_t> allocations_{0};
  std::atomic<int64_t> references_{1};
};

// Whether `status` is a query running out of its memory budget.
bool IsQueryMemoryLimitError(const arrow::Status& status);

}  // namespace nlk::sql
