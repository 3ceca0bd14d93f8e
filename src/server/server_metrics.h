// The service's Prometheus metrics: requests by endpoint and status, latency histograms, what
// queries scanned and pruned, and load (connections, queue, rejections). Per-table snapshot
// figures are rendered from the tables themselves at scrape time.
//
// Thread-safety: every method may be called concurrently (one mutex; recording is a few
// increments, far below the cost of a request).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "delta/data/scan.h"

namespace nlk::server {

class ServerMetrics {
 public:
  ServerMetrics();

  void RecordRequest(const std::string& endpoint, int status, double seconds);
  void RecordScan(const delta::data::ScanMetrics& scan);
  void RecordRejected(const std::string& reason);
  void RecordResultRows(int64_t rows, int64_t bytes);

  // Text exposition format 0.0.4, without the per-table section.
  std::string Render() const;

 private:
  struct Histogram {
    std::vector<int64_t> bucket_counts;  // cumulative is computed at render time
    int64_t count = 0;
    double sum = 0;
  };

  mutable std::mutex mutex_;
  std::vector<double> bucket_bounds_;
  std::map<std::pair<std::string, int>, int64_t> requests_;
  std::map<std::string, Histogram> latency_;
  std::map<std::string, int64_t> rejected_;
  int64_t rows_scanned_ = 0;
  int64_t bytes_scanned_ = 0;
  int64_t files_read_ = 0;
  int64_t files_pruned_ = 0;
  int64_t row_groups_pruned_ = 0;
  int64_t rows_returned_ = 0;
  int64_t bytes_returned_ = 0;
};

}  // namespace nlk::server
