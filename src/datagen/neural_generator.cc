#include "datagen/neural_generator.h"

#include <arrow/builder.h>
#include <arrow/status.h>
#include <arrow/type.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <vector>

#include "datagen/random.h"

namespace nlk::datagen {
namespace {

constexpr int64_t kMicrosPerSecond = 1000000;
constexpr int64_t kMicrosPerDay = 86400 * kMicrosPerSecond;
// Bursts: how much faster a channel fires, up to a ceiling a refractory period allows, and how
// long a burst lasts.
constexpr double kBurstRateFactor = 10.0;
constexpr double kMaxBurstSpikeRateHz = 200.0;
constexpr double kMinBurstSeconds = 0.05;
constexpr double kMaxBurstSeconds = 0.3;

// Fixed per-channel character: how strongly it oscillates, how often it fires, its units.
struct ChannelProfile {
  double alpha_amplitude_uv;
  double beta_amplitude_uv;
  double phase;
  double noise_uv;
  double spike_rate_hz;
  std::array<float, 3> unit_amplitudes_uv;
  int32_t unit_count;
};

std::vector<ChannelProfile> MakeProfiles(const GeneratorOptions& options) {
  std::vector<ChannelProfile> profiles;
  Random random(options.seed ^ 0x5eedULL);
  for (int32_t i = 0; i < options.devices * options.channels; ++i) {
    ChannelProfile profile{};
    profile.alpha_amplitude_uv = 10.0 + 30.0 * random.Uniform();
    profile.beta_amplitude_uv = 2.0 + 8.0 * random.Uniform();
    profile.phase = 2.0 * std::numbers::pi * random.Uniform();
    profile.noise_uv = 3.0 + 4.0 * random.Uniform();
    profile.spike_rate_hz = 1.0 + 40.0 * random.Uniform() * random.Uniform();
    profile.unit_count = 1 + static_cast<int32_t>(random.Next() % 3);
    for (auto& amplitude : profile.unit_amplitudes_uv) {
      amplitude = static_cast<float>(-(50.0 + 150.0 * random.Uniform()));
    }
    profiles.push_back(profile);
  }
  return profiles;
}

arrow::Status Validate(const GeneratorOptions& options) {
  if (options.devices <= 0) return arrow::Status::Invalid("devices must be positive");
  if (options.channels <= 0) return arrow::Status::Invalid("channels must be positive");
  if (!(options.sampling_rate_hz > 0)) return arrow::Status::Invalid("rate must be positive");
  if (!(options.duration_seconds > 0)) return arrow::Status::Invalid("duration must be positive");
  if (!(options.band_window_seconds > 0)) {
    return arrow::Status::Invalid("band window must be positive");
  }
  if (options.batch_rows <= 0) return arrow::Status::Invalid("batch rows must be positive");
  if (!(options.burst_rate_hz >= 0) || !std::isfinite(options.burst_rate_hz)) {
    return arrow::Status::Invalid("burst rate must be a finite number of bursts per second >= 0");
  }
  return arrow::Status::OK();
}

// Columns every stream starts with.
struct CommonBuilders {
  arrow::StringBuilder device_id;
  arrow::StringBuilder session_id;
  arrow::Int32Builder channel;
  arrow::TimestampBuilder timestamp{arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"),
                                    arrow::default_memory_pool()};
  arrow::Date32Builder date;

  arrow::Status Append(const std::string& device, const std::string& session, int32_t channel_index,
                       int64_t time_us) {
    ARROW_RETURN_NOT_OK(device_id.Append(device));
    ARROW_RETURN_NOT_OK(session_id.Append(session));
    ARROW_RETURN_NOT_OK(channel.Append(channel_index));
    ARROW_RETURN_NOT_OK(timestamp.Append(time_us));
    int64_t day = time_us >= 0 ? time_us / kMicrosPerDay : -((-time_us - 1) / kMicrosPerDay) - 1;
    return date.Append(static_cast<int32_t>(day));
  }

