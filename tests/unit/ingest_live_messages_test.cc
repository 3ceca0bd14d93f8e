// The live simulator's messages as `nlk ingest` decodes them, in both formats and without a
// broker: every valid message's rows are taken, every malformed message becomes a dead letter.
// (ingest_live_kafka_test runs the same through a real broker and writer.)
#include <arrow/api.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "datagen/live_simulator.h"
#include "datagen/neural_generator.h"
#include "ingest/batch_accumulator.h"
#include "ingest/live_sink.h"
#include "ingest/message_decoder.h"
#include "ingest/producer.h"

namespace nlk::ingest {
namespace {

// A clock on which every wait is over at once.
class InstantClock final : public datagen::Clock {
 public:
  TimePoint Now() override { return now_; }
  void SleepUntil(TimePoint deadline) override { now_ = std::max(now_, deadline); }

 private:
  TimePoint now_{};
};

class DecodingSink final : public datagen::MessageSink {
 public:
  DecodingSink(MessageFormat format, BatchAccumulator& accumulator)
      : decoder_(DecoderOptions{format}), accumulator_(accumulator) {
    options_.format = format;
  }

  arrow::Status Send(const datagen::LiveMessage& message) override {
    std::vector<std::string> payloads;
    if (message.malformed) {
      ARROW_ASSIGN_OR_RAISE(payloads.emplace_back(), MalformedPayload(message, options_));
    } else if (options_.format == MessageFormat::kJson) {
      for (int64_t row = 0; row < message.rows->num_rows(); ++row) {
        ARROW_ASSIGN_OR_RAISE(payloads.emplace_back(),
                              EncodeMessage(message.rows->Slice(row, 1), options_));
      }
    } else {
      ARROW_ASSIGN_OR_RAISE(payloads.emplace_back(), EncodeMessage(message.rows, options_));
    }
    for (const std::string& payload : payloads) {
      KafkaMessage kafka;
      kafka.topic = "samples";
      kafka.key = message.device_id;
      kafka.payload = arrow::Buffer::FromString(payload);
      ARROW_ASSIGN_OR_RAISE(auto dead_letter, decoder_.Decode(kafka, accumulator_));
      if (message.malformed.has_value() != dead_letter.has_value()) {
        return arrow::Status::Invalid(
            message.malformed ? "a malformed message was taken: "
                              : "a valid message was dead-lettered: ",
            dead_letter ? dead_letter->reason
                        : std::string(datagen::MalformedKindName(*message.malformed)));
      }
      if (dead_letter) reasons[*message.malformed].push_back(dead_letter->reason);
    }
    return arrow::Status::OK();
  }

  std::map<datagen::MalformedKind, std::vector<std::string>> reasons;

 private:
  ProducerOptions options_;
  MessageDecoder decoder_;
  BatchAccumulator& accumulator_;
};

class LiveMessages : public ::testing::TestWithParam<MessageFormat> {};

TEST_P(LiveMessages, ValidOnesDecodeAndMalformedOnesAreDeadLetters) {
  datagen::LiveOptions options;
  options.generator.devices = 3;
  options.generator.channels = 2;
  options.generator.sampling_rate_hz = 50;
  options.generator.duration_seconds = 20;
  options.malformed_fraction = 0.2;
  options.late_fraction = 0.1;
  options.dropout_fraction = 0.05;
  auto simulator = datagen::LiveSimulator::Make(options).ValueOrDie();
  auto accumulator =
      BatchAccumulator::Make(datagen::SchemaFor(datagen::StreamKind::kSamples)).ValueOrDie();
  DecodingSink sink(GetParam(), *accumulator);
  InstantClock clock;
  arrow::Status status = simulator->Run(sink, clock, [] { return false; });
  ASSERT_TRUE(status.ok()) << status.ToString();

  const datagen::LiveSummary& summary = simulator->summary();
  EXPECT_EQ(accumulator->num_rows(), summary.rows());
  int64_t dead_letters = 0;
  for (const auto& [kind, reasons] : sink.reasons) {
    dead_letters += static_cast<int64_t>(reasons.size());
    SCOPED_TRACE(std::string(datagen::MalformedKindName(kind)) + ": " + reasons.front());
    EXPECT_FALSE(reasons.empty());
  }
  EXPECT_EQ(dead_letters, summary.malformed_messages());
  EXPECT_EQ(sink.reasons.size(), 3u) << "every kind of malformed message occurs";
  if (sink.reasons.count(datagen::MalformedKind::kWrongType) > 0) {
    EXPECT_NE(sink.reasons[datagen::MalformedKind::kWrongType].front().find("voltage_uv"),
              std::string::npos);
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, LiveMessages,
                         ::testing::Values(MessageFormat::kJson, MessageFormat::kArrow),
                         [](const auto& info) {
                           return std::string(MessageFormatName(info.param));
                         });

TEST(LiveMessages, OnlyMalformedMessagesHaveAMalformedPayload) {
  datagen::LiveMessage message;
  message.device_id = "device-001";
  EXPECT_FALSE(MalformedPayload(message, ProducerOptions{}).ok());
}

}  // namespace
}  // namespace nlk::ingest
