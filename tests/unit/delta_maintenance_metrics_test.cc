// The maintenance daemons' metrics: what each pass adds, what the last one sets, and the
// exposition format (every sample announced by HELP and TYPE lines).
#include "delta/maintenance_metrics.h"

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <sstream>
#include <string>

namespace nlk::delta {
namespace {

using Operation = MaintenanceMetrics::Operation;

std::chrono::system_clock::time_point At(int64_t milliseconds) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(milliseconds));
}

// The line holding `name`'s sample, without the name.
std::string Sample(const std::string& text, const std::string& name) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name + " ", 0) == 0) return line.substr(name.size() + 1);
  }
  return "(missing)";
}

// Every sample's metric has HELP and TYPE lines before it, once.
void ExpectWellFormed(const std::string& text) {
  std::istringstream lines(text);
  std::set<std::string> helped, typed, sampled;
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string first, name;
    words >> first;
    if (first == "#") {
      std::string kind;
      words >> kind >> name;
      EXPECT_TRUE((kind == "HELP" ? helped : typed).insert(name).second) << line;
      continue;
    }
    EXPECT_TRUE(helped.count(first) && typed.count(first)) << "no HELP or TYPE for " << line;
    EXPECT_TRUE(sampled.insert(first).second) << "sampled twice: " << line;
  }
  EXPECT_EQ(sampled, typed);
}

TEST(MaintenanceMetrics, OptimizeCountsEveryPassAndKeepsTheLastOnesState) {
  MaintenanceMetrics metrics(Operation::kOptimize, 300);
  std::string text = metrics.RenderPrometheus();
  ExpectWellFormed(text);
  EXPECT_EQ(Sample(text, "nlk_optimize_runs_total"), "0");
  EXPECT_EQ(Sample(text, "nlk_optimize_last_success_timestamp_seconds"), "0");
  EXPECT_EQ(Sample(text, "nlk_optimize_table_version"), "-1");
  EXPECT_EQ(Sample(text, "nlk_optimize_interval_seconds"), "300");
  EXPECT_EQ(text.find("nlk_vacuum_"), std::string::npos);

  OptimizeMetrics pass;
  pass.read_version = 10;
  pass.small_files = 12;
  pass.bins_committed = 2;
  pass.committed_versions = {11, 13};
  pass.abandoned_bins.resize(1);
  pass.files_removed = 12;
  pass.files_added = 2;
  pass.bytes_removed = 12000;
  pass.bytes_added = 9000;
  pass.rows_rewritten = 120;
  pass.duration_ms = 1500;
  metrics.RecordOptimize(pass, At(1767225600250));
  OptimizeMetrics idle;
  idle.read_version = 14;
  idle.small_files = 3;
  idle.duration_ms = 20;
  metrics.RecordOptimize(idle, At(1767225900500));
  metrics.RecordFailure();

  text = metrics.RenderPrometheus();
  ExpectWellFormed(text);
  EXPECT_EQ(Sample(text, "nlk_optimize_runs_total"), "2");
  EXPECT_EQ(Sample(text, "nlk_optimize_errors_total"), "1");
  EXPECT_EQ(Sample(text, "nlk_optimize_bins_compacted_total"), "2");
  EXPECT_EQ(Sample(text, "nlk_optimize_bins_abandoned_total"), "1");
  EXPECT_EQ(Sample(text, "nlk_optimize_files_compacted_total"), "12");
  EXPECT_EQ(Sample(text, "nlk_optimize_files_written_total"), "2");
  EXPECT_EQ(Sample(text, "nlk_optimize_bytes_rewritten_total"), "12000");
  EXPECT_EQ(Sample(text, "nlk_optimize_bytes_written_total"), "9000");
  EXPECT_EQ(Sample(text, "nlk_optimize_rows_rewritten_total"), "120");
  EXPECT_EQ(Sample(text, "nlk_optimize_small_files"), "3");
  EXPECT_EQ(Sample(text, "nlk_optimize_table_version"), "14");
  EXPECT_EQ(Sample(text, "nlk_optimize_last_success_timestamp_seconds"), "1767225900.5");
  EXPECT_EQ(Sample(text, "nlk_optimize_last_duration_seconds"), "0.02");
}

TEST(MaintenanceMetrics, VacuumCountsDeletions) {
  MaintenanceMetrics metrics(Operation::kVacuum, 3600);
  VacuumResult pass;
  pass.snapshot_version = 42;
  pass.files_deleted = 5;
  pass.bytes_deleted = 5000;
  pass.log_files_deleted = 3;
  pass.files_referenced = 7;
  pass.duration_ms = 250;
  metrics.RecordVacuum(pass, At(1767225600000));
  pass.files_referenced = 6;
  metrics.RecordVacuum(pass, At(1767229200000));
  std::string text = metrics.RenderPrometheus();
  ExpectWellFormed(text);
  EXPECT_EQ(text.find("nlk_optimize_"), std::string::npos);
  EXPECT_EQ(Sample(text, "nlk_vacuum_runs_total"), "2");
  EXPECT_EQ(Sample(text, "nlk_vacuum_errors_total"), "0");
  EXPECT_EQ(Sample(text, "nlk_vacuum_files_deleted_total"), "10");
  EXPECT_EQ(Sample(text, "nlk_vacuum_bytes_deleted_total"), "10000");
  EXPECT_EQ(Sample(text, "nlk_vacuum_log_files_deleted_total"), "6");
  EXPECT_EQ(Sample(text, "nlk_vacuum_files_referenced"), "6");
  EXPECT_EQ(Sample(text, "nlk_vacuum_table_version"), "42");
  EXPECT_EQ(Sample(text, "nlk_vacuum_last_success_timestamp_seconds"), "1767229200");
  EXPECT_EQ(Sample(text, "nlk_vacuum_interval_seconds"), "3600");
}

TEST(MaintenanceMetrics, ASinglePassHasNoInterval) {
  MaintenanceMetrics metrics(Operation::kVacuum, std::nullopt);
  EXPECT_EQ(metrics.RenderPrometheus().find("interval_seconds"), std::string::npos);
}

}  // namespace
}  // namespace nlk::delta
