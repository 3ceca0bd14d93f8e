#include "ingest/ingest_metrics.h"

#include <sstream>
#include <utility>

#include "common/prometheus.h"

namespace nlk::ingest {
void IngestMetrics::AddConsumed(int64_t messages, int64_t payload_bytes) {
  std::lock_guard lock(mutex_);
  messages_ += messages;
  payload_bytes_ += payload_bytes;
}

void IngestMetrics::AddDeadLetters(int64_t count) {
  std::lock_guard lock(mutex_);
  dead_letters_ += count;
}

void IngestMetrics::AddCommit(int64_t rows, int64_t file_bytes, int64_t version,
                              double flush_seconds) {
  std::lock_guard lock(mutex_);
  rows_committed_ += rows;
  file_bytes_ += file_bytes;
  ++commits_;
  last_version_ = version;
  ++flush_count_;
  flush_seconds_sum_ += flush_seconds;
  for (size_t i = 0; i < kFlushBuckets.size(); ++i) {
    if (flush_seconds <= kFlushBuckets[i]) ++flush_bucket_counts_[i];
  }
}

void IngestMetrics::AddCommitConflict() {
  std::lock_guard lock(mutex_);
  ++conflicts_;
}

void IngestMetrics::AddDroppedRows(int64_t rows) {
  std::lock_guard lock(mutex_);
  dropped_rows_ += rows;
}

void IngestMetrics::SetBuffered(int64_t rows, int64_t bytes) {
  std::lock_guard lock(mutex_);
  buffered_rows_ = rows;
  buffered_bytes_ = bytes;
}

void IngestMetrics::AddFlushStarted(std::string_view reason) {
  std::lock_guard lock(mutex_);
  auto it = flushes_by_reason_.find(reason);
  if (it == flushes_by_reason_.end()) it = flushes_by_reason_.emplace(reason, 0).first;
  ++it->second;
}

void IngestMetrics::SetLag(std::map<TopicPartition, int64_t> lag) {
  std::lock_guard lock(mutex_);
  lag_ = std::move(lag);
}

std::string IngestMetrics::RenderPrometheus() const {
  std::lock_guard lock(mutex_);
  std::ostringstream out;
  out << PrometheusMetric("nlk_ingest_messages_total", "counter", "Kafka messages consumed.",
                          messages_);
  out << PrometheusMetric("nlk_ingest_message_bytes_total", "counter",
                          "Payload bytes of the Kafka messages consumed.", payload_bytes_);
  out << PrometheusMetric("nlk_ingest_rows_committed_total", "counter",
                          "Rows committed to the Delta table.", rows_committed_);
  out << PrometheusMetric("nlk_ingest_file_bytes_written_total", "counter",
                          "Bytes of the Parquet files committed.", file_bytes_);
  out << PrometheusMetric("nlk_ingest_commits_total", "counter", "Delta commits of the data table.",
                          commits_);
  out << PrometheusMetric(
      "nlk_ingest_commit_conflicts_total", "counter",
      "Commits lost to another writer of the same partition (buffer dropped, consumed again).",
      conflicts_);
  out << PrometheusMetric(
      "nlk_ingest_dropped_rows_total", "counter",
      "Buffered rows dropped after conflicts or lost partitions, to be consumed again.",
      dropped_rows_);
  out << PrometheusMetric("nlk_ingest_dead_letters_total", "counter",
                          "Messages rejected into the dead-letter table.", dead_letters_);
  out << PrometheusMetric("nlk_ingest_table_version", "gauge",
                          "Version of the writer's last commit.", last_version_);
  out << PrometheusMetric("nlk_ingest_buffered_rows", "gauge", "Rows buffered for the next flush.",
                          buffered_rows_);
  out << PrometheusMetric("nlk_ingest_buffered_bytes", "gauge",
                          "Bytes buffered for the next flush.", buffered_bytes_);

  out << "# HELP nlk_ingest_flush_duration_seconds Time to write and commit one flush.\n"
         "# TYPE nlk_ingest_flush_duration_seconds histogram\n";
  for (size_t i = 0; i < kFlushBuckets.size(); ++i) {
    out << "nlk_ingest_flush_duration_seconds_bucket{le=\"" << kFlushBuckets[i] << "\"} "
        << flush_bucket_counts_[i] << '\n';
  }
  out << "nlk_ingest_flush_duration_seconds_bucket{le=\"+Inf\"} " << flush_count_ << '\n'
      << "nlk_ingest_flush_duration_seconds_sum " << flush_seconds_sum_ << '\n'
      << "nlk_ingest_flush_duration_seconds_count " << flush_count_ << '\n';

  out << "# HELP nlk_ingest_flushes_total Flushes started, by what cut them: rows, bytes, "
         "latency, caught_up (a backlog read to its end), none (a rebalance or stopping).\n"
         "# TYPE nlk_ingest_flushes_total counter\n";
  for (const auto& [reason, count] : flushes_by_reason_) {
    out << "nlk_ingest_flushes_total{reason=\"" << reason << "\"} " << count << '\n';
  }

  out << "# HELP nlk_ingest_consumer_lag Messages in the partition not yet in the table.\n"
         "# TYPE nlk_ingest_consumer_lag gauge\n";
  for (const auto& [topic_partition, lag] : lag_) {
    out << "nlk_ingest_consumer_lag{topic=\"" << PrometheusLabelValue(topic_partition.topic)
        << "\",partition=\"" << topic_partition.partition << "\"} " << lag << '\n';
  }
  return out.str();
}

}  // namespace nlk::ingest
