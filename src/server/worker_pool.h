// A fixed number of places for running queued tasks, with a bounded queue: when it is full,
// Submit refuses instead of letting waiting work (and its memory) grow without bound. This is
// how the service sheds load with 503 rather than slowing every request down.
//
// A task that must wait for something other than CPU (a client slow to take its response) gives
// its place up while it waits (WaitOutside), and a spare thread runs queued tasks in its stead,
// so slow clients never take the pool's capacity from the others. Threads are started on demand
// for this, at most `threads + max_waiting` in all, and live until Stop.
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
  // `threads` >= 1 places; up to `max_queued` tasks wait beyond those running, and up to
  // `max_waiting` tasks may wait outside their place at once.
  WorkerPool(int threads, int max_queued, int max_waiting);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // False (and `task` dropped) when the queue is full or the pool is stopping.
  bool TrySubmit(std::function<void()> task);
  // From a task of this pool: runs `wait` with the task's place given up, then takes a place
  // again (before queued tasks) and returns. Beyond `max_waiting` such waits at once, `wait`
  // runs in the place, as any other work.
  void WaitOutside(const std::function<void()>& wait);
  // Finishes the running tasks, drops the queued ones and joins the threads.
  void Stop();

  int queued() const;
  int busy() const;     // tasks holding a place
  int waiting() const;  // tasks waiting outside their place
  int threads() const { return places_; }

 private:
  void Run();
  void StartThreadLocked();

  const int places_;
  const int max_queued_;
  const int max_waiting_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;         // a task was queued, or a place freed
  std::condition_variable place_freed_;  // for tasks coming back from WaitOutside
  std::deque<std::function<void()>> queue_;
  int busy_ = 0;
  int waiting_ = 0;
  int returning_ = 0;  // back from WaitOutside, waiting for a place
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace nlk::server
