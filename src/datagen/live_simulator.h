// A live device simulator: N devices of C channels sampling at R Hz (the samples stream of
// MakeNeuralReader, spikes and bursts included), each sending one message with its samples of an
// interval as that interval ends, paced to a clock, with what recordings in the field also have:
//   dropouts   a device falls silent for some intervals: a gap in its sequence numbers
//   late       a message is held back and sent after later messages of its device
//   malformed  now and then a device sends a broken message besides its samples: one sample cut
//              short, one with a value of the wrong type, or a line of text that is no message
//
// Every decision comes from the seed: each device has its own random stream, drawn the same
// number of times per interval whatever happens, so which messages are dropped, late or malformed
// depends neither on timing nor on the other devices. Only where a stop cuts a run depends on the
// clock, and the summary says exactly what was sent up to there.
//
//   ARROW_ASSIGN_OR_RAISE(auto simulator, LiveSimulator::Make(options));
//   SteadyClock clock;
//   ARROW_RETURN_NOT_OK(simulator->Run(sink, clock, [] { return stop_flag.load(); }));
//   const LiveSummary& sent = simulator->summary();
//
// Thread-safety: a LiveSimulator is not thread-safe. Another thread or a signal handler stops it
// through the stop_requested function, which must then be thread-safe.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/status.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "datagen/neural_generator.h"

namespace nlk::datagen {

// The burst rate a live run uses unless told otherwise (GeneratorOptions::burst_rate_hz): a
// channel bursts every 20 s on average.
inline constexpr double kDefaultLiveBurstRateHz = 0.05;

enum class MalformedKind {
  kTruncated,    // one sample, encoded, then cut short
  kWrongType,    // one sample whose voltage_uv is a string
  kNotAMessage,  // a line of text
};

// "truncated", "wrong_type", "not_a_message".
std::string_view MalformedKindName(MalformedKind kind);

struct LiveMessage {
  int32_t device = 0;  // 0-based; device_id is its name and the message key
  std::string device_id;
  // Valid messages: the device's samples of the interval, one row per channel per step, in
  // step order. kTruncated: the one sample to encode and cut short (the sink cuts it, as only it
  // knows the encoding). kWrongType: that sample with voltage_uv as a string column.
  // kNotAMessage: null.
  std::shared_ptr<arrow::RecordBatch> rows;
  std::optional<MalformedKind> malformed;
  std::string text;   // kNotAMessage: the bytes to send
  bool late = false;  // held back, sent after later messages of its device
  // The sampling steps (the `sequence` column) the message covers, inclusive.
  int64_t first_sequence = 0;
  int64_t last_sequence = 0;
};

// Where the messages go (Kafka, in nlk; a recorder in tests).
class MessageSink {
 public:
  virtual ~MessageSink() = default;
  // Sends one message. An error ends the run and is what Run returns.
  virtual arrow::Status Send(const LiveMessage& message) = 0;
};

// The time a run is paced by. Tests use one that moves only when asked to sleep.
class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual TimePoint Now() = 0;
  // Returns once Now() >= deadline.
  virtual void SleepUntil(TimePoint deadline) = 0;
};

class SteadyClock final : public Clock {
 public:
  TimePoint Now() override;
  void SleepUntil(TimePoint deadline) override;
};

struct LiveOptions {
  // The samples stream (kind must be samples). Its duration bounds the run unless until_stopped.
  GeneratorOptions generator;
  bool until_stopped = false;
  // The time each message covers, rounded to whole sampling steps (one at least).
  double message_seconds = 0.1;
  // The chance that a message is held back, and for how many intervals at most (1..this many).
  double late_fraction = 0.01;
  int32_t max_late_intervals = 10;
  // The chance per interval that a device falls silent, and for how many intervals at most.
  double dropout_fraction = 0.002;
  int32_t max_dropout_intervals = 20;
  // The chance per interval that a device also sends a malformed message.
  double malformed_fraction = 0.002;
};

struct DeviceSummary {
  std::string device_id;
  int64_t rows = 0;      // valid samples sent: one row per channel per step
  int64_t messages = 0;  // valid messages sent, late ones included
  int64_t late_messages = 0;
  int64_t malformed_messages = 0;
  int64_t dropouts = 0;      // silences begun
  int64_t dropped_rows = 0;  // samples not sent because the device was silent
  // The steps whose samples were sent, as sorted, disjoint, inclusive [first, last] ranges.
  std::vector<std::pair<int64_t, int64_t>> sequence_ranges;
};

struct LiveSummary {
  std::vector<DeviceSummary> devices;
  int64_t intervals = 0;  // intervals whose messages were sent
  bool stopped = false;   // a stop request ended the run before its duration
  // The most an interval's messages were sent after their time: how far the run fell behind.
  std::chrono::microseconds max_lag{0};

  int64_t rows() const;
  int64_t messages() const;
  int64_t late_messages() const;
  int64_t malformed_messages() const;
  int64_t dropouts() const;
};

class LiveSimulator {
 public:
  // Invalid options (those MakeNeuralReader refuses, another kind than samples, fractions outside
  // [0, 1], a non-positive message time or maximum) are an Invalid status.
  static arrow::Result<std::unique_ptr<LiveSimulator>> Make(LiveOptions options);
  ~LiveSimulator();
  LiveSimulator(const LiveSimulator&) = delete;
  LiveSimulator& operator=(const LiveSimulator&) = delete;

  // Sends each interval's messages once its time has come on `clock` (counted from the call),
  // until the duration is covered or stop_requested() returns true, which is looked at least
  // every 50 ms. Then sends the messages still held back, so nothing generated is lost. Returns
  // the sink's first error, after which nothing more is sent.
  arrow::Status Run(MessageSink& sink, Clock& clock, const std::function<bool()>& stop_requested);

  const LiveSummary& summary() const { return summary_; }
  // Sampling steps per message.
  int64_t steps_per_interval() const { return steps_per_interval_; }

 private:
  struct DeviceState;
  struct HeldMessage {
    int64_t release_interval;
    LiveMessage message;
  };

  LiveSimulator(LiveOptions options, std::shared_ptr<arrow::RecordBatchReader> reader,
                int64_t steps_per_interval);
  arrow::Status SendInterval(const std::shared_ptr<arrow::RecordBatch>& batch, int64_t first_step,
                             int64_t steps, MessageSink& sink);
  arrow::Status Deliver(const LiveMessage& message, MessageSink& sink);
  arrow::Result<std::shared_ptr<arrow::RecordBatch>> DeviceRows(
      const std::shared_ptr<arrow::RecordBatch>& batch, int32_t device, int64_t steps) const;

  LiveOptions options_;
  std::shared_ptr<arrow::RecordBatchReader> reader_;
  int64_t steps_per_interval_;
  std::vector<DeviceState> devices_;
  std::vector<HeldMessage> held_;  // late messages, in the order they were held back
  int64_t interval_ = 0;
  int64_t next_step_ = 0;
  LiveSummary summary_;
};

}  // namespace nlk::datagen
