// A fixed set of threads running queued tasks, with a bounded queue: when it is full, Submit
// refuses instead of letting waiting work (and its memory) grow without bound. This is how the
// service sheds load with 503 rather than slowing every request down.
//
// Thread-safety: all methods may be called from any thread. The destructor stops and joins.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace nlk::server {

class WorkerPool {
 public:
  // `threads` >= 1; up to `max_queued` tasks wait beyond those running.
  WorkerPool(int threads, int max_queued);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // False (and `task` dropped) when the queue is full or the pool is stopping.
  bool TrySubmit(std::function<void()> task);
  // Finishes the running tasks, drops the queued ones and joins the threads.
  void Stop();

  int queued() const;
  int busy() const;
  int threads() const { return static_cast<int>(threads_.size()); }

 private:
  void Run();

  const int max_queued_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  int busy_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace nlk::server
