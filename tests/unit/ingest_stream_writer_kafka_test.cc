// The streaming writer against a real broker: what is produced lands in the Delta table exactly
// once (checked by sample key), across restarts, with two writers in one group, and with bad
// messages routed to the dead-letter table while ingestion goes on.
//
// Needs NLK_KAFKA_BOOTSTRAP (scripts/kafka.sh start; eval "$(scripts/kafka.sh env)"); skipped
// without it.
#include <librdkafka/rdkafkacpp.h>

#include <arrow/api.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "datagen/neural_generator.h"
#include "delta/table.h"
#include "ingest/producer.h"
#include "ingest/stream_writer.h"
#include "kafka_test_broker.h"

namespace nlk::ingest {
namespace {

using std::chrono::milliseconds;

using nlk::kafka_test::CreateTopic;
using nlk::kafka_test::KafkaBootstrap;
using nlk::kafka_test::UniqueName;

// Produces raw payloads to one partition, in order, and waits for every acknowledgement.
void ProduceRaw(const std::string& topic, int32_t partition,
                const std::vector<std::string>& payloads) {
  std::string error;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  ASSERT_EQ(conf->set("bootstrap.servers", KafkaBootstrap(), error), RdKafka::Conf::CONF_OK);
  ASSERT_EQ(conf->set("enable.idempotence", "true", error), RdKafka::Conf::CONF_OK);
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), error));
  ASSERT_NE(producer, nullptr) << error;
  for (const std::string& payload : payloads) {
    ASSERT_EQ(producer->produce(topic, partition, RdKafka::Producer::RK_MSG_COPY,
                                const_cast<char*>(payload.data()), payload.size(), nullptr, 0, 0,
                                nullptr),
              RdKafka::ERR_NO_ERROR);
  }
  ASSERT_EQ(producer->flush(30000), RdKafka::ERR_NO_ERROR);
}

datagen::GeneratorOptions SampleOptions(int devices, double seconds, int64_t start_offset_us = 0) {
  datagen::GeneratorOptions options;
  options.devices = devices;
  options.channels = 4;
  options.sampling_rate_hz = 100;
  options.duration_seconds = seconds;
  options.batch_rows = 400;
  options.start_time_us += start_offset_us;
  return options;
}

// device, channel, sequence, timestamp: the sequence restarts with every producer run, the
// timestamp tells runs apart.
using SampleKey = std::tuple<std::string, int32_t, int64_t, int64_t>;

std::multiset<SampleKey> KeysOf(const arrow::Table& table) {
  std::multiset<SampleKey> keys;
  auto combined = table.CombineChunksToBatch().ValueOrDie();
  auto devices =
      std::static_pointer_cast<arrow::StringArray>(combined->GetColumnByName("device_id"));
  auto channels = std::static_pointer_cast<arrow::Int32Array>(combined->GetColumnByName("channel"));
  auto sequences =
      std::static_pointer_cast<arrow::Int64Array>(combined->GetColumnByName("sequence"));
  auto timestamps =
      std::static_pointer_cast<arrow::TimestampArray>(combined->GetColumnByName("timestamp"));
  for (int64_t row = 0; row < combined->num_rows(); ++row) {
    keys.emplace(devices->GetString(row), channels->Value(row), sequences->Value(row),
                 timestamps->Value(row));
  }
  return keys;
}

std::multiset<SampleKey> Produce(const std::string& topic, const datagen::GeneratorOptions& data,
                                 MessageFormat format) {
  auto expected =
      arrow::Table::FromRecordBatchReader(datagen::MakeNeuralReader(data).ValueOrDie().get())
          .ValueOrDie();
  ProducerOptions options;
  options.bootstrap_servers = KafkaBootstrap();
  options.topic = topic;
  options.format = format;
  options.rows_per_message = 300;
  auto counts = ProduceToKafka(*datagen::MakeNeuralReader(data).ValueOrDie(), options);
  EXPECT_TRUE(counts.ok()) << counts.status().ToString();
  return KeysOf(*expected);
}

std::shared_ptr<arrow::Table> ReadTable(const std::string& uri) {
  auto table = delta::Table::Open(uri);
  EXPECT_TRUE(table.ok()) << table.status().ToString();
  if (!table.ok()) return nullptr;
  auto reader = (*table)->Read({}).ValueOrDie();
  return arrow::Table::FromRecordBatchReader(reader.get()).ValueOrDie();
}

class StreamWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = std::filesystem::temp_directory_path() / UniqueName("nlk-stream-writer");
    std::filesystem::create_directories(directory_);
  }
  void TearDown() override { std::filesystem::remove_all(directory_); }

  StreamWriterOptions Options(const std::string& topic, MessageFormat format,
                              const std::string& group) {
    StreamWriterOptions options;
    options.table_uri = (directory_ / "samples").string();
    options.consumer.bootstrap_servers = KafkaBootstrap();
    options.consumer.group_id = group;
    options.consumer.topics = {topic};
    options.decoder.format = format;
    // Small flushes, so that one run makes several commits (and small polls, so that a poll that
    // finds the whole topic fetched does not turn into one flush).
    options.flush_limits.max_rows = 500;
    options.max_poll_messages = 100;
    options.flush_limits.max_latency = milliseconds(300);
    options.create_schema = datagen::SchemaFor(datagen::StreamKind::kSamples);
    options.create_options.partition_columns = {"date"};
    options.exit_when_idle = milliseconds(4000);
    return options;
  }

  // Runs one writer until it has been idle for the options' idle time.
  StreamWriterTotals RunWriter(const StreamWriterOptions& options,
                               IngestMetrics* metrics_out = nullptr) {
    IngestMetrics own_metrics;
    IngestMetrics& metrics = metrics_out != nullptr ? *metrics_out : own_metrics;
    auto writer = StreamWriter::Open(options, &metrics);
    EXPECT_TRUE(writer.ok()) << writer.status().ToString();
    if (!writer.ok()) return {};
    std::atomic<bool> stop{false};
    arrow::Status status = (*writer)->Run(stop);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return (*writer)->totals();
  }

  std::filesystem::path directory_;
};

void ExpectExactly(const std::multiset<SampleKey>& expected, const std::string& uri) {
  auto table = ReadTable(uri);
  ASSERT_NE(table, nullptr);
  std::multiset<SampleKey> actual = KeysOf(*table);
  EXPECT_EQ(actual.size(), expected.size());
  EXPECT_TRUE(actual == expected) << "the table does not hold exactly the produced samples";
}

// The offsets the table records for `topic`, by partition.
std::map<int32_t, int64_t> RecordedOffsets(const std::string& uri, const std::string& topic) {
  std::map<int32_t, int64_t> offsets;
  auto table = delta::Table::Open(uri).ValueOrDie();
  auto snapshot = table->log()->Latest().ValueOrDie();
  for (const auto& [app_id, txn] : snapshot->app_transactions()) {
    auto partition = ParseAppId(app_id);
    if (partition && partition->topic == topic) offsets[partition->partition] = txn.version;
  }
  return offsets;
}

TEST_F(StreamWriterTest, JsonSamplesLandExactlyOnceAndARestartResumesFromTheTable) {
  NLK_REQUIRE_KAFKA();
  const std::string topic = UniqueName("nlk-writer-json");
  CreateTopic(topic, 3);
  std::multiset<SampleKey> expected = Produce(topic, SampleOptions(3, 2), MessageFormat::kJson);
  ASSERT_EQ(expected.size(), 3u * 4 * 200);

  StreamWriterOptions options = Options(topic, MessageFormat::kJson, UniqueName("group"));
  StreamWriterTotals first = RunWriter(options);
  EXPECT_EQ(first.rows, static_cast<int64_t>(expected.size()));
  EXPECT_GT(first.commits, 1);
  ExpectExactly(expected, options.table_uri);
  // Every message is accounted for: 800 JSON messages per partition (one device each, at most).
  int64_t recorded_messages = 0;
  for (const auto& [partition, offset] : RecordedOffsets(options.table_uri, topic)) {
    recorded_messages += offset + 1;
  }
  EXPECT_EQ(recorded_messages, static_cast<int64_t>(expected.size()));

  // More data, and a writer in a new group: Kafka knows nothing of this group, so only the
  // table's txn actions can keep it from ingesting the first batch again.
  std::multiset<SampleKey> more =
      Produce(topic, SampleOptions(3, 1, 10'000'000), MessageFormat::kJson);
  expected.insert(more.begin(), more.end());
  options.consumer.group_id = UniqueName("another-group");
  StreamWriterTotals second = RunWriter(options);
  EXPECT_EQ(second.rows, static_cast<int64_t>(more.size()));
  ExpectExactly(expected, options.table_uri);
}

