#include "datagen/neural_generator.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

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
}

}  // namespace
}  // namespace nlk::datagen
