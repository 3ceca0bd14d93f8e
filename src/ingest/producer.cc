#include "ingest/producer.h"

#include <arrow/api.h>
#include <arrow/compute/api_vector.h>
#include <arrow/io/memory.h>
#include <arrow/ipc/writer.h>
#include <librdkafka/rdkafkacpp.h>

#include <map>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "common/arrow_runtime.h"
#include "delta/data/array_conform.h"
#include "format/output_format.h"
#include "ingest/kafka_client.h"

namespace nlk::ingest {
namespace {

// Counts acknowledgements, fills in the positions callers asked for (a message's opaque is its
// DeliveredPosition, if any) and keeps the first failure. librdkafka calls it from poll() and
// flush() on the producing thread, so it needs no lock.
class DeliveryReports : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& message) override {
    if (message.err() == RdKafka::ERR_NO_ERROR) {
      ++delivered_;
      if (auto* position = static_cast<DeliveredPosition*>(message.msg_opaque())) {
        position->partition = message.partition();
        position->offset = message.offset();
      }
      return;
    }
    if (failed_++ == 0) first_failure_ = message.errstr();
  }

  int64_t delivered() const { return delivered_; }
  int64_t failed() const { return failed_; }
  const std::string& first_failure() const { return first_failure_; }

 private:
  int64_t delivered_ = 0;
  int64_t failed_ = 0;
  std::string first_failure_;
};

// The key of each row, read from the key column.
class RowKeys {
 public:
  static arrow::Result<RowKeys> Make(const arrow::RecordBatch& batch, const std::string& column) {
    RowKeys keys;
    if (column.empty()) return keys;
    keys.array_ = batch.GetColumnByName(column);
    if (keys.array_ == nullptr) {
      return arrow::Status::Invalid("the key column '", column,
                                    "' is not in the data (columns: ", batch.schema()->ToString(),
                                    ")");
    }
    return keys;
  }

  bool keyed() const { return array_ != nullptr; }

  // Rows with a null key get the empty key.
  arrow::Result<std::string> Key(int64_t row) const {
    if (array_->IsNull(row)) return std::string();
    switch (array_->type_id()) {
      case arrow::Type::STRING:
        return std::string(static_cast<const arrow::StringArray&>(*array_).GetView(row));
      case arrow::Type::LARGE_STRING:
        return std::string(static_cast<const arrow::LargeStringArray&>(*array_).GetView(row));
      default: {
        ARROW_ASSIGN_OR_RAISE(auto scalar, array_->GetScalar(row));
        return scalar->ToString();
      }
    }
  }

 private:
  std::shared_ptr<arrow::Array> array_;
};

class MessageSender {
 public:
  MessageSender(RdKafka::Producer& producer, const std::string& topic)
      : producer_(producer), topic_(topic) {}

  arrow::Status Send(std::string_view payload, const std::string* key,
                     DeliveredPosition* position = nullptr) {
    while (true) {
      RdKafka::ErrorCode code = producer_.produce(
          topic_, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
          const_cast<char*>(payload.data()), payload.size(), key ? key->data() : nullptr,
          key ? key->size() : 0, /*timestamp=*/0, position);
      if (code == RdKafka::ERR_NO_ERROR) break;
      if (code != RdKafka::ERR__QUEUE_FULL) {
        return arrow::Status::IOError("cannot produce to Kafka topic '", topic_,
                                      "': ", RdKafka::err2str(code));
      }
      // The local queue is full: serve delivery reports until the brokers catch up.
      producer_.poll(50);
    }
    ++messages_;
    bytes_ += static_cast<int64_t>(payload.size());
    // Serves delivery reports as they come, so they do not pile up until the end.
    producer_.poll(0);
    return arrow::Status::OK();
  }

  int64_t messages() const { return messages_; }
  int64_t bytes() const { return bytes_; }

 private:
  RdKafka::Producer& producer_;
  std::string topic_;
  int64_t messages_ = 0;
  int64_t bytes_ = 0;
};

