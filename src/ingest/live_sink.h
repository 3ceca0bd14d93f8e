// Sends the live device simulator's messages to Kafka (`nlk datagen --realtime`): samples as
// KafkaProducer encodes rows, keyed by device so that a device's messages share a partition, and
// malformed messages broken in the topic's own format so that `nlk ingest` dead-letters each one.
// Where each malformed message was stored is recorded, for a test to find it in the dead-letter
// table by partition and offset.
//
// Thread-safety: not thread-safe; the simulator's thread sends.
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>

#include <cstdint>
#include <deque>
#include <string>

#include "datagen/live_simulator.h"
#include "ingest/producer.h"

namespace nlk::ingest {

struct MalformedRecord {
  std::string device_id;
  int64_t sequence = 0;  // the step whose sample the device garbled
  datagen::MalformedKind kind = datagen::MalformedKind::kTruncated;
  DeliveredPosition position;  // filled in when the broker acknowledges the message
};

// The bytes of a malformed message in `options.format`: a truncated one is its sample's message
// without the last bytes (more than the 8 bytes that end an Arrow stream, so the cut falls inside
// the record batch; any cut leaves a JSON object open); a wrong-typed one is its sample's message
// as it is; not-a-message is the text.
arrow::Result<std::string> MalformedPayload(const datagen::LiveMessage& message,
                                            const ProducerOptions& options);

class KafkaLiveSink final : public datagen::MessageSink {
 public:
  // `producer` was opened with `options` and outlives the sink; call its Flush before reading
  // the positions of malformed().
  KafkaLiveSink(KafkaProducer& producer, ProducerOptions options)
      : producer_(producer), options_(std::move(options)) {}

  arrow::Status Send(const datagen::LiveMessage& message) override;

  // In the order sent. A deque, because the producer writes each position in place later.
  const std::deque<MalformedRecord>& malformed() const { return malformed_; }

 private:
  KafkaProducer& producer_;
  ProducerOptions options_;
  std::deque<MalformedRecord> malformed_;
};

}  // namespace nlk::ingest
