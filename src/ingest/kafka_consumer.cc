#include "ingest/kafka_consumer.h"

#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <mutex>
#include <utility>

#include "common/parse_number.h"
#include "ingest/kafka_client.h"

namespace nlk::ingest {
namespace {

// A payload buffer that owns the librdkafka message it points into, so decoding needs no copy.
// It also shares ownership of the client: librdkafka's destroy blocks until every message is
// freed, so the last message (perhaps held by a dead letter) must be what lets the client go.
class MessageBuffer : public arrow::Buffer {
 public:
  MessageBuffer(std::unique_ptr<RdKafka::Message> message,
                std::shared_ptr<RdKafka::KafkaConsumer> client)
      : arrow::Buffer(static_cast<const uint8_t*>(message->payload()),
                      static_cast<int64_t>(message->len())),
        client_(std::move(client)),
        message_(std::move(message)) {}

 private:
  // Declared first so that it is released after the message.
  std::shared_ptr<RdKafka::KafkaConsumer> client_;
  std::unique_ptr<RdKafka::Message> message_;
};

KafkaMessage ToKafkaMessage(std::unique_ptr<RdKafka::Message> message,
                            const std::shared_ptr<RdKafka::KafkaConsumer>& client) {
  KafkaMessage result;
  result.topic = message->topic_name();
  result.partition = message->partition();
  result.offset = message->offset();
  RdKafka::MessageTimestamp timestamp = message->timestamp();
  if (timestamp.type != RdKafka::MessageTimestamp::MSG_TIMESTAMP_NOT_AVAILABLE) {
    result.timestamp_ms = timestamp.timestamp;
  }
  if (message->key_pointer() != nullptr) {
    result.key.emplace(static_cast<const char*>(message->key_pointer()), message->key_len());
  }
  if (message->payload() == nullptr) {
    result.payload = std::make_shared<arrow::Buffer>(nullptr, 0);
  } else {
    result.payload = std::make_shared<MessageBuffer>(std::move(message), client);
  }
  return result;
}

// librdkafka's partition lists are vectors of owned raw pointers; this frees them on scope exit.
class PartitionList {
 public:
  PartitionList() = default;
  explicit PartitionList(const std::vector<TopicPartition>& partitions) {
    for (const auto& partition : partitions) {
      list_.push_back(RdKafka::TopicPartition::create(partition.topic, partition.partition));
    }
  }
  explicit PartitionList(const std::vector<PartitionStart>& starts) {
    for (const auto& start : starts) {
      list_.push_back(RdKafka::TopicPartition::create(
          start.topic_partition.topic, start.topic_partition.partition, start.offset));
    }
  }
  ~PartitionList() { RdKafka::TopicPartition::destroy(list_); }
  PartitionList(const PartitionList&) = delete;
  PartitionList& operator=(const PartitionList&) = delete;

  std::vector<RdKafka::TopicPartition*>& get() { return list_; }

 private:
  std::vector<RdKafka::TopicPartition*> list_;
};

std::vector<TopicPartition> ToTopicPartitions(
    const std::vector<RdKafka::TopicPartition*>& partitions) {
  std::vector<TopicPartition> result;
  result.reserve(partitions.size());
  for (const RdKafka::TopicPartition* partition : partitions) {
    result.push_back({partition->topic(), partition->partition()});
  }
  return result;
}

}  // namespace

class KafkaConsumer::Callbacks : public RdKafka::RebalanceCb, public ClientErrorLog {
 public:
  explicit Callbacks(KafkaConsumer* owner) : owner_(owner) {}

  void rebalance_cb(RdKafka::KafkaConsumer* /*consumer*/, RdKafka::ErrorCode error,
                    std::vector<RdKafka::TopicPartition*>& partitions) override {
    owner_->HandleRebalance(static_cast<int>(error), partitions);
  }