arrow::Status ProduceJsonRows(const arrow::RecordBatch& batch, const RowKeys& keys,
                              MessageSender& sender) {
  std::string rows;
  ARROW_RETURN_NOT_OK(format::AppendJsonRows(batch, &rows));
  size_t begin = 0;
  for (int64_t row = 0; row < batch.num_rows(); ++row) {
    // JSON escapes newlines inside strings, so each '\n' ends a row.
    size_t end = rows.find('\n', begin);
    std::string_view line(rows.data() + begin, end - begin);
    begin = end + 1;
    if (keys.keyed()) {
      ARROW_ASSIGN_OR_RAISE(std::string key, keys.Key(row));
      ARROW_RETURN_NOT_OK(sender.Send(line, &key));
    } else {
      ARROW_RETURN_NOT_OK(sender.Send(line, nullptr));
    }
  }
  return arrow::Status::OK();
}

arrow::Result<std::shared_ptr<arrow::Buffer>> SerializeStream(const arrow::RecordBatch& batch) {
  ARROW_ASSIGN_OR_RAISE(auto sink, arrow::io::BufferOutputStream::Create());
  ARROW_ASSIGN_OR_RAISE(auto writer, arrow::ipc::MakeStreamWriter(sink, batch.schema()));
  ARROW_RETURN_NOT_OK(writer->WriteRecordBatch(batch));
  ARROW_RETURN_NOT_OK(writer->Close());
  return sink->Finish();
}

// `batch` with each string column as dictionary<int32, string> (one dictionary per message).
arrow::Result<std::shared_ptr<arrow::RecordBatch>> WithStringDictionaries(
    const std::shared_ptr<arrow::RecordBatch>& batch) {
  std::vector<std::shared_ptr<arrow::Array>> columns = batch->columns();
  for (auto& column : columns) {
    if (column->type_id() != arrow::Type::STRING) continue;
    ARROW_ASSIGN_OR_RAISE(arrow::Datum encoded, arrow::compute::DictionaryEncode(column));
    column = encoded.make_array();
  }
  auto schema = delta::data::WithColumnTypes(batch->schema(), columns);
  return arrow::RecordBatch::Make(std::move(schema), batch->num_rows(), std::move(columns));
}

// Sends `batch` as one message, or as halves when it is too large for one.
arrow::Status SendArrow(const std::shared_ptr<arrow::RecordBatch>& batch, const std::string* key,
                        const ProducerOptions& options, MessageSender& sender) {
  std::shared_ptr<arrow::RecordBatch> message = batch;
  if (options.dictionary_strings) {
    ARROW_ASSIGN_OR_RAISE(message, WithStringDictionaries(batch));
  }
  ARROW_ASSIGN_OR_RAISE(auto payload, SerializeStream(*message));
  if (payload->size() > options.max_message_bytes && batch->num_rows() > 1) {
    int64_t half = batch->num_rows() / 2;
    ARROW_RETURN_NOT_OK(SendArrow(batch->Slice(0, half), key, options, sender));
    return SendArrow(batch->Slice(half), key, options, sender);
  }
  return sender.Send(std::string_view(reinterpret_cast<const char*>(payload->data()),
                                      static_cast<size_t>(payload->size())),
                     key);
}

arrow::Status ProduceArrowBatches(const std::shared_ptr<arrow::RecordBatch>& batch,
                                  const RowKeys& keys, const ProducerOptions& options,
                                  MessageSender& sender) {
  // Rows grouped by key, each group in its original order, so every message has one key.
  std::vector<std::pair<std::string, std::shared_ptr<arrow::RecordBatch>>> groups;
  if (!keys.keyed()) {
    groups.emplace_back(std::string(), batch);
  } else {
    std::map<std::string, arrow::Int64Builder> rows_by_key;
    for (int64_t row = 0; row < batch->num_rows(); ++row) {
      ARROW_ASSIGN_OR_RAISE(std::string key, keys.Key(row));
      ARROW_RETURN_NOT_OK(rows_by_key[key].Append(row));
    }
    for (auto& [key, rows] : rows_by_key) {
      ARROW_ASSIGN_OR_RAISE(auto indices, rows.Finish());
      ARROW_ASSIGN_OR_RAISE(arrow::Datum taken, arrow::compute::Take(batch, indices));
      groups.emplace_back(key, taken.record_batch());
    }
  }
  for (const auto& [key, rows] : groups) {
    for (int64_t offset = 0; offset < rows->num_rows(); offset += options.rows_per_message) {
      ARROW_RETURN_NOT_OK(SendArrow(rows->Slice(offset, options.rows_per_message),
                                    keys.keyed() ? &key : nullptr, options, sender));
    }
  }
  return arrow::Status::OK();
}

