#include "maintenance_commands.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "cli_error.h"
#include "common/json_writer.h"
#include "delta/optimize.h"
#include "delta/table.h"
#include "delta/vacuum.h"
#include "writer_rule.h"

namespace nlk::cli {
namespace {

// Set by the SIGTERM/SIGINT handler. A signal handler can only reach static storage, so this is
// the one piece of process-wide state; it is lock-free and only ever goes from 0 to a signal.
std::atomic<int> stop_signal{0};
static_assert(std::atomic<int>::is_always_lock_free);

extern "C" void HandleStopSignal(int signal_number) { stop_signal.store(signal_number); }

bool StopRequested() { return stop_signal.load() != 0; }

// A maintenance pass stops between bins (optimize) or between deletions (vacuum) on the first
// signal, so the table is never left mid-commit and the exit status is 0. A second signal
// restores the default action, for a user who really wants it dead now.
void InstallStopHandlers() {
  struct sigaction action = {};
  action.sa_handler = HandleStopSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
}

struct MaintenanceArguments {
  std::string uri;
  std::optional<double> every_seconds;  // absent: one pass
  bool json = false;
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

arrow::Status OptimizeOnce(const MaintenanceArguments& arguments) {
  ARROW_RETURN_NOT_OK(CheckNlkMayWrite(arguments.uri));
  ARROW_ASSIGN_OR_RAISE(auto table, delta::Table::Open(arguments.uri));
  delta::OptimizeOptions options;
  options.target_file_size = arguments.target_size;
  options.min_files_per_bin = arguments.min_files;
  if (!arguments.sort_by.empty()) options.sort_by = arguments.sort_by;
  if (!arguments.where.empty()) options.where = arguments.where;
  options.stop_requested = StopRequested;
  ARROW_ASSIGN_OR_RAISE(auto metrics, delta::Optimize(*table->log(), options));
  PrintOptimize(arguments.uri, metrics, arguments.json);
  return arrow::Status::OK();
}

arrow::Status VacuumOnce(const MaintenanceArguments& arguments) {
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
  PrintVacuum(arguments.uri, result, arguments.json);
  return arrow::Status::OK();
}

// Runs `pass` once, or every `every_seconds` until a stop signal. The first pass's error ends
// the command (a bad option or a missing table will not fix itself); later errors, e.g. a
// store that is briefly unreachable, are reported and the daemon carries on.
arrow::Status RunPasses(const MaintenanceArguments& arguments,
                        const std::function<arrow::Status()>& pass) {
  if (arguments.every_seconds &&
      !(*arguments.every_seconds > 0 && std::isfinite(*arguments.every_seconds))) {
    return arrow::Status::Invalid("--every must be a positive number of seconds, not ",
                                  *arguments.every_seconds);
  }
  InstallStopHandlers();
  ARROW_RETURN_NOT_OK(pass());
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
    arrow::Status status = pass();
    if (!status.ok()) {
      std::cerr << "nlk: warning: " << status.message() << " (next attempt in "
                << *arguments.every_seconds << " s)" << std::endl;
    }
    next_pass = std::chrono::steady_clock::now() + period;
  }
  std::cerr << "nlk: stopping on signal " << stop_signal.load() << std::endl;
  return arrow::Status::OK();
}

CLI::App* AddCommand(CLI::App& app, const std::string& name, const std::string& help,
                     arrow::Status (*pass)(const MaintenanceArguments&),
                     const std::shared_ptr<MaintenanceArguments>& arguments, int& exit_code) {
  CLI::App* command = app.add_subcommand(name, help);
  command->add_option("uri", arguments->uri, "Table location: a path, file://... or s3://...")
      ->required();
  command->add_option("--every", arguments->every_seconds,
                      "Run as a daemon: a pass every SECONDS until SIGTERM or SIGINT");
  command->add_flag("--json", arguments->json, "Print each pass's summary as one JSON object");
  command->callback([pass, arguments, &exit_code] {
    arrow::Status status = RunPasses(*arguments, [&] { return pass(*arguments); });
    if (!status.ok()) exit_code = ReportError(status);
  });
  return command;
}

}  // namespace

void AddMaintenanceCommands(CLI::App& app, int& exit_code) {
  auto arguments = std::make_shared<MaintenanceArguments>();

  CLI::App* optimize = AddCommand(
      app, "optimize", "Compact small files into larger ones (remove+add with dataChange=false)",
      OptimizeOnce, arguments, exit_code);
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
                 VacuumOnce, arguments, exit_code);
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