 private:
  KafkaConsumer* owner_;
};

KafkaConsumer::KafkaConsumer(ConsumerOptions options, RebalanceListener* listener)
    : options_(std::move(options)),
      listener_(listener),
      callbacks_(std::make_shared<Callbacks>(this)) {}

arrow::Result<std::unique_ptr<KafkaConsumer>> KafkaConsumer::Open(const ConsumerOptions& options,
                                                                  RebalanceListener* listener) {
  if (listener == nullptr) return arrow::Status::Invalid("a Kafka consumer needs a listener");
  if (options.bootstrap_servers.empty()) {
    return arrow::Status::Invalid("no Kafka bootstrap servers given (host:port[,host:port...])");
  }
  if (options.group_id.empty()) return arrow::Status::Invalid("no Kafka consumer group given");
  if (options.topics.empty()) return arrow::Status::Invalid("no Kafka topics to consume");
  for (const auto& [name, value] : options.properties) {
    if ((name == "enable.auto.commit" || name == "enable.auto.offset.store") && value != "false") {
      return arrow::Status::Invalid(
          name, "=", value,
          " is not allowed: the Delta table records the consumed offsets, and automatic Kafka "
          "commits would make a restart skip or repeat messages");
    }
  }

  std::unique_ptr<KafkaConsumer> consumer(new KafkaConsumer(options, listener));
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::map<std::string, std::string> properties = {
      {"bootstrap.servers", options.bootstrap_servers},
      {"group.id", options.group_id},
      {"client.id", options.client_id},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "error"},
      // Not cooperative-sticky: see the header (a librdkafka 2.0.2 abort on close).
      {"partition.assignment.strategy", "roundrobin"},
      {"enable.partition.eof", "false"},
      {"allow.auto.create.topics", "false"},
  };
  if (options.prefetch_bytes > 0) {
    // librdkafka accepts 1 KiB .. 2 GiB for the queue and at least 1 for a fetch.
    const int64_t kilobytes = std::clamp<int64_t>(options.prefetch_bytes / 1024, 1, 2097151);
    properties["queued.max.messages.kbytes"] = std::to_string(kilobytes);
    properties["fetch.max.bytes"] = std::to_string(std::max<int64_t>(1, kilobytes / 2) * 1024);
  }
  for (const auto& [name, value] : options.properties) properties[name] = value;
  for (const auto& [name, value] : properties) {
    ARROW_RETURN_NOT_OK(SetProperty(*conf, name, value));
  }
  // Accepted by librdkafka just above, so these parse.
  if (auto it = properties.find("queued.max.messages.kbytes"); it != properties.end()) {
    consumer->queue_limit_bytes_ = ParseNumber<int64_t>(it->second).value_or(0) * 1024;
  }
  if (auto it = properties.find("queued.min.messages"); it != properties.end()) {
    consumer->queue_limit_messages_ = ParseNumber<int64_t>(it->second).value_or(0);
  }
  ARROW_RETURN_NOT_OK(SetCallback(*conf, "rebalance_cb",
                                  static_cast<RdKafka::RebalanceCb*>(consumer->callbacks_.get())));
  ARROW_RETURN_NOT_OK(
      SetCallback(*conf, "event_cb", static_cast<RdKafka::EventCb*>(consumer->callbacks_.get())));

  std::string error;
  RdKafka::KafkaConsumer* client = RdKafka::KafkaConsumer::create(conf.get(), error);
  if (client == nullptr) return arrow::Status::Invalid("cannot create the Kafka consumer: ", error);
  // The client may outlive this object (see MessageBuffer), and it calls the event callback until
  // it is destroyed, so it keeps the callbacks alive. Rebalance callbacks end with close().
  consumer->consumer_ = std::shared_ptr<RdKafka::KafkaConsumer>(
      client,
      [callbacks = consumer->callbacks_](RdKafka::KafkaConsumer* doomed) { delete doomed; });
  ARROW_RETURN_NOT_OK(CheckTopicsExist(*consumer->consumer_, options.bootstrap_servers,
                                       options.topics, options.connect_timeout,
                                       *consumer->callbacks_));
  RdKafka::ErrorCode code = consumer->consumer_->subscribe(options.topics);
  if (code != RdKafka::ERR_NO_ERROR) {
    return arrow::Status::IOError("cannot subscribe to the Kafka topics: ", RdKafka::err2str(code));
  }
  return consumer;
}

KafkaConsumer::~KafkaConsumer() {
  // A destructor cannot report; a caller that cares about the final revocation calls Close().
  arrow::Status ignored = Close();
}

void KafkaConsumer::Fail(arrow::Status status) {
  if (pending_error_.ok()) pending_error_ = std::move(status);
}

