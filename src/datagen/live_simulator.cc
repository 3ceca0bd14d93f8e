#include "datagen/live_simulator.h"

#include <arrow/api.h>

#include <algorithm>
#include <cmath>
#include <thread>

#include "datagen/random.h"

namespace nlk::datagen {
namespace {

// How often a wait looks at the stop request: a stop is prompt even at one message a minute.
constexpr std::chrono::milliseconds kStopCheckInterval{50};
// Keeps the event streams apart from the generator's, which are seeded with the seed itself.
constexpr uint64_t kEventStreamSalt = 0x11fe5ea5011dULL;
// Until a stop: more steps than any run lasts (over 30 years at 1 kHz).
constexpr double kForeverSeconds = 1e9;

arrow::Status CheckFraction(const char* name, double value) {
  if (!(value >= 0 && value <= 1)) {
    return arrow::Status::Invalid(name, " must be between 0 and 1, not ", value);
  }
  return arrow::Status::OK();
}

Clock::TimePoint::duration Seconds(double seconds) {
  return std::chrono::duration_cast<Clock::TimePoint::duration>(
      std::chrono::duration<double>(seconds));
}

// Waits until `deadline`, unless a stop is requested first; says whether the deadline came.
bool WaitUntil(Clock& clock, Clock::TimePoint deadline,
               const std::function<bool()>& stop_requested) {
  while (true) {
    Clock::TimePoint now = clock.Now();
    if (now >= deadline) return true;
    if (stop_requested()) return false;
    clock.SleepUntil(std::min(deadline, now + kStopCheckInterval));
  }
}

// Adds the steps [first, last] to sorted, disjoint ranges, merging where they touch.
void AddRange(std::vector<std::pair<int64_t, int64_t>>& ranges, int64_t first, int64_t last) {
  auto position = std::lower_bound(ranges.begin(), ranges.end(), std::pair{first, last});
  position = ranges.insert(position, {first, last});
  if (position != ranges.begin() && std::prev(position)->second + 1 >= position->first) {
    std::prev(position)->second = std::max(std::prev(position)->second, position->second);
    position = std::prev(ranges.erase(position));
  }
  while (std::next(position) != ranges.end() &&
         position->second + 1 >= std::next(position)->first) {
    position->second = std::max(position->second, std::next(position)->second);
    ranges.erase(std::next(position));
  }
}

}  // namespace

std::string_view MalformedKindName(MalformedKind kind) {
  switch (kind) {
    case MalformedKind::kTruncated:
      return "truncated";
    case MalformedKind::kWrongType:
      return "wrong_type";
    case MalformedKind::kNotAMessage:
      return "not_a_message";
  }
  return "truncated";
}

Clock::TimePoint SteadyClock::Now() { return std::chrono::steady_clock::now(); }

void SteadyClock::SleepUntil(TimePoint deadline) { std::this_thread::sleep_until(deadline); }

int64_t LiveSummary::rows() const {
  int64_t total = 0;
  for (const auto& device : devices) total += device.rows;
  return total;
}

int64_t LiveSummary::messages() const {
  int64_t total = 0;
  for (const auto& device : devices) total += device.messages;
  return total;
}

int64_t LiveSummary::late_messages() const {
  int64_t total = 0;
  for (const auto& device : devices) total += device.late_messages;
  return total;
}

int64_t LiveSummary::malformed_messages() const {
  int64_t total = 0;
  for (const auto& device : devices) total += device.malformed_messages;
  return total;
}

int64_t LiveSummary::dropouts() const {
  int64_t total = 0;
  for (const auto& device : devices) total += device.dropouts;
  return total;
}

// One device's event stream and its silence.
struct LiveSimulator::DeviceState {
  explicit DeviceState(uint64_t seed) : random(seed) {}
  Random random;
  int64_t silent_intervals = 0;  // still to come in the current dropout
};

LiveSimulator::LiveSimulator(LiveOptions options, std::shared_ptr<arrow::RecordBatchReader> reader,
                             int64_t steps_per_interval)
    : options_(std::move(options)),
      reader_(std::move(reader)),
      steps_per_interval_(steps_per_interval) {
  for (int32_t device = 0; device < options_.generator.devices; ++device) {
    devices_.emplace_back(
        options_.generator.seed ^
        (kEventStreamSalt + static_cast<uint64_t>(device) * 0x9e3779b97f4a7c15ULL));
    DeviceSummary summary;
    summary.device_id = DeviceName(device);
    summary_.devices.push_back(std::move(summary));
  }
}

LiveSimulator::~LiveSimulator() = default;

arrow::Result<std::unique_ptr<LiveSimulator>> LiveSimulator::Make(LiveOptions options) {
  if (options.generator.kind != StreamKind::kSamples) {
    return arrow::Status::Invalid("a live run simulates devices sending samples, not ",
                                  StreamKindName(options.generator.kind));
  }
  if (!(options.message_seconds > 0) || !std::isfinite(options.message_seconds)) {
    return arrow::Status::Invalid("the time a message covers must be positive, not ",
                                  options.message_seconds, " s");
  }
  ARROW_RETURN_NOT_OK(CheckFraction("the late fraction", options.late_fraction));
  ARROW_RETURN_NOT_OK(CheckFraction("the dropout fraction", options.dropout_fraction));
  ARROW_RETURN_NOT_OK(CheckFraction("the malformed fraction", options.malformed_fraction));
  if (options.max_late_intervals <= 0 || options.max_dropout_intervals <= 0) {
    return arrow::Status::Invalid("the longest delay and the longest dropout must be positive");
  }
  if (options.until_stopped) options.generator.duration_seconds = kForeverSeconds;
  int64_t steps_per_interval = std::max<int64_t>(
      1, std::llround(options.message_seconds * options.generator.sampling_rate_hz));
  // One batch of the generator is one interval: it adds whole steps while it holds fewer rows.
  options.generator.batch_rows = steps_per_interval * options.generator.devices *
                                 static_cast<int64_t>(options.generator.channels);
  ARROW_ASSIGN_OR_RAISE(auto reader, MakeNeuralReader(options.generator));
  return std::unique_ptr<LiveSimulator>(
      new LiveSimulator(std::move(options), std::move(reader), steps_per_interval));
}

arrow::Status LiveSimulator::Run(MessageSink& sink, Clock& clock,
                                 const std::function<bool()>& stop_requested) {
  const Clock::TimePoint start = clock.Now();
  const int64_t rows_per_step =
      static_cast<int64_t>(options_.generator.devices) * options_.generator.channels;
  const double rate = options_.generator.sampling_rate_hz;
  while (true) {
    if (stop_requested()) {
      summary_.stopped = true;
      break;
    }
    ARROW_ASSIGN_OR_RAISE(auto batch, reader_->Next());
    if (batch == nullptr) break;
    const int64_t steps = batch->num_rows() / rows_per_step;
    const int64_t first_step = next_step_;
    // The interval's samples are all recorded once the time of the step after it has come.
    const Clock::TimePoint due = start + Seconds(static_cast<double>(first_step + steps) / rate);
    if (!WaitUntil(clock, due, stop_requested)) {
      summary_.stopped = true;
      break;
    }
    next_step_ += steps;
    summary_.max_lag = std::max(
        summary_.max_lag, std::chrono::duration_cast<std::chrono::microseconds>(clock.Now() - due));
    ARROW_RETURN_NOT_OK(SendInterval(batch, first_step, steps, sink));
    ++summary_.intervals;
    ++interval_;
  }
  for (const HeldMessage& held : held_) ARROW_RETURN_NOT_OK(Deliver(held.message, sink));
  held_.clear();
  return arrow::Status::OK();
}

arrow::Status LiveSimulator::SendInterval(const std::shared_ptr<arrow::RecordBatch>& batch,
                                          int64_t first_step, int64_t steps, MessageSink& sink) {
  const int64_t channels = options_.generator.channels;
  for (int32_t device = 0; device < options_.generator.devices; ++device) {
    DeviceState& state = devices_[device];
    DeviceSummary& summary = summary_.devices[device];
    // Always the same draws, so that one event never shifts the ones after it.
    const double dropout_draw = state.random.Uniform();
    const uint64_t dropout_length = state.random.Next();
    const double late_draw = state.random.Uniform();
    const uint64_t late_delay = state.random.Next();
    const double malformed_draw = state.random.Uniform();
    const uint64_t malformed_choice = state.random.Next();

    if (state.silent_intervals == 0 && dropout_draw < options_.dropout_fraction) {
      ++summary.dropouts;
      state.silent_intervals =
          1 + static_cast<int64_t>(dropout_length %
                                   static_cast<uint64_t>(options_.max_dropout_intervals));
    }
    if (state.silent_intervals > 0) {
      --state.silent_intervals;
      summary.dropped_rows += steps * channels;
      continue;
    }

    LiveMessage message;
    message.device = device;
    message.device_id = summary.device_id;
    ARROW_ASSIGN_OR_RAISE(message.rows, DeviceRows(batch, device, steps));
    message.first_sequence = first_step;
    message.last_sequence = first_step + steps - 1;

    LiveMessage malformed;
    const bool sends_malformed = malformed_draw < options_.malformed_fraction;
    if (sends_malformed) {
      malformed.device = device;
      malformed.device_id = summary.device_id;
      malformed.first_sequence = malformed.last_sequence = first_step;
      auto kind = static_cast<MalformedKind>(malformed_choice % 3);
      malformed.malformed = kind;
      std::shared_ptr<arrow::RecordBatch> sample = message.rows->Slice(0, 1);
      if (kind == MalformedKind::kTruncated) {
        malformed.rows = sample;
      } else if (kind == MalformedKind::kWrongType) {
        int index = sample->schema()->GetFieldIndex("voltage_uv");
        arrow::StringBuilder text;
        ARROW_RETURN_NOT_OK(text.Append("overflow"));
        ARROW_ASSIGN_OR_RAISE(auto column, text.Finish());
        ARROW_ASSIGN_OR_RAISE(
            malformed.rows,
            sample->SetColumn(index, arrow::field("voltage_uv", arrow::utf8(), false), column));
      } else {
        malformed.text = summary.device_id + ": electrode impedance out of range at sequence " +
                         std::to_string(first_step) + "\n";
      }
    }

    if (late_draw < options_.late_fraction) {
      message.late = true;
      int64_t delay =
          1 + static_cast<int64_t>(late_delay % static_cast<uint64_t>(options_.max_late_intervals));
      held_.push_back({interval_ + delay, std::move(message)});
    } else {
      ARROW_RETURN_NOT_OK(Deliver(message, sink));
    }
    if (sends_malformed) ARROW_RETURN_NOT_OK(Deliver(malformed, sink));
  }
  // Held messages whose time has come follow this interval's, so they arrive out of order.
  auto due = std::stable_partition(held_.begin(), held_.end(), [this](const HeldMessage& held) {
    return held.release_interval <= interval_;
  });
  for (auto it = held_.begin(); it != due; ++it) ARROW_RETURN_NOT_OK(Deliver(it->message, sink));
  held_.erase(held_.begin(), due);
  return arrow::Status::OK();
}

arrow::Status LiveSimulator::Deliver(const LiveMessage& message, MessageSink& sink) {
  ARROW_RETURN_NOT_OK(sink.Send(message));
  DeviceSummary& summary = summary_.devices[message.device];
  if (message.malformed) {
    ++summary.malformed_messages;
    return arrow::Status::OK();
  }
  summary.rows += message.rows->num_rows();
  ++summary.messages;
  if (message.late) ++summary.late_messages;
  AddRange(summary.sequence_ranges, message.first_sequence, message.last_sequence);
  return arrow::Status::OK();
}

arrow::Result<std::shared_ptr<arrow::RecordBatch>> LiveSimulator::DeviceRows(
    const std::shared_ptr<arrow::RecordBatch>& batch, int32_t device, int64_t steps) const {
  const int64_t devices = options_.generator.devices;
  const int64_t channels = options_.generator.channels;
  if (devices == 1) return batch;
  // The generator writes each step's rows device by device: this device's rows of a step are
  // one run of `channels` rows.
  arrow::RecordBatchVector runs;
  runs.reserve(static_cast<size_t>(steps));
  for (int64_t step = 0; step < steps; ++step) {
    runs.push_back(batch->Slice((step * devices + device) * channels, channels));
  }
  return arrow::ConcatenateRecordBatches(runs);
}

}  // namespace nlk::datagen
