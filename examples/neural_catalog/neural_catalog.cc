// The example catalog: the tables that `nlk datagen` and `nlk ingest` produce, declared once.
// Every `nlk catalog` command, and the query service, reads these declarations. To declare your
// own tables, copy this target and point -DNLK_CATALOG_TARGET at it (docs/catalog.md).
#include <arrow/api.h>

#include "catalog/project_catalog.h"
#include "datagen/neural_generator.h"
#include "ingest/dead_letter.h"

namespace nlk::catalog {
namespace {

using datagen::SchemaFor;
using datagen::StreamKind;

constexpr int32_t kDevices = 2;  // single digit: device names are device-00N
static_assert(kDevices < 10);
constexpr int32_t kChannelsPerDevice = 32;
constexpr int32_t kChannelsPerShank = 8;
constexpr double kContactPitchUm = 50.0;

std::shared_ptr<arrow::Schema> ElectrodeSchema() {
  return arrow::schema({arrow::field("device_id", arrow::utf8(), false),
                        arrow::field("channel", arrow::int32(), false),
                        arrow::field("shank", arrow::int32(), false),
                        arrow::field("depth_um", arrow::float64(), false),
                        arrow::field("region", arrow::utf8(), false)});
}

// Where each recording channel sits: the probe layout `nlk datagen` simulates (2 devices of 32
// channels on 4 shanks). Computed, not stored, because it is a property of the hardware.
arrow::Result<std::shared_ptr<arrow::Table>> ElectrodeLayout(const FunctionContext&) {
  arrow::StringBuilder device_id;
  arrow::Int32Builder channel;
  arrow::Int32Builder shank;
  arrow::DoubleBuilder depth_um;
  arrow::StringBuilder region;
  for (int32_t device = 1; device <= kDevices; ++device) {
    std::string device_name = "device-00" + std::to_string(device);
    for (int32_t index = 0; index < kChannelsPerDevice; ++index) {
      int32_t position = index % kChannelsPerShank;
      ARROW_RETURN_NOT_OK(device_id.Append(device_name));
      ARROW_RETURN_NOT_OK(channel.Append(index));
      ARROW_RETURN_NOT_OK(shank.Append(index / kChannelsPerShank));
      ARROW_RETURN_NOT_OK(depth_um.Append(position * kContactPitchUm));
      ARROW_RETURN_NOT_OK(region.Append(position < kChannelsPerShank / 2 ? "M1" : "S1"));
    }
  }
  std::vector<std::shared_ptr<arrow::Array>> columns(5);
  ARROW_RETURN_NOT_OK(device_id.Finish(&columns[0]));
  ARROW_RETURN_NOT_OK(channel.Finish(&columns[1]));
  ARROW_RETURN_NOT_OK(shank.Finish(&columns[2]));
  ARROW_RETURN_NOT_OK(depth_um.Finish(&columns[3]));
  ARROW_RETURN_NOT_OK(region.Finish(&columns[4]));
  return arrow::Table::Make(ElectrodeSchema(), columns);
}

std::shared_ptr<arrow::DataType> Timestamp() {
  return arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
}

// The derived tables below are written by the PySpark jobs in jobs/, which create them from these
// declarations (through `nlk catalog manifest`), so their schemas cannot drift from the code.

std::shared_ptr<arrow::Schema> RollupSchema() {
  return arrow::schema({arrow::field("resolution", arrow::utf8(), false),
                        arrow::field("device_id", arrow::utf8(), false),
                        arrow::field("session_id", arrow::utf8(), false),
                        arrow::field("channel", arrow::int32(), false),
                        arrow::field("window_start", Timestamp(), false),
                        arrow::field("date", arrow::date32(), false),
                        arrow::field("sample_count", arrow::int64(), false),
                        arrow::field("min_uv", arrow::float64(), false),
                        arrow::field("max_uv", arrow::float64(), false),
                        arrow::field("mean_uv", arrow::float64(), false),
                        arrow::field("rms_uv", arrow::float64(), false)});
}

std::shared_ptr<arrow::Schema> FiringRateSchema() {
  return arrow::schema(
      {arrow::field("device_id", arrow::utf8(), false),
       arrow::field("session_id", arrow::utf8(), false),
       arrow::field("channel", arrow::int32(), false), arrow::field("unit", arrow::int32(), false),
       arrow::field("bin_start", Timestamp(), false), arrow::field("date", arrow::date32(), false),
       arrow::field("spike_count", arrow::int64(), false),
       arrow::field("rate_hz", arrow::float64(), false),
       arrow::field("shank", arrow::int32(), true), arrow::field("region", arrow::utf8(), true)});
}

std::shared_ptr<arrow::Schema> UnitQualitySchema() {
  return arrow::schema({arrow::field("device_id", arrow::utf8(), false),
                        arrow::field("session_id", arrow::utf8(), false),
                        arrow::field("channel", arrow::int32(), false),
                        arrow::field("unit", arrow::int32(), false),
                        arrow::field("shank", arrow::int32(), true),
                        arrow::field("depth_um", arrow::float64(), true),
                        arrow::field("region", arrow::utf8(), true),
                        arrow::field("spike_count", arrow::int64(), false),
                        arrow::field("first_spike", Timestamp(), false),
                        arrow::field("last_spike", Timestamp(), false),
                        arrow::field("mean_rate_hz", arrow::float64(), true),
                        arrow::field("isi_violations", arrow::int64(), false),
                        arrow::field("isi_violation_ratio", arrow::float64(), true),
                        arrow::field("amplitude_mean_uv", arrow::float64(), false),
                        arrow::field("amplitude_cv", arrow::float64(), true),
                        arrow::field("amplitude_drift", arrow::float64(), true)});
}

std::shared_ptr<arrow::Schema> SessionSummarySchema() {
  arrow::FieldVector fields = {arrow::field("device_id", arrow::utf8(), false),
                               arrow::field("session_id", arrow::utf8(), false),
                               arrow::field("start_time", Timestamp(), false),
                               arrow::field("end_time", Timestamp(), false),
                               arrow::field("duration_s", arrow::float64(), false),
                               arrow::field("sample_count", arrow::int64(), false),
                               arrow::field("channel_count", arrow::int32(), false),
                               arrow::field("timestamp_count", arrow::int64(), false),
                               arrow::field("sample_interval_us", arrow::int64(), true),
                               arrow::field("gap_count", arrow::int64(), false),
                               arrow::field("missing_timestamps", arrow::int64(), false),
                               arrow::field("incomplete_timestamps", arrow::int64(), false),
                               arrow::field("band_power_windows", arrow::int64(), false)};
  for (const char* band : {"delta", "theta", "alpha", "beta", "gamma"}) {
    fields.push_back(arrow::field("mean_" + std::string(band) + "_uv2", arrow::float64(), true));
  }
  return arrow::schema(std::move(fields));
}

// The layout under its first name, kept while readers move to neural.electrodes.
arrow::Result<std::shared_ptr<arrow::Table>> LegacyChannelMap(const FunctionContext& context) {
  ARROW_ASSIGN_OR_RAISE(auto layout, ElectrodeLayout(context));
  return layout->SelectColumns({0, 1, 4});
}

// Raw samples are recordings of a person. The session identifies the person's visit, so only
// clinicians read it; everybody else granted the table reads 'redacted' (docs/catalog.md,
// "Access").
std::vector<ColumnPolicy> SampleColumnPolicies() {
  return {{.column = "session_id",
           .classification = Classification::kPii,
           .mask = "'redacted'",
           .unmasked_groups = {"clinicians"}}};
}

// A site's staff read the samples of their own device only.
std::vector<RowFilter> SiteRowFilters() {
  return {{.group = "site-001", .predicate = "device_id = 'device-001'"}};
}

}  // namespace

const Catalog& ProjectCatalog() {
  static const Catalog
      catalog{
          .name = "neuralake",
          .description =
              "Neural recordings from implanted devices: raw voltage, detected spikes and "
              "band power, ingested from the device streams into Delta Lake.",
          .databases =
              {
                  Database{
                      .name = "neural",
                      .description =
                          "Recordings as they arrive from the devices, one table per stream.",
                      .tables =
                          {
                              Table{
                                  .name = "samples",
                                  .kind = TableKind::kDelta,
                                  .uri = "neural/samples",
                                  .schema = SchemaFor(StreamKind::kSamples),
                                  .partition_columns = {"date"},
                                  .description =
                                      "Raw voltage, one row per channel per sample (1 kHz "
                                      "per channel). "
                                      "The source every other neural table is derived from.",
                                  .owner = "neural-data@neuralake.dev",
                                  .tags = {"raw", "timeseries", "high-volume"},
                                  .data_input = "Kafka topic neural.samples via nlk ingest",
                                  .freshness = {.latency = "under 10 s from the device",
                                                .update_frequency = "continuous (streaming ingest)",
                                                .slo_seconds = 60},
                                  .example_notebook = "notebooks/samples_quicklook.ipynb",
                                  .docs_filters =
                                      {{.filter = "device_id = 'device-001' AND channel = 3",
                                        .description = "One channel of one device"},
                                       {.filter = "date = '2026-01-01' AND channel IN (0, 1, 2)",
                                        .description = "The first three channels of a day"}},
                                  .unique_columns = {"device_id", "session_id", "channel",
                                                     "sequence"},
                                  .computed_columns = {{.name = "voltage_mv",
                                                        .expression = "voltage_uv / 1000.0",
                                                        .description = "Voltage in millivolts"}},
                                  .classification = Classification::kPhi,
                                  .read = {.groups = {"site-001"}},
                                  .column_policies = SampleColumnPolicies(),
                                  .row_filters = SiteRowFilters(),
                                  .retention =
                                      Retention{.column = "date", .keep = std::chrono::days{90}},
                              },
                              Table{
                                  .name = "spikes",
                                  .kind = TableKind::kDelta,
                                  .uri = "neural/spikes",
                                  .schema = SchemaFor(StreamKind::kSpikes),
                                  .partition_columns = {"date"},
                                  .description =
                                      "Detected spike events: when a sorted unit on a channel "
                                      "fired, and its peak amplitude.",
                                  .owner = "neural-data@neuralake.dev",
                                  .tags = {"events", "spike-sorting"},
                                  .data_input = "Kafka topic neural.spikes via nlk ingest",
                                  .freshness = {.latency = "under 10 s from the device",
                                                .update_frequency =
                                                    "continuous (streaming ingest)"},
                                  .docs_filters =
                                      {{.filter = "device_id = 'device-001' AND channel < 8",
                                        .description = "Spikes on the first shank of a device"}},
                                  .unique_columns = {"device_id", "session_id", "channel",
                                                     "timestamp", "unit"},
                                  .computed_columns =
                                      {{.name = "hour",
                                        .expression = "date_trunc('hour', timestamp)",
                                        .description = "Hour of the spike, for rates"}},
                              },
                              Table{
                                  .name = "band_power",
                                  .kind = TableKind::kDelta,
                                  .uri = "neural/band_power",
                                  .schema = SchemaFor(StreamKind::kBandPower),
                                  .partition_columns = {"date"},
                                  .description =
                                      "Power per channel in the classic EEG bands (delta, "
                                      "theta, alpha, beta, gamma), one row per band per "
                                      "half-second window.",
                                  .owner = "neural-analysis@neuralake.dev",
                                  .tags = {"derived", "spectral"},
                                  .data_input =
                                      "Computed on the devices, Kafka topic neural.band_power",
                                  .freshness = {.latency = "under 10 s from the device",
                                                .update_frequency = "every 0.5 s window"},
                                  .docs_filters =
                                      {{.filter = "band = 'alpha' AND device_id = 'device-001'",
                                        .description = "Alpha power of one device"}},
                                  .unique_columns = {"device_id", "session_id", "channel",
                                                     "timestamp", "band"},
                              },
                              Table{
                                  .name = "samples_dead_letters",
                                  .kind = TableKind::kDelta,
                                  .uri = "neural/samples_dead_letters",
                                  .schema = ingest::DeadLetterSchema(),
                                  .description =
                                      "Messages of the samples stream that could not be "
                                      "ingested, kept whole with the reason, for inspection "
                                      "and replay.",
                                  .owner = "neural-data@neuralake.dev",
                                  .tags = {"operations", "dead-letters"},
                                  .data_input = "nlk ingest, in the same run as neural.samples",
                                  .freshness =
                                      {.latency = "committed before the data it belongs with",
                                       .update_frequency = "only when a message is rejected"},
                                  .docs_filters = {{.filter = "topic = 'neural.samples'",
                                                    .description =
                                                        "Rejected messages of one topic"}},
                                  .unique_columns = {"topic", "partition", "offset"},
                              },
                              Table{
                                  .name = "samples_rollup",
                                  .kind = TableKind::kDelta,
                                  .uri = "neural/samples_rollup",
                                  .schema = RollupSchema(),
                                  .partition_columns = {"resolution", "date"},
                                  .description =
                                      "Raw voltage downsampled per channel: minimum, maximum, mean "
                                      "and RMS over 10 ms, 1 s and 1 min windows (resolution "
                                      "'10ms', "
                                      "'1s', '1min'). Answers long-range queries without reading "
                                      "raw samples.",
                                  .owner = "neural-analysis@neuralake.dev",
                                  .tags = {"derived", "timeseries", "rollup"},
                                  .data_input =
                                      "neural.samples, by the Spark job jobs/downsample.py",
                                  .freshness = {.latency = "as often as the job runs",
                                                .update_frequency =
                                                    "each run recomputes the windows "
                                                    "new samples fall in"},
                                  .docs_filters = {{.filter = "resolution = '1s' AND device_id = "
                                                              "'device-001' AND channel = 3",
                                                    .description =
                                                        "One channel at 1 s resolution"}},
                                  .unique_columns = {"resolution", "device_id", "session_id",
                                                     "channel", "window_start"},
                                  .writer = WriterEngine::kSpark,
                                  .lineage = {.sources = {"neural.samples"},
                                              .job = "jobs/downsample.py"},
                              },
                              Table{
                                  .name = "unit_firing_rates",
                                  .kind = TableKind::kDelta,
                                  .uri = "neural/unit_firing_rates",
                                  .schema = FiringRateSchema(),
                                  .partition_columns = {"date"},
                                  .description =
                                      "Spikes per sorted unit per 1 s bin, with the unit's shank "
                                      "and "
                                      "brain region. Bins without spikes have no row (rate 0).",
                                  .owner = "neural-analysis@neuralake.dev",
                                  .tags = {"derived", "spike-sorting", "rates"},
                                  .data_input = "neural.spikes and neural.electrodes, by the Spark "
                                                "job jobs/firing_rates.py",
                                  .freshness = {.latency = "as often as the job runs",
                                                .update_frequency =
                                                    "each run recomputes the bins new "
                                                    "spikes fall in"},
                                  .docs_filters =
                                      {{.filter = "device_id = 'device-001' AND region = "
                                                  "'M1'",
                                        .description = "Motor cortex units of a device"}},
                                  .unique_columns = {"device_id", "session_id", "channel", "unit",
                                                     "bin_start"},
                                  .writer = WriterEngine::kSpark,
                                  .lineage = {.sources = {"neural.spikes", "neural.electrodes"},
                                              .job = "jobs/firing_rates.py"},
                              },
                              Table{
                                  .name = "unit_quality",
                                  .kind = TableKind::kDelta,
                                  .uri = "neural/unit_quality",
                                  .schema = UnitQualitySchema(),
                                  .description =
                                      "One row per sorted unit and session: spike count, mean "
                                      "rate, "
                                      "inter-spike-interval violations (under 1.5 ms, the "
                                      "refractory "
                                      "period) and amplitude stability (coefficient of variation, "
                                      "and the drift of the mean from the first to the second half "
                                      "of its spikes).",
                                  .owner = "neural-analysis@neuralake.dev",
                                  .tags = {"derived", "spike-sorting", "quality"},
                                  .data_input = "neural.spikes and neural.electrodes, by the Spark "
                                                "job jobs/firing_rates.py",
                                  .freshness = {.latency = "as often as the job runs",
                                                .update_frequency =
                                                    "each run recomputes the sessions "
                                                    "that received spikes"},
                                  .docs_filters = {{.filter = "isi_violation_ratio > 0.01",
                                                    .description = "Units with many refractory "
                                                                   "violations"}},
                                  .unique_columns = {"device_id", "session_id", "channel", "unit"},
                                  .writer = WriterEngine::kSpark,
                                  .lineage = {.sources = {"neural.spikes", "neural.electrodes"},
                                              .job = "jobs/firing_rates.py"},
                              },
                              Table{
                                  .name = "session_summaries",
                                  .kind = TableKind::kDelta,
                                  .uri = "neural/session_summaries",
                                  .schema = SessionSummarySchema(),
                                  .description =
                                      "One row per device and recording session: duration, sample "
                                      "counts, gaps (the device sent nothing for longer than 1.5 "
                                      "sampling intervals) and dropouts (timestamps where some "
                                      "channels are missing), and mean power per band. For "
                                      "dashboards and for finding bad recordings.",
                                  .owner = "neural-analysis@neuralake.dev",
                                  .tags = {"derived", "sessions", "quality"},
                                  .data_input =
                                      "neural.samples and neural.band_power, by the Spark "
                                      "job jobs/session_summaries.py",
                                  .freshness = {.latency = "as often as the job runs",
                                                .update_frequency =
                                                    "each run recomputes the sessions "
                                                    "that received data"},
                                  .docs_filters =
                                      {{.filter = "gap_count > 0 OR incomplete_timestamps "
                                                  "> 0",
                                        .description = "Recordings with gaps or dropouts"}},
                                  .unique_columns = {"device_id", "session_id"},
                                  .writer = WriterEngine::kSpark,
                                  .lineage = {.sources = {"neural.samples", "neural.band_power"},
                                              .job = "jobs/session_summaries.py"},
                              },
                              Table{
                                  .name = "electrodes",
                                  .kind = TableKind::kFunction,
                                  .function = ElectrodeLayout,
                                  .schema = ElectrodeSchema(),
                                  .description =
                                      "Where each channel sits on the probe: shank, depth and "
                                      "brain region. Join with samples or spikes on "
                                      "(device_id, channel).",
                                  .owner = "hardware@neuralake.dev",
                                  .tags = {"reference", "hardware"},
                                  .data_input = "Computed from the probe design",
                                  .freshness = {.latency = "always current",
                                                .update_frequency = "changes with the hardware"},
                                  .docs_filters = {{.filter = "region = 'M1'",
                                                    .description = "Channels in motor cortex"}},
                                  .unique_columns = {"device_id", "channel"},
                                  .classification = Classification::kPublic,
                              },
                              Table{
                                  .name = "channel_map",
                                  .kind = TableKind::kFunction,
                                  .function = LegacyChannelMap,
                                  .description = "Channel to brain region, per device.",
                                  .owner = "hardware@neuralake.dev",
                                  .tags = {"reference", "hardware"},
                                  .data_input = "Computed from the probe design",
                                  .unique_columns = {"device_id", "channel"},
                                  .deprecation =
                                      Deprecation{.message =
                                                      "Superseded by neural.electrodes, which adds "
                                                      "shank and "
                                                      "depth. Will be removed once no query reads "
                                                      "it.",
                                                  .replacement = "neural.electrodes",
                                                  .since = "2026-01"},
                              },
                          },
                      .read = {.groups = {"researchers", "clinicians"}},
                  },
                  Database{
                      .name = "ops",
                      .description = "How the platform itself is used.",
                      .tables =
                          {
                              Table{
                                  .name = "audit",
                                  .kind = TableKind::kDelta,
                                  .uri = "ops/audit",
                                  .partition_columns = {"date"},
                                  .description =
                                      "Every query nlk serve answered, one row each: when, who, "
                                      "from where, which tables, rows and bytes returned, "
                                      "duration, "
                                      "status and the statement's SHA-256 (its text when "
                                      "--audit-statements). Written by nlk serve --audit-log and "
                                      "nlk retention --audit-log.",
                                  .owner = "security@neuralake.dev",
                                  .tags = {"audit", "governance"},
                                  .data_input = "nlk serve --audit-log ops/audit",
                                  .freshness = {.latency = "about a second (audit flush interval)",
                                                .update_frequency = "continuous while serving"},
                                  .docs_filters = {{.filter =
                                                        "principal = 'alice' AND status <> 'ok'",
                                                    .description =
                                                        "One principal's failed queries"}},
                                  .retention =
                                      Retention{.column = "date", .keep = std::chrono::days{365}},
                              },
                          },
                  },
              },
      };
  return catalog;
}

}  // namespace nlk::catalog
