// The live device simulator's pacing and events, on a clock that moves only when the simulator
// sleeps (and one real-clock run with a generous bound): when each message goes out, that a seed
// fixes every event, and that the summary accounts for every sample generated.
#include "datagen/live_simulator.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace nlk::datagen {
namespace {

using std::chrono::milliseconds;

class FakeClock final : public Clock {
 public:
  TimePoint Now() override { return now_; }
  void SleepUntil(TimePoint deadline) override {
    now_ = std::max(now_, deadline);
    ++sleeps_;
  }
  void Advance(TimePoint::duration step) { now_ += step; }
  int64_t sleeps() const { return sleeps_; }

 private:
  TimePoint now_{};
  int64_t sleeps_ = 0;
};

struct Sent {
  LiveMessage message;
  Clock::TimePoint at;
};

class RecordingSink final : public MessageSink {
 public:
  explicit RecordingSink(Clock& clock, Clock::TimePoint::duration cost = {})
      : clock_(clock), cost_(cost) {}

  arrow::Status Send(const LiveMessage& message) override {
    sent.push_back({message, clock_.Now()});
    // A slow producer: each message takes this long on the simulator's clock.
    if (cost_.count() > 0) static_cast<FakeClock&>(clock_).Advance(cost_);
    return arrow::Status::OK();
  }

  std::vector<Sent> sent;

