#include "ingest/flush_policy.h"

#include <algorithm>
#include <cmath>
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
    case FlushReason::kCaughtUp:
      return "caught_up";
  }
  return "none";
}

int64_t FlushPolicy::SystemMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

FlushPolicy::FlushPolicy(FlushLimits limits, Clock clock, EpochClock epoch_clock)
    : limits_(limits), clock_(std::move(clock)), epoch_clock_(std::move(epoch_clock)) {}

void FlushPolicy::OnProduced(int64_t timestamp_ms) {
  if (!oldest_produced_ms_ || timestamp_ms < *oldest_produced_ms_) {
    oldest_produced_ms_ = timestamp_ms;
  }
}

void FlushPolicy::OnBuffered(int64_t rows, int64_t bytes) {
  if (!first_buffered_) {
    first_buffered_ = true;
    first_buffered_at_ = clock_();
  }
  seen_rows_ += std::max<int64_t>(0, rows - rows_);
  seen_bytes_ += std::max<int64_t>(0, bytes - bytes_);
  rows_ = rows;
  bytes_ = bytes;
}

void FlushPolicy::OnMessages(int64_t messages) { seen_messages_ += messages; }

size_t FlushPolicy::MessagesThatFit(size_t max_messages) const {
  const int64_t room_rows = limits_.max_rows - rows_;
  const int64_t room_bytes = limits_.max_bytes - bytes_;
  if (room_rows <= 0 || room_bytes <= 0) return 1;
  double fit = static_cast<double>(room_rows);
  if (seen_messages_ > 0 && seen_rows_ > 0) {
    fit = static_cast<double>(room_rows) * static_cast<double>(seen_messages_) /
          static_cast<double>(seen_rows_);
  }
  if (seen_messages_ > 0 && seen_bytes_ > 0) {
    fit = std::min(fit, static_cast<double>(room_bytes) * static_cast<double>(seen_messages_) /
                            static_cast<double>(seen_bytes_));
  }
  if (fit >= static_cast<double>(max_messages)) return std::max<size_t>(max_messages, 1);
  return std::max<size_t>(1, static_cast<size_t>(std::ceil(fit)));
}

FlushReason FlushPolicy::ShouldFlush() const {
  if (!first_buffered_) return FlushReason::kNone;
  if (rows_ >= limits_.max_rows) return FlushReason::kRows;
  if (bytes_ >= limits_.max_bytes) return FlushReason::kBytes;
  if (clock_() - first_buffered_at_ >= limits_.max_latency) return FlushReason::kLatency;
  return FlushReason::kNone;
}

bool FlushPolicy::CaughtUpWhenIdle() const {
  return first_buffered_ && reading_backlog_ && rows_ * kCaughtUpFileShare >= limits_.max_rows &&
         oldest_produced_ms_ &&
         epoch_clock_() - *oldest_produced_ms_ >= limits_.max_latency.count();
}

FlushReason FlushPolicy::ShouldFlushWhenIdle() const {
  return CaughtUpWhenIdle() ? FlushReason::kCaughtUp : FlushReason::kNone;
}

std::chrono::milliseconds FlushPolicy::TimeUntilDue() const {
  if (!first_buffered_) return limits_.max_latency;
  auto due = first_buffered_at_ + limits_.max_latency;
  auto now = clock_();
  if (now >= due) return std::chrono::milliseconds(0);
  // Rounded up: waking a little late is harmless, waking early would spin.
  auto wait = std::chrono::ceil<std::chrono::milliseconds>(due - now);
  return CaughtUpWhenIdle() ? std::min(wait, kCaughtUpProbe) : wait;
}

void FlushPolicy::OnFlushed(FlushReason reason) {
  rows_ = 0;
  bytes_ = 0;
  first_buffered_ = false;
  oldest_produced_ms_.reset();
  if (reason == FlushReason::kRows || reason == FlushReason::kBytes) reading_backlog_ = true;
  if (reason == FlushReason::kLatency) reading_backlog_ = false;
}

}  // namespace nlk::ingest
