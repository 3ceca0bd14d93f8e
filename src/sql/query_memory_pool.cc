#include "sql/query_memory_pool.h"

namespace nlk::sql {

namespace {

constexpr char kLimitMessage[] = "query memory limit exceeded";

thread_local QueryMemoryPool* uncharged_pool = nullptr;

}  // namespace

QueryMemoryPool::QueryMemoryPool(arrow::MemoryPool* parent, int64_t limit)
    : parent_(parent), limit_(limit) {}

std::shared_ptr<QueryMemoryPool> QueryMemoryPool::Create(arrow::MemoryPool* parent, int64_t limit) {
  auto* pool = new QueryMemoryPool(parent, limit);
  return std::shared_ptr<QueryMemoryPool>(pool,
                                          [](QueryMemoryPool* owned) { owned->Unreference(); });
}

void QueryMemoryPool::Unreference() {
  if (references_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
}

arrow::Status QueryMemoryPool::Charge(int64_t bytes, const char* what, bool refuse) {
  int64_t now = bytes_.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  if (bytes > 0 && now > limit_) {
    auto status = arrow::Status::OutOfMemory(
        kLimitMessage, ": the query needs more than ", limit_, " bytes (", what, " of ", bytes,
        " bytes with ", now - bytes, " held); narrow it with WHERE, a LIMIT or fewer columns");
    if (refuse) {
      bytes_.fetch_sub(bytes, std::memory_order_relaxed);
      return status;
    }
    std::vector<std::function<void()>> listeners;
    {
      std::lock_guard<std::mutex> lock(overrun_mutex_);
      if (!overran_.load(std::memory_order_relaxed)) {
        overrun_ = std::move(status);
        overran_.store(true, std::memory_order_release);
        for (const auto& [id, listener] : listeners_) listeners.push_back(listener);
      }
    }
    for (const auto& listener : listeners) listener();
  }
  int64_t peak = peak_.load(std::memory_order_relaxed);
  while (now > peak && !peak_.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
  return arrow::Status::OK();
}

QueryMemoryPool::UnchargedScope::UnchargedScope(QueryMemoryPool* pool) : previous_(uncharged_pool) {
  uncharged_pool = pool;
}

QueryMemoryPool::UnchargedScope::~UnchargedScope() { uncharged_pool = previous_; }

arrow::Status QueryMemoryPool::Allocate(int64_t size, int64_t alignment, uint8_t** out) {
  return DoAllocate(size, alignment, out, /*refuse=*/true);
}

arrow::Status QueryMemoryPool::Reallocate(int64_t old_size, int64_t new_size, int64_t alignment,
                                          uint8_t** ptr) {
  return DoReallocate(old_size, new_size, alignment, ptr, /*refuse=*/true);
}

arrow::Status QueryMemoryPool::overrun() const {
  std::lock_guard<std::mutex> lock(overrun_mutex_);
  return overrun_;
}

int QueryMemoryPool::AddOverrunListener(std::function<void()> listener) {
  std::lock_guard<std::mutex> lock(overrun_mutex_);
  int id = next_listener_++;
  listeners_.emplace_back(id, std::move(listener));
  return id;
}

void QueryMemoryPool::RemoveOverrunListener(int id) {
  std::lock_guard<std::mutex> lock(overrun_mutex_);
  for (auto it = listeners_.begin(); it != listeners_.end(); ++it) {
    if (it->first == id) {
      listeners_.erase(it);
      return;
    }
  }
}

arrow::Status QueryMemoryPool::DoAllocate(int64_t size, int64_t alignment, uint8_t** out,
                                          bool refuse) {
  if (uncharged_pool == this) {
    ARROW_RETURN_NOT_OK(parent_->Allocate(size, alignment, out));
    std::lock_guard<std::mutex> lock(uncharged_mutex_);
    uncharged_[*out] = size;  // zero-size allocations may share an address
    uncharged_count_.store(static_cast<int64_t>(uncharged_.size()), std::memory_order_relaxed);
    references_.fetch_add(1, std::memory_order_relaxed);
    return arrow::Status::OK();
  }
  ARROW_RETURN_NOT_OK(Charge(size, "allocating", refuse));
  auto status = parent_->Allocate(size, alignment, out);
  if (!status.ok()) {
    bytes_.fetch_sub(size, std::memory_order_relaxed);
    return status;
  }
  references_.fetch_add(1, std::memory_order_relaxed);
  total_.fetch_add(size, std::memory_order_relaxed);
  allocations_.fetch_add(1, std::memory_order_relaxed);
  return arrow::Status::OK();
}

arrow::Status QueryMemoryPool::DoReallocate(int64_t old_size, int64_t new_size, int64_t alignment,
                                            uint8_t** ptr, bool refuse) {
  if (uncharged_count_.load(std::memory_order_relaxed) > 0) {
    std::lock_guard<std::mutex> lock(uncharged_mutex_);
    auto found = uncharged_.find(*ptr);
    if (found != uncharged_.end()) {
      ARROW_RETURN_NOT_OK(parent_->Reallocate(old_size, new_size, alignment, ptr));
      uncharged_.erase(found);
      uncharged_[*ptr] = new_size;
      return arrow::Status::OK();
    }
  }
  int64_t growth = new_size - old_size;
  ARROW_RETURN_NOT_OK(Charge(growth, "growing a buffer", refuse));
  auto status = parent_->Reallocate(old_size, new_size, alignment, ptr);
  if (!status.ok()) {
    bytes_.fetch_sub(growth, std::memory_order_relaxed);
    return status;
  }
  if (growth > 0) total_.fetch_add(growth, std::memory_order_relaxed);
  return arrow::Status::OK();
}

void QueryMemoryPool::Free(uint8_t* buffer, int64_t size, int64_t alignment) {
  if (uncharged_count_.load(std::memory_order_relaxed) > 0) {
    bool uncharged = false;
    {
      std::lock_guard<std::mutex> lock(uncharged_mutex_);
      uncharged = uncharged_.erase(buffer) > 0;
      uncharged_count_.store(static_cast<int64_t>(uncharged_.size()), std::memory_order_relaxed);
    }
    if (uncharged) {
      parent_->Free(buffer, size, alignment);
      Unreference();
      return;
    }
  }
  parent_->Free(buffer, size, alignment);
  bytes_.fetch_sub(size, std::memory_order_relaxed);
  Unreference();
}

arrow::Status QueryMemoryPool::Reserve(int64_t bytes) { return Charge(bytes, "holding rows"); }

void QueryMemoryPool::Release(int64_t bytes) { bytes_.fetch_sub(bytes, std::memory_order_relaxed); }

int64_t QueryMemoryPool::bytes_allocated() const { return bytes_.load(std::memory_order_relaxed); }

int64_t QueryMemoryPool::max_memory() const { return peak_.load(std::memory_order_relaxed); }

int64_t QueryMemoryPool::total_bytes_allocated() const {
  return total_.load(std::memory_order_relaxed);
}

int64_t QueryMemoryPool::num_allocations() const {
  return allocations_.load(std::memory_order_relaxed);
}

std::string QueryMemoryPool::backend_name() const { return parent_->backend_name(); }

bool IsQueryMemoryLimitError(const arrow::Status& status) {
  return status.IsOutOfMemory() && status.message().find(kLimitMessage) != std::string::npos;
}

}  // namespace nlk::sql
