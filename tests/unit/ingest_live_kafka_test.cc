// The live device simulator through a real broker into the streaming writer: the table holds
// exactly the valid samples the simulator's summary says it sent, each once (late and
// out-of-order messages included), and the dead-letter table exactly its malformed messages, at
// the partitions and offsets the producer recorded.
//
// Needs NLK_KAFKA_BOOTSTRAP (scripts/kafka.sh start; eval "$(scripts/kafka.sh env)"); skipped
// without it.
#include <arrow/api.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <tuple>

#include "datagen/live_simulator.h"
#include "datagen/neural_generator.h"
#include "delta/table.h"
#include "ingest/live_sink.h"
#include "ingest/producer.h"
#include "ingest/stream_writer.h"
#include "kafka_test_broker.h"

namespace nlk::ingest {
namespace {

using nlk::kafka_test::CreateTopic;
using nlk::kafka_test::KafkaBootstrap;
using nlk::kafka_test::UniqueName;

// A clock on which every wait is over at once: the run takes as long as producing takes.
class InstantClock final : public datagen::Clock {
 public:
  TimePoint Now() override { return now_; }
  void SleepUntil(TimePoint deadline) override { now_ = std::max(now_, deadline); }

 private:
  TimePoint now_{};
};

std::shared_ptr<arrow::Table> ReadTable(const std::string& uri) {
  auto table = delta::Table::Open(uri).ValueOrDie();
  auto reader = table->Read({}).ValueOrDie();
  return arrow::Table::FromRecordBatchReader(reader.get()).ValueOrDie();
}

using SampleKey = std::tuple<std::string, int32_t, int64_t>;  // device, channel, sequence

class LiveKafka : public ::testing::TestWithParam<MessageFormat> {
 protected:
  void SetUp() override {
    directory_ = std::filesystem::temp_directory_path() / UniqueName("nlk-live-kafka");
    std::filesystem::create_directories(directory_);
  }
  void TearDown() override { std::filesystem::remove_all(directory_); }

  std::filesystem::path directory_;
};

TEST_P(LiveKafka, TheTableHoldsWhatTheSummarySaysAndTheDeadLettersTheMalformedMessages) {
  NLK_REQUIRE_KAFKA();
  const std::string topic = UniqueName("nlk-live");
  CreateTopic(topic, 3);

  datagen::LiveOptions live;
  live.generator.devices = 4;
  live.generator.channels = 3;
  live.generator.sampling_rate_hz = 100;
  live.generator.duration_seconds = 10;
  live.late_fraction = 0.1;
  live.dropout_fraction = 0.03;
  live.max_dropout_intervals = 5;
  live.malformed_fraction = 0.05;
  auto simulator = datagen::LiveSimulator::Make(live).ValueOrDie();

  ProducerOptions producer_options;
  producer_options.bootstrap_servers = KafkaBootstrap();
  producer_options.topic = topic;
  producer_options.format = GetParam();
  auto producer = KafkaProducer::Open(producer_options);
  ASSERT_TRUE(producer.ok()) << producer.status().ToString();
  KafkaLiveSink sink(**producer, producer_options);
  InstantClock clock;
  arrow::Status run = simulator->Run(sink, clock, [] { return false; });
  ASSERT_TRUE(run.ok()) << run.ToString();
  auto counts = (*producer)->Flush();
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  const datagen::LiveSummary& summary = simulator->summary();
  ASSERT_GT(summary.late_messages(), 0);
  ASSERT_GT(summary.dropouts(), 0);
  ASSERT_GT(summary.malformed_messages(), 0);
  EXPECT_EQ(counts->rows, summary.rows());
  ASSERT_EQ(static_cast<int64_t>(sink.malformed().size()), summary.malformed_messages());

  StreamWriterOptions options;
  options.table_uri = (directory_ / "samples").string();
  options.consumer.bootstrap_servers = KafkaBootstrap();
  options.consumer.group_id = UniqueName("group");
  options.consumer.topics = {topic};
  options.decoder.format = GetParam();
  options.flush_limits.max_rows = 2000;
  options.flush_limits.max_latency = std::chrono::milliseconds(300);
  options.create_schema = datagen::SchemaFor(datagen::StreamKind::kSamples);
  options.exit_when_idle = std::chrono::milliseconds(3000);
  auto writer = StreamWriter::Open(options, nullptr);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  std::atomic<bool> stop{false};
  arrow::Status written = (*writer)->Run(stop);
  ASSERT_TRUE(written.ok()) << written.ToString();
  EXPECT_EQ((*writer)->totals().rows, summary.rows());
  EXPECT_EQ((*writer)->totals().dead_letters, summary.malformed_messages());

  // The samples the summary's sequence ranges describe, one per channel per step...
  std::multiset<SampleKey> expected;
  for (const datagen::DeviceSummary& device : summary.devices) {
    for (const auto& [first, last] : device.sequence_ranges) {
      for (int64_t sequence = first; sequence <= last; ++sequence) {
        for (int32_t channel = 0; channel < live.generator.channels; ++channel) {
          expected.emplace(device.device_id, channel, sequence);
        }
      }
    }
  }
  // ...are exactly the table's rows.
  auto table = ReadTable(options.table_uri)->CombineChunksToBatch().ValueOrDie();
  auto devices = std::static_pointer_cast<arrow::StringArray>(table->GetColumnByName("device_id"));
  auto channels = std::static_pointer_cast<arrow::Int32Array>(table->GetColumnByName("channel"));
  auto sequences = std::static_pointer_cast<arrow::Int64Array>(table->GetColumnByName("sequence"));
  std::multiset<SampleKey> actual;
  for (int64_t row = 0; row < table->num_rows(); ++row) {
    actual.emplace(devices->GetString(row), channels->Value(row), sequences->Value(row));
  }
  EXPECT_EQ(actual.size(), expected.size());
  EXPECT_TRUE(actual == expected) << "the table does not hold exactly the samples sent";

  std::set<std::tuple<int32_t, int64_t, std::string>> malformed;
  for (const MalformedRecord& record : sink.malformed()) {
    ASSERT_GE(record.position.offset, 0) << "a malformed message was not acknowledged";
    malformed.emplace(record.position.partition, record.position.offset, record.device_id);
  }
  auto dead_letters =
      ReadTable(DefaultDeadLetterTableUri(options.table_uri))->CombineChunksToBatch().ValueOrDie();
  auto partitions =
      std::static_pointer_cast<arrow::Int32Array>(dead_letters->GetColumnByName("partition"));
  auto offsets =
      std::static_pointer_cast<arrow::Int64Array>(dead_letters->GetColumnByName("offset"));
  auto keys = std::static_pointer_cast<arrow::BinaryArray>(dead_letters->GetColumnByName("key"));
  std::set<std::tuple<int32_t, int64_t, std::string>> dead;
  for (int64_t row = 0; row < dead_letters->num_rows(); ++row) {
    dead.emplace(partitions->Value(row), offsets->Value(row), keys->GetString(row));
  }
  EXPECT_EQ(dead_letters->num_rows(), summary.malformed_messages());
  EXPECT_EQ(dead, malformed);
}

INSTANTIATE_TEST_SUITE_P(Formats, LiveKafka,
                         ::testing::Values(MessageFormat::kJson, MessageFormat::kArrow),
                         [](const auto& info) {
                           return std::string(MessageFormatName(info.param));
                         });

}  // namespace
}  // namespace nlk::ingest
