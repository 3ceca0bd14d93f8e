#include "ingest/flush_policy.h"

#include <algorithm>
#include <utility>

namespace nlk::ingest {

arrow::Status ValidateFlushLimits(const FlushLimits& limits) {
  if (limits.max_rows <= 0) {
    return arrow::Status::Invalid("the flush row limit must be positive, not ", limits.max_rows);
  }
  if (limits.max_bytes <= 0) {
    return arrow::Status::Invalid("the flush byte limit must be positive, not ", limits.max_bytes);
  }
  if (limits.max_latency.count() <= 0) {
    return arrow::Status::Invalid("the flush latency limit must be positive, not ",
                                  limits.max_latency.count(), " ms");
  }
  return arrow::Status::OK();
}

int64_t PrefetchBytesFor(const FlushLimits& limits) {
  constexpr int64_t kMinimum = int64_t{16} << 20;
  constexpr int64_t kMaximum = int64_t{64} << 20;
  return std::clamp(limits.max_bytes / 2, kMinimum, kMaximum);
}

std::string_view FlushReasonName(FlushReason reason) {
  switch (reason) {
    case FlushReason::kNone:
      return "none";
    case FlushReason::kRows:
      return "rows";
    case FlushReason::kBytes:
      return "bytes";
    case FlushReason::kLatency:
      return "latency";
  }
  return "none";
}

FlushPolicy::FlushPolicy(FlushLimits limits, Clock clock)
    : limits_(limits), clock_(std::move(clock)) {}

void FlushPolicy::OnBuffered(int64_t rows, int64_t bytes) {
  if (!first_buffered_) {
    first_buffered_ = true;
    first_buffered_at_ = clock_();
  }
  rows_ = rows;
  bytes_ = bytes;
}

FlushReason FlushPolicy::ShouldFlush() const {
  if (!first_buffered_) return FlushReason::kNone;
  if (rows_ >= limits_.max_rows) return FlushReason::kRows;
  if (bytes_ >= limits_.max_bytes) return FlushReason::kBytes;
  if (clock_() - first_buffered_at_ >= limits_.max_latency) return FlushReason::kLatency;
  return FlushReason::kNone;
}

std::chrono::milliseconds FlushPolicy::TimeUntilDue() const {
  if (!first_buffered_) return limits_.max_latency;
  auto due = first_buffered_at_ + limits_.max_latency;
  auto now = clock_();
  if (now >= due) return std::chrono::milliseconds(0);
  // Rounded up: waking a little late is harmless, waking early would spin.
  return std::chrono::ceil<std::chrono::milliseconds>(due - now);
}

void FlushPolicy::OnFlushed() {
  rows_ = 0;
  bytes_ = 0;
  first_buffered_ = false;
}

}  // namespace nlk::ingest
