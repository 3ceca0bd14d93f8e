// One Kafka message as the ingest layer sees it, independent of the client library, and the
// topic-partition that names where it came from.
#pragma once

#include <arrow/buffer.h>

#include <compare>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace nlk::ingest {

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;

  auto operator<=>(const TopicPartition&) const = default;
  std::string ToString() const { return topic + "[" + std::to_string(partition) + "]"; }
};

// Immutable once built; safe to share between threads.
struct KafkaMessage {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  // Producer create time or broker append time, milliseconds since the epoch; absent when the
  // broker reports none.
  std::optional<int64_t> timestamp_ms;
  std::optional<std::string> key;
  // The consumer hands out buffers that keep librdkafka's own copy alive, so Arrow payloads are
  // decoded without copying; a message without a value has an empty buffer.
  std::shared_ptr<arrow::Buffer> payload;

  TopicPartition topic_partition() const { return {topic, partition}; }
};

}  // namespace nlk::ingest
