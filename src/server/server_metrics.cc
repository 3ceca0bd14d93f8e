#include "server/server_metrics.h"

#include <cstdio>

namespace nlk::server {
namespace {

std::string FormatDouble(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.9g", value);
  return buffer;
}

void AppendCounter(std::string& out, const std::string& name, const std::string& help,
                   int64_t value) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " counter\n";
  out += name + " " + std::to_string(value) + "\n";
}

}  // namespace

// Latency buckets from 0.5 ms to 30 s: point lookups land in the first few, scans of large
// tables in the last.
ServerMetrics::ServerMetrics()
    : bucket_bounds_{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                     0.25,   0.5,   1,      2.5,   5,    10,    30} {}

void ServerMetrics::RecordRequest(const std::string& endpoint, int status, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{endpoint, status}];
  Histogram& histogram = latency_[endpoint];
  if (histogram.bucket_counts.empty()) histogram.bucket_counts.assign(bucket_bounds_.size(), 0);
  for (size_t i = 0; i < bucket_bounds_.size(); ++i) {
    if (seconds <= bucket_bounds_[i]) {
      ++histogram.bucket_counts[i];
      break;
    }
  }
  ++histogram.count;
  histogram.sum += seconds;
}

void ServerMetrics::RecordScan(const delta::data::ScanMetrics& scan) {
  std::lock_guard<std::mutex> lock(mutex_);
  rows_scanned_ += scan.rows_read;
  bytes_scanned_ += scan.bytes_read;
  files_read_ += scan.files_read;
  files_pruned_ += scan.files_pruned_by_partition + scan.files_skipped_by_stats;
  row_groups_pruned_ += scan.row_groups_pruned;
}

void ServerMetrics::RecordRejected(const std::string& reason) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++rejected_[reason];
}

void ServerMetrics::RecordResultRows(int64_t rows, int64_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  rows_returned_ += rows;
  bytes_returned_ += bytes;
}

std::string ServerMetrics::Render() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  out +=
      "# HELP nlk_http_requests_total HTTP requests answered, by endpoint and status.\n"
      "# TYPE nlk_http_requests_total counter\n";
  for (const auto& [key, count] : requests_) {
    out += "nlk_http_requests_total{endpoint=\"" + key.first + "\",status=\"" +
           std::to_string(key.second) + "\"} " + std::to_string(count) + "\n";
  }
  out +=
      "# HELP nlk_http_request_duration_seconds Time from a complete request to the last byte "
      "of its response.\n# TYPE nlk_http_request_duration_seconds histogram\n";
  for (const auto& [endpoint, histogram] : latency_) {
    int64_t cumulative = 0;
    for (size_t i = 0; i < bucket_bounds_.size(); ++i) {
      cumulative += histogram.bucket_counts[i];
      out += "nlk_http_request_duration_seconds_bucket{endpoint=\"" + endpoint + "\",le=\"" +
             FormatDouble(bucket_bounds_[i]) + "\"} " + std::to_string(cumulative) + "\n";
    }
    out += "nlk_http_request_duration_seconds_bucket{endpoint=\"" + endpoint + "\",le=\"+Inf\"} " +
           std::to_string(histogram.count) + "\n";
    out += "nlk_http_request_duration_seconds_sum{endpoint=\"" + endpoint + "\"} " +
           FormatDouble(histogram.sum) + "\n";
    out += "nlk_http_request_duration_seconds_count{endpoint=\"" + endpoint + "\"} " +
           std::to_string(histogram.count) + "\n";
  }
  out +=
      "# HELP nlk_requests_rejected_total Requests refused before running, by reason.\n"
      "# TYPE nlk_requests_rejected_total counter\n";
  for (const auto& [reason, count] : rejected_) {
    out += "nlk_requests_rejected_total{reason=\"" + reason + "\"} " + std::to_string(count) + "\n";
  }
  AppendCounter(out, "nlk_scan_rows_total", "Rows decoded or filtered by table scans.",
                rows_scanned_);
  AppendCounter(out, "nlk_scan_bytes_total",
                "Bytes scanned: compressed column chunks read, or memory-table bytes visited.",
                bytes_scanned_);
  AppendCounter(out, "nlk_scan_files_read_total", "Data files read by table scans.", files_read_);
  AppendCounter(out, "nlk_scan_files_pruned_total",
                "Data files skipped by partition pruning or file statistics.", files_pruned_);
  AppendCounter(out, "nlk_scan_row_groups_pruned_total",
                "Parquet row groups skipped by their statistics.", row_groups_pruned_);
  AppendCounter(out, "nlk_result_rows_total", "Rows returned to clients.", rows_returned_);
  AppendCounter(out, "nlk_result_bytes_total", "Response body bytes returned to clients.",
                bytes_returned_);
  return out;
}

}  // namespace nlk::server
