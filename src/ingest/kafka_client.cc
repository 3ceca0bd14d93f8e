#include "ingest/kafka_client.h"

#include <memory>
#include <utility>

namespace nlk::ingest {

arrow::Result<std::map<std::string, std::string>> ParseKafkaProperties(
    const std::vector<std::string>& pairs) {
  std::map<std::string, std::string> properties;
  for (const std::string& pair : pairs) {
    const size_t equals = pair.find('=');
    if (equals == std::string::npos || equals == 0) {
      return arrow::Status::Invalid("--kafka-property '", pair,
                                    "' must be NAME=VALUE, e.g. security.protocol=SASL_SSL");
    }
    properties[pair.substr(0, equals)] = pair.substr(equals + 1);
  }
  return properties;
}

arrow::Status SetProperty(RdKafka::Conf& conf, const std::string& name, const std::string& value) {
  std::string error;
  if (conf.set(name, value, error) != RdKafka::Conf::CONF_OK) {
    return arrow::Status::Invalid("Kafka client property ", name, "=", value, ": ", error);
  }
  return arrow::Status::OK();
}

void ClientErrorLog::event_cb(RdKafka::Event& event) {
  switch (event.type()) {
    case RdKafka::Event::EVENT_ERROR: {
      std::string text = RdKafka::err2str(event.err()) + ": " + event.str();
      std::lock_guard<std::mutex> lock(mutex_);
      last_error_ = text;
      if (event.fatal() && fatal_.ok()) {
        fatal_ = arrow::Status::IOError("fatal Kafka client error: ", text);
      }
      break;
    }
    case RdKafka::Event::EVENT_LOG:
      if (event.severity() <= RdKafka::Event::EVENT_SEVERITY_ERROR) Record(event.str());
      break;
    default:
      break;
  }
}

void ClientErrorLog::Record(const std::string& error) {
  std::lock_guard<std::mutex> lock(mutex_);
  last_error_ = error;
}

std::string ClientErrorLog::LastError() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_error_;
}

arrow::Status ClientErrorLog::FatalError() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return fatal_;
}

arrow::Result<std::map<std::string, int>> CheckTopicsExist(RdKafka::Handle& handle,
                                                           const std::string& bootstrap_servers,
                                                           const std::vector<std::string>& topics,
                                                           std::chrono::milliseconds timeout,
                                                           const ClientErrorLog& errors) {
  std::map<std::string, int> partitions;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (const std::string& topic : topics) {
    std::string error;
    std::unique_ptr<RdKafka::Topic> handle_topic(
        RdKafka::Topic::create(&handle, topic, nullptr, error));
    if (handle_topic == nullptr) {
      return arrow::Status::Invalid("Kafka topic '", topic, "': ", error);
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    RdKafka::Metadata* raw = nullptr;
    RdKafka::ErrorCode code = handle.metadata(/*all_topics=*/false, handle_topic.get(), &raw,
                                              static_cast<int>(std::max<int64_t>(1, left.count())));
    std::unique_ptr<RdKafka::Metadata> metadata(raw);
    if (code != RdKafka::ERR_NO_ERROR) {
      std::string last = errors.LastError();
      return arrow::Status::IOError(
          "cannot reach Kafka at ", bootstrap_servers, " within ", timeout.count(), " ms (",
          RdKafka::err2str(code), last.empty() ? "" : "; last client error: " + last,
          "): check the bootstrap address and that the brokers are running");
    }
    int count = -1;
    for (const RdKafka::TopicMetadata* described : *metadata->topics()) {
      if (described->topic() != topic) continue;
      if (described->err() == RdKafka::ERR_NO_ERROR) {
        count = static_cast<int>(described->partitions()->size());
      } else if (described->err() != RdKafka::ERR_UNKNOWN_TOPIC_OR_PART) {
        return arrow::Status::IOError("Kafka topic '", topic,
                                      "': ", RdKafka::err2str(described->err()));
      }
    }
    if (count <= 0) {
      return arrow::Status::IOError("Kafka topic '", topic, "' does not exist at ",
                                    bootstrap_servers, "; create it first (for a local broker: ",
                                    "scripts/kafka.sh create-topic ", topic, " PARTITIONS)");
    }
    partitions[topic] = count;
  }
  return partitions;
}

}  // namespace nlk::ingest
