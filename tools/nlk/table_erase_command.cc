#include "table_erase_command.h"

#include <chrono>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

#include "cli_error.h"
#include "delta/data/schema.h"
#include "delta/erase.h"
#include "delta/predicate.h"
#include "delta/table.h"
#include "writer_rule.h"

namespace nlk::cli {
namespace {

struct EraseArguments {
  std::string uri;
  std::string where;
  std::optional<double> retention_hours;
  bool now = false;
};

std::string UtcTime(int64_t milliseconds) {
  std::time_t seconds = static_cast<std::time_t>(milliseconds / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  std::ostringstream text;
  text << std::put_time(&utc, "%Y-%m-%dT%H:%M:%SZ");
  return text.str();
}

void PrintReport(const delta::EraseResult& result, const EraseArguments& arguments) {
  const auto& deleted = result.deleted;
  if (deleted.committed) {
    std::cout << "erased " << deleted.rows_deleted << " rows as version " << deleted.version
              << " (copy-on-write)" << std::endl;
  } else {
    std::cout << "no file held a matching row; the rows were already gone at version "
              << result.read_version << std::endl;
  }
  std::cout << "files rewritten or removed: " << deleted.files_removed << " ("
            << deleted.files_purged << " only for rows a deletion vector hid, "
            << deleted.files_removed_without_reading
            << " removed without reading); files written: " << deleted.files_added << std::endl;
  std::cout << "files physically deleted: " << result.vacuum.files_deleted << " ("
            << result.vacuum.bytes_deleted << " bytes; vacuum retention "
            << result.vacuum.retention_ms / 3600000.0 << " hours"
            << (arguments.now ? ", --now" : "") << ")";
  if (result.directories_removed > 0) {
    std::cout << "; empty directories removed: " << result.directories_removed;
  }
  std::cout << std::endl;
  if (result.files_pending > 0 && result.deletable_after_ms) {
    std::cout << "files still waiting for the retention: " << result.files_pending
              << "; run nlk vacuum " << arguments.uri << " after "
              << UtcTime(*result.deletable_after_ms) << " (or nlk table erase again) to delete them"
              << std::endl;
  }
  std::cout << "log: checkpoint at version " << result.checkpoint_version << "; "
            << result.log_files_deleted << " log files deleted; time travel to versions before "
            << result.checkpoint_version << " is no longer possible" << std::endl;
  if (!deleted.maintenance_status.ok()) {
    std::cerr << "nlk: warning: committed, but the automatic checkpoint failed: "
              << deleted.maintenance_status.message() << std::endl;
  }
}

arrow::Status RunErase(const EraseArguments& arguments) {
  if (arguments.where.empty()) {
    return arrow::Status::Invalid("erase: give --where PREDICATE naming the rows to erase");
  }
  if (arguments.retention_hours && *arguments.retention_hours < 0) {
    return arrow::Status::Invalid("--retention-hours must not be negative");
  }
  ARROW_RETURN_NOT_OK(CheckNlkMayWrite(arguments.uri));
  ARROW_ASSIGN_OR_RAISE(auto table, delta::Table::Open(arguments.uri));
  ARROW_ASSIGN_OR_RAISE(auto snapshot, table->SnapshotFor({}));
  ARROW_ASSIGN_OR_RAISE(auto schema,
                        delta::data::ParseDeltaSchema(snapshot->metadata().schema_string));
  auto predicate = delta::ParsePredicate(arguments.where, *schema);
  if (!predicate.ok()) {
    return arrow::Status::Invalid("--where '", arguments.where,
                                  "': ", predicate.status().message());
  }
  delta::EraseOptions options;
  options.now = arguments.now;
  if (arguments.retention_hours) {
    options.retention_ms = static_cast<int64_t>(*arguments.retention_hours * 3600000.0);
  }
  ARROW_ASSIGN_OR_RAISE(auto result, delta::Erase(*table, *predicate, options));
  PrintReport(result, arguments);
  return arrow::Status::OK();
}

}  // namespace

void AddTableEraseCommand(CLI::App& table, int& exit_code) {
  auto arguments = std::make_shared<EraseArguments>();
  CLI::App* command = table.add_subcommand(
      "erase",
      "Erase rows for good: delete them rewriting every file that held them, vacuum the old "
      "files and drop the log history before (time travel to it is lost)");
  command->add_option("uri", arguments->uri, "Table location: a path, file://... or s3://...")
      ->required();
  command
      ->add_option("--where", arguments->where, "The rows to erase, e.g. \"subject_id = 'S-17'\"")
      ->required();
  CLI::Option* now = command->add_flag(
      "--now", arguments->now,
      "Delete the old files at once (vacuum retention 0, overriding the table's retention)");
  command
      ->add_option("--retention-hours", arguments->retention_hours,
                   "Vacuum retention (default and minimum: the table's "
                   "delta.deletedFileRetentionDuration)")
      ->excludes(now);
  command->callback([arguments, &exit_code] {
    arrow::Status status = RunErase(*arguments);
    if (!status.ok()) exit_code = ReportError(status);
  });
}

}  // namespace nlk::cli
