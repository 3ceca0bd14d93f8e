// The broker of the Kafka tests: its address from NLK_KAFKA_BOOTSTRAP (scripts/kafka.sh env;
// scripts/run-integration-tests.sh starts one), a skip without it, and fresh topics.
#pragma once

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>

namespace nlk::kafka_test {

inline std::string KafkaBootstrap() {
  const char* value = std::getenv("NLK_KAFKA_BOOTSTRAP");
  return value == nullptr ? "" : value;
}

#define NLK_REQUIRE_KAFKA()                                                  \
  if (::nlk::kafka_test::KafkaBootstrap().empty()) {                         \
    GTEST_SKIP() << "NLK_KAFKA_BOOTSTRAP is unset (scripts/kafka.sh start)"; \
  }

// `prefix` and a random suffix: topics and groups of one run never meet those of another.
inline std::string UniqueName(const std::string& prefix) {
  std::random_device random;
  return prefix + "-" + std::to_string(random()) + std::to_string(random());
}

// Creates a topic with the admin API and waits for the result.
inline void CreateTopic(const std::string& name, int partitions) {
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  ASSERT_EQ(
      rd_kafka_conf_set(conf, "bootstrap.servers", KafkaBootstrap().c_str(), error, sizeof error),
      RD_KAFKA_CONF_OK);
  rd_kafka_t* client = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  ASSERT_NE(client, nullptr) << error;
  rd_kafka_NewTopic_t* topic =
      rd_kafka_NewTopic_new(name.c_str(), partitions, 1, error, sizeof error);
  rd_kafka_queue_t* queue = rd_kafka_queue_new(client);
  rd_kafka_CreateTopics(client, &topic, 1, nullptr, queue);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 30000);
  ASSERT_NE(event, nullptr) << "no answer to CreateTopics";
  const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(event);
  size_t count = 0;
  const rd_kafka_topic_result_t** topics = rd_kafka_CreateTopics_result_topics(result, &count);
  ASSERT_EQ(count, 1u);
  EXPECT_EQ(rd_kafka_topic_result_error(topics[0]), RD_KAFKA_RESP_ERR_NO_ERROR)
      << rd_kafka_topic_result_error_string(topics[0]);
  rd_kafka_event_destroy(event);
  rd_kafka_queue_destroy(queue);
  rd_kafka_NewTopic_destroy(topic);
  // The controller answers once the topic is created; the broker learns of it a moment later.
  // Wait until its metadata lists the partitions, as the clients under test will ask it.
  rd_kafka_topic_t* handle = rd_kafka_topic_new(client, name.c_str(), nullptr);
  bool listed = false;
  for (int attempt = 0; attempt < 100 && !listed; ++attempt) {
    const rd_kafka_metadata_t* metadata = nullptr;
    if (rd_kafka_metadata(client, 0, handle, &metadata, 1000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      for (int i = 0; i < metadata->topic_cnt; ++i) {
        const rd_kafka_metadata_topic_t& described = metadata->topics[i];
        listed =
            listed || (name == described.topic && described.err == RD_KAFKA_RESP_ERR_NO_ERROR &&
                       described.partition_cnt == partitions);
      }
      rd_kafka_metadata_destroy(metadata);
    }
    if (!listed) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  rd_kafka_topic_destroy(handle);
  rd_kafka_destroy(client);
  ASSERT_TRUE(listed) << "topic " << name << " was created but the broker did not list it";
}

}  // namespace nlk::kafka_test
