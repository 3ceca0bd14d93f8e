#include "maintenance_commands.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "cli_error.h"
#include "common/json_writer.h"
#include "delta/maintenance_metrics.h"
#include "delta/optimize.h"
#include "delta/table.h"
#include "delta/vacuum.h"
#include "metrics_endpoint.h"
#include "stop_signal.h"
#include "writer_rule.h"

namespace nlk::cli {
namespace {

struct MaintenanceArguments {
  std::string uri;
  std::optional<double> every_seconds;  // absent: one pass
  bool json = false;
  std::string metrics_address;
  // optimize
  int64_t target_size = delta::kDefaultOptimizeTargetFileSize;
  int64_t min_files = 2;
  std::string sort_by;
  std::string where;
  // vacuum
  std::optional<double> retention_hours;
  bool allow_short_retention = false;
  bool dry_run = false;
  bool record_history = false;
};

std::string FormatBytes(int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(units)) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof(text), unit == 0 ? "%.0f %s" : "%.1f %s", value, units[unit]);
  return text;
}

std::string FormatSeconds(int64_t milliseconds) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f s", static_cast<double>(milliseconds) / 1000);
  return text;
}

std::string PartitionText(const delta::PartitionValues& values) {
  if (values.empty()) return "(unpartitioned)";
  std::string text;
  for (const auto& [column, value] : values) {
    text += (text.empty() ? "" : ", ") + column + "=" + value.value_or("null");
  }
  return text;
}

void PrintOptimize(const std::string& uri, const delta::OptimizeMetrics& metrics, bool json) {
  if (json) {
    JsonWriter writer;
    writer.BeginObject();
    writer.Key("table");
    writer.String(uri);
    writer.Key("readVersion");
    writer.Int(metrics.read_version);
    for (const auto& [key, value] : {std::pair{"binsPlanned", metrics.bins_planned},
                                     {"binsCommitted", metrics.bins_committed},
                                     {"partitionsOptimized", metrics.partitions_optimized},
                                     {"filesRemoved", metrics.files_removed},
                                     {"filesAdded", metrics.files_added},
                                     {"bytesRemoved", metrics.bytes_removed},
                                     {"bytesAdded", metrics.bytes_added},
                                     {"rowsRewritten", metrics.rows_rewritten},
                                     {"durationMs", metrics.duration_ms}}) {
      writer.Key(key);
      writer.Int(value);
    }
    writer.Key("committedVersions");
    writer.BeginArray();
    for (int64_t version : metrics.committed_versions) writer.Int(version);
    writer.EndArray();
    writer.Key("abandonedBins");
    writer.BeginArray();
    for (const auto& bin : metrics.abandoned_bins) {
      writer.BeginObject();
      writer.Key("partition");
      writer.String(PartitionText(bin.partition_values));
      writer.Key("inputFiles");
      writer.Int(bin.input_files);
      writer.Key("reason");
      writer.String(bin.reason);
      writer.EndObject();
    }
    writer.EndArray();
    writer.Key("stopped");
    writer.Bool(metrics.stopped);
    writer.EndObject();
    std::cout << writer.str() << std::endl;
    return;
  }
  std::cout << "optimized " << uri << ": " << metrics.bins_committed << " of "
            << metrics.bins_planned << " bins, " << metrics.files_removed << " files ("
            << FormatBytes(metrics.bytes_removed) << ") -> " << metrics.files_added << " files ("
            << FormatBytes(metrics.bytes_added) << "), " << metrics.rows_rewritten << " rows, "
            << metrics.abandoned_bins.size() << " bins abandoned on conflicts";
  if (!metrics.committed_versions.empty()) {
    std::cout << ", versions " << metrics.committed_versions.front() << ".."
              << metrics.committed_versions.back();
  }
  std::cout << ", " << FormatSeconds(metrics.duration_ms);
  if (metrics.stopped) std::cout << " (stopped early)";
  std::cout << std::endl;
  for (const auto& bin : metrics.abandoned_bins) {
    std::cerr << "nlk: warning: abandoned a bin of " << bin.input_files << " files in "
              << PartitionText(bin.partition_values) << ": " << bin.reason << std::endl;
  }
}