TEST_F(StreamWriterTest, ArrowSamplesLandExactlyOnce) {
  NLK_REQUIRE_KAFKA();
  const std::string topic = UniqueName("nlk-writer-arrow");
  CreateTopic(topic, 4);
  std::multiset<SampleKey> expected = Produce(topic, SampleOptions(4, 5), MessageFormat::kArrow);
  StreamWriterOptions options = Options(topic, MessageFormat::kArrow, UniqueName("group"));
  options.flush_limits.max_rows = 2000;
  StreamWriterTotals totals = RunWriter(options);
  EXPECT_EQ(totals.rows, static_cast<int64_t>(expected.size()));
  EXPECT_EQ(totals.dead_letters, 0);
  ExpectExactly(expected, options.table_uri);
  // The table was created partitioned by date.
  auto table = delta::Table::Open(options.table_uri).ValueOrDie();
  EXPECT_EQ(table->log()->Latest().ValueOrDie()->metadata().partition_columns,
            std::vector<std::string>{"date"});
}

// A backlog whose messages were produced longer ago than the latency limit is committed as soon
// as the writer has read it all (a "caught_up" flush), not a latency limit later; messages
// younger than the limit wait for it (here, until the writer stops).
TEST_F(StreamWriterTest, ABacklogOfOverdueMessagesIsCommittedOnCatchingUp) {
  NLK_REQUIRE_KAFKA();
  const std::string topic = UniqueName("nlk-writer-backlog");
  CreateTopic(topic, 2);
  std::multiset<SampleKey> expected = Produce(topic, SampleOptions(2, 2), MessageFormat::kArrow);
  StreamWriterOptions options = Options(topic, MessageFormat::kArrow, UniqueName("group"));
  // No flush by rows; a caught-up flush needs a tenth of them, which all 2,400 rows make.
  options.flush_limits.max_rows = 10'000;
  options.max_poll_messages = 10'000;
  options.exit_when_idle = milliseconds(2000);

  // Fresh messages and a 60 s limit: nothing is overdue, so only stopping flushes.
  options.flush_limits.max_latency = milliseconds(60'000);
  IngestMetrics fresh;
  EXPECT_EQ(RunWriter(options, &fresh).rows, static_cast<int64_t>(expected.size()));
  std::string rendered = fresh.RenderPrometheus();
  EXPECT_EQ(rendered.find("reason=\"caught_up\""), std::string::npos) << rendered;
  EXPECT_NE(rendered.find("nlk_ingest_flushes_total{reason=\"none\"} 1"), std::string::npos)
      << rendered;
  ExpectExactly(expected, options.table_uri);

  // More of them, older than a 300 ms limit by the time a writer in another table reads them.
  std::multiset<SampleKey> more =
      Produce(topic, SampleOptions(2, 1, 10'000'000), MessageFormat::kArrow);
  expected.insert(more.begin(), more.end());
  std::this_thread::sleep_for(milliseconds(600));
  options.table_uri = (directory_ / "backlog").string();
  options.consumer.group_id = UniqueName("group");
  options.flush_limits.max_latency = milliseconds(300);
  IngestMetrics backlog;
  EXPECT_EQ(RunWriter(options, &backlog).rows, static_cast<int64_t>(expected.size()));
  rendered = backlog.RenderPrometheus();
  EXPECT_NE(rendered.find("nlk_ingest_flushes_total{reason=\"caught_up\"}"), std::string::npos)
      << rendered;
  ExpectExactly(expected, options.table_uri);
}

TEST_F(StreamWriterTest, TwoWritersInOneGroupShareTheTopicWithoutDuplicates) {
  NLK_REQUIRE_KAFKA();
  const std::string topic = UniqueName("nlk-writer-pair");
  CreateTopic(topic, 4);
  StreamWriterOptions options = Options(topic, MessageFormat::kJson, UniqueName("group"));
  options.exit_when_idle = milliseconds(8000);
  StreamWriterTotals totals[2];
  std::thread first([&] { totals[0] = RunWriter(options); });
  std::thread second([&] { totals[1] = RunWriter(options); });
  // Produced while both run, after they have split the partitions between them.
  std::this_thread::sleep_for(milliseconds(3000));
  std::multiset<SampleKey> expected;
  for (int round = 0; round < 4; ++round) {
    std::multiset<SampleKey> keys =
        Produce(topic, SampleOptions(8, 1, round * 10'000'000), MessageFormat::kJson);
    expected.insert(keys.begin(), keys.end());
    std::this_thread::sleep_for(milliseconds(500));
  }
  first.join();
  second.join();
  EXPECT_GT(totals[0].rows, 0) << "the first writer got no partition";
  EXPECT_GT(totals[1].rows, 0) << "the second writer got no partition";
  EXPECT_EQ(totals[0].rows + totals[1].rows, static_cast<int64_t>(expected.size()));
  ExpectExactly(expected, options.table_uri);
}

// Two writers in different groups both own every partition, as a writer that missed its own
// revocation (a zombie) would: each commit that follows one of the other writer's for the same
// partition conflicts, and the loser drops the flushes in flight behind it and its buffer and
// rewinds to the table. With several small flushes in flight at once, the table still holds
// each sample once.
TEST_F(StreamWriterTest, WritersRacingForTheSamePartitionsWithFlushesInFlightStoreEachSampleOnce) {
  NLK_REQUIRE_KAFKA();
  const std::string topic = UniqueName("nlk-writer-race");
  CreateTopic(topic, 2);
  std::multiset<SampleKey> expected = Produce(topic, SampleOptions(4, 5), MessageFormat::kArrow);
  StreamWriterOptions options = Options(topic, MessageFormat::kArrow, UniqueName("group"));
  options.flush_limits.max_rows = 600;
  options.max_flushes_in_flight = 3;
  options.max_poll_messages = 4;
  StreamWriterOptions rival = options;
  rival.consumer.group_id = UniqueName("rival-group");
  StreamWriterTotals totals[2];
  std::thread first([&] { totals[0] = RunWriter(options); });
  std::thread second([&] { totals[1] = RunWriter(rival); });
  first.join();
  second.join();
  EXPECT_EQ(totals[0].rows + totals[1].rows, static_cast<int64_t>(expected.size()));
  ExpectExactly(expected, options.table_uri);
  // Each message is recorded: 2 partitions, the last offset of each covers its messages.
  int64_t recorded_messages = 0;
  for (const auto& [partition, offset] : RecordedOffsets(options.table_uri, topic)) {
    recorded_messages += offset + 1;
  }
  const int64_t rows_per_message = 300;
  EXPECT_GE(recorded_messages * rows_per_message, static_cast<int64_t>(expected.size()));
}

TEST_F(StreamWriterTest, BadMessagesGoToTheDeadLetterTableAndIngestionContinues) {
  NLK_REQUIRE_KAFKA();
  const std::string topic = UniqueName("nlk-writer-dlq");
  CreateTopic(topic, 1);
  const std::string good =
      R"({"device_id":"d1","session_id":"s","channel":1,"timestamp":"2026-01-01T00:00:00Z",)"
      R"("date":"2026-01-01","sequence":SEQ,"voltage_uv":1.5})";
  auto Good = [&](int sequence) {
    std::string message = good;
    message.replace(message.find("SEQ"), 3, std::to_string(sequence));
    return message;
  };
  const std::vector<std::string> payloads = {
      Good(0),
      "this is not json",
      Good(1),
      R"({"device_id":"d1","session_id":"s","channel":"one","timestamp":"2026-01-01T00:00:00Z",)"
      R"("date":"2026-01-01","sequence":2,"voltage_uv":1.5})",
      R"({"device_id":"d1","session_id":"s","channel":1,"date":"2026-01-01","sequence":3,)"
      R"("voltage_uv":1.5})",
      Good(4),
  };
  ProduceRaw(topic, 0, payloads);
  const std::set<int64_t> bad_offsets = {1, 3, 4};

  StreamWriterOptions options = Options(topic, MessageFormat::kJson, UniqueName("group"));
  StreamWriterTotals totals = RunWriter(options);
  EXPECT_EQ(totals.rows, 3);
  EXPECT_EQ(totals.dead_letters, 3);
  const int64_t midnight = 1767225600000000;  // 2026-01-01T00:00:00Z in microseconds
  ExpectExactly({{"d1", 1, 0, midnight}, {"d1", 1, 1, midnight}, {"d1", 1, 4, midnight}},
                options.table_uri);
  // Dead-letter offsets are committed too: a restart does not read them again.
  EXPECT_EQ(RecordedOffsets(options.table_uri, topic), (std::map<int32_t, int64_t>{{0, 5}}));

  const std::string dead_letter_uri = DefaultDeadLetterTableUri(options.table_uri);
  auto dead_letters = ReadTable(dead_letter_uri);
  ASSERT_NE(dead_letters, nullptr);
  ASSERT_EQ(dead_letters->num_rows(), 3);
  auto batch = dead_letters->CombineChunksToBatch().ValueOrDie();
  auto topics = std::static_pointer_cast<arrow::StringArray>(batch->GetColumnByName("topic"));
  auto partitions =
      std::static_pointer_cast<arrow::Int32Array>(batch->GetColumnByName("partition"));
  auto offsets = std::static_pointer_cast<arrow::Int64Array>(batch->GetColumnByName("offset"));
  auto raw = std::static_pointer_cast<arrow::BinaryArray>(batch->GetColumnByName("payload"));
  auto reasons = std::static_pointer_cast<arrow::StringArray>(batch->GetColumnByName("reason"));
  std::set<int64_t> seen;
  for (int64_t row = 0; row < batch->num_rows(); ++row) {
    EXPECT_EQ(topics->GetString(row), topic);
    EXPECT_EQ(partitions->Value(row), 0);
    const int64_t offset = offsets->Value(row);
    seen.insert(offset);
    ASSERT_LT(offset, static_cast<int64_t>(payloads.size()));
    EXPECT_EQ(raw->GetString(row), payloads[offset]) << "the raw bytes are kept as received";
    EXPECT_FALSE(reasons->GetString(row).empty());
  }
  EXPECT_EQ(seen, bad_offsets);
}

TEST_F(StreamWriterTest, DeadLettersStoredBeforeACrashAreNotStoredTwice) {
  NLK_REQUIRE_KAFKA();
  const std::string topic = UniqueName("nlk-writer-dlq-replay");
  CreateTopic(topic, 1);
  ProduceRaw(topic, 0, {"bad one", R"({"device_id":"d1"})", "bad two"});
  StreamWriterOptions options = Options(topic, MessageFormat::kJson, UniqueName("group"));
  options.dead_letter_table_uri = (directory_ / "dead_letters").string();
  EXPECT_EQ(RunWriter(options).dead_letters, 3);

  // A second data table sharing the dead-letter table is what a crash between the dead-letter
  // commit and the data commit leaves: the data table records no offsets, the dead-letter
  // table holds the messages. Replaying them must not store them again.
  options.table_uri = (directory_ / "replayed").string();
  StreamWriterTotals replay = RunWriter(options);
  EXPECT_EQ(replay.dead_letters, 0);
  EXPECT_EQ(RecordedOffsets(options.table_uri, topic), (std::map<int32_t, int64_t>{{0, 2}}));
  auto dead_letters = ReadTable(options.dead_letter_table_uri);
  ASSERT_NE(dead_letters, nullptr);
  EXPECT_EQ(dead_letters->num_rows(), 3);
}

TEST_F(StreamWriterTest, AMissingTableWithoutASchemaIsAClearError) {
  StreamWriterOptions options;
  options.table_uri = (directory_ / "absent").string();
  options.consumer.bootstrap_servers = "127.0.0.1:1";
  options.consumer.group_id = "g";
  options.consumer.topics = {"t"};
  auto writer = StreamWriter::Open(options, nullptr);
  ASSERT_FALSE(writer.ok());
  EXPECT_NE(writer.status().message().find("--schema-from-datagen"), std::string::npos)
      << writer.status().ToString();
}

}  // namespace
}  // namespace nlk::ingest
