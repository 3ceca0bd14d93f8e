// Runs the stream writer's flushes (Parquet encoding and Delta commits) on a background thread,
// so that consuming and decoding the next buffer goes on while the previous one is written.
//
// Exactly-once rests on three properties, which this class provides and its tests check:
//   - order: tasks run one at a time, in submission order, so the commits of one partition land
//     in offset order and each one's expected "previous" offset is the one before it;
//   - a bound: at most `capacity` tasks are queued or running; Submit() blocks until there is
//     room, which is the writer's back-pressure and bounds its memory to capacity + 1 buffers;
//   - a halt: once a task fails, every task queued behind it is cancelled without running (its
//     offsets build on the failed one), and so is every task submitted until the owner has
//     seen the failure and called Drain().
//
// Thread-safety: Submit, TakeCompleted, Drain and in_flight are called by one owner thread; the
// tasks run on the pipeline's own thread. The owner must not touch what a running task uses
// until the task's completion has been taken.
#pragma once

#include <arrow/status.h>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace nlk::ingest {

class FlushPipeline {
 public:
  using Task = std::function<arrow::Status()>;

  struct Completion {
    // Submit()'s ticket; tickets count up from 0.
    uint64_t ticket = 0;
    // The task's status, or Cancelled when it did not run (see `ran`).
    arrow::Status status;
    bool ran = false;
  };

  // `capacity` must be at least 1.
  explicit FlushPipeline(size_t capacity);
  // Cancels queued tasks and waits for the running one.
  ~FlushPipeline();
  FlushPipeline(const FlushPipeline&) = delete;
  FlushPipeline& operator=(const FlushPipeline&) = delete;

  // Queues `task`, first waiting while `capacity` tasks are in flight. Returns its ticket.
  uint64_t Submit(Task task);
  // The completions not yet taken, in ticket order, without waiting.
  std::vector<Completion> TakeCompleted();
  // Waits until no task is in flight, returns every completion not yet taken, and lifts a halt
  // caused by a failure, so that later submissions run again.
  std::vector<Completion> Drain();
  // Tasks queued or running; completions not yet taken do not count.
  size_t in_flight() const;

 private:
  struct Queued {
    uint64_t ticket;
    Task task;
  };

  void Work();

  const size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Queued> queue_;
  bool running_ = false;
  bool halted_ = false;
  bool stopping_ = false;
  uint64_t next_ticket_ = 0;
  std::vector<Completion> completed_;
  std::thread worker_;
};

}  // namespace nlk::ingest
