// What the consumer and the producer share on top of librdkafka: setting properties with clear
// errors, collecting client errors for error messages, and checking that the cluster answers and
// the topics exist before any work starts.
#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <arrow/result.h>
#include <arrow/status.h>

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace nlk::ingest {

arrow::Status SetProperty(RdKafka::Conf& conf, const std::string& name, const std::string& value);

// Command-line `--kafka-property NAME=VALUE` pairs as a map (a later pair wins); librdkafka checks
// the names and values when they are set.
arrow::Result<std::map<std::string, std::string>> ParseKafkaProperties(
    const std::vector<std::string>& pairs);

template <typename Callback>
arrow::Status SetCallback(RdKafka::Conf& conf, const std::string& name, Callback* callback) {
  std::string error;
  if (conf.set(name, callback, error) != RdKafka::Conf::CONF_OK) {
    return arrow::Status::Invalid("librdkafka ", name, ": ", error);
  }
  return arrow::Status::OK();
}

// Keeps the last error librdkafka reported (connection refused, broker down, ...) so that a
// timeout can say why, and any fatal error so that it stops the client.
//
// Thread-safety: thread-safe; librdkafka calls it from its own threads.
class ClientErrorLog : public RdKafka::EventCb {
 public:
  void event_cb(RdKafka::Event& event) override;

  void Record(const std::string& error);
  // The last error seen, or "" when there was none.
  std::string LastError() const;
  // OK unless librdkafka reported a fatal error (the client cannot continue).
  arrow::Status FatalError() const;

 private:
  mutable std::mutex mutex_;
  std::string last_error_;
  arrow::Status fatal_;
};

// Asks the cluster for each topic's metadata, waiting at most `timeout` in all, and returns the
// partition count of each. An unreachable cluster is an IOError naming `bootstrap_servers` and
// the last client error; a missing topic is an IOError that says how to create it.
arrow::Result<std::map<std::string, int>> CheckTopicsExist(RdKafka::Handle& handle,
                                                           const std::string& bootstrap_servers,
                                                           const std::vector<std::string>& topics,
                                                           std::chrono::milliseconds timeout,
                                                           const ClientErrorLog& errors);

}  // namespace nlk::ingest