arrow::Status CheckOptions(const ProducerOptions& options) {
  if (options.bootstrap_servers.empty()) {
    return arrow::Status::Invalid("no Kafka bootstrap servers given (host:port[,host:port...])");
  }
  if (options.topic.empty()) return arrow::Status::Invalid("no Kafka topic given");
  if (options.rows_per_message <= 0) {
    return arrow::Status::Invalid("rows per message must be positive, not ",
                                  options.rows_per_message);
  }
  if (options.max_message_bytes <= 0) {
    return arrow::Status::Invalid("the maximum message size must be positive, not ",
                                  options.max_message_bytes);
  }
  return arrow::Status::OK();
}

}  // namespace

class KafkaProducer::Impl {
 public:
  explicit Impl(ProducerOptions options) : options_(std::move(options)) {}

  arrow::Status Open() {
    if (options_.format == MessageFormat::kArrow) ARROW_RETURN_NOT_OK(InitializeArrowCompute());
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::map<std::string, std::string> properties = {
        {"bootstrap.servers", options_.bootstrap_servers},
        {"client.id", options_.client_id},
        {"enable.idempotence", "true"},
        {"acks", "all"},
        {"compression.codec", "lz4"},
        {"linger.ms", "10"},
        {"message.timeout.ms", std::to_string(options_.delivery_timeout.count())},
    };
    for (const auto& [name, value] : options_.properties) properties[name] = value;
    for (const auto& [name, value] : properties) {
      ARROW_RETURN_NOT_OK(SetProperty(*conf, name, value));
    }
    ARROW_RETURN_NOT_OK(
        SetCallback(*conf, "dr_cb", static_cast<RdKafka::DeliveryReportCb*>(&reports_)));
    ARROW_RETURN_NOT_OK(SetCallback(*conf, "event_cb", static_cast<RdKafka::EventCb*>(&errors_)));
    std::string error;
    producer_.reset(RdKafka::Producer::create(conf.get(), error));
    if (producer_ == nullptr) {
      return arrow::Status::Invalid("cannot create the Kafka producer: ", error);
    }
    ARROW_RETURN_NOT_OK(CheckTopicsExist(*producer_, options_.bootstrap_servers, {options_.topic},
                                         options_.connect_timeout, errors_)
                            .status());
    sender_ = std::make_unique<MessageSender>(*producer_, options_.topic);
    return arrow::Status::OK();
  }

  arrow::Status SendRows(const std::shared_ptr<arrow::RecordBatch>& batch) {
    ARROW_ASSIGN_OR_RAISE(RowKeys keys, RowKeys::Make(*batch, options_.key_column));
    if (options_.format == MessageFormat::kJson) {
      ARROW_RETURN_NOT_OK(ProduceJsonRows(*batch, keys, *sender_));
    } else {
      ARROW_RETURN_NOT_OK(ProduceArrowBatches(batch, keys, options_, *sender_));
    }
    rows_ += batch->num_rows();
    return errors_.FatalError();
  }

  arrow::Status SendPayload(std::string_view payload, const std::string* key,
                            DeliveredPosition* position) {
    ARROW_RETURN_NOT_OK(sender_->Send(payload, key, position));
    return errors_.FatalError();
  }

