#include "ingest/live_sink.h"

#include <algorithm>

namespace nlk::ingest {
namespace {

// What a truncated message loses at its end; see MalformedPayload.
constexpr size_t kTruncatedBytes = 16;

}  // namespace

arrow::Result<std::string> MalformedPayload(const datagen::LiveMessage& message,
                                            const ProducerOptions& options) {
  if (!message.malformed) {
    return arrow::Status::Invalid("the message of ", message.device_id, " is not malformed");
  }
  switch (*message.malformed) {
    case datagen::MalformedKind::kTruncated: {
      ARROW_ASSIGN_OR_RAISE(std::string payload, EncodeMessage(message.rows, options));
      payload.resize(payload.size() - std::min(payload.size() / 2, kTruncatedBytes));
      return payload;
    }
    case datagen::MalformedKind::kWrongType:
      return EncodeMessage(message.rows, options);
    case datagen::MalformedKind::kNotAMessage:
      return message.text;
  }
  return arrow::Status::Invalid("unknown kind of malformed message");
}

arrow::Status KafkaLiveSink::Send(const datagen::LiveMessage& message) {
  if (!message.malformed) return producer_.SendRows(message.rows);
  ARROW_ASSIGN_OR_RAISE(std::string payload, MalformedPayload(message, options_));
  MalformedRecord& record = malformed_.emplace_back();
  record.device_id = message.device_id;
  record.sequence = message.first_sequence;
  record.kind = *message.malformed;
  return producer_.SendPayload(payload, &message.device_id, &record.position);
}

}  // namespace nlk::ingest