void KafkaConsumer::HandleRebalance(int error, std::vector<RdKafka::TopicPartition*>& partitions) {
  // Assigned partitions have no position from a returned message yet; revoked ones are gone.
  for (const TopicPartition& partition : ToTopicPartitions(partitions)) {
    next_offsets_.erase(partition);
  }
  const bool cooperative = consumer_->rebalance_protocol() == "COOPERATIVE";
  std::vector<TopicPartition> ours = ToTopicPartitions(partitions);
  if (error == RdKafka::ERR__ASSIGN_PARTITIONS) {
    arrow::Result<std::vector<PartitionStart>> starts = listener_->OnAssigned(ours);
    if (!starts.ok()) {
      Fail(starts.status().WithMessage("cannot take over Kafka partitions: ",
                                       starts.status().message()));
      return;
    }
    for (RdKafka::TopicPartition* partition : partitions) {
      bool found = false;
      for (const PartitionStart& start : *starts) {
        if (start.topic_partition.topic == partition->topic() &&
            start.topic_partition.partition == partition->partition()) {
          partition->set_offset(start.offset);
          found = true;
        }
      }
      if (!found) {
        Fail(arrow::Status::Invalid(
            "the rebalance listener gave no start offset for ",
            TopicPartition{partition->topic(), partition->partition()}.ToString()));
        return;
      }
    }
    if (cooperative) {
      std::unique_ptr<RdKafka::Error> failure(consumer_->incremental_assign(partitions));
      if (failure) Fail(arrow::Status::IOError("Kafka incremental assign: ", failure->str()));
    } else {
      RdKafka::ErrorCode code = consumer_->assign(partitions);
      if (code != RdKafka::ERR_NO_ERROR) {
        Fail(arrow::Status::IOError("Kafka assign: ", RdKafka::err2str(code)));
      }
    }
    return;
  }

  if (error == RdKafka::ERR__REVOKE_PARTITIONS) {
    arrow::Status status = listener_->OnRevoked(ours, consumer_->assignment_lost());
    if (!status.ok()) Fail(std::move(status));
  } else {
    Fail(arrow::Status::IOError("Kafka rebalance failed: ",
                                RdKafka::err2str(static_cast<RdKafka::ErrorCode>(error))));
  }
  // The partitions go whatever the listener said: the group has moved on, and the new owner
  // resumes them from the table.
  if (cooperative) {
    std::unique_ptr<RdKafka::Error> failure(consumer_->incremental_unassign(partitions));
    if (failure) Fail(arrow::Status::IOError("Kafka incremental unassign: ", failure->str()));
  } else {
    RdKafka::ErrorCode code = consumer_->unassign();
    if (code != RdKafka::ERR_NO_ERROR) {
      Fail(arrow::Status::IOError("Kafka unassign: ", RdKafka::err2str(code)));
    }
  }
}

arrow::Result<std::vector<KafkaMessage>> KafkaConsumer::Poll(std::chrono::milliseconds timeout,
                                                             size_t max_messages) {
  if (closed_) return arrow::Status::Invalid("the Kafka consumer is closed");
  std::vector<KafkaMessage> messages;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (messages.size() < max_messages) {
    int wait_ms = 0;
    // After a run that may have filled the queue, first look whether it is empty now, without
    // waiting: then fetching has to be restarted before waiting makes sense.
    if (messages.empty() && !QueueMayHaveFilled()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      wait_ms = static_cast<int>(std::max<int64_t>(0, left.count()));
    }
    std::unique_ptr<RdKafka::Message> message(consumer_->consume(wait_ms));
    ARROW_RETURN_NOT_OK(pending_error_);
    ARROW_RETURN_NOT_OK(callbacks_->FatalError());
    switch (message->err()) {
      case RdKafka::ERR_NO_ERROR:
        run_bytes_ += static_cast<int64_t>(message->len());
        ++run_messages_;
        next_offsets_[{message->topic_name(), message->partition()}] = message->offset() + 1;
        messages.push_back(ToKafkaMessage(std::move(message), consumer_));
        continue;
      case RdKafka::ERR__TIMED_OUT:
        if (QueueMayHaveFilled()) StartFetching();
        run_bytes_ = 0;
        run_messages_ = 0;
        // consume() also returns early after serving a rebalance; wait out the rest.
        if (messages.empty() && std::chrono::steady_clock::now() < deadline) continue;
        return messages;
      case RdKafka::ERR__PARTITION_EOF:
        continue;
      case RdKafka::ERR__AUTO_OFFSET_RESET:
      case RdKafka::ERR_OFFSET_OUT_OF_RANGE:
        return arrow::Status::IOError(
            "Kafka no longer holds the position recorded for ",
            TopicPartition{message->topic_name(), message->partition()}.ToString(),
            " in the table (", message->errstr(),
            "); the messages in between were deleted by the topic's retention. Resuming would "
            "skip them silently, so ingestion stops: check the retention, then restart with a "
            "table that records no position for this partition, or accept the loss explicitly");
      case RdKafka::ERR_UNKNOWN_TOPIC_OR_PART:
      case RdKafka::ERR_TOPIC_AUTHORIZATION_FAILED:
      case RdKafka::ERR_GROUP_AUTHORIZATION_FAILED:
        return arrow::Status::IOError("Kafka consumer: ", message->errstr());
      default:
        // Broker restarts and network blips are retried inside librdkafka.
        callbacks_->Record(message->errstr());
        if (messages.empty() && std::chrono::steady_clock::now() < deadline) continue;
        return messages;
    }
  }
  return messages;
}

