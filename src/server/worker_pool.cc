#include "server/worker_pool.h"

namespace nlk::server {

WorkerPool::WorkerPool(int threads, int max_queued, int max_waiting)
    : places_(threads), max_queued_(max_queued), max_waiting_(max_waiting) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (int i = 0; i < threads; ++i) StartThreadLocked();
}

WorkerPool::~WorkerPool() { Stop(); }

void WorkerPool::StartThreadLocked() {
  threads_.emplace_back([this] { Run(); });
}

bool WorkerPool::TrySubmit(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return false;
    // Free places take a task at once, so only the excess over them counts as queued.
    int free_places = places_ - busy_ - returning_;
    if (static_cast<int>(queue_.size()) - free_places >= max_queued_) return false;
    queue_.push_back(std::move(task));
  }
  wake_.notify_one();
  return true;
}

void WorkerPool::WaitOutside(const std::function<void()>& wait) {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (stopping_ || waiting_ >= max_waiting_) {
      lock.unlock();
      wait();
      return;
    }
    ++waiting_;
    --busy_;
    // Every place needs a thread that is not waiting outside.
    if (!stopping_ && static_cast<int>(threads_.size()) < places_ + waiting_) StartThreadLocked();
  }
  wake_.notify_one();
  wait();
  std::unique_lock<std::mutex> lock(mutex_);
  --waiting_;
  ++returning_;
  place_freed_.wait(lock, [this] { return stopping_ || busy_ < places_; });
  --returning_;
  ++busy_;
}

void WorkerPool::Stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    queue_.clear();
    threads.swap(threads_);
  }
  wake_.notify_all();
  place_freed_.notify_all();
  for (auto& thread : threads) {
    if (thread.joinable()) thread.join();
  }
}

int WorkerPool::queued() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int>(queue_.size());
}

int WorkerPool::busy() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return busy_;
}

int WorkerPool::waiting() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return waiting_;
}

void WorkerPool::Run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    // Tasks coming back from WaitOutside take freed places first: they hold a half-sent
    // response and its query.
    wake_.wait(lock,
               [this] { return stopping_ || (!queue_.empty() && busy_ + returning_ < places_); });
    if (stopping_) return;
    std::function<void()> task = std::move(queue_.front());
    queue_.pop_front();
    ++busy_;
    lock.unlock();
    task();
    task = nullptr;
    lock.lock();
    --busy_;
    if (returning_ > 0) {
      place_freed_.notify_one();
    } else if (!queue_.empty()) {
      wake_.notify_one();
    }
  }
}

}  // namespace nlk::server