  arrow::Status Finish(std::vector<std::shared_ptr<arrow::Array>>* columns) {
    for (arrow::ArrayBuilder* builder : std::initializer_list<arrow::ArrayBuilder*>{
             &device_id, &session_id, &channel, &timestamp, &date}) {
      std::shared_ptr<arrow::Array> array;
      ARROW_RETURN_NOT_OK(builder->Finish(&array));
      columns->push_back(std::move(array));
    }
    return arrow::Status::OK();
  }
};

std::vector<std::shared_ptr<arrow::Field>> CommonFields() {
  return {arrow::field("device_id", arrow::utf8(), false),
          arrow::field("session_id", arrow::utf8(), false),
          arrow::field("channel", arrow::int32(), false),
          arrow::field("timestamp", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"), false),
          arrow::field("date", arrow::date32(), false)};
}

// Walks time in fixed steps; each step contributes a variable number of rows.
class SteppedReader : public arrow::RecordBatchReader {
 public:
  SteppedReader(GeneratorOptions options, double step_seconds)
      : options_(std::move(options)),
        schema_(SchemaFor(options_.kind)),
        profiles_(MakeProfiles(options_)),
        random_(options_.seed),
        step_us_(step_seconds * kMicrosPerSecond),
        total_steps_(static_cast<int64_t>(std::llround(options_.duration_seconds / step_seconds))),
        burst_remaining_seconds_(profiles_.size(), 0.0) {
    for (int32_t device = 0; device < options_.devices; ++device) {
      device_names_.push_back(DeviceName(device));
    }
  }

  std::shared_ptr<arrow::Schema> schema() const override { return schema_; }

  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* batch) override {
    *batch = nullptr;
    if (step_ >= total_steps_) return arrow::Status::OK();
    CommonBuilders common;
    int64_t rows = 0;
    while (step_ < total_steps_ && rows < options_.batch_rows) {
      int64_t time_us =
          options_.start_time_us + static_cast<int64_t>(std::llround(step_ * step_us_));
      ARROW_ASSIGN_OR_RAISE(int64_t added, AppendStep(step_, time_us, &common));
      rows += added;
      ++step_;
    }
    std::vector<std::shared_ptr<arrow::Array>> columns;
    ARROW_RETURN_NOT_OK(common.Finish(&columns));
    ARROW_RETURN_NOT_OK(FinishExtra(&columns));
    *batch = arrow::RecordBatch::Make(schema_, rows, std::move(columns));
    return arrow::Status::OK();
  }

 protected:
  virtual arrow::Result<int64_t> AppendStep(int64_t step, int64_t time_us,
                                            CommonBuilders* common) = 0;
  virtual arrow::Status FinishExtra(std::vector<std::shared_ptr<arrow::Array>>* columns) = 0;

  // The chance that channel `index` (device * channels + channel) fires within the next `dt`
  // seconds, advancing its burst state by that step. Draws nothing when bursts are off, so their
  // absence leaves the random sequence, and the output, as it was.
  double SpikeProbability(size_t index, double dt) {
    double rate = profiles_[index].spike_rate_hz;
    if (options_.burst_rate_hz > 0) {
      double& remaining = burst_remaining_seconds_[index];
      if (remaining <= 0 && random_.Uniform() < options_.burst_rate_hz * dt) {
        remaining = kMinBurstSeconds + (kMaxBurstSeconds - kMinBurstSeconds) * random_.Uniform();
      }
      if (remaining > 0) {
        remaining -= dt;
        rate = std::max(rate, std::min(rate * kBurstRateFactor, kMaxBurstSpikeRateHz));
      }
    }
    return rate * dt;
  }

  GeneratorOptions options_;
  std::shared_ptr<arrow::Schema> schema_;
  std::vector<ChannelProfile> profiles_;
  std::vector<std::string> device_names_;
  Random random_;
  double step_us_;
  int64_t total_steps_;
  int64_t step_ = 0;
  std::vector<double> burst_remaining_seconds_;  // per channel; > 0 while it bursts
};

class SamplesReader final : public SteppedReader {
 public:
  explicit SamplesReader(GeneratorOptions options)
      : SteppedReader(options, 1.0 / options.sampling_rate_hz),
        spike_decay_(profiles_.size(), 0.0) {}

