#include "ingest/flush_policy.h"

#include <gtest/gtest.h>

#include <chrono>

namespace nlk::ingest {
namespace {

using std::chrono::milliseconds;

// A clock the test moves by hand.
class ManualClock {
 public:
  FlushPolicy::Clock AsClock() {
    return [this] { return now_; };
  }
  void Advance(milliseconds step) { now_ += step; }

 private:
  std::chrono::steady_clock::time_point now_{std::chrono::hours(1)};
};

TEST(FlushPolicy, DefaultsServeTwoSecondFreshnessWithLargeFiles) {
  FlushLimits defaults;
  EXPECT_EQ(defaults.max_latency, milliseconds(1000));
  EXPECT_EQ(defaults.max_rows, 1'000'000);
  EXPECT_EQ(defaults.max_bytes, 128LL * 1024 * 1024);
  EXPECT_TRUE(ValidateFlushLimits(defaults).ok());
}

TEST(FlushPolicy, RejectsNonPositiveLimits) {
  EXPECT_FALSE(ValidateFlushLimits({0, 1, milliseconds(1)}).ok());
  EXPECT_FALSE(ValidateFlushLimits({1, -1, milliseconds(1)}).ok());
  auto status = ValidateFlushLimits({1, 1, milliseconds(0)});
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("latency limit must be positive"), std::string::npos);
}

TEST(FlushPolicy, NothingBufferedNeverFlushes) {
  ManualClock clock;
  FlushPolicy policy({10, 1000, milliseconds(100)}, clock.AsClock());
  clock.Advance(milliseconds(10'000));
  EXPECT_EQ(policy.ShouldFlush(), FlushReason::kNone);
  EXPECT_TRUE(policy.empty());
  EXPECT_EQ(policy.TimeUntilDue(), milliseconds(100));
}

TEST(FlushPolicy, FlushesAtTheRowLimit) {
  ManualClock clock;
  FlushPolicy policy({10, 1 << 20, milliseconds(1000)}, clock.AsClock());
  policy.OnBuffered(9, 90);
  EXPECT_EQ(policy.ShouldFlush(), FlushReason::kNone);
  policy.OnBuffered(10, 100);
  EXPECT_EQ(policy.ShouldFlush(), FlushReason::kRows);
  EXPECT_EQ(FlushReasonName(policy.ShouldFlush()), "rows");
}

TEST(FlushPolicy, FlushesAtTheByteLimit) {
  ManualClock clock;
  FlushPolicy policy({1000, 4096, milliseconds(1000)}, clock.AsClock());
  policy.OnBuffered(1, 4095);
  EXPECT_EQ(policy.ShouldFlush(), FlushReason::kNone);
  policy.OnBuffered(2, 5000);
  EXPECT_EQ(policy.ShouldFlush(), FlushReason::kBytes);
}

TEST(FlushPolicy, LatencyCountsFromTheFirstBufferedMessage) {
  ManualClock clock;
  FlushPolicy policy({1000, 1 << 20, milliseconds(1000)}, clock.AsClock());
  policy.OnBuffered(1, 10);
  clock.Advance(milliseconds(600));
  // A later message does not restart the clock.
  policy.OnBuffered(2, 20);
  EXPECT_EQ(policy.TimeUntilDue(), milliseconds(400));
  clock.Advance(milliseconds(399));
  EXPECT_EQ(policy.ShouldFlush(), FlushReason::kNone);
  EXPECT_EQ(policy.TimeUntilDue(), milliseconds(1));
  clock.Advance(milliseconds(1));
  EXPECT_EQ(policy.ShouldFlush(), FlushReason::kLatency);
  EXPECT_EQ(policy.TimeUntilDue(), milliseconds(0));
  clock.Advance(milliseconds(5000));
  EXPECT_EQ(policy.TimeUntilDue(), milliseconds(0));
}

TEST(FlushPolicy, RejectedMessagesAloneStillGetFlushed) {
  // A buffer of only dead letters holds no rows, but their offsets must still be committed.
  ManualClock clock;
  FlushPolicy policy({1000, 1 << 20, milliseconds(50)}, clock.AsClock());
  policy.OnBuffered(0, 0);
  EXPECT_FALSE(policy.empty());
  clock.Advance(milliseconds(50));
  EXPECT_EQ(policy.ShouldFlush(), FlushReason::kLatency);
}

TEST(FlushPolicy, StartsOverAfterAFlush) {
  ManualClock clock;
  FlushPolicy policy({10, 1 << 20, milliseconds(100)}, clock.AsClock());
  policy.OnBuffered(10, 10);
  clock.Advance(milliseconds(200));
  EXPECT_EQ(policy.ShouldFlush(), FlushReason::kRows);
  policy.OnFlushed();
  EXPECT_TRUE(policy.empty());
  EXPECT_EQ(policy.ShouldFlush(), FlushReason::kNone);
  policy.OnBuffered(1, 1);
  EXPECT_EQ(policy.ShouldFlush(), FlushReason::kNone);
  EXPECT_EQ(policy.TimeUntilDue(), milliseconds(100));
}

// After reading a backlog, a poll that finds nothing flushes a buffer of at least a tenth of
// max_rows whose oldest message was produced a latency limit or more ago, instead of waiting out
// the limit; a live stream's young messages, a small buffer, and a writer whose last flush was
// cut by the latency limit keep the limit.
TEST(FlushPolicy, FlushesOnCatchingUpWithABacklogOfOverdueMessages) {
  ManualClock clock;
  int64_t epoch_ms = 1'800'000'000'000;
  FlushPolicy policy({100, 1 << 20, milliseconds(1000)}, clock.AsClock(),
                     [&epoch_ms] { return epoch_ms; });
  // A fresh writer is reading whatever backlog there is.
  policy.OnBuffered(10, 30);
  policy.OnProduced(epoch_ms - 5000);
  policy.OnProduced(epoch_ms - 4000);
  EXPECT_EQ(policy.ShouldFlush(), FlushReason::kNone);
  EXPECT_EQ(policy.ShouldFlushWhenIdle(), FlushReason::kCaughtUp);
  EXPECT_EQ(FlushReasonName(FlushReason::kCaughtUp), "caught_up");
  EXPECT_EQ(policy.TimeUntilDue(), FlushPolicy::kCaughtUpProbe);
  policy.OnFlushed(FlushReason::kCaughtUp);

  // Still a backlog: the next overdue buffer goes the same way, once it holds 10 rows.
  policy.OnBuffered(9, 10);
  policy.OnProduced(epoch_ms - 5000);
  EXPECT_EQ(policy.ShouldFlushWhenIdle(), FlushReason::kNone);
  EXPECT_EQ(policy.TimeUntilDue(), milliseconds(1000));
  policy.OnBuffered(10, 10);
  EXPECT_EQ(policy.ShouldFlushWhenIdle(), FlushReason::kCaughtUp);
  // Cut by the latency limit: no longer a backlog.
  clock.Advance(milliseconds(1000));
  EXPECT_EQ(policy.ShouldFlush(), FlushReason::kLatency);
  policy.OnFlushed(FlushReason::kLatency);
  policy.OnBuffered(50, 10);
  policy.OnProduced(epoch_ms - 5000);
  EXPECT_EQ(policy.ShouldFlushWhenIdle(), FlushReason::kNone);
  EXPECT_EQ(policy.TimeUntilDue(), milliseconds(1000));
  // A flush cut by rows means a backlog again.
  policy.OnBuffered(100, 100);
  EXPECT_EQ(policy.ShouldFlush(), FlushReason::kRows);
  policy.OnFlushed(FlushReason::kRows);

  // Messages younger than the limit: a live stream, which keeps the limit.
  policy.OnBuffered(20, 20);
  policy.OnProduced(epoch_ms - 999);
  EXPECT_EQ(policy.ShouldFlushWhenIdle(), FlushReason::kNone);
  EXPECT_EQ(policy.TimeUntilDue(), milliseconds(1000));
  // Until the oldest of them is a limit old.
  epoch_ms += 1;
  EXPECT_EQ(policy.ShouldFlushWhenIdle(), FlushReason::kCaughtUp);
  // A flush for a rebalance or stop (no reason) leaves the backlog state as it was.
  policy.OnFlushed();
  policy.OnBuffered(10, 10);
  policy.OnProduced(epoch_ms - 2000);
  EXPECT_EQ(policy.ShouldFlushWhenIdle(), FlushReason::kCaughtUp);
}

TEST(FlushPolicy, MessagesWithoutTimestampsKeepTheLatencyLimit) {
  ManualClock clock;
  FlushPolicy policy({10, 1 << 20, milliseconds(1000)}, clock.AsClock(),
                     [] { return int64_t{1'800'000'000'000}; });
  policy.OnBuffered(9, 30);
  EXPECT_EQ(policy.ShouldFlushWhenIdle(), FlushReason::kNone);
  EXPECT_EQ(policy.TimeUntilDue(), milliseconds(1000));
  // Nothing buffered: nothing to flush, whatever the timestamps said before.
  policy.OnProduced(0);
  policy.OnFlushed();
  EXPECT_EQ(policy.ShouldFlushWhenIdle(), FlushReason::kNone);
}

// A poll takes no more messages than the room left holds, judged by the rows and bytes per
// message so far, so a flush overshoots its limits by about a message, not by a whole poll.
TEST(FlushPolicy, PollsOnlyWhatFitsUnderTheLimits) {
  ManualClock clock;
  FlushPolicy policy({1000, 1 << 20, milliseconds(1000)}, clock.AsClock());
  // Nothing seen yet: at least one row per message.
  EXPECT_EQ(policy.MessagesThatFit(50000), 1000u);
  EXPECT_EQ(policy.MessagesThatFit(10), 10u);
  // 4 messages of 100 rows and 1 KiB each: 600 rows of room are 6 messages.
  policy.OnMessages(4);
  policy.OnBuffered(400, 4096);
  EXPECT_EQ(policy.MessagesThatFit(50000), 6u);
  // Rounded up: 590 rows of room at 82 rows per message are 7.2 messages.
  policy.OnMessages(1);
  policy.OnBuffered(410, 4096 + 100);
  EXPECT_EQ(policy.MessagesThatFit(50000), 8u);
  // At the limit a poll still takes one message (the flush comes first anyway).
  policy.OnBuffered(1000, 8192);
  EXPECT_EQ(policy.MessagesThatFit(50000), 1u);
  // After a flush the averages carry over: the whole limit's worth.
  policy.OnFlushed();
  EXPECT_EQ(policy.MessagesThatFit(50000), 5u);  // 1000 rows at 200 per message

  // The byte limit binds when messages are large.
  FlushPolicy bytes({1'000'000, 10'000, milliseconds(1000)}, clock.AsClock());
  bytes.OnMessages(2);
  bytes.OnBuffered(20, 2000);
  EXPECT_EQ(bytes.MessagesThatFit(50000), 8u);
}

TEST(FlushPolicy, TimeUntilDueRoundsUp) {
  // Waking a fraction of a millisecond late is harmless; waking early would spin.
  auto now = std::chrono::steady_clock::time_point{std::chrono::hours(1)};
  FlushPolicy policy({10, 1 << 20, milliseconds(100)}, [&] { return now; });
  policy.OnBuffered(1, 1);
  now += std::chrono::microseconds(99'500);
  EXPECT_EQ(policy.TimeUntilDue(), milliseconds(1));
}

TEST(PrefetchBytesFor, HalfTheByteLimitWithinBounds) {
  constexpr int64_t kMiB = 1 << 20;
  auto prefetch = [](int64_t max_bytes) {
    FlushLimits limits;
    limits.max_bytes = max_bytes;
    return PrefetchBytesFor(limits);
  };
  EXPECT_EQ(PrefetchBytesFor(FlushLimits{}), 64 * kMiB);
  EXPECT_EQ(prefetch(64 * kMiB), 32 * kMiB);
  EXPECT_EQ(prefetch(8 * kMiB), 16 * kMiB);
  EXPECT_EQ(prefetch(1), 16 * kMiB);
  EXPECT_EQ(prefetch(int64_t{8} << 30), 64 * kMiB);
}

}  // namespace
}  // namespace nlk::ingest