 private:
  Clock& clock_;
  Clock::TimePoint::duration cost_;
};

LiveOptions QuietOptions(int devices, double seconds) {
  LiveOptions options;
  options.generator.devices = devices;
  options.generator.channels = 3;
  options.generator.sampling_rate_hz = 100;
  options.generator.duration_seconds = seconds;
  options.message_seconds = 0.1;
  options.late_fraction = 0;
  options.dropout_fraction = 0;
  options.malformed_fraction = 0;
  return options;
}

LiveOptions EventfulOptions(uint64_t seed) {
  LiveOptions options = QuietOptions(4, 20);
  options.generator.seed = seed;
  options.late_fraction = 0.1;
  options.max_late_intervals = 5;
  options.dropout_fraction = 0.05;
  options.max_dropout_intervals = 4;
  options.malformed_fraction = 0.1;
  return options;
}

std::unique_ptr<LiveSimulator> Make(const LiveOptions& options) {
  auto simulator = LiveSimulator::Make(options);
  EXPECT_TRUE(simulator.ok()) << simulator.status().ToString();
  return std::move(simulator).ValueOrDie();
}

bool Never() { return false; }

// device, channel, sequence, voltage of every row.
using Sample = std::tuple<std::string, int32_t, int64_t, float>;

void CollectSamples(const arrow::RecordBatch& batch, std::multiset<Sample>* samples) {
  auto devices = std::static_pointer_cast<arrow::StringArray>(batch.GetColumnByName("device_id"));
  auto channels = std::static_pointer_cast<arrow::Int32Array>(batch.GetColumnByName("channel"));
  auto sequences = std::static_pointer_cast<arrow::Int64Array>(batch.GetColumnByName("sequence"));
  auto voltages = std::static_pointer_cast<arrow::FloatArray>(batch.GetColumnByName("voltage_uv"));
  for (int64_t row = 0; row < batch.num_rows(); ++row) {
    samples->emplace(devices->GetString(row), channels->Value(row), sequences->Value(row),
                     voltages->Value(row));
  }
}

// Each message goes out when its interval's last sample has been recorded: not before, and,
// when nothing is slow, not after either. Their rows are exactly the generator's samples.
TEST(LiveSimulator, SendsEachIntervalWhenItEndsWithTheGeneratorsSamples) {
  LiveOptions options = QuietOptions(2, 1);
  auto simulator = Make(options);
  EXPECT_EQ(simulator->steps_per_interval(), 10);
  FakeClock clock;
  const Clock::TimePoint start = clock.Now();
  RecordingSink sink(clock);
  ASSERT_TRUE(simulator->Run(sink, clock, Never).ok());

  ASSERT_EQ(sink.sent.size(), 20u);
  std::multiset<Sample> sent;
  for (size_t i = 0; i < sink.sent.size(); ++i) {
    const LiveMessage& message = sink.sent[i].message;
    EXPECT_EQ(message.device, static_cast<int32_t>(i % 2));
    EXPECT_EQ(message.device_id, DeviceName(message.device));
    EXPECT_EQ(message.first_sequence, static_cast<int64_t>(i / 2) * 10);
    EXPECT_EQ(message.last_sequence, message.first_sequence + 9);
    EXPECT_FALSE(message.late);
    EXPECT_FALSE(message.malformed.has_value());
    ASSERT_EQ(message.rows->num_rows(), 30);
    auto devices =
        std::static_pointer_cast<arrow::StringArray>(message.rows->GetColumnByName("device_id"));
    for (int64_t row = 0; row < devices->length(); ++row) {
      EXPECT_EQ(devices->GetString(row), message.device_id);
    }
    EXPECT_EQ(sink.sent[i].at - start, milliseconds(10 * (message.last_sequence + 1)));
    CollectSamples(*message.rows, &sent);
  }
  std::multiset<Sample> generated;
  auto reader = MakeNeuralReader(options.generator).ValueOrDie();
  for (auto batch = reader->Next().ValueOrDie(); batch; batch = reader->Next().ValueOrDie()) {
    CollectSamples(*batch, &generated);
  }
  EXPECT_TRUE(sent == generated);

  const LiveSummary& summary = simulator->summary();
  EXPECT_EQ(summary.intervals, 10);
  EXPECT_FALSE(summary.stopped);
  EXPECT_EQ(summary.rows(), 2 * 3 * 100);
  EXPECT_EQ(summary.messages(), 20);
  for (const DeviceSummary& device : summary.devices) {
    EXPECT_EQ(device.sequence_ranges, (std::vector<std::pair<int64_t, int64_t>>{{0, 99}}));
  }
}

// A producer slower than the stream: the simulator no longer sleeps, never sends a message
// before its time, and reports how far behind it fell.
TEST(LiveSimulator, FallsBehindASlowSinkWithoutSkippingAndReportsTheLag) {
  auto simulator = Make(QuietOptions(2, 1));
  FakeClock clock;
  const Clock::TimePoint start = clock.Now();
  RecordingSink sink(clock, milliseconds(80));  // two messages per 100 ms interval
  ASSERT_TRUE(simulator->Run(sink, clock, Never).ok());
  ASSERT_EQ(sink.sent.size(), 20u);
  for (const Sent& sent : sink.sent) {
    EXPECT_GE(sent.at - start, milliseconds(10 * (sent.message.last_sequence + 1)));
  }
  // Interval k is due at (k+1) * 100 ms, but starts after the first interval's wait and 2k
  // messages of 80 ms, at 100 + 160k ms: the last one (k = 9) goes out 540 ms late.
  EXPECT_EQ(simulator->summary().max_lag, milliseconds(540));
}

std::vector<std::tuple<int32_t, int64_t, bool, int, int64_t>> Trace(const RecordingSink& sink) {
  std::vector<std::tuple<int32_t, int64_t, bool, int, int64_t>> trace;
  for (const Sent& sent : sink.sent) {
    const LiveMessage& message = sent.message;
    trace.emplace_back(message.device, message.first_sequence, message.late,
                       message.malformed ? static_cast<int>(*message.malformed) : -1,
                       message.rows ? message.rows->num_rows() : 0);
  }
  return trace;
}

TEST(LiveSimulator, TheSeedFixesEveryEvent) {
  FakeClock clock;
  RecordingSink first(clock), second(clock), other(clock);
  ASSERT_TRUE(Make(EventfulOptions(42))->Run(first, clock, Never).ok());
  ASSERT_TRUE(Make(EventfulOptions(42))->Run(second, clock, Never).ok());
  ASSERT_TRUE(Make(EventfulOptions(7))->Run(other, clock, Never).ok());
  EXPECT_EQ(Trace(first), Trace(second));
  EXPECT_NE(Trace(first), Trace(other));
  for (size_t i = 0; i < first.sent.size(); ++i) {
    if (first.sent[i].message.rows == nullptr) continue;
    EXPECT_TRUE(first.sent[i].message.rows->Equals(*second.sent[i].message.rows)) << i;
  }
}

// Every generated sample is either sent once or lost to a dropout; late messages come after
// later ones of their device; malformed ones are extra messages of all three kinds.
TEST(LiveSimulator, EventsAccountForEverySample) {
  LiveOptions options = EventfulOptions(42);
  auto simulator = Make(options);
  FakeClock clock;
  RecordingSink sink(clock);
  ASSERT_TRUE(simulator->Run(sink, clock, Never).ok());
  const LiveSummary& summary = simulator->summary();
  const int64_t steps = 100 * 20;

  std::map<int32_t, std::set<int64_t>> steps_sent;
  std::map<int32_t, int64_t> highest_sequence_sent = {{0, -1}, {1, -1}, {2, -1}, {3, -1}};
  std::map<MalformedKind, int64_t> kinds;
  int64_t late_out_of_order = 0;
  for (const Sent& sent : sink.sent) {
    const LiveMessage& message = sent.message;
    if (message.malformed) {
      ++kinds[*message.malformed];
      switch (*message.malformed) {
        case MalformedKind::kTruncated:
          EXPECT_EQ(message.rows->num_rows(), 1);
          break;
        case MalformedKind::kWrongType:
          EXPECT_EQ(message.rows->num_rows(), 1);
          EXPECT_EQ(message.rows->GetColumnByName("voltage_uv")->type_id(), arrow::Type::STRING);
          break;
        case MalformedKind::kNotAMessage:
          EXPECT_EQ(message.rows, nullptr);
          EXPECT_NE(message.text.find(message.device_id), std::string::npos);
          break;
      }
      continue;
    }
    for (int64_t step = message.first_sequence; step <= message.last_sequence; ++step) {
      EXPECT_TRUE(steps_sent[message.device].insert(step).second) << "step sent twice";
    }
    int64_t& highest = highest_sequence_sent[message.device];
    if (message.last_sequence < highest) {
      EXPECT_TRUE(message.late) << "a message on time went back in time";
      ++late_out_of_order;
    }
    highest = std::max(highest, message.last_sequence);
  }
  // A late message follows later ones of its device unless the device was silent meanwhile or
  // they were late too.
  EXPECT_GT(late_out_of_order, summary.late_messages() / 2);
  EXPECT_GT(summary.late_messages(), 20);
  EXPECT_GT(summary.dropouts(), 10);
  EXPECT_GT(summary.malformed_messages(), 20);
  EXPECT_EQ(kinds.size(), 3u);

  int64_t malformed = 0;
  for (int32_t device = 0; device < 4; ++device) {
    const DeviceSummary& counts = summary.devices[device];
    EXPECT_EQ(counts.device_id, DeviceName(device));
    EXPECT_EQ(counts.rows + counts.dropped_rows, steps * 3);
    EXPECT_EQ(counts.rows, static_cast<int64_t>(steps_sent[device].size()) * 3);
    EXPECT_GT(counts.dropped_rows, 0);
    // The ranges are exactly the steps sent.
    std::set<int64_t> in_ranges;
    int64_t previous_last = -2;
    for (const auto& [first, last] : counts.sequence_ranges) {
      EXPECT_GT(first, previous_last + 1) << "ranges must be disjoint and not touch";
      previous_last = last;
      for (int64_t step = first; step <= last; ++step) in_ranges.insert(step);
    }
    EXPECT_EQ(in_ranges, steps_sent[device]);
    malformed += counts.malformed_messages;
  }
  EXPECT_EQ(malformed, kinds[MalformedKind::kTruncated] + kinds[MalformedKind::kWrongType] +
                           kinds[MalformedKind::kNotAMessage]);
}

// Stopped mid-run (by a flag, as a signal handler sets it): the run ends promptly, what was held
// back is sent, and the summary describes exactly what went out.
TEST(LiveSimulator, AStopEndsTheRunAndSendsWhatWasHeldBack) {
  LiveOptions options = EventfulOptions(3);
  options.until_stopped = true;
  options.late_fraction = 0.5;
  auto simulator = Make(options);
  FakeClock clock;
  RecordingSink sink(clock);
  std::atomic<bool> stop{false};
  const Clock::TimePoint start = clock.Now();
  ASSERT_TRUE(simulator
                  ->Run(sink, clock,
                        [&] {
                          if (clock.Now() - start >= std::chrono::seconds(3)) stop = true;
                          return stop.load();
                        })
                  .ok());
  const LiveSummary& summary = simulator->summary();
  EXPECT_TRUE(summary.stopped);
  EXPECT_EQ(summary.intervals, 30);
  int64_t rows = 0, late = 0;
  for (const Sent& sent : sink.sent) {
    EXPECT_LE(sent.at - start, std::chrono::seconds(3));
    if (sent.message.malformed) continue;
    rows += sent.message.rows->num_rows();
    late += sent.message.late;
  }
  EXPECT_EQ(rows, summary.rows());
  EXPECT_EQ(late, summary.late_messages());
  // Half the messages are late, up to 5 intervals: some were still held when the stop came, and
  // went out after the last interval's messages.
  EXPECT_TRUE(sink.sent.back().message.late);
  for (const DeviceSummary& device : summary.devices) {
    ASSERT_FALSE(device.sequence_ranges.empty());
    EXPECT_LE(device.sequence_ranges.back().second, 30 * 10 - 1);
  }
}

// A stop requested while the simulator waits for the next interval ends the wait, however long
// the interval.
TEST(LiveSimulator, AStopEndsAWaitForALongInterval) {
  LiveOptions options = QuietOptions(1, 600);
  options.message_seconds = 300;
  options.until_stopped = true;
  auto simulator = Make(options);
  FakeClock clock;
  RecordingSink sink(clock);
  const Clock::TimePoint start = clock.Now();
  ASSERT_TRUE(
      simulator->Run(sink, clock, [&] { return clock.Now() - start >= milliseconds(200); }).ok());
  EXPECT_TRUE(simulator->summary().stopped);
  EXPECT_TRUE(sink.sent.empty());
  EXPECT_LE(clock.Now() - start, milliseconds(250));
}

TEST(LiveSimulator, KeepsToTheWallClock) {
  auto simulator = Make(QuietOptions(2, 0.5));
  SteadyClock clock;
  RecordingSink sink(clock);
  auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(simulator->Run(sink, clock, Never).ok());
  auto elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(sink.sent.size(), 10u);
  // The last interval is due half a second in; the upper bound only guards against a hang.
  EXPECT_GE(elapsed, milliseconds(500));
  EXPECT_LT(elapsed, std::chrono::seconds(30));
}

TEST(LiveSimulator, RejectsInvalidOptions) {
  LiveOptions options = QuietOptions(1, 1);
  options.generator.kind = StreamKind::kSpikes;
  EXPECT_FALSE(LiveSimulator::Make(options).ok());
  options = QuietOptions(1, 1);
  options.late_fraction = 1.5;
  auto result = LiveSimulator::Make(options);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("late fraction"), std::string::npos);
  options = QuietOptions(1, 1);
  options.message_seconds = 0;
  EXPECT_FALSE(LiveSimulator::Make(options).ok());
  options = QuietOptions(1, 1);
  options.max_dropout_intervals = 0;
  EXPECT_FALSE(LiveSimulator::Make(options).ok());
  options = QuietOptions(0, 1);
  EXPECT_FALSE(LiveSimulator::Make(options).ok());
}

}  // namespace
}  // namespace nlk::datagen
