// Synthetic but plausible neural recordings, as Arrow record batches.
//
// Three streams, all deterministic for a given seed:
//   samples     raw voltage per channel at the sampling rate (oscillations + noise + spikes)
//   spikes      detected spike events: device, session, channel, timestamp, unit, amplitude
// Spikes fire at a steady per-channel rate, or also in bursts when burst_rate_hz is set.
//   band_power  per-channel power in the classic EEG bands, one row per band per window
// The generator never holds more than one batch in memory, so it can stream any duration.
//
// Thread-safety: a NeuralGenerator is not thread-safe; use one per thread.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace nlk::datagen {

enum class StreamKind { kSamples, kSpikes, kBandPower };

arrow::Result<StreamKind> ParseStreamKind(std::string_view name);
std::string_view StreamKindName(StreamKind kind);

struct GeneratorOptions {
  StreamKind kind = StreamKind::kSamples;
  int32_t devices = 2;
  int32_t channels = 32;
  double sampling_rate_hz = 1000.0;  // samples: per channel
  double band_window_seconds = 0.5;  // band_power: one row per band per window
  // samples and spikes: how often (per channel per second) a channel starts a burst, 50-300 ms
  // in which its units fire ten times as often (at most 200 Hz), as bursting neurons do. 0
  // keeps every channel's firing steady, and the output exactly as it was before bursts existed.
  double burst_rate_hz = 0;
  double duration_seconds = 10.0;
  int64_t start_time_us = 1767225600000000;  // 2026-01-01T00:00:00Z
  uint64_t seed = 42;
  int64_t batch_rows = 65536;  // upper bound on rows per batch
  std::string session_id = "session-0001";
};

// The device_id of device `device` (0-based): device-001, device-002, ...
std::string DeviceName(int32_t device);

// Schemas of the three streams (timestamps are UTC microseconds; `date` is the UTC day of the
// timestamp, meant as a partition column).
std::shared_ptr<arrow::Schema> SchemaFor(StreamKind kind);

// Returns a reader that yields the stream described by `options`, in time order.
// Invalid options (non-positive counts, rates or durations, a negative burst rate) are an
// Invalid status.
arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> MakeNeuralReader(
    const GeneratorOptions& options);

}  // namespace nlk::datagen
