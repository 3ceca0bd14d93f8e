#include "retention_command.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "catalog/catalog.h"
#include "catalog/project_catalog.h"
#include "catalog_commands.h"
#include "cli_error.h"
#include "common/json_writer.h"
#include "common/sha256.h"
#include "delta/log/transaction.h"
#include "delta/retention.h"
#include "delta/table.h"
#include "server/api_error.h"
#include "server/audit_log.h"
#include "server/token_store.h"
#include "stop_signal.h"
#include "writer_rule.h"

namespace nlk::cli {
namespace {

struct RetentionArguments {
  bool catalog = false;
  std::string catalog_root;
  std::vector<std::string> tables;  // database.table; empty: every table with a retention
  std::optional<double> every_seconds;
  bool dry_run = false;
  bool json = false;
  std::string audit_log;
};

struct Target {
  std::string name;  // database.table
  std::string uri;
  catalog::Retention retention;
};

arrow::Result<std::vector<Target>> Targets(const RetentionArguments& arguments) {
  if (!arguments.catalog) {
    return arrow::Status::Invalid(
        "nlk retention applies the retention declared in the catalog: give --catalog");
  }
  const catalog::Catalog& declared = catalog::ProjectCatalog();
  const std::string root = CatalogRoot(arguments.catalog_root);
  std::vector<Target> targets;
  for (const std::string& wanted : arguments.tables) {
    size_t dot = wanted.find('.');
    const catalog::Table* table =
        dot == std::string::npos ? nullptr
                                 : declared.FindTable(std::string_view(wanted).substr(0, dot),
                                                      std::string_view(wanted).substr(dot + 1));
    if (table == nullptr) {
      return arrow::Status::Invalid("--table ", wanted,
                                    ": not a table of the catalog (write database.table)");
    }
    if (!table->retention) {
      return arrow::Status::Invalid("--table ", wanted,
                                    ": the catalog declares no retention for it");
    }
  }
  for (const catalog::Database& database : declared.databases) {
    for (const catalog::Table& table : database.tables) {
      if (!table.retention) continue;
      const std::string name = catalog::QualifiedName(database, table);
      if (!arguments.tables.empty() && std::find(arguments.tables.begin(), arguments.tables.end(),
                                                 name) == arguments.tables.end()) {
        continue;
      }
      targets.push_back({name, catalog::ResolveUri(table.uri, root), *table.retention});
    }
  }
  if (targets.empty()) {
    return arrow::Status::Invalid("the catalog declares no retention on any table");
  }
  return targets;
}

void PrintResult(const Target& target, const delta::RetentionResult& result, bool json) {
  if (json) {
    JsonWriter writer;
    writer.BeginObject();
    writer.Key("table");
    writer.String(target.name);
    writer.Key("dryRun");
    writer.Bool(result.dry_run);
    writer.Key("cutoff");
    writer.String(result.cutoff);
    writer.Key("predicate");
    writer.String(result.predicate);
    writer.Key("partitions");
    writer.BeginArray();
    for (const std::string& partition : result.partitions) writer.String(partition);
    writer.EndArray();
    for (const auto& [key, value] : {std::pair{"readVersion", result.read_version},
                                     {"committedVersion", result.committed_version},
                                     {"filesRemoved", result.files_removed},
                                     {"bytesRemoved", result.bytes_removed},
                                     {"rowsRemoved", result.rows_removed},
                                     {"durationMs", result.duration_ms}}) {
      writer.Key(key);
      writer.Int(value);
    }
    writer.EndObject();
    std::cout << writer.str() << std::endl;
    return;
  }
  std::string partitions;
  for (const std::string& partition : result.partitions) {
    partitions += (partitions.empty() ? "" : ", ") + partition;
  }
  if (result.partitions.empty()) {
    std::cout << target.name << ": nothing older than " << target.retention.keep.count()
              << " days (" << target.retention.column << " before " << result.cutoff << ")"
              << std::endl;
  } else if (result.dry_run) {
    std::cout << target.name << ": would delete " << result.partitions.size() << " partitions ("
              << result.files_removed << " files, " << result.rows_removed << " rows) where "
              << result.predicate << ": " << partitions << std::endl;
  } else {
    std::cout << target.name << ": deleted " << result.partitions.size() << " partitions ("
              << result.files_removed << " files, " << result.rows_removed << " rows) where "
              << result.predicate << " in version " << result.committed_version << ": "
              << partitions << " (files stay until vacuum)" << std::endl;
  }
}

// One pass over every target; the first error, after trying them all.
arrow::Status Pass(const RetentionArguments& arguments, const std::vector<Target>& targets,
                   server::AuditLog* audit) {
  arrow::Status first_error;
  for (const Target& target : targets) {
    if (StopRequested()) break;
    const int64_t started_us = server::AuditNowMicros();
    delta::RetentionResult result;
    arrow::Status status = [&]() -> arrow::Status {
      ARROW_ASSIGN_OR_RAISE(bool exists, delta::Table::Exists(target.uri));
      if (!exists) {
        std::cerr << "nlk retention: " << target.name << ": no table at " << target.uri
                  << " yet; skipped" << std::endl;
        return arrow::Status::OK();
      }
      if (!arguments.dry_run) ARROW_RETURN_NOT_OK(CheckNlkMayWrite(target.uri));
      ARROW_ASSIGN_OR_RAISE(auto table, delta::Table::Open(target.uri));
      delta::RetentionOptions options;
      options.column = target.retention.column;
      options.keep = target.retention.keep;
      options.dry_run = arguments.dry_run;
      ARROW_ASSIGN_OR_RAISE(result, delta::ApplyRetention(*table->log(), options));
      PrintResult(target, result, arguments.json);
      return arrow::Status::OK();
    }();
    if (!status.ok()) {
      status = status.WithMessage(target.name, ": ", status.message());
      std::cerr << "nlk retention: " << status.message() << std::endl;
      if (first_error.ok()) first_error = status;
    }
    if (audit != nullptr) {
      server::AuditRecord record;
      record.time_us = started_us;
      record.principal = delta::CommitPrincipal();
      record.protocol = "retention";
      record.endpoint = arguments.dry_run ? "retention_dry_run" : "retention";
      record.tables = {target.name};
      record.rows = result.rows_removed;
      record.bytes = result.bytes_removed;
      record.duration_us = server::AuditNowMicros() - started_us;
      record.status = status.ok() ? "ok" : server::DescribeError(status, "retention_failed").code;
      const std::string statement =
          result.predicate.empty() ? "DELETE FROM " + target.name
                                   : "DELETE FROM " + target.name + " WHERE " + result.predicate;
      record.statement_sha256 = Sha256Hex(statement);
      record.statement = statement;
      audit->Record(std::move(record));
    }
  }
  if (audit != nullptr) {
    arrow::Status written = audit->Flush();
    if (!written.ok()) {
      std::cerr << "nlk retention: cannot write the audit log: " << written.message() << std::endl;
      if (first_error.ok()) first_error = written.WithMessage("audit log: ", written.message());
    }
  }
  return first_error;
}

arrow::Status Run(const RetentionArguments& arguments) {
  if (arguments.every_seconds &&
      !(*arguments.every_seconds > 0 && std::isfinite(*arguments.every_seconds))) {
    return arrow::Status::Invalid("--every must be a positive number of seconds, not ",
                                  *arguments.every_seconds);
  }
  ARROW_ASSIGN_OR_RAISE(std::vector<Target> targets, Targets(arguments));
  std::unique_ptr<server::AuditLog> audit;
  if (!arguments.audit_log.empty()) {
    server::AuditOptions options;
    options.uri = arguments.audit_log;
    options.statements = true;
    ARROW_ASSIGN_OR_RAISE(
        audit, server::AuditLog::Start(options, server::MakeDeltaAuditSink(options.uri)));
  }
  InstallStopHandlers();
  // The first pass's error ends the command (a wrong declaration will not fix itself); a
  // daemon's later errors are reported and the next pass tries again.
  ARROW_RETURN_NOT_OK(Pass(arguments, targets, audit.get()));
  if (!arguments.every_seconds) return arrow::Status::OK();
  const auto period = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(*arguments.every_seconds));
  auto next_pass = std::chrono::steady_clock::now() + period;
  while (!StopRequested()) {
    if (std::chrono::steady_clock::now() < next_pass) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    arrow::Status status = Pass(arguments, targets, audit.get());
    if (!status.ok()) {
      std::cerr << "nlk: warning: " << status.message() << " (next attempt in "
                << *arguments.every_seconds << " s)" << std::endl;
    }
    next_pass = std::chrono::steady_clock::now() + period;
  }
  std::cerr << "nlk: stopping on signal " << StopSignal() << std::endl;
  return arrow::Status::OK();
}

}  // namespace

