// Admission for queries: at most `running` hold a slot at once, at most `waiting` more wait for
// one, and a query beyond both is refused at once (load shedding, as the HTTP front end answers
// 503). A slot is held for a query's whole life, including the time its client takes to read
// the results.
//
// Thread-safety: all members may be called concurrently.
#pragma once

#include <arrow/result.h>

#include <condition_variable>
#include <memory>
#include <mutex>

namespace nlk::flightsql {

class QuerySlots : public std::enable_shared_from_this<QuerySlots> {
 public:
  // Releases its slot when destroyed.
  class Slot {
   public:
    explicit Slot(std::shared_ptr<QuerySlots> slots) : slots_(std::move(slots)) {}
    ~Slot() { slots_->Release(); }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

   private:
    std::shared_ptr<QuerySlots> slots_;
  };

  QuerySlots(int running, int waiting) : max_running_(running), max_waiting_(waiting) {}

  // A slot, after waiting for one if all are taken; Unavailable when too many already wait or
  // the slots are stopped.
  arrow::Result<std::unique_ptr<Slot>> Acquire();
  // A slot if one is free and nobody waits for one; null otherwise (or when stopped).
  std::unique_ptr<Slot> TryAcquire();
  // Refuses new queries and wakes those waiting.
  void Stop();

 private:
  void Release();

  const int max_running_;
  const int max_waiting_;
  std::mutex mutex_;
  std::condition_variable released_;
  int running_ = 0;
  int waiting_ = 0;
  bool stopped_ = false;
};

}  // namespace nlk::flightsql
