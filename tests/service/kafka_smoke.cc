// End-to-end smoke test of a real Kafka broker through librdkafka's C++ API: the path Neuralake's
// stream ingestion takes. Produces messages spread over every partition of an existing topic
// (idempotent producer, acks=all, lz4), consumes them back through a consumer group, commits, and
// checks that each message arrived exactly once, in order per partition, with its key, payload and
// header intact, at the partition and offset the delivery report gave.
//
//   kafka_smoke BOOTSTRAP TOPIC PARTITIONS [MESSAGES]
//
// The topic must already exist with PARTITIONS partitions (scripts/kafka.sh create-topic).
// tests/service/kafka_smoke.sh builds and runs this. Exits 0 only if every check passed; the last
// line is "kafka_smoke: N passed, N failed".

#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

int g_passed = 0;
int g_failed = 0;

void check(bool ok, const std::string& what) {
  if (ok) {
    ++g_passed;
    std::cout << "ok    " << what << '\n';
  } else {
    ++g_failed;
    std::cout << "FAIL  " << what << '\n';
  }
}

[[noreturn]] void fatal(const std::string& what) {
  std::cerr << "kafka_smoke: " << what << '\n';
  std::cout << "kafka_smoke: " << g_passed << " passed, " << (g_failed + 1) << " failed\n";
  std::exit(1);
}

void set(RdKafka::Conf& conf, const std::string& name, const std::string& value) {
  std::string err;
  if (conf.set(name, value, err) != RdKafka::Conf::CONF_OK) {
    fatal("config " + name + "=" + value + ": " + err);
  }
}

struct Delivered {
  int32_t partition = -1;
  int64_t offset = -1;
  bool ok = false;
  std::string error;
};

// Records each delivery report under the message's sequence number (passed as msg_opaque).
class DeliveryReports : public RdKafka::DeliveryReportCb {
 public:
  explicit DeliveryReports(std::vector<Delivered>& out) : out_(out) {}
  void dr_cb(RdKafka::Message& message) override {
    auto seq = reinterpret_cast<std::uintptr_t>(message.msg_opaque());
    if (seq >= out_.size()) return;
    Delivered& d = out_[seq];
    d.partition = message.partition();
    d.offset = message.offset();
    d.ok = message.err() == RdKafka::ERR_NO_ERROR;
    d.error = message.errstr();
  }

 private:
  std::vector<Delivered>& out_;
};

// Surfaces client-level errors (broker down, all brokers unreachable) instead of hiding them.
class Events : public RdKafka::EventCb {
 public:
  void event_cb(RdKafka::Event& event) override {
    if (event.type() == RdKafka::Event::EVENT_ERROR) {
      std::cerr << "kafka_smoke: client error: " << RdKafka::err2str(event.err()) << ": "
                << event.str() << '\n';
    }
  }
};