void PrintVacuum(const std::string& uri, const delta::VacuumResult& result, bool json) {
  int64_t deletable_bytes = 0;
  for (const auto& object : result.deletable) deletable_bytes += object.size;
  if (json) {
    JsonWriter writer;
    writer.BeginObject();
    writer.Key("table");
    writer.String(uri);
    writer.Key("dryRun");
    writer.Bool(result.dry_run);
    for (const auto& [key, value] :
         {std::pair{"snapshotVersion", result.snapshot_version},
          {"retentionMs", result.retention_ms},
          {"cutoffMs", result.cutoff_ms},
          {"filesListed", result.files_listed},
          {"filesReferenced", result.files_referenced},
          {"filesDeletable", static_cast<int64_t>(result.deletable.size())},
          {"bytesDeletable", deletable_bytes},
          {"filesDeleted", result.files_deleted},
          {"bytesDeleted", result.bytes_deleted},
          {"logFilesDeleted", result.log_files_deleted},
          {"durationMs", result.duration_ms}}) {
      writer.Key(key);
      writer.Int(value);
    }
    writer.Key("files");
    writer.BeginArray();
    for (const auto& object : result.deletable) writer.String(object.path);
    writer.EndArray();
    writer.Key("stopped");
    writer.Bool(result.stopped);
    writer.EndObject();
    std::cout << writer.str() << std::endl;
    return;
  }
  if (result.dry_run) {
    std::cout << "would delete " << result.deletable.size() << " files ("
              << FormatBytes(deletable_bytes) << ") from " << uri << " (version "
              << result.snapshot_version << ", " << result.files_referenced << " of "
              << result.files_listed << " files still referenced):" << std::endl;
    for (const auto& object : result.deletable) std::cout << "  " << object.path << std::endl;
    return;
  }
  std::cout << "vacuumed " << uri << ": deleted " << result.files_deleted << " files ("
            << FormatBytes(result.bytes_deleted) << ") and " << result.log_files_deleted
            << " expired log files, kept " << result.files_referenced << " referenced files, "
            << FormatSeconds(result.duration_ms);
  if (result.stopped) std::cout << " (stopped early)";
  std::cout << std::endl;
}

arrow::Status OptimizeOnce(const MaintenanceArguments& arguments,
                           delta::MaintenanceMetrics& daemon_metrics) {
  ARROW_RETURN_NOT_OK(CheckNlkMayWrite(arguments.uri));
  ARROW_ASSIGN_OR_RAISE(auto table, delta::Table::Open(arguments.uri));
  delta::OptimizeOptions options;
  options.target_file_size = arguments.target_size;
  options.min_files_per_bin = arguments.min_files;
  if (!arguments.sort_by.empty()) options.sort_by = arguments.sort_by;
  if (!arguments.where.empty()) options.where = arguments.where;
  options.stop_requested = StopRequested;
  ARROW_ASSIGN_OR_RAISE(auto metrics, delta::Optimize(*table->log(), options));
  daemon_metrics.RecordOptimize(metrics, std::chrono::system_clock::now());
  PrintOptimize(arguments.uri, metrics, arguments.json);
  return arrow::Status::OK();
}

arrow::Status VacuumOnce(const MaintenanceArguments& arguments,
                         delta::MaintenanceMetrics& daemon_metrics) {
  ARROW_RETURN_NOT_OK(CheckNlkMayWrite(arguments.uri));
  ARROW_ASSIGN_OR_RAISE(auto table, delta::Table::Open(arguments.uri));
  delta::VacuumOptions options;
  if (arguments.retention_hours) {
    if (!std::isfinite(*arguments.retention_hours)) {
      return arrow::Status::Invalid("--retention-hours must be a finite number of hours");
    }
    options.retention_ms = std::llround(*arguments.retention_hours * 3600.0 * 1000.0);
  }
  options.allow_short_retention = arguments.allow_short_retention;
  options.dry_run = arguments.dry_run;
  options.record_in_history = arguments.record_history;
  options.stop_requested = StopRequested;
  ARROW_ASSIGN_OR_RAISE(auto result, delta::Vacuum(*table->log(), options));
  daemon_metrics.RecordVacuum(result, std::chrono::system_clock::now());
  PrintVacuum(arguments.uri, result, arguments.json);
  return arrow::Status::OK();
}

using Pass = arrow::Status (*)(const MaintenanceArguments&, delta::MaintenanceMetrics&);

