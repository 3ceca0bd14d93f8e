// What the maintenance daemons (`nlk optimize --every`, `nlk vacuum --every`) count across their
// passes, rendered in the Prometheus text exposition format (0.0.4) for a /metrics endpoint.
// Every name starts with nlk_optimize_ or nlk_vacuum_; deploy/prometheus/alerts.yml alerts on a
// daemon whose passes fail, stall, or leave a growing compaction backlog.
//
// Thread-safety: thread-safe. The daemon records its passes; an endpoint renders from its own
// thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "delta/optimize.h"
#include "delta/vacuum.h"

namespace nlk::delta {

class MaintenanceMetrics {
 public:
  enum class Operation { kOptimize, kVacuum };

  // `interval_seconds`: the time between passes (--every), rendered so that alerts can compare
  // against it; absent for a single pass.
  MaintenanceMetrics(Operation operation, std::optional<double> interval_seconds);

  // A pass that finished at `finished` (a stopped pass counts: what it committed is committed).
  void RecordOptimize(const OptimizeMetrics& pass, std::chrono::system_clock::time_point finished);
  void RecordVacuum(const VacuumResult& pass, std::chrono::system_clock::time_point finished);
  // A pass that failed.
  void RecordFailure();

  std::string RenderPrometheus() const;

 private:
  void RecordPass(int64_t version, int64_t duration_ms,
                  std::chrono::system_clock::time_point finished);

  const Operation operation_;
  const std::optional<double> interval_seconds_;
  mutable std::mutex mutex_;
  int64_t runs_ = 0;
  int64_t errors_ = 0;
  int64_t table_version_ = -1;
  double last_success_seconds_ = 0;  // since the epoch; 0 until a pass succeeds
  double last_duration_seconds_ = 0;
  // optimize
  int64_t bins_compacted_ = 0;
  int64_t bins_abandoned_ = 0;
  int64_t files_compacted_ = 0;
  int64_t files_written_ = 0;
  int64_t bytes_rewritten_ = 0;
  int64_t bytes_written_ = 0;
  int64_t rows_rewritten_ = 0;
  int64_t small_files_ = 0;
  // vacuum
  int64_t files_deleted_ = 0;
  int64_t bytes_deleted_ = 0;
  int64_t log_files_deleted_ = 0;
  int64_t files_referenced_ = 0;
};

}  // namespace nlk::delta
