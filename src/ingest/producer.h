// Producing record batches to a Kafka topic in the formats MessageDecoder reads back, for
// `nlk datagen --kafka` and for tests and benchmarks.
//
//   json   one message per row: a JSON object with the row's columns (timestamps as ISO-8601
//          UTC strings, dates as YYYY-MM-DD), as nlk's JSON output writes them.
//   arrow  one Arrow IPC stream per message holding up to rows_per_message rows, all with the
//          same key, split further when a message would exceed max_message_bytes; string
//          columns dictionary-encoded unless dictionary_strings is off.
//
// Each message is keyed by key_column (device_id by default), so all of a device's samples land
// on one partition, in order. The producer is idempotent with acks=all: broker retries neither
// duplicate nor reorder messages.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "ingest/message_decoder.h"

namespace nlk::ingest {

struct ProducerOptions {
  std::string bootstrap_servers;
  std::string topic;
  MessageFormat format = MessageFormat::kJson;
  // Arrow messages: large enough that the schema each message repeats costs little, small
  // enough (about 250 KiB of samples) to stay under Kafka's default 1 MB message limit.
  int64_t rows_per_message = 4096;
  // Arrow messages larger than this are split in half until they fit (a single row never is).
  int64_t max_message_bytes = 900 * 1000;
  // Arrow messages carry each string column as dictionary<int32, string>: a message holds one
  // device's samples, so its device and session ids are one dictionary entry each and the rows
  // hold 4-byte indices (a samples message is about 40 % smaller, and the ingester takes the
  // dictionary as it is instead of checking and comparing every row's text). Off: plain strings.
  bool dictionary_strings = true;
  // The column whose value keys each message; empty: no key (messages spread over partitions).
  std::string key_column = "device_id";
  std::string client_id = "nlk-producer";
  // How long to wait for the cluster to answer before producing anything.
  std::chrono::milliseconds connect_timeout{10000};
  // How long to wait at the end for every message to be acknowledged.
  std::chrono::milliseconds delivery_timeout{60000};
  // Further librdkafka properties (security, linger.ms, compression.codec).
  std::map<std::string, std::string> properties;
};

struct ProduceCounts {
  int64_t rows = 0;
  int64_t messages = 0;
  int64_t bytes = 0;  // payload bytes, before Kafka's compression
};

// Produces every row of `reader` to `options.topic` and waits until all are acknowledged. Fails
// when the cluster is unreachable, the topic is missing, the key column is absent, or any
// message was not delivered.
arrow::Result<ProduceCounts> ProduceToKafka(arrow::RecordBatchReader& reader,
                                            const ProducerOptions& options);

// Where the broker stored an acknowledged message.
struct DeliveredPosition {
  int32_t partition = -1;
  int64_t offset = -1;  // -1 until the message is acknowledged
};

// One idempotent producer to one topic, for callers that produce as they go rather than from a
// reader (the live device simulator); ProduceToKafka is this over a whole reader.
//
// Thread-safety: not thread-safe; use it from one thread.
class KafkaProducer {
 public:
  // Connects and checks that the topic exists, failing within options.connect_timeout when the
  // cluster does not answer. Invalid options are an Invalid status.
  static arrow::Result<std::unique_ptr<KafkaProducer>> Open(const ProducerOptions& options);
  ~KafkaProducer();
  KafkaProducer(const KafkaProducer&) = delete;
  KafkaProducer& operator=(const KafkaProducer&) = delete;

  // Queues the rows of `batch` as messages in options.format, each keyed by options.key_column.
  arrow::Status SendRows(const std::shared_ptr<arrow::RecordBatch>& batch);
  // Queues one message with exactly these bytes. When `position` is given it receives where the
  // message was stored once the broker acknowledges it; it must stay valid until Flush returns.
  arrow::Status SendPayload(std::string_view payload, const std::string* key,
                            DeliveredPosition* position = nullptr);
  // Waits until every message queued so far is acknowledged, at most options.delivery_timeout,
  // and returns the counts of everything sent. Fails when any message was not delivered.
  arrow::Result<ProduceCounts> Flush();

 private:
  class Impl;
  explicit KafkaProducer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The payload of one message holding the rows of `batch` in `options.format`, exactly as
// KafkaProducer sends them: an Arrow IPC stream, or for JSON, which carries one row per
// message, the object of its one row (another row count is Invalid).
arrow::Result<std::string> EncodeMessage(const std::shared_ptr<arrow::RecordBatch>& batch,
                                         const ProducerOptions& options);

}  // namespace nlk::ingest
