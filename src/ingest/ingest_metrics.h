// What a stream writer counts, and its rendering in the Prometheus text exposition format
// (version 0.0.4), so that any HTTP front end can serve it as /metrics.
//
// Thread-safety: thread-safe. The writer thread records; a metrics endpoint renders from another
// thread. Updates happen per poll and per flush, not per message, so one mutex is cheap enough.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "ingest/kafka_message.h"

namespace nlk::ingest {

class IngestMetrics {
 public:
  // Messages taken from Kafka (before decoding) and their payload bytes.
  void AddConsumed(int64_t messages, int64_t payload_bytes);
  void AddDeadLetters(int64_t count);
  // One committed flush: rows and data-file bytes written, and how long the flush took.
  void AddCommit(int64_t rows, int64_t file_bytes, int64_t version, double flush_seconds);
  // A flush handed to the flush thread, by why (FlushReasonName: rows, bytes, latency,
  // caught_up; none for a rebalance or stopping).
  void AddFlushStarted(std::string_view reason);
  // A commit lost to another writer of the same partition; its buffer was dropped.
  void AddCommitConflict();
  // A flush whose rows were dropped (lost partitions, conflicts), so they are consumed again.
  void AddDroppedRows(int64_t rows);
  void SetBuffered(int64_t rows, int64_t bytes);
  // Messages each assigned partition holds beyond what the table records; replaces the previous
  // set, so revoked partitions disappear.
  void SetLag(std::map<TopicPartition, int64_t> lag);

  std::string RenderPrometheus() const;

 private:
  // Upper bounds of the flush latency histogram, in seconds.
  static constexpr std::array<double, 10> kFlushBuckets = {0.01, 0.025, 0.05, 0.1, 0.25,
                                                           0.5,  1,     2.5,  5,   10};

  mutable std::mutex mutex_;
  int64_t messages_ = 0;
  int64_t payload_bytes_ = 0;
  int64_t dead_letters_ = 0;
  int64_t rows_committed_ = 0;
  int64_t file_bytes_ = 0;
  int64_t commits_ = 0;
  int64_t conflicts_ = 0;
  int64_t dropped_rows_ = 0;
  int64_t last_version_ = -1;
  int64_t buffered_rows_ = 0;
  int64_t buffered_bytes_ = 0;
  std::array<int64_t, kFlushBuckets.size()> flush_bucket_counts_{};
  int64_t flush_count_ = 0;
  std::map<std::string, int64_t, std::less<>> flushes_by_reason_;
  double flush_seconds_sum_ = 0;
  std::map<TopicPartition, int64_t> lag_;
};

}  // namespace nlk::ingest