bool KafkaConsumer::QueueMayHaveFilled() const {
  return 2 * run_bytes_ >= queue_limit_bytes_ || 2 * run_messages_ >= queue_limit_messages_;
}

void KafkaConsumer::StartFetching() {
  if (!next_offsets_.empty()) ++fetch_restarts_;
  for (const auto& [partition, next] : next_offsets_) {
    std::unique_ptr<RdKafka::TopicPartition> position(
        RdKafka::TopicPartition::create(partition.topic, partition.partition, next));
    // Asynchronous (no timeout): a failure costs at most the wait this avoids.
    (void)consumer_->seek(*position, 0);
  }
}

arrow::Status KafkaConsumer::Seek(const PartitionStart& start, std::chrono::milliseconds timeout) {
  if (closed_) return arrow::Status::Invalid("the Kafka consumer is closed");
  // Until a message from the new position is returned, the offset after the last one returned is
  // not where this partition goes on; see StartFetching().
  next_offsets_.erase(start.topic_partition);
  std::unique_ptr<RdKafka::TopicPartition> partition(RdKafka::TopicPartition::create(
      start.topic_partition.topic, start.topic_partition.partition, start.offset));
  RdKafka::ErrorCode code = consumer_->seek(*partition, static_cast<int>(timeout.count()));
  if (code != RdKafka::ERR_NO_ERROR) {
    return arrow::Status::IOError("cannot seek ", start.topic_partition.ToString(), " to offset ",
                                  start.offset, ": ", RdKafka::err2str(code));
  }
  return arrow::Status::OK();
}

arrow::Status KafkaConsumer::Pause(const std::vector<TopicPartition>& partitions) {
  if (closed_) return arrow::Status::Invalid("the Kafka consumer is closed");
  PartitionList list(partitions);
  RdKafka::ErrorCode code = consumer_->pause(list.get());
  if (code != RdKafka::ERR_NO_ERROR) {
    return arrow::Status::IOError("cannot pause Kafka partitions: ", RdKafka::err2str(code));
  }
  return arrow::Status::OK();
}

arrow::Status KafkaConsumer::Resume(const std::vector<TopicPartition>& partitions) {
  if (closed_) return arrow::Status::Invalid("the Kafka consumer is closed");
  PartitionList list(partitions);
  RdKafka::ErrorCode code = consumer_->resume(list.get());
  if (code != RdKafka::ERR_NO_ERROR) {
    return arrow::Status::IOError("cannot resume Kafka partitions: ", RdKafka::err2str(code));
  }
  return arrow::Status::OK();
}

arrow::Status KafkaConsumer::CommitForLag(const std::vector<PartitionStart>& positions) {
  if (closed_) return arrow::Status::Invalid("the Kafka consumer is closed");
  if (positions.empty()) return arrow::Status::OK();
  PartitionList list(positions);
  RdKafka::ErrorCode code = consumer_->commitAsync(list.get());
  if (code != RdKafka::ERR_NO_ERROR) {
    return arrow::Status::IOError("cannot report offsets to Kafka: ", RdKafka::err2str(code));
  }
  return arrow::Status::OK();
}

arrow::Result<std::vector<TopicPartition>> KafkaConsumer::Assignment() {
  if (closed_) return arrow::Status::Invalid("the Kafka consumer is closed");
  PartitionList list;
  RdKafka::ErrorCode code = consumer_->assignment(list.get());
  if (code != RdKafka::ERR_NO_ERROR) {
    return arrow::Status::IOError("cannot read the Kafka assignment: ", RdKafka::err2str(code));
  }
  return ToTopicPartitions(list.get());
}

std::optional<std::pair<int64_t, int64_t>> KafkaConsumer::CachedWatermarks(
    const TopicPartition& partition) {
  if (closed_) return std::nullopt;
  int64_t low = 0;
  int64_t high = 0;
  RdKafka::ErrorCode code =
      consumer_->get_watermark_offsets(partition.topic, partition.partition, &low, &high);
  if (code != RdKafka::ERR_NO_ERROR || low < 0 || high < 0) return std::nullopt;
  return std::make_pair(low, high);
}

std::string KafkaConsumer::RebalanceProtocol() {
  return closed_ ? std::string() : consumer_->rebalance_protocol();
}

arrow::Status KafkaConsumer::Close() {
  if (closed_ || consumer_ == nullptr) return arrow::Status::OK();
  closed_ = true;
  RdKafka::ErrorCode code = consumer_->close();
  if (code != RdKafka::ERR_NO_ERROR) {
    return arrow::Status::IOError("closing the Kafka consumer: ", RdKafka::err2str(code));
  }
  return pending_error_;
}

}  // namespace nlk::ingest
