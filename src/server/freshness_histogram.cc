#include "server/freshness_histogram.h"

#include <algorithm>

#include "common/prometheus.h"

namespace nlk::server {

void FreshnessHistogram::Observe(double seconds) {
  seconds = std::max(seconds, 0.0);
  std::lock_guard<std::mutex> lock(mutex_);
  for (size_t i = 0; i < kBounds.size(); ++i) {
    if (seconds <= kBounds[i]) {
      ++bucket_counts_[i];
      break;
    }
  }
  ++count_;
  sum_ += seconds;
}

std::string FreshnessHistogram::Render(std::string_view metric, std::string_view table) const {
  const std::string label = "table=\"" + PrometheusLabelValue(table) + "\"";
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  int64_t cumulative = 0;
  for (size_t i = 0; i < kBounds.size(); ++i) {
    cumulative += bucket_counts_[i];
    out += std::string(metric) + "_bucket{" + label + ",le=\"" + PrometheusValue(kBounds[i]) +
           "\"} " + std::to_string(cumulative) + "\n";
  }
  out +=
      std::string(metric) + "_bucket{" + label + ",le=\"+Inf\"} " + std::to_string(count_) + "\n";
  out += std::string(metric) + "_sum{" + label + "} " + PrometheusValue(sum_) + "\n";
  out += std::string(metric) + "_count{" + label + "} " + std::to_string(count_) + "\n";
  return out;
}

}  // namespace nlk::server