 private:
  arrow::Result<int64_t> AppendStep(int64_t step, int64_t time_us,
                                    CommonBuilders* common) override {
    double seconds = step / options_.sampling_rate_hz;
    double dt = 1.0 / options_.sampling_rate_hz;
    for (int32_t device = 0; device < options_.devices; ++device) {
      for (int32_t channel = 0; channel < options_.channels; ++channel) {
        size_t index = static_cast<size_t>(device) * options_.channels + channel;
        const ChannelProfile& profile = profiles_[index];
        double value = profile.alpha_amplitude_uv *
                           std::sin(2 * std::numbers::pi * 10.0 * seconds + profile.phase) +
                       profile.beta_amplitude_uv *
                           std::sin(2 * std::numbers::pi * 21.0 * seconds + 2 * profile.phase) +
                       profile.noise_uv * random_.Gaussian();
        if (random_.Uniform() < SpikeProbability(index, dt)) {
          spike_decay_[index] = profile.unit_amplitudes_uv[random_.Next() % profile.unit_count];
        }
        value += spike_decay_[index];
        spike_decay_[index] *= 0.3;  // a spike lasts about a millisecond at 1 kHz
        ARROW_RETURN_NOT_OK(
            common->Append(device_names_[device], options_.session_id, channel, time_us));
        ARROW_RETURN_NOT_OK(sequence_.Append(step));
        ARROW_RETURN_NOT_OK(voltage_.Append(static_cast<float>(value)));
      }
    }
    return static_cast<int64_t>(options_.devices) * options_.channels;
  }

  arrow::Status FinishExtra(std::vector<std::shared_ptr<arrow::Array>>* columns) override {
    std::shared_ptr<arrow::Array> sequence, voltage;
    ARROW_RETURN_NOT_OK(sequence_.Finish(&sequence));
    ARROW_RETURN_NOT_OK(voltage_.Finish(&voltage));
    columns->push_back(sequence);
    columns->push_back(voltage);
    return arrow::Status::OK();
  }

  std::vector<double> spike_decay_;
  arrow::Int64Builder sequence_;
  arrow::FloatBuilder voltage_;
};

// Spike times are resolved to 1 ms: finer than any unit's refractory period.
constexpr double kSpikeStepSeconds = 0.001;

class SpikesReader final : public SteppedReader {
 public:
  explicit SpikesReader(GeneratorOptions options) : SteppedReader(options, kSpikeStepSeconds) {}

 private:
  arrow::Result<int64_t> AppendStep(int64_t, int64_t time_us, CommonBuilders* common) override {
    int64_t rows = 0;
    for (int32_t device = 0; device < options_.devices; ++device) {
      for (int32_t channel = 0; channel < options_.channels; ++channel) {
        size_t index = static_cast<size_t>(device) * options_.channels + channel;
        const ChannelProfile& profile = profiles_[index];
        if (random_.Uniform() >= SpikeProbability(index, kSpikeStepSeconds)) continue;
        int32_t unit = static_cast<int32_t>(random_.Next() % profile.unit_count);
        int64_t jitter_us = static_cast<int64_t>(random_.Uniform() * 1000);
        float amplitude =
            profile.unit_amplitudes_uv[unit] * static_cast<float>(1.0 + 0.1 * random_.Gaussian());
        ARROW_RETURN_NOT_OK(common->Append(device_names_[device], options_.session_id, channel,
                                           time_us + jitter_us));
        ARROW_RETURN_NOT_OK(unit_.Append(unit));
        ARROW_RETURN_NOT_OK(amplitude_.Append(amplitude));
        ++rows;
      }
    }
    return rows;
  }

  arrow::Status FinishExtra(std::vector<std::shared_ptr<arrow::Array>>* columns) override {
    std::shared_ptr<arrow::Array> unit, amplitude;
    ARROW_RETURN_NOT_OK(unit_.Finish(&unit));
    ARROW_RETURN_NOT_OK(amplitude_.Finish(&amplitude));
    columns->push_back(unit);
    columns->push_back(amplitude);
    return arrow::Status::OK();
  }

  arrow::Int32Builder unit_;
  arrow::FloatBuilder amplitude_;
};

class BandPowerReader final : public SteppedReader {
 public:
  explicit BandPowerReader(GeneratorOptions options)
      : SteppedReader(options, options.band_window_seconds) {}

