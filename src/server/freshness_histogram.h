// How fresh a served table is, as a Prometheus histogram: each time a log refresh makes a new
// version queryable, the time from that version's commit to the moment queries can read it.
// Ingest commits the samples it consumed, so this is the part of a sample's way from the
// producer to an answer that the query service adds on top of ingest's flush interval.
//
// Thread-safety: Observe and Render may be called concurrently.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace nlk::server {

class FreshnessHistogram {
 public:
  // Bucket upper bounds in seconds; the alert rules in deploy/ read the 0.25, 0.5 and 1 buckets.
  static constexpr std::array<double, 11> kBounds = {0.05, 0.1, 0.25, 0.5, 1,  2.5,
                                                     5,    10,  30,   60,  300};

  // A negative age (the writer's clock ahead of ours) counts as zero.
  void Observe(double seconds);

  // The bucket, sum and count samples of `metric` with the label table="<table>", without
  // HELP and TYPE lines (the caller writes those once for all tables).
  std::string Render(std::string_view metric, std::string_view table) const;

 private:
  mutable std::mutex mutex_;
  std::array<int64_t, kBounds.size()> bucket_counts_{};  // per bucket; cumulated when rendered
  int64_t count_ = 0;
  double sum_ = 0;
};

}  // namespace nlk::server
