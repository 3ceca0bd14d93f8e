// The ingest layer's Kafka pieces against a real broker: the producer helper writes generated
// samples as JSON and as Arrow messages, the consumer wrapper reads them back in a consumer group,
// the decoder turns them into rows, and every sample must arrive exactly once.
//
// Needs NLK_KAFKA_BOOTSTRAP (scripts/kafka.sh start; eval "$(scripts/kafka.sh env)"); skipped
// without it, except the checks that need no broker.

#include <arrow/api.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "datagen/neural_generator.h"
#include "ingest/batch_accumulator.h"
#include "ingest/kafka_consumer.h"
#include "ingest/message_decoder.h"
#include "ingest/partition_offsets.h"
#include "ingest/producer.h"
#include "kafka_test_broker.h"

namespace nlk::ingest {
namespace {

using std::chrono::milliseconds;

using nlk::kafka_test::CreateTopic;
using nlk::kafka_test::KafkaBootstrap;
using nlk::kafka_test::UniqueName;

std::shared_ptr<arrow::RecordBatchReader> Samples(int devices) {
  datagen::GeneratorOptions options;
  options.devices = devices;
  options.channels = 4;
  options.sampling_rate_hz = 100;
  options.duration_seconds = 1;
  options.batch_rows = 500;
  return datagen::MakeNeuralReader(options).ValueOrDie();
}

using SampleKey = std::tuple<std::string, int32_t, int64_t>;  // device, channel, sequence

std::multiset<SampleKey> KeysOf(const arrow::RecordBatch& batch) {
  std::multiset<SampleKey> keys;
  auto devices = std::static_pointer_cast<arrow::StringArray>(batch.GetColumnByName("device_id"));
  auto channels = std::static_pointer_cast<arrow::Int32Array>(batch.GetColumnByName("channel"));
  auto sequences = std::static_pointer_cast<arrow::Int64Array>(batch.GetColumnByName("sequence"));
  for (int64_t row = 0; row < batch.num_rows(); ++row) {
    keys.emplace(devices->GetString(row), channels->Value(row), sequences->Value(row));
  }
  return keys;
}

// Starts every assigned partition where the table would: from `recorded`, else the earliest.
class TableListener : public RebalanceListener {
 public:
  explicit TableListener(RecordedTransactions recorded = {}) : recorded_(std::move(recorded)) {}

  arrow::Result<std::vector<PartitionStart>> OnAssigned(
      const std::vector<TopicPartition>& partitions) override {
    std::vector<PartitionStart> starts;
    for (const auto& partition : partitions) {
      starts.push_back(ResumePosition(recorded_, partition, StartPosition::kEarliest));
      offsets.Assign(partition, RecordedOffset(recorded_, partition));
      ++assigned;
    }
    return starts;
  }
  arrow::Status OnRevoked(const std::vector<TopicPartition>& partitions, bool lost) override {
    for (const auto& partition : partitions) offsets.Revoke(partition);
    revoked += static_cast<int>(partitions.size());
    lost_any = lost_any || lost;
    return arrow::Status::OK();
  }

  PartitionOffsets offsets;
  int assigned = 0;
  int revoked = 0;
  bool lost_any = false;