std::string key_of(std::size_t seq) { return "key-" + std::to_string(seq); }
std::string payload_of(const std::string& run, std::size_t seq) {
  return "run=" + run + " seq=" + std::to_string(seq) +
         " sample=" + std::string(64, 'a' + seq % 26);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: kafka_smoke BOOTSTRAP TOPIC PARTITIONS [MESSAGES]\n";
    return 2;
  }
  const std::string bootstrap = argv[1];
  const std::string topic = argv[2];
  const int partitions = std::atoi(argv[3]);
  const std::size_t count = argc > 4 ? std::strtoul(argv[4], nullptr, 10) : 40;
  if (partitions <= 0 || count == 0) fatal("PARTITIONS and MESSAGES must be positive");

  std::random_device rd;
  const std::string run = std::to_string(rd()) + std::to_string(rd());
  std::cout << "kafka_smoke: librdkafka " << RdKafka::version_str() << ", " << bootstrap
            << ", topic " << topic << ", run " << run << '\n';
  Events events;

  // ---- produce -------------------------------------------------------------------------------
  std::vector<Delivered> delivered(count);
  DeliveryReports reports(delivered);
  std::unique_ptr<RdKafka::Producer> producer;
  {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    set(*conf, "bootstrap.servers", bootstrap);
    set(*conf, "client.id", "nlk-kafka-smoke-producer");
    set(*conf, "enable.idempotence", "true");
    set(*conf, "acks", "all");
    set(*conf, "compression.codec", "lz4");
    set(*conf, "linger.ms", "5");
    set(*conf, "message.timeout.ms", "20000");
    std::string err;
    if (conf->set("dr_cb", &reports, err) != RdKafka::Conf::CONF_OK) fatal(err);
    if (conf->set("event_cb", &events, err) != RdKafka::Conf::CONF_OK) fatal(err);
    producer.reset(RdKafka::Producer::create(conf.get(), err));
    if (!producer) fatal("creating the producer: " + err);
  }

  {
    std::string err;
    std::unique_ptr<RdKafka::Topic> handle(
        RdKafka::Topic::create(producer.get(), topic, nullptr, err));
    if (!handle) fatal("topic handle: " + err);
    RdKafka::Metadata* raw = nullptr;
    RdKafka::ErrorCode code = producer->metadata(false, handle.get(), &raw, 10000);
    std::unique_ptr<RdKafka::Metadata> md(raw);
    if (code != RdKafka::ERR_NO_ERROR) fatal("metadata request: " + RdKafka::err2str(code));
    int have = -1;
    for (const RdKafka::TopicMetadata* t : *md->topics()) {
      if (t->topic() == topic && t->err() == RdKafka::ERR_NO_ERROR) {
        have = static_cast<int>(t->partitions()->size());
      }
    }
    if (have != partitions) {
      fatal("metadata: topic " + topic + " has " + std::to_string(have) + " partitions, want " +
            std::to_string(partitions) + "; create it with scripts/kafka.sh create-topic");
    }
    check(true, "metadata: topic " + topic + " has " + std::to_string(have) + " partitions");
  }

  for (std::size_t seq = 0; seq < count; ++seq) {
    std::string key = key_of(seq);
    std::string payload = payload_of(run, seq);
    RdKafka::Headers* headers = RdKafka::Headers::create();
    headers->add("nlk-run", run);
    RdKafka::ErrorCode code =
        producer->produce(topic, static_cast<int32_t>(seq % partitions),
                          RdKafka::Producer::RK_MSG_COPY, payload.data(), payload.size(),
                          key.data(), key.size(), 0, headers, reinterpret_cast<void*>(seq));
    if (code != RdKafka::ERR_NO_ERROR) {
      delete headers;  // produce() keeps the headers only when it succeeds
      fatal("produce: " + RdKafka::err2str(code));
    }
    producer->poll(0);
  }
  auto t0 = Clock::now();
  RdKafka::ErrorCode flushed = producer->flush(20000);
  auto produce_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  check(flushed == RdKafka::ERR_NO_ERROR && producer->outq_len() == 0,
        "flush: all messages left the queue (" + std::to_string(produce_ms) + " ms)");

  std::size_t delivered_ok = 0;
  std::map<int32_t, std::size_t> per_partition;
  for (std::size_t seq = 0; seq < count; ++seq) {
    const Delivered& d = delivered[seq];
    if (d.ok && d.partition == static_cast<int32_t>(seq % partitions) && d.offset >= 0) {
      ++delivered_ok;
      ++per_partition[d.partition];
    } else if (!d.ok && !d.error.empty()) {
      std::cerr << "kafka_smoke: message " << seq << " failed: " << d.error << '\n';
    }
  }
  check(delivered_ok == count, "delivery reports: " + std::to_string(delivered_ok) + "/" +
                                   std::to_string(count) + " acknowledged at their partition");
  check(static_cast<int>(per_partition.size()) == partitions,
        "every partition got messages (" + std::to_string(per_partition.size()) + "/" +
            std::to_string(partitions) + ")");
  producer.reset();

  // ---- consume through a consumer group --------------------------------------------------------
  std::unique_ptr<RdKafka::KafkaConsumer> consumer;
  const std::string group = "nlk-kafka-smoke-" + run;
  {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    set(*conf, "bootstrap.servers", bootstrap);
    set(*conf, "client.id", "nlk-kafka-smoke-consumer");
    set(*conf, "group.id", group);
    set(*conf, "auto.offset.reset", "earliest");
    set(*conf, "enable.auto.commit", "false");
    set(*conf, "enable.partition.eof", "false");
    set(*conf, "isolation.level", "read_committed");
    std::string err;
    if (conf->set("event_cb", &events, err) != RdKafka::Conf::CONF_OK) fatal(err);
    consumer.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
    if (!consumer) fatal("creating the consumer: " + err);
  }
  if (RdKafka::ErrorCode code = consumer->subscribe({topic}); code != RdKafka::ERR_NO_ERROR) {
    fatal("subscribe: " + RdKafka::err2str(code));
  }

  std::vector<int> seen(count, 0);
  std::size_t matched = 0;
  std::size_t wrong = 0;
  std::size_t out_of_order = 0;
  std::map<int32_t, int64_t> last_seq;     // per partition, to check ordering
  std::map<int32_t, int64_t> next_offset;  // per partition, what to commit
  t0 = Clock::now();
  const auto deadline = t0 + std::chrono::seconds(30);
  while (matched < count && Clock::now() < deadline) {
    std::unique_ptr<RdKafka::Message> msg(consumer->consume(500));
    if (msg->err() == RdKafka::ERR__TIMED_OUT) continue;
    if (msg->err() != RdKafka::ERR_NO_ERROR) {
      std::cerr << "kafka_smoke: consume: " << msg->errstr() << '\n';
      continue;
    }
    next_offset[msg->partition()] = msg->offset() + 1;
    const RdKafka::Headers* headers = msg->headers();
    std::string header_run;
    if (headers != nullptr) {
      for (const RdKafka::Headers::Header& h : headers->get("nlk-run")) {
        header_run.assign(static_cast<const char*>(h.value()), h.value_size());
      }
    }
    if (header_run != run) continue;  // left in the topic by an earlier run
    std::string_view payload(static_cast<const char*>(msg->payload()), msg->len());
    const std::string* key = msg->key();
    std::size_t seq = count;
    if (key != nullptr && key->rfind("key-", 0) == 0)
      seq = std::strtoul(key->c_str() + 4, nullptr, 10);
    if (seq >= count || payload != payload_of(run, seq) ||
        delivered[seq].partition != msg->partition() || delivered[seq].offset != msg->offset()) {
      ++wrong;
      continue;
    }
    if (auto it = last_seq.find(msg->partition());
        it != last_seq.end() && it->second >= int64_t(seq)) {
      ++out_of_order;
    }
    last_seq[msg->partition()] = static_cast<int64_t>(seq);
    if (seen[seq]++ == 0) ++matched;
  }
  auto consume_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  std::size_t duplicates = 0;
  for (int n : seen) duplicates += n > 1 ? n - 1 : 0;
  check(matched == count, "consumed " + std::to_string(matched) + "/" + std::to_string(count) +
                              " messages with key, payload, header, partition and offset intact (" +
                              std::to_string(consume_ms) + " ms, group join included)");
  check(wrong == 0 && duplicates == 0, "no corrupt (" + std::to_string(wrong) + ") or duplicate (" +
                                           std::to_string(duplicates) + ") messages");
  check(out_of_order == 0, "order kept within each partition");

  // ---- commit and read the committed offsets back ----------------------------------------------
  std::vector<RdKafka::TopicPartition*> offsets;
  for (const auto& [partition, offset] : next_offset) {
    offsets.push_back(RdKafka::TopicPartition::create(topic, partition, offset));
  }
  RdKafka::ErrorCode committed = consumer->commitSync(offsets);
  std::vector<RdKafka::TopicPartition*> readback;
  for (const auto& [partition, offset] : next_offset) {
    readback.push_back(RdKafka::TopicPartition::create(topic, partition));
  }
  RdKafka::ErrorCode fetched = consumer->committed(readback, 10000);
  bool same = committed == RdKafka::ERR_NO_ERROR && fetched == RdKafka::ERR_NO_ERROR &&
              readback.size() == static_cast<std::size_t>(partitions);
  for (RdKafka::TopicPartition* tp : readback) {
    same =
        same && tp->err() == RdKafka::ERR_NO_ERROR && tp->offset() == next_offset[tp->partition()];
  }
  check(same, "group " + group + " committed offsets on " + std::to_string(readback.size()) +
                  " partitions and reads them back");
  RdKafka::TopicPartition::destroy(offsets);
  RdKafka::TopicPartition::destroy(readback);
  consumer->close();
  consumer.reset();
  RdKafka::wait_destroyed(5000);

  std::cout << "kafka_smoke: " << g_passed << " passed, " << g_failed << " failed\n";
  return g_failed == 0 ? 0 : 1;
}
