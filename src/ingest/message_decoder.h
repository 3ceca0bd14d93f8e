// Turns Kafka message payloads into rows of the target table's schema.
//
// Two payload formats:
//
//   json   One JSON object per message, one row per object. Fields are matched to columns by
//          name. Numbers fill integer, float and double columns (integers must be whole and in
//          range); true/false fill boolean; strings fill string columns; timestamps are an
//          ISO-8601 string (see iso8601.h) or a number counting the column's unit since the epoch
//          (epoch microseconds for the usual timestamp[us] columns); dates are "YYYY-MM-DD" or a
//          number of days since the epoch. A missing or null field is null in a nullable column
//          and an error in a required one. A field the table lacks is an error, unless schema
//          evolution is on, in which case it becomes a new nullable column (int64, double,
//          boolean or string, from its JSON value).
//
//   arrow  One Arrow IPC stream per message (schema, then record batches; normally one batch of
//          many samples). Chosen over Avro for high-rate samples because it is the table's own
//          memory format: decoding is a validation pass, not a parse, the column buffers are used
//          in place (no copy until the flush concatenates batches), and the stream describes
//          itself, so producers need no schema registry. The same schema check applies as for
//          JSON: columns by name, types must be equal, required columns present and without
//          nulls, unknown columns an error unless schema evolution adds them. A string column
//          may also come dictionary-encoded (dictionary<any integer, string>, as `nlk datagen`
//          and pandas categories write it; nulls as null indices, the dictionary holding none):
//          its values are then checked once per dictionary entry, not per row, and it reaches
//          the Parquet writer undecoded.
//
// A message that breaks these rules is not an error of the decoder: it comes back as a
// DeadLetter with the reason, and the accumulator is left exactly as it was.
//
// Thread-safety: a MessageDecoder is not thread-safe (it reuses buffers); use one per thread.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/status.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "ingest/batch_accumulator.h"
#include "ingest/dead_letter.h"
#include "ingest/kafka_message.h"

namespace nlk::ingest {

enum class MessageFormat { kJson, kArrow };

// Accepts "json" and "arrow".
arrow::Result<MessageFormat> ParseMessageFormat(std::string_view name);
std::string_view MessageFormatName(MessageFormat format);

struct DecoderOptions {
  MessageFormat format = MessageFormat::kJson;
  // Add columns for fields the table lacks instead of rejecting the message.
  bool schema_evolution = false;
};

// The validation of a record batch decoded from untrusted bytes: accepts exactly what
// RecordBatch::ValidateFull accepts, but checks UTF-8 string columns without nulls in one pass
// over their bytes (every value starts on a character boundary and the bytes are valid UTF-8
// as a whole) instead of one value at a time, which cost more than the rest of decoding, and
// the indices of dictionary-encoded columns without nulls by their smallest and largest value.
arrow::Status ValidateUntrustedBatch(const arrow::RecordBatch& batch);

class MessageDecoder {
 public:
  explicit MessageDecoder(DecoderOptions options);
  ~MessageDecoder();
  MessageDecoder(const MessageDecoder&) = delete;
  MessageDecoder& operator=(const MessageDecoder&) = delete;

  const DecoderOptions& options() const { return options_; }

  // Decodes `message` into rows of `accumulator` (whose schema is the target schema, and which
  // grows when schema evolution adds columns). Returns nullopt when the rows were appended, a
  // dead letter when the message was rejected; an error Status only for failures that are not
  // the message's fault (out of memory).
  arrow::Result<std::optional<DeadLetter>> Decode(const KafkaMessage& message,
                                                  BatchAccumulator& accumulator);

 private:
  class JsonDecoder;

  // The reason the message is rejected, or nullopt when its rows were appended.
  arrow::Result<std::optional<std::string>> DecodeArrow(const KafkaMessage& message,
                                                        BatchAccumulator& accumulator);

  DecoderOptions options_;
  std::unique_ptr<JsonDecoder> json_;
};

}  // namespace nlk::ingest
