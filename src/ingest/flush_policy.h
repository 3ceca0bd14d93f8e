// When the writer turns its buffered rows into a Delta commit: at a row count, a byte size or an
// age of the oldest buffered message, whichever comes first; and, after reading a backlog, as
// soon as it has caught up (below).
//
// The defaults serve the freshness target (a sample queryable within 2 s, p99, of being produced)
// while keeping files as large as that allows. A commit becomes visible about
//   max_latency + Parquet write + commit round trip
// after its oldest message arrived; with 1 s for the first term, the other two have a second,
// which local disk and MinIO meet with room to spare. At high rates the row and byte limits cut
// files before the second is up: 1M rows (about 15-30 MiB of samples once encoded) or 128 MiB of
// buffered Arrow memory, which also bounds the writer's memory.
//
// Catching up. A writer reading a backlog (since it started, or since a flush was cut by rows or
// bytes, until one is cut by the latency limit) that polls and finds nothing more, while its
// buffer holds at least a tenth of max_rows and its oldest buffered message was produced (by its
// Kafka timestamp) max_latency or longer ago, flushes then and there: that message is already
// as late as the latency limit allows, and waiting out the limit would only delay it further.
// It polls briefly (kCaughtUpProbe) rather than for the rest of the limit to find out. A live
// stream, whose messages are younger than the limit, is not affected, nor is a writer whose
// flushes are cut by the latency limit. A producer clock running behind the writer's by more
// than max_latency makes live messages look overdue; then a fast stream's files may be cut at
// a pause in the stream, though never below a tenth of max_rows, and a slow one reaches the
// latency limit first and keeps it.
//
// Pure logic: time comes from injected clocks, so tests need no sleeping.
//
// Thread-safety: not thread-safe; the writer's polling thread owns it.
#pragma once

#include <arrow/status.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
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

enum class FlushReason { kNone, kRows, kBytes, kLatency, kCaughtUp };
std::string_view FlushReasonName(FlushReason reason);

class FlushPolicy {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  // Wall-clock time in milliseconds since the epoch, to compare with Kafka timestamps.
  using EpochClock = std::function<int64_t()>;
  static int64_t SystemMillis();

  // How long a poll waits to tell whether a writer that read a backlog has caught up.
  static constexpr std::chrono::milliseconds kCaughtUpProbe{50};
  // A buffer flushed on catching up holds at least max_rows / kCaughtUpFileShare rows.
  static constexpr int64_t kCaughtUpFileShare = 10;

  explicit FlushPolicy(FlushLimits limits, Clock clock = &std::chrono::steady_clock::now,
                       EpochClock epoch_clock = &FlushPolicy::SystemMillis);

  const FlushLimits& limits() const { return limits_; }

  // Records that the buffer now holds `rows` rows in `bytes` bytes (totals, not increments).
  // Called after every consumed message, rejected ones too (their offsets need a commit as
  // well); the first call after a flush starts the latency clock.
  void OnBuffered(int64_t rows, int64_t bytes);
  // Records the Kafka timestamp (milliseconds since the epoch) of a buffered message.
  void OnProduced(int64_t timestamp_ms);
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
  // After a poll that brought no message: kCaughtUp when the writer has caught up with a backlog
  // (see above), else kNone.
  FlushReason ShouldFlushWhenIdle() const;
  // How long the writer may block waiting for messages before the latency limit is due; the
  // whole latency limit when nothing is buffered, zero when it is already due; at most
  // kCaughtUpProbe while a poll that finds nothing would flush.
  std::chrono::milliseconds TimeUntilDue() const;
  // The buffer was committed, or dropped (kNone): start over. A flush for rows or bytes means
  // the writer is reading a backlog, one for latency that it is not.
  void OnFlushed(FlushReason reason = FlushReason::kNone);

  bool empty() const { return !first_buffered_; }

 private:
  // Whether a poll that finds nothing would flush the buffer (kCaughtUp).
  bool CaughtUpWhenIdle() const;

  FlushLimits limits_;
  Clock clock_;
  EpochClock epoch_clock_;
  bool reading_backlog_ = true;  // until a flush says otherwise
  std::optional<int64_t> oldest_produced_ms_;
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
