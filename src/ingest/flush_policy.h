// When the writer turns its buffered rows into a Delta commit: at a row count, a byte size or an
// age of the oldest buffered message, whichever comes first.
//
// The defaults serve the freshness target (a sample queryable within 2 s, p99, of being produced)
// while keeping files as large as that allows. A commit becomes visible about
//   max_latency + Parquet write + commit round trip
// after its oldest message arrived; with 1 s for the first term, the other two have a second,
// which local disk and MinIO meet with room to spare. At high rates the row and byte limits cut
// files before the second is up: 1M rows (about 15-30 MiB of samples once encoded) or 128 MiB of
// buffered Arrow memory, which also bounds the writer's memory.
//
// Pure logic: time comes from an injected clock, so tests need no sleeping.
//
// Thread-safety: not thread-safe; the writer's polling thread owns it.
#pragma once

#include <arrow/status.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

namespace nlk::ingest {

struct FlushLimits {
  int64_t max_rows = 1'000'000;
  int64_t max_bytes = 128LL * 1024 * 1024;
  std::chrono::milliseconds max_latency{1000};
};

// All limits must be positive.
arrow::Status ValidateFlushLimits(const FlushLimits& limits);

// How much fetched data the Kafka client may queue ahead of the writer (ConsumerOptions::
// prefetch_bytes): half the flush byte limit, between 16 MiB and 64 MiB, so 64 MiB at the default
// limit. Smaller is not free: librdkafka 2.0.2 stops fetching a partition whose queue is full and
// looks again only after a back-off, so a queue that the decoder empties faster than that throttles
// consumption (measured: 8 MiB took twice as long as 64 MiB). The writer's memory is then bounded
// by about
//   baseline + (flushes in flight + 1) x (buffer limit + 1.5 x prefetch) + 1.5 x prefetch
// where a buffer counts its Arrow memory (cut at max_rows or max_bytes, checked after each poll,
// so it can overshoot by one poll, at most what was prefetched) and the prefetch is the queue
// plus one fetch response of up to prefetch / 2 on its way in.
int64_t PrefetchBytesFor(const FlushLimits& limits);

enum class FlushReason { kNone, kRows, kBytes, kLatency };
std::string_view FlushReasonName(FlushReason reason);

class FlushPolicy {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  explicit FlushPolicy(FlushLimits limits, Clock clock = &std::chrono::steady_clock::now);

  const FlushLimits& limits() const { return limits_; }

  // Records that the buffer now holds `rows` rows in `bytes` bytes (totals, not increments).
  // Called after every consumed message, rejected ones too (their offsets need a commit as
  // well); the first call after a flush starts the latency clock.
  void OnBuffered(int64_t rows, int64_t bytes);
  // Records that `messages` more messages were buffered (their rows and bytes come through
  // OnBuffered), for MessagesThatFit's estimate.
  void OnMessages(int64_t messages);
  // How many messages the next poll may take, at most `max_messages` and at least 1, so that
  // the buffer ends up near its row and byte limits rather than a whole poll past them: the
  // room left divided by the rows and bytes per message seen so far (before any message is
  // seen, at least one row per message is assumed).
  size_t MessagesThatFit(size_t max_messages) const;
  // Whether to flush now, and why; kNone while every limit holds.
  FlushReason ShouldFlush() const;
  // How long the writer may block waiting for messages before the latency limit is due; the
  // whole latency limit when nothing is buffered, zero when it is already due.
  std::chrono::milliseconds TimeUntilDue() const;
  // The buffer was committed (or dropped): start over.
  void OnFlushed();

  bool empty() const { return !first_buffered_; }

 private:
  FlushLimits limits_;
  Clock clock_;
  int64_t rows_ = 0;
  int64_t bytes_ = 0;
  bool first_buffered_ = false;
  // Totals over the writer's life, for the per-message averages.
  int64_t seen_messages_ = 0;
  int64_t seen_rows_ = 0;
  int64_t seen_bytes_ = 0;
  std::chrono::steady_clock::time_point first_buffered_at_;
};

}  // namespace nlk::ingest
