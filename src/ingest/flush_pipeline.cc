#include "ingest/flush_pipeline.h"

#include <algorithm>
#include <utility>

namespace nlk::ingest {

FlushPipeline::FlushPipeline(size_t capacity)
    : capacity_(std::max<size_t>(1, capacity)), worker_([this] { Work(); }) {}

FlushPipeline::~FlushPipeline() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  worker_.join();
}

uint64_t FlushPipeline::Submit(Task task) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return queue_.size() + (running_ ? 1 : 0) < capacity_; });
  const uint64_t ticket = next_ticket_++;
  queue_.push_back({ticket, std::move(task)});
  lock.unlock();
  changed_.notify_all();
  return ticket;
}

std::vector<FlushPipeline::Completion> FlushPipeline::TakeCompleted() {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::exchange(completed_, {});
}

std::vector<FlushPipeline::Completion> FlushPipeline::Drain() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return queue_.empty() && !running_; });
  halted_ = false;
  return std::exchange(completed_, {});
}

size_t FlushPipeline::in_flight() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.size() + (running_ ? 1 : 0);
}

void FlushPipeline::Work() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    changed_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, nothing left
    Queued next = std::move(queue_.front());
    queue_.pop_front();
    Completion completion;
    completion.ticket = next.ticket;
    if (halted_ || stopping_) {
      completion.status = arrow::Status::Cancelled("an earlier flush failed or the writer stopped");
    } else {
      running_ = true;
      lock.unlock();
      completion.status = next.task();
      completion.ran = true;
      // Released outside the lock: a task may own large buffers.
      next.task = nullptr;
      lock.lock();
      running_ = false;
      if (!completion.status.ok()) halted_ = true;
    }
    completed_.push_back(std::move(completion));
    changed_.notify_all();
  }
}

}  // namespace nlk::ingest