// Runs `pass` once, or every `every_seconds` until a stop signal, serving the passes' metrics on
// --metrics-address. The first pass's error ends the command (a bad option or a missing table
// will not fix itself); later errors, e.g. a store that is briefly unreachable, are reported,
// counted, and the daemon carries on.
arrow::Status RunPasses(const MaintenanceArguments& arguments, const std::string& name,
                        delta::MaintenanceMetrics::Operation operation, Pass pass) {
  if (arguments.every_seconds &&
      !(*arguments.every_seconds > 0 && std::isfinite(*arguments.every_seconds))) {
    return arrow::Status::Invalid("--every must be a positive number of seconds, not ",
                                  *arguments.every_seconds);
  }
  delta::MaintenanceMetrics metrics(operation, arguments.every_seconds);
  std::unique_ptr<MetricsEndpoint> endpoint;
  if (!arguments.metrics_address.empty()) {
    if (!arguments.every_seconds) {
      return arrow::Status::Invalid(
          "--metrics-address serves a daemon's metrics: it needs --every SECONDS");
    }
    ARROW_ASSIGN_OR_RAISE(endpoint, MetricsEndpoint::Start(arguments.metrics_address, [&metrics] {
                            return metrics.RenderPrometheus();
                          }));
    std::cerr << "nlk " << name << ": " << arguments.uri << " every " << *arguments.every_seconds
              << " s, metrics on port " << endpoint->port() << std::endl;
  }
  // On a stop signal a pass stops between bins (optimize) or between deletions (vacuum), so the
  // table is never left mid-commit and the exit status is 0.
  InstallStopHandlers();
  arrow::Status first = pass(arguments, metrics);
  if (!first.ok()) metrics.RecordFailure();
  ARROW_RETURN_NOT_OK(first);
  if (!arguments.every_seconds) return arrow::Status::OK();
  const auto period = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(*arguments.every_seconds));
  auto next_pass = std::chrono::steady_clock::now() + period;
  while (!StopRequested()) {
    if (std::chrono::steady_clock::now() < next_pass) {
      // Short sleeps keep the reaction to a stop signal prompt without any extra machinery.
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    arrow::Status status = pass(arguments, metrics);
    if (!status.ok()) {
      metrics.RecordFailure();
      std::cerr << "nlk: warning: " << status.message() << " (next attempt in "
                << *arguments.every_seconds << " s)" << std::endl;
    }
    next_pass = std::chrono::steady_clock::now() + period;
  }
  std::cerr << "nlk: stopping on signal " << StopSignal() << std::endl;
  return arrow::Status::OK();
}

CLI::App* AddCommand(CLI::App& app, const std::string& name, const std::string& help,
                     delta::MaintenanceMetrics::Operation operation, Pass pass,
                     const std::shared_ptr<MaintenanceArguments>& arguments, int& exit_code) {
  CLI::App* command = app.add_subcommand(name, help);
  command->add_option("uri", arguments->uri, "Table location: a path, file://... or s3://...")
      ->required();
  command->add_option("--every", arguments->every_seconds,
                      "Run as a daemon: a pass every SECONDS until SIGTERM or SIGINT");
  command->add_flag("--json", arguments->json, "Print each pass's summary as one JSON object");
  command->add_option("--metrics-address", arguments->metrics_address,
                      "With --every: serve Prometheus /metrics on HOST:PORT, e.g. 127.0.0.1:9465");
  command->callback([name, operation, pass, arguments, &exit_code] {
    arrow::Status status = RunPasses(*arguments, name, operation, pass);
    if (!status.ok()) exit_code = ReportError(status);
  });
  return command;
}

}  // namespace

void AddMaintenanceCommands(CLI::App& app, int& exit_code) {
  auto arguments = std::make_shared<MaintenanceArguments>();

  CLI::App* optimize = AddCommand(
      app, "optimize", "Compact small files into larger ones (remove+add with dataChange=false)",
      delta::MaintenanceMetrics::Operation::kOptimize, OptimizeOnce, arguments, exit_code);
  optimize
      ->add_option("--target-size", arguments->target_size,
                   "Target file size in bytes; smaller files are compacted")
      ->capture_default_str();
  optimize
      ->add_option("--min-files", arguments->min_files,
                   "Rewrite a partition's small files only when at least this many fit a bin")
      ->capture_default_str();
  optimize->add_option("--sort-by", arguments->sort_by,
                       "Sort the rows of each rewritten bin by this column, e.g. timestamp");
  optimize->add_option("--where", arguments->where,
                       "Only partitions matching this predicate over partition columns");

  CLI::App* vacuum =
      AddCommand(app, "vacuum", "Delete files no version within the retention period needs",
                 delta::MaintenanceMetrics::Operation::kVacuum, VacuumOnce, arguments, exit_code);
  vacuum->add_option("--retention-hours", arguments->retention_hours,
                     "Keep files removed or written within this many hours (default: the "
                     "table's delta.deletedFileRetentionDuration, 7 days)");
  vacuum->add_flag("--allow-short-retention", arguments->allow_short_retention,
                   "Permit a retention shorter than the table's (unsafe for concurrent readers "
                   "and writers)");
  vacuum->add_flag("--dry-run", arguments->dry_run, "List what would be deleted; delete nothing");
  vacuum->add_flag("--record-history", arguments->record_history,
                   "Record VACUUM START/END commits in the table history, as Spark can");
}

}  // namespace nlk::cli
