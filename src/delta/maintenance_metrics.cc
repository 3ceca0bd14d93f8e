#include "delta/maintenance_metrics.h"

#include "common/prometheus.h"

namespace nlk::delta {

MaintenanceMetrics::MaintenanceMetrics(Operation operation, std::optional<double> interval_seconds)
    : operation_(operation), interval_seconds_(interval_seconds) {}

void MaintenanceMetrics::RecordPass(int64_t version, int64_t duration_ms,
                                    std::chrono::system_clock::time_point finished) {
  ++runs_;
  table_version_ = version;
  last_success_seconds_ = std::chrono::duration<double>(finished.time_since_epoch()).count();
  last_duration_seconds_ = static_cast<double>(duration_ms) / 1000;
}

void MaintenanceMetrics::RecordOptimize(const OptimizeMetrics& pass,
                                        std::chrono::system_clock::time_point finished) {
  std::lock_guard lock(mutex_);
  RecordPass(pass.committed_versions.empty() ? pass.read_version : pass.committed_versions.back(),
             pass.duration_ms, finished);
  bins_compacted_ += pass.bins_committed;
  bins_abandoned_ += static_cast<int64_t>(pass.abandoned_bins.size());
  files_compacted_ += pass.files_removed;
  files_written_ += pass.files_added;
  bytes_rewritten_ += pass.bytes_removed;
  bytes_written_ += pass.bytes_added;
  rows_rewritten_ += pass.rows_rewritten;
  small_files_ = pass.small_files;
}

void MaintenanceMetrics::RecordVacuum(const VacuumResult& pass,
                                      std::chrono::system_clock::time_point finished) {
  std::lock_guard lock(mutex_);
  RecordPass(pass.snapshot_version, pass.duration_ms, finished);
  files_deleted_ += pass.files_deleted;
  bytes_deleted_ += pass.bytes_deleted;
  log_files_deleted_ += pass.log_files_deleted;
  files_referenced_ = pass.files_referenced;
}

void MaintenanceMetrics::RecordFailure() {
  std::lock_guard lock(mutex_);
  ++errors_;
}

std::string MaintenanceMetrics::RenderPrometheus() const {
  std::lock_guard lock(mutex_);
  const bool optimize = operation_ == Operation::kOptimize;
  const std::string prefix = optimize ? "nlk_optimize_" : "nlk_vacuum_";
  const std::string pass = optimize ? "Optimize passes" : "Vacuum passes";
  std::string out;
  auto counter = [&](const char* name, const char* help, int64_t value) {
    out += PrometheusMetric(prefix + name, "counter", help, value);
  };
  auto gauge = [&](const char* name, const char* help, auto value) {
    out += PrometheusMetric(prefix + name, "gauge", help, value);
  };
  out += PrometheusMetric(prefix + "runs_total", "counter", pass + " completed.", runs_);
  out += PrometheusMetric(prefix + "errors_total", "counter", pass + " that failed.", errors_);
  gauge("last_success_timestamp_seconds",
        "When the last pass completed, in seconds since the epoch (0: none yet).",
        last_success_seconds_);
  gauge("last_duration_seconds", "How long the last completed pass took.", last_duration_seconds_);
  if (interval_seconds_) {
    gauge("interval_seconds", "The time between passes (--every).", *interval_seconds_);
  }
  if (optimize) {
    gauge("table_version", "Table version after the last pass (its last commit, or the one read).",
          table_version_);
    counter("bins_compacted_total", "Bins rewritten and committed.", bins_compacted_);
    counter("bins_abandoned_total",
            "Bins given up because a concurrent commit removed one of their files.",
            bins_abandoned_);
    counter("files_compacted_total", "Small files replaced by compacted ones.", files_compacted_);
    counter("files_written_total", "Files written by compaction.", files_written_);
    counter("bytes_rewritten_total", "Bytes of the small files compacted.", bytes_rewritten_);
    counter("bytes_written_total", "Bytes of the files compaction wrote.", bytes_written_);
    counter("rows_rewritten_total", "Rows rewritten by compaction.", rows_rewritten_);
    gauge("small_files",
          "Files below the target size when the last pass planned its bins: the compaction "
          "backlog.",
          small_files_);
  } else {
    gauge("table_version", "The table version the last pass vacuumed.", table_version_);
    counter("files_deleted_total", "Data and deletion vector files deleted.", files_deleted_);
    counter("bytes_deleted_total", "Bytes of the files deleted.", bytes_deleted_);
    counter("log_files_deleted_total", "Expired log files deleted.", log_files_deleted_);
    gauge("files_referenced",
          "Files the last pass kept because a version within the retention needs them.",
          files_referenced_);
  }
  return out;
}

}  // namespace nlk::delta