void AddRetentionCommand(CLI::App& app, int& exit_code) {
  auto arguments = std::make_shared<RetentionArguments>();
  CLI::App* command = app.add_subcommand(
      "retention",
      "Delete the partitions older than the retention the catalog declares (a DELETE commit; "
      "vacuum removes the files later)");
  command
      ->add_flag("--catalog", arguments->catalog,
                 "Apply the retention declared in this build's catalog")
      ->required();
  command->add_option("--root", arguments->catalog_root,
                      "Where relative table URIs point (default: $NLK_CATALOG_ROOT, else the "
                      "working directory)");
  command->add_option("--table", arguments->tables,
                      "Only this DATABASE.TABLE (repeatable; default: every table with a "
                      "retention)");
  command->add_option("--every", arguments->every_seconds,
                      "Run as a daemon: a pass every SECONDS until SIGTERM or SIGINT");
  command->add_flag("--dry-run", arguments->dry_run,
                    "List the partitions that would be deleted; commit nothing");
  command->add_flag("--json", arguments->json, "Print each table's summary as one JSON object");
  command->add_option("--audit-log", arguments->audit_log,
                      "Record each table's run in this audit table (as nlk serve --audit-log)");
  command->callback([arguments, &exit_code] {
    arrow::Status status = Run(*arguments);
    if (!status.ok()) exit_code = ReportError(status);
  });
}

}  // namespace nlk::cli