  arrow::Result<ProduceCounts> Flush() {
    RdKafka::ErrorCode flushed =
        producer_->flush(static_cast<int>(options_.delivery_timeout.count()));
    ProduceCounts counts;
    counts.rows = rows_;
    counts.messages = sender_->messages();
    counts.bytes = sender_->bytes();
    if (reports_.failed() > 0) {
      return arrow::Status::IOError(
          reports_.failed(), " of ", counts.messages, " messages to Kafka topic '", options_.topic,
          "' were not delivered; the first failure: ", reports_.first_failure());
    }
    if (flushed != RdKafka::ERR_NO_ERROR || reports_.delivered() != counts.messages) {
      std::string last = errors_.LastError();
      return arrow::Status::IOError(counts.messages - reports_.delivered(), " of ", counts.messages,
                                    " messages to Kafka topic '", options_.topic,
                                    "' were not acknowledged within ",
                                    options_.delivery_timeout.count(), " ms",
                                    last.empty() ? "" : " (last client error: " + last + ")");
    }
    return counts;
  }

 private:
  ProducerOptions options_;
  // The callbacks outlive the client that calls them.
  DeliveryReports reports_;
  ClientErrorLog errors_;
  std::unique_ptr<RdKafka::Producer> producer_;
  std::unique_ptr<MessageSender> sender_;
  int64_t rows_ = 0;
};

KafkaProducer::KafkaProducer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

KafkaProducer::~KafkaProducer() = default;

arrow::Result<std::unique_ptr<KafkaProducer>> KafkaProducer::Open(const ProducerOptions& options) {
  ARROW_RETURN_NOT_OK(CheckOptions(options));
  auto impl = std::make_unique<Impl>(options);
  ARROW_RETURN_NOT_OK(impl->Open());
  return std::unique_ptr<KafkaProducer>(new KafkaProducer(std::move(impl)));
}

arrow::Status KafkaProducer::SendRows(const std::shared_ptr<arrow::RecordBatch>& batch) {
  return impl_->SendRows(batch);
}

arrow::Status KafkaProducer::SendPayload(std::string_view payload, const std::string* key,
                                         DeliveredPosition* position) {
  return impl_->SendPayload(payload, key, position);
}

arrow::Result<ProduceCounts> KafkaProducer::Flush() { return impl_->Flush(); }

arrow::Result<ProduceCounts> ProduceToKafka(arrow::RecordBatchReader& reader,
                                            const ProducerOptions& options) {
  ARROW_ASSIGN_OR_RAISE(auto producer, KafkaProducer::Open(options));
  arrow::Status produced = [&]() -> arrow::Status {
    while (true) {
      ARROW_ASSIGN_OR_RAISE(auto batch, reader.Next());
      if (batch == nullptr) return arrow::Status::OK();
      ARROW_RETURN_NOT_OK(producer->SendRows(batch));
    }
  }();
  // Even after a failure, wait for what was queued, so the caller learns what was delivered.
  auto flushed = producer->Flush();
  ARROW_RETURN_NOT_OK(produced);
  return flushed;
}

arrow::Result<std::string> EncodeMessage(const std::shared_ptr<arrow::RecordBatch>& batch,
                                         const ProducerOptions& options) {
  if (options.format == MessageFormat::kJson) {
    if (batch->num_rows() != 1) {
      return arrow::Status::Invalid("a JSON message holds one row, not ", batch->num_rows());
    }
    std::string row;
    ARROW_RETURN_NOT_OK(format::AppendJsonRows(*batch, &row));
    if (!row.empty() && row.back() == '\n') row.pop_back();
    return row;
  }
  std::shared_ptr<arrow::RecordBatch> message = batch;
  if (options.dictionary_strings) {
    ARROW_RETURN_NOT_OK(InitializeArrowCompute());
    ARROW_ASSIGN_OR_RAISE(message, WithStringDictionaries(batch));
  }
  ARROW_ASSIGN_OR_RAISE(auto payload, SerializeStream(*message));
  return payload->ToString();
}

}  // namespace nlk::ingest
