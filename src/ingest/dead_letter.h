// A message that could not be ingested, kept whole with the reason so that nothing is lost: the
// writer stores dead letters in their own Delta table, where they can be inspected and replayed.
#pragma once

#include <arrow/buffer.h>
#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ingest/kafka_message.h"

namespace nlk::ingest {

// Immutable once built; safe to share between threads.
struct DeadLetter {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::optional<int64_t> timestamp_ms;
  std::optional<std::string> key;
  std::shared_ptr<arrow::Buffer> payload;  // the raw bytes as received
  std::string reason;                      // what was wrong, e.g. "missing required field 'x'"
};

DeadLetter MakeDeadLetter(const KafkaMessage& message, std::string reason);

// The schema of the dead-letter table:
//   topic string, partition int32, offset int64, message_timestamp timestamp[us, UTC] (null when
//   Kafka gave none), key binary (null when the message had none), payload binary, reason string,
//   ingested_at timestamp[us, UTC].
std::shared_ptr<arrow::Schema> DeadLetterSchema();

// One row per dead letter, all stamped with `ingested_at_us` (microseconds since the epoch).
arrow::Result<std::shared_ptr<arrow::RecordBatch>> DeadLettersToRecordBatch(
    const std::vector<DeadLetter>& dead_letters, int64_t ingested_at_us);

}  // namespace nlk::ingest
