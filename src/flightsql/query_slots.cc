#include "flightsql/query_slots.h"

#include <arrow/flight/types.h>

namespace nlk::flightsql {

arrow::Result<std::unique_ptr<QuerySlots::Slot>> QuerySlots::Acquire() {
  std::unique_lock lock(mutex_);
  if (!stopped_ && running_ >= max_running_) {
    if (waiting_ >= max_waiting_) {
      return arrow::flight::MakeFlightError(arrow::flight::FlightStatusCode::Unavailable,
                                            "the server is busy: " + std::to_string(running_) +
                                                " queries running and " + std::to_string(waiting_) +
                                                " waiting; retry later");
    }
    ++waiting_;
    released_.wait(lock, [this] { return stopped_ || running_ < max_running_; });
    --waiting_;
  }
  if (stopped_) {
    return arrow::flight::MakeFlightError(arrow::flight::FlightStatusCode::Unavailable,
                                          "the server is stopping");
  }
  ++running_;
  return std::make_unique<Slot>(shared_from_this());
}

std::unique_ptr<QuerySlots::Slot> QuerySlots::TryAcquire() {
  std::lock_guard lock(mutex_);
  if (stopped_ || running_ >= max_running_ || waiting_ > 0) return nullptr;
  ++running_;
  return std::make_unique<Slot>(shared_from_this());
}

void QuerySlots::Release() {
  {
    std::lock_guard lock(mutex_);
    --running_;
  }
  released_.notify_one();
}

void QuerySlots::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
  }
  released_.notify_all();
}

}  // namespace nlk::flightsql