 private:
  struct Band {
    const char* name;
    double center_hz;
  };
  static constexpr std::array<Band, 5> kBands{
      {{"delta", 2.0}, {"theta", 6.0}, {"alpha", 10.0}, {"beta", 21.0}, {"gamma", 45.0}}};

  arrow::Result<int64_t> AppendStep(int64_t step, int64_t time_us,
                                    CommonBuilders* common) override {
    double seconds = step * options_.band_window_seconds;
    for (int32_t device = 0; device < options_.devices; ++device) {
      for (int32_t channel = 0; channel < options_.channels; ++channel) {
        const ChannelProfile& profile =
            profiles_[static_cast<size_t>(device) * options_.channels + channel];
        for (const Band& band : kBands) {
          // 1/f background; alpha waxes and wanes over ~20 s; log-normal measurement noise.
          double power = 400.0 / band.center_hz;
          if (band.center_hz == 10.0) {
            power += profile.alpha_amplitude_uv * profile.alpha_amplitude_uv / 8.0 *
                     (1.0 + 0.5 * std::sin(2 * std::numbers::pi * seconds / 20.0 + profile.phase));
          }
          power *= std::exp(0.2 * random_.Gaussian());
          ARROW_RETURN_NOT_OK(
              common->Append(device_names_[device], options_.session_id, channel, time_us));
          ARROW_RETURN_NOT_OK(band_.Append(band.name));
          ARROW_RETURN_NOT_OK(power_.Append(power));
        }
      }
    }
    return static_cast<int64_t>(options_.devices) * options_.channels * kBands.size();
  }

  arrow::Status FinishExtra(std::vector<std::shared_ptr<arrow::Array>>* columns) override {
    std::shared_ptr<arrow::Array> band, power;
    ARROW_RETURN_NOT_OK(band_.Finish(&band));
    ARROW_RETURN_NOT_OK(power_.Finish(&power));
    columns->push_back(band);
    columns->push_back(power);
    return arrow::Status::OK();
  }

  arrow::StringBuilder band_;
  arrow::DoubleBuilder power_;
};

}  // namespace

std::string DeviceName(int32_t device) {
  std::string digits = std::to_string(device + 1);
  return "device-" + std::string(digits.size() < 3 ? 3 - digits.size() : 0, '0') + digits;
}

arrow::Result<StreamKind> ParseStreamKind(std::string_view name) {
  if (name == "samples") return StreamKind::kSamples;
  if (name == "spikes") return StreamKind::kSpikes;
  if (name == "band_power") return StreamKind::kBandPower;
  return arrow::Status::Invalid("unknown data kind '", name,
                                "': expected samples, spikes or band_power");
}

std::string_view StreamKindName(StreamKind kind) {
  switch (kind) {
    case StreamKind::kSamples:
      return "samples";
    case StreamKind::kSpikes:
      return "spikes";
    case StreamKind::kBandPower:
      return "band_power";
  }
  return "samples";
}

std::shared_ptr<arrow::Schema> SchemaFor(StreamKind kind) {
  std::vector<std::shared_ptr<arrow::Field>> fields = CommonFields();
  switch (kind) {
    case StreamKind::kSamples:
      fields.push_back(arrow::field("sequence", arrow::int64(), false));
      fields.push_back(arrow::field("voltage_uv", arrow::float32(), false));
      break;
    case StreamKind::kSpikes:
      fields.push_back(arrow::field("unit", arrow::int32(), false));
      fields.push_back(arrow::field("amplitude_uv", arrow::float32(), false));
      break;
    case StreamKind::kBandPower:
      fields.push_back(arrow::field("band", arrow::utf8(), false));
      fields.push_back(arrow::field("power_uv2", arrow::float64(), false));
      break;
  }
  return arrow::schema(std::move(fields));
}

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> MakeNeuralReader(
    const GeneratorOptions& options) {
  ARROW_RETURN_NOT_OK(Validate(options));
  switch (options.kind) {
    case StreamKind::kSamples:
      return std::make_shared<SamplesReader>(options);
    case StreamKind::kSpikes:
      return std::make_shared<SpikesReader>(options);
    case StreamKind::kBandPower:
      return std::make_shared<BandPowerReader>(options);
  }
  return arrow::Status::Invalid("unknown data kind");
}

}  // namespace nlk::datagen
