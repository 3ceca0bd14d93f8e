// A consumer-group member over librdkafka's KafkaConsumer, shaped for exactly-once ingest into
// Delta: the table, not Kafka, knows where each partition resumes.
//
//   - Offsets are never committed automatically (enable.auto.commit=false,
//     enable.auto.offset.store=false) and Kafka's committed offsets are never read: on every
//     assignment the RebalanceListener says where each partition starts (from the table's txn
//     actions), and those offsets go into the assignment itself, so no message from another
//     position is fetched first. CommitForLag() may report progress to Kafka, for lag dashboards
//     only.
//   - Rebalancing is eager (the roundrobin assignor) by default: on a rebalance every member
//     hands back all its partitions, and the listener hears of it first so the writer commits
//     what it buffered for them; a partition lost without notice (the session timed out) is
//     reported as lost, and its buffered rows must be dropped, not committed. The incremental
//     cooperative-sticky assignor also works (set partition.assignment.strategy), but the
//     librdkafka 2.0.2 that Debian ships aborts on an assertion in that assignor's state
//     teardown when a member closes, so it is not the default.
//   - A position the table recorded but Kafka no longer holds (retention deleted it) is an error,
//     not a silent jump (auto.offset.reset=error): skipping would lose samples unnoticed.
//
// Thread-safety: not thread-safe. One thread calls everything; the listener runs on that thread,
// inside Poll() and Close().
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ingest/kafka_message.h"
#include "ingest/partition_offsets.h"

namespace RdKafka {
class KafkaConsumer;
class TopicPartition;
}  // namespace RdKafka

namespace nlk::ingest {

class RebalanceListener {
 public:
  virtual ~RebalanceListener() = default;
  // `partitions` were assigned to this member; returns where each one starts (one entry per
  // partition). An error stops consumption: the partitions stay unassigned and Poll() fails.
  virtual arrow::Result<std::vector<PartitionStart>> OnAssigned(
      const std::vector<TopicPartition>& partitions) = 0;
  // `partitions` are about to be taken away. When `lost` is false the writer may still commit
  // what it buffered for them; when true another member may already own them, and buffered rows
  // for them must be dropped. An error is reported by the next Poll(); the partitions go anyway.
  virtual arrow::Status OnRevoked(const std::vector<TopicPartition>& partitions, bool lost) = 0;
};

struct ConsumerOptions {
  std::string bootstrap_servers;
  std::string group_id;
  std::vector<std::string> topics;
  std::string client_id = "nlk-ingest";
  // How long Open() waits for the cluster to answer before reporting it unreachable.
  std::chrono::milliseconds connect_timeout{10000};
  // How many bytes of fetched messages librdkafka may queue ahead of Poll() (0: librdkafka's own
  // defaults, a 64 MiB queue and 50 MB fetches). Sets queued.max.messages.kbytes to this and
  // fetch.max.bytes to half of it, so that prefetched data stays below 1.5 times it (the queue
  // may be overshot by one fetch response). The high-level consumer has one queue for all its
  // partitions, so the bound does not grow with the assignment. `properties` override both.
  int64_t prefetch_bytes = 0;
  // Further librdkafka properties (security, fetch sizes, session timeout, or an eager
  // partition.assignment.strategy); they may not turn on automatic offset commits.
  std::map<std::string, std::string> properties;
};

class KafkaConsumer {
 public:
  // Connects, checks that every topic exists, and subscribes. `listener` must outlive the
  // consumer. An unreachable cluster is an IOError after connect_timeout.
  static arrow::Result<std::unique_ptr<KafkaConsumer>> Open(const ConsumerOptions& options,
                                                            RebalanceListener* listener);
  // Closes (leaving the group) if Close() was not called.
  ~KafkaConsumer();
  KafkaConsumer(const KafkaConsumer&) = delete;
  KafkaConsumer& operator=(const KafkaConsumer&) = delete;

  // Waits up to `timeout` for a message, then takes whatever else has already been fetched, up to
  // `max_messages` in all, without waiting again. Rebalances happen inside this call. Returns an
  // empty batch on timeout; an error for fatal client errors, missing topics, unreachable
  // offsets and listener failures. Payloads point into librdkafka's fetch buffers (no copy);
  // holding them keeps those buffers, and the client's threads, alive after Close().
  arrow::Result<std::vector<KafkaMessage>> Poll(std::chrono::milliseconds timeout,
                                                size_t max_messages);

  // Moves an assigned partition to `start.offset` (for example after dropping a buffer).
  arrow::Status Seek(const PartitionStart& start, std::chrono::milliseconds timeout);
  // Stops and restarts fetching, for back-pressure while a flush is slow.
  arrow::Status Pause(const std::vector<TopicPartition>& partitions);
  arrow::Status Resume(const std::vector<TopicPartition>& partitions);
  // Stores `positions` (next offsets) as the group's committed offsets, asynchronously, so that
  // Kafka tooling shows the lag. Never read back by the writer.
  arrow::Status CommitForLag(const std::vector<PartitionStart>& positions);

  arrow::Result<std::vector<TopicPartition>> Assignment();
  // The low and high watermark offsets of `partition` as of the last fetch response, without a
  // broker round trip (for lag metrics); nullopt until the partition has been fetched.
  std::optional<std::pair<int64_t, int64_t>> CachedWatermarks(const TopicPartition& partition);
  // How often Poll() restarted fetching after draining a queue that may have been full (see
  // StartFetching below).
  int64_t fetch_restarts() const { return fetch_restarts_; }
  // "COOPERATIVE" normally; "EAGER" if the properties chose an eager assignor.
  std::string RebalanceProtocol();

  // Leaves the group (the listener hears the final revocation) and stops the client; idempotent.
  arrow::Status Close();

 private:
  class Callbacks;

  KafkaConsumer(ConsumerOptions options, RebalanceListener* listener);
  void HandleRebalance(int error, std::vector<RdKafka::TopicPartition*>& partitions);
  void Fail(arrow::Status status);
  // librdkafka 2.0 stops fetching a partition while its prefetch queue is over
  // queued.max.messages.kbytes (or queued.min.messages), and looks again only when its broker
  // thread next wakes: up to a second later. Catching up on a backlog, the queue fills whenever a
  // flush holds up polling, so ingestion idled most of each second. When Poll() finds the queue
  // empty after draining a run that may have filled it, StartFetching() seeks each partition of
  // that run to the offset after the last message returned: a no-op for the data (the queue is
  // empty, and the position is where fetching would go on anyway) that wakes the broker thread,
  // which fetches at once.
  bool QueueMayHaveFilled() const;
  void StartFetching();

  ConsumerOptions options_;
  RebalanceListener* listener_;
  std::shared_ptr<Callbacks> callbacks_;
  // Shared with the payload buffers of the messages handed out (see Poll).
  std::shared_ptr<RdKafka::KafkaConsumer> consumer_;
  // The first error raised inside a librdkafka callback, reported by the next Poll().
  arrow::Status pending_error_;
  bool closed_ = false;
  // The prefetch queue's limits in effect (librdkafka's defaults unless set).
  int64_t queue_limit_bytes_ = int64_t{65536} * 1024;
  int64_t queue_limit_messages_ = 100000;
  // What Poll() returned since it last found the queue empty, and for each partition the offset
  // after the last message returned (dropped when the partition is sought, assigned or revoked).
  int64_t run_bytes_ = 0;
  int64_t run_messages_ = 0;
  std::map<TopicPartition, int64_t> next_offsets_;
  int64_t fetch_restarts_ = 0;
};

}  // namespace nlk::ingest
