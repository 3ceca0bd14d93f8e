#include "datagen/neural_generator.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include <map>

namespace nlk::datagen {
namespace {

std::shared_ptr<arrow::Table> Generate(const GeneratorOptions& options) {
  auto reader = MakeNeuralReader(options).ValueOrDie();
  return reader->ToTable().ValueOrDie();
}

TEST(NeuralGenerator, SamplesHaveOneRowPerChannelPerTick) {
  GeneratorOptions options;
  options.devices = 2;
  options.channels = 4;
  options.sampling_rate_hz = 100;
  options.duration_seconds = 3;
  options.batch_rows = 50;
  auto table = Generate(options);
  EXPECT_EQ(table->num_rows(), 2 * 4 * 100 * 3);
  EXPECT_TRUE(table->schema()->Equals(*SchemaFor(StreamKind::kSamples)));
  auto timestamps = std::static_pointer_cast<arrow::TimestampArray>(
      table->GetColumnByName("timestamp")->chunk(0));
  EXPECT_EQ(timestamps->Value(0), options.start_time_us);
}

TEST(NeuralGenerator, SameSeedSameData) {
  GeneratorOptions options;
  options.kind = StreamKind::kSpikes;
  options.duration_seconds = 2;
  auto first = Generate(options);
  auto second = Generate(options);
  EXPECT_TRUE(first->Equals(*second));
  EXPECT_GT(first->num_rows(), 0);
  options.seed = 7;
  EXPECT_FALSE(first->Equals(*Generate(options)));
}

TEST(NeuralGenerator, SpikesAreInTimeWindowAndNegative) {
  GeneratorOptions options;
  options.kind = StreamKind::kSpikes;
  options.duration_seconds = 1;
  auto table = Generate(options)->CombineChunks().ValueOrDie();
  auto timestamps = std::static_pointer_cast<arrow::TimestampArray>(
      table->GetColumnByName("timestamp")->chunk(0));
  auto amplitudes =
      std::static_pointer_cast<arrow::FloatArray>(table->GetColumnByName("amplitude_uv")->chunk(0));
  for (int64_t i = 0; i < table->num_rows(); ++i) {
    EXPECT_GE(timestamps->Value(i), options.start_time_us);
    EXPECT_LT(timestamps->Value(i), options.start_time_us + 1000000);
    EXPECT_LT(amplitudes->Value(i), 0.0f);
  }
}

// Bursts raise the firing rate for a while: the same seed fires far more often with them, and
// the extra spikes come close together (a burst fires at up to 200 Hz, so 5-10 ms apart).
TEST(NeuralGenerator, BurstsAddSpikesInQuickSuccession) {
  GeneratorOptions options;
  options.kind = StreamKind::kSpikes;
  options.devices = 1;
  options.channels = 8;
  options.duration_seconds = 20;
  auto CloseSpikes = [](const arrow::Table& table) {
    auto combined = table.CombineChunksToBatch().ValueOrDie();
    auto channels =
        std::static_pointer_cast<arrow::Int32Array>(combined->GetColumnByName("channel"));
    auto timestamps =
        std::static_pointer_cast<arrow::TimestampArray>(combined->GetColumnByName("timestamp"));
    std::map<int32_t, int64_t> last_spike;
    int64_t close = 0;
    for (int64_t row = 0; row < combined->num_rows(); ++row) {
      auto [it, first] = last_spike.emplace(channels->Value(row), timestamps->Value(row));
      if (!first && timestamps->Value(row) - it->second < 10'000) ++close;
      it->second = timestamps->Value(row);
    }
    return close;
  };
  auto steady = Generate(options);
  options.burst_rate_hz = 1;
  auto bursting = Generate(options);
  EXPECT_GT(bursting->num_rows(), steady->num_rows() * 3 / 2);
  EXPECT_GT(CloseSpikes(*bursting), 2 * CloseSpikes(*steady));

  options.kind = StreamKind::kSamples;
  options.duration_seconds = 1;
  options.burst_rate_hz = 0;
  auto samples = Generate(options);
  options.burst_rate_hz = 2;
  EXPECT_FALSE(samples->Equals(*Generate(options)));
}

TEST(NeuralGenerator, BandPowerHasFiveBandsPerWindow) {
  GeneratorOptions options;
  options.kind = StreamKind::kBandPower;
  options.devices = 1;
  options.channels = 3;
  options.band_window_seconds = 0.5;
  options.duration_seconds = 2;
  EXPECT_EQ(Generate(options)->num_rows(), 1 * 3 * 5 * 4);
}

TEST(NeuralGenerator, RejectsInvalidOptions) {
  GeneratorOptions options;
  options.channels = 0;
  auto result = MakeNeuralReader(options);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("channels"), std::string::npos);
  EXPECT_FALSE(ParseStreamKind("eeg").ok());
  options.channels = 4;
  options.burst_rate_hz = -1;
  result = MakeNeuralReader(options);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("burst rate"), std::string::npos);
}

}  // namespace
}  // namespace nlk::datagen
