#include "ingest/dead_letter.h"

#include <arrow/builder.h>
#include <arrow/type.h>

#include <string_view>
#include <utility>

namespace nlk::ingest {
namespace {

std::shared_ptr<arrow::DataType> UtcMicros() {
  return arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
}

std::string_view BufferView(const std::shared_ptr<arrow::Buffer>& buffer) {
  if (buffer == nullptr) return {};
  return {reinterpret_cast<const char*>(buffer->data()), static_cast<size_t>(buffer->size())};
}

}  // namespace

DeadLetter MakeDeadLetter(const KafkaMessage& message, std::string reason) {
  return DeadLetter{message.topic, message.partition, message.offset,   message.timestamp_ms,
                    message.key,   message.payload,   std::move(reason)};
}

std::shared_ptr<arrow::Schema> DeadLetterSchema() {
  return arrow::schema({
      arrow::field("topic", arrow::utf8(), false),
      arrow::field("partition", arrow::int32(), false),
      arrow::field("offset", arrow::int64(), false),
      arrow::field("message_timestamp", UtcMicros(), true),
      arrow::field("key", arrow::binary(), true),
      arrow::field("payload", arrow::binary(), false),
      arrow::field("reason", arrow::utf8(), false),
      arrow::field("ingested_at", UtcMicros(), false),
  });
}

arrow::Result<std::shared_ptr<arrow::RecordBatch>> DeadLettersToRecordBatch(
    const std::vector<DeadLetter>& dead_letters, int64_t ingested_at_us) {
  arrow::StringBuilder topics;
  arrow::Int32Builder partitions;
  arrow::Int64Builder offsets;
  arrow::TimestampBuilder timestamps(UtcMicros(), arrow::default_memory_pool());
  arrow::BinaryBuilder keys;
  arrow::BinaryBuilder payloads;
  arrow::StringBuilder reasons;
  arrow::TimestampBuilder ingested(UtcMicros(), arrow::default_memory_pool());
  for (const DeadLetter& letter : dead_letters) {
    ARROW_RETURN_NOT_OK(topics.Append(letter.topic));
    ARROW_RETURN_NOT_OK(partitions.Append(letter.partition));
    ARROW_RETURN_NOT_OK(offsets.Append(letter.offset));
    if (letter.timestamp_ms) {
      ARROW_RETURN_NOT_OK(timestamps.Append(*letter.timestamp_ms * 1000));
    } else {
      ARROW_RETURN_NOT_OK(timestamps.AppendNull());
    }
    if (letter.key) {
      ARROW_RETURN_NOT_OK(keys.Append(*letter.key));
    } else {
      ARROW_RETURN_NOT_OK(keys.AppendNull());
    }
    ARROW_RETURN_NOT_OK(payloads.Append(BufferView(letter.payload)));
    ARROW_RETURN_NOT_OK(reasons.Append(letter.reason));
    ARROW_RETURN_NOT_OK(ingested.Append(ingested_at_us));
  }
  std::vector<std::shared_ptr<arrow::Array>> columns(8);
  ARROW_RETURN_NOT_OK(topics.Finish(&columns[0]));
  ARROW_RETURN_NOT_OK(partitions.Finish(&columns[1]));
  ARROW_RETURN_NOT_OK(offsets.Finish(&columns[2]));
  ARROW_RETURN_NOT_OK(timestamps.Finish(&columns[3]));
  ARROW_RETURN_NOT_OK(keys.Finish(&columns[4]));
  ARROW_RETURN_NOT_OK(payloads.Finish(&columns[5]));
  ARROW_RETURN_NOT_OK(reasons.Finish(&columns[6]));
  ARROW_RETURN_NOT_OK(ingested.Finish(&columns[7]));
  return arrow::RecordBatch::Make(DeadLetterSchema(), static_cast<int64_t>(dead_letters.size()),
                                  std::move(columns));
}

}  // namespace nlk::ingest