 private:
  RecordedTransactions recorded_;
};

struct Consumed {
  std::shared_ptr<arrow::RecordBatch> rows;
  std::vector<DeadLetter> dead_letters;
  int64_t messages = 0;
  int64_t redelivered = 0;
  // Per partition, the keys seen: a device's messages must stay on one partition.
  std::map<int32_t, std::set<std::string>> keys_by_partition;
  std::map<int32_t, int64_t> last_offset;
  // How often the consumer restarted fetching after its prefetch queue may have filled.
  int64_t fetch_restarts = 0;
};

// Consumes `topic` in a fresh group until `expected_rows` rows decoded or the deadline passes.
Consumed ConsumeAll(const std::string& topic, MessageFormat format, int64_t expected_rows,
                    TableListener& listener,
                    const std::map<std::string, std::string>& properties = {}) {
  Consumed consumed;
  ConsumerOptions options;
  options.bootstrap_servers = KafkaBootstrap();
  options.group_id = UniqueName("nlk-ingest-test");
  options.topics = {topic};
  options.properties = properties;
  auto consumer = KafkaConsumer::Open(options, &listener);
  EXPECT_TRUE(consumer.ok()) << consumer.status().ToString();
  if (!consumer.ok()) return consumed;

  MessageDecoder decoder({format});
  auto accumulator =
      BatchAccumulator::Make(datagen::SchemaFor(datagen::StreamKind::kSamples)).ValueOrDie();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (accumulator->num_rows() < expected_rows && std::chrono::steady_clock::now() < deadline) {
    auto messages = (*consumer)->Poll(milliseconds(500), 10000);
    EXPECT_TRUE(messages.ok()) << messages.status().ToString();
    if (!messages.ok()) break;
    for (const KafkaMessage& message : *messages) {
      ++consumed.messages;
      if (!listener.offsets.Accept(message.topic_partition(), message.offset)) {
        ++consumed.redelivered;
        continue;
      }
      auto [last, inserted] = consumed.last_offset.emplace(message.partition, message.offset);
      EXPECT_TRUE(inserted || message.offset > last->second) << "offsets go backwards";
      last->second = message.offset;
      if (message.key) consumed.keys_by_partition[message.partition].insert(*message.key);
      auto dead_letter = decoder.Decode(message, *accumulator);
      EXPECT_TRUE(dead_letter.ok()) << dead_letter.status().ToString();
      if (dead_letter.ok() && dead_letter->has_value()) {
        consumed.dead_letters.push_back(**dead_letter);
      }
    }
  }
  // Nothing more may arrive once everything was read.
  auto extra = (*consumer)->Poll(milliseconds(1000), 10000);
  EXPECT_TRUE(extra.ok());
  if (extra.ok()) consumed.messages += static_cast<int64_t>(extra->size());
  // The default assignor is eager roundrobin (kafka_consumer.h explains why).
  EXPECT_EQ((*consumer)->RebalanceProtocol(), "EAGER");
  EXPECT_TRUE(
      (*consumer)->CommitForLag(listener.offsets.OnCommitted(listener.offsets.TakePending())).ok());
  consumed.fetch_restarts = (*consumer)->fetch_restarts();
  EXPECT_TRUE((*consumer)->Close().ok());
  consumed.rows = accumulator->Flush().ValueOrDie();
  return consumed;
}

// Returns how often the consumer restarted fetching (see KafkaConsumer::fetch_restarts).
int64_t ProduceAndConsume(MessageFormat format, int64_t rows_per_message,
                          const std::map<std::string, std::string>& properties = {},
                          bool dictionary_strings = true) {
  const int partitions = 3;
  const std::string topic =
      UniqueName(std::string("nlk-ingest-") + std::string(MessageFormatName(format)));
  CreateTopic(topic, partitions);

  auto expected = arrow::Table::FromRecordBatchReader(Samples(3).get()).ValueOrDie();
  ProducerOptions options;
  options.bootstrap_servers = KafkaBootstrap();
  options.topic = topic;
  options.format = format;
  options.rows_per_message = rows_per_message;
  options.dictionary_strings = dictionary_strings;
  auto counts = ProduceToKafka(*Samples(3), options);
  EXPECT_TRUE(counts.ok()) << counts.status().ToString();
  if (!counts.ok()) return 0;
  EXPECT_EQ(counts->rows, expected->num_rows());
  if (format == MessageFormat::kJson) {
    EXPECT_EQ(counts->messages, expected->num_rows());
  } else {
    // Three devices, 400 rows each; messages never mix devices or exceed rows_per_message.
    EXPECT_GE(counts->messages, 3 * ((400 + rows_per_message - 1) / rows_per_message));
    EXPECT_LT(counts->messages, expected->num_rows() / 10);
  }

  TableListener listener;
  Consumed consumed = ConsumeAll(topic, format, expected->num_rows(), listener, properties);
  EXPECT_NE(consumed.rows, nullptr);
  if (consumed.rows == nullptr) return 0;
  EXPECT_TRUE(consumed.dead_letters.empty())
      << consumed.dead_letters.size()
      << " dead letters, first: " << consumed.dead_letters.front().reason;
  EXPECT_EQ(consumed.messages, counts->messages);
  EXPECT_EQ(consumed.redelivered, 0);
  EXPECT_GE(listener.assigned, partitions);

  // Exactly once, with the same values.
  auto expected_batch = expected->CombineChunksToBatch().ValueOrDie();
  EXPECT_EQ(KeysOf(*consumed.rows), KeysOf(*expected_batch));
  std::set<std::string> all_keys;
  for (const auto& [partition, keys] : consumed.keys_by_partition) {
    for (const auto& key : keys) {
      EXPECT_TRUE(all_keys.insert(key).second) << key << " spread over partitions";
    }
  }
  EXPECT_EQ(all_keys.size(), 3u);
  auto sum = [](const arrow::RecordBatch& batch) {
    auto voltages =
        std::static_pointer_cast<arrow::FloatArray>(batch.GetColumnByName("voltage_uv"));
    double total = 0;
    for (int64_t row = 0; row < voltages->length(); ++row) total += voltages->Value(row);
    return total;
  };
  EXPECT_NEAR(sum(*consumed.rows), sum(*expected_batch), 1e-3);
  return consumed.fetch_restarts;
}

TEST(KafkaService, JsonMessagesArriveExactlyOnce) {
  NLK_REQUIRE_KAFKA();
  ProduceAndConsume(MessageFormat::kJson, 1);
}

TEST(KafkaService, ArrowMessagesArriveExactlyOnce) {
  NLK_REQUIRE_KAFKA();
  ProduceAndConsume(MessageFormat::kArrow, 150);
}

TEST(KafkaService, ArrowMessagesWithPlainStringsArriveExactlyOnce) {
  NLK_REQUIRE_KAFKA();
  ProduceAndConsume(MessageFormat::kArrow, 150, {}, /*dictionary_strings=*/false);
}

TEST(KafkaService, FetchesRestartedAfterAFullQueueLoseAndRepeatNothing) {
  NLK_REQUIRE_KAFKA();
  // A 1 KiB prefetch queue is full after every fetch, so each time Poll() drains it the consumer
  // restarts fetching by seeking to where it already is; every message must still arrive once.
  const int64_t restarts = ProduceAndConsume(MessageFormat::kJson, 1,
                                             {{"queued.max.messages.kbytes", "1"},
                                              {"message.max.bytes", "4096"},
                                              {"fetch.max.bytes", "4096"},
                                              {"max.partition.fetch.bytes", "1024"}});
  EXPECT_GT(restarts, 0);
}

TEST(KafkaService, ResumesFromTheOffsetsTheTableRecorded) {
  NLK_REQUIRE_KAFKA();
  const std::string topic = UniqueName("nlk-ingest-resume");
  CreateTopic(topic, 1);
  ProducerOptions options;
  options.bootstrap_servers = KafkaBootstrap();
  options.topic = topic;
  auto counts = ProduceToKafka(*Samples(1), options);
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  ASSERT_EQ(counts->messages, 400);

  // The table holds offsets 0..299: a new writer must start at 300, whatever Kafka says.
  RecordedTransactions recorded;
  const std::string app_id = AppIdFor({topic, 0});
  recorded[app_id] = {app_id, 299, 0};
  TableListener listener(recorded);
  Consumed consumed = ConsumeAll(topic, MessageFormat::kJson, 100, listener);
  ASSERT_NE(consumed.rows, nullptr);
  EXPECT_EQ(consumed.rows->num_rows(), 100);
  EXPECT_EQ(consumed.messages, 100);
  EXPECT_EQ(consumed.last_offset[0], 399);
  auto sequences =
      std::static_pointer_cast<arrow::Int64Array>(consumed.rows->GetColumnByName("sequence"));
  int64_t smallest = INT64_MAX;
  for (int64_t row = 0; row < sequences->length(); ++row) {
    smallest = std::min(smallest, sequences->Value(row));
  }
  // Samples are produced in time order, four channels per sequence number.
  EXPECT_EQ(smallest, 75);
}

TEST(KafkaService, BadMessagesBecomeDeadLettersAndConsumptionContinues) {
  NLK_REQUIRE_KAFKA();
  const std::string topic = UniqueName("nlk-ingest-dead");
  CreateTopic(topic, 1);
  // Arrow messages for a JSON decoder: every one is a dead letter with its raw bytes.
  ProducerOptions options;
  options.bootstrap_servers = KafkaBootstrap();
  options.topic = topic;
  options.format = MessageFormat::kArrow;
  options.rows_per_message = 100;
  auto counts = ProduceToKafka(*Samples(1), options);
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  options.format = MessageFormat::kJson;
  auto json_counts = ProduceToKafka(*Samples(1), options);
  ASSERT_TRUE(json_counts.ok()) << json_counts.status().ToString();

  TableListener listener;
  Consumed consumed = ConsumeAll(topic, MessageFormat::kJson, 400, listener);
  ASSERT_NE(consumed.rows, nullptr);
  EXPECT_EQ(consumed.rows->num_rows(), 400);
  ASSERT_EQ(static_cast<int64_t>(consumed.dead_letters.size()), counts->messages);
  for (const DeadLetter& letter : consumed.dead_letters) {
    EXPECT_EQ(letter.topic, topic);
    EXPECT_NE(letter.reason.find("not valid JSON"), std::string::npos) << letter.reason;
    EXPECT_GT(letter.payload->size(), 0);
  }
  auto table = DeadLettersToRecordBatch(consumed.dead_letters, 0);
  ASSERT_TRUE(table.ok());
  EXPECT_EQ((*table)->num_rows(), counts->messages);
}

TEST(KafkaService, MissingTopicIsAClearError) {
  NLK_REQUIRE_KAFKA();
  TableListener listener;
  ConsumerOptions options;
  options.bootstrap_servers = KafkaBootstrap();
  options.group_id = UniqueName("nlk-ingest-test");
  options.topics = {UniqueName("nlk-no-such-topic")};
  auto consumer = KafkaConsumer::Open(options, &listener);
  ASSERT_FALSE(consumer.ok());
  EXPECT_NE(consumer.status().message().find("does not exist"), std::string::npos)
      << consumer.status().ToString();

  ProducerOptions producer;
  producer.bootstrap_servers = KafkaBootstrap();
  producer.topic = options.topics[0];
  auto counts = ProduceToKafka(*Samples(1), producer);
  ASSERT_FALSE(counts.ok());
  EXPECT_NE(counts.status().message().find("scripts/kafka.sh create-topic"), std::string::npos)
      << counts.status().ToString();
}

// Needs no broker: nothing listens on port 1.
TEST(KafkaService, UnreachableBootstrapFailsWithinTheTimeout) {
  TableListener listener;
  ConsumerOptions options;
  options.bootstrap_servers = "127.0.0.1:1";
  options.group_id = "nlk-ingest-test";
  options.topics = {"samples"};
  options.connect_timeout = milliseconds(1500);
  auto started = std::chrono::steady_clock::now();
  auto consumer = KafkaConsumer::Open(options, &listener);
  auto waited = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(consumer.ok());
  EXPECT_TRUE(consumer.status().IsIOError());
  EXPECT_NE(consumer.status().message().find("cannot reach Kafka at 127.0.0.1:1 within 1500 ms"),
            std::string::npos)
      << consumer.status().ToString();
  EXPECT_LT(waited, std::chrono::seconds(10));

  ProducerOptions producer;
  producer.bootstrap_servers = "127.0.0.1:1";
  producer.topic = "samples";
  producer.connect_timeout = milliseconds(1500);
  auto counts = ProduceToKafka(*Samples(1), producer);
  ASSERT_FALSE(counts.ok());
  EXPECT_NE(counts.status().message().find("cannot reach Kafka"), std::string::npos)
      << counts.status().ToString();
}

TEST(KafkaService, RefusesAutomaticOffsetCommits) {
  TableListener listener;
  ConsumerOptions options;
  options.bootstrap_servers = "127.0.0.1:1";
  options.group_id = "g";
  options.topics = {"samples"};
  options.properties["enable.auto.commit"] = "true";
  auto consumer = KafkaConsumer::Open(options, &listener);
  ASSERT_FALSE(consumer.ok());
  EXPECT_NE(consumer.status().message().find("the Delta table records the consumed offsets"),
            std::string::npos);
}

}  // namespace
}  // namespace nlk::ingest
