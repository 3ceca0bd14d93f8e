#include "sql_command.h"

#include <arrow/io/file.h>
#include <arrow/io/stdio.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli_error.h"
#include "format/output_format.h"
#include "format/text_table.h"
#include "sql/sql_engine.h"
#include "table_printer.h"

namespace nlk::cli {
namespace {

struct SqlArguments {
  std::vector<std::string> tables;  // NAME=URI
  std::string query;
  std::string format = "table";
  std::string out;
  bool metrics = false;
};

// NAME=URI: a Delta table when URI holds a _delta_log, else Parquet files.
arrow::Status RegisterTable(sql::MapTableProvider& provider, const std::string& binding) {
  auto equals = binding.find('=');
  if (equals == std::string::npos || equals == 0 || equals + 1 == binding.size()) {
    return arrow::Status::Invalid("--table expects NAME=URI, got '", binding, "'");
  }
  std::string name = binding.substr(0, equals);
  std::string uri = binding.substr(equals + 1);
  arrow::Status delta = provider.RegisterDelta(name, uri);
  if (delta.ok()) return delta;
  if (delta.message().find("not a Delta table") == std::string::npos) return delta;
  arrow::Status parquet = provider.RegisterParquet(name, uri);
  if (!parquet.ok()) {
    return arrow::Status::Invalid("table ", name, ": ", uri,
                                  " is neither a Delta table nor Parquet files (",
                                  parquet.message(), ")");
  }
  return parquet;
}

arrow::Status RunSql(const SqlArguments& arguments) {
  auto provider = std::make_shared<sql::MapTableProvider>();
  for (const auto& binding : arguments.tables)
    ARROW_RETURN_NOT_OK(RegisterTable(*provider, binding));
  sql::SqlEngine engine(provider);
  ARROW_ASSIGN_OR_RAISE(auto result, engine.Execute(arguments.query, {}));
  if (arguments.format == "table") {
    ARROW_RETURN_NOT_OK(format::WriteTextTable(*result.reader, std::cout));
  } else {
    ARROW_ASSIGN_OR_RAISE(format::OutputFormat format, format::ParseOutputFormat(arguments.format));
    std::shared_ptr<arrow::io::OutputStream> out;
    if (arguments.out.empty() || arguments.out == "-") {
      out = std::make_shared<arrow::io::StdoutStream>();
    } else {
      ARROW_ASSIGN_OR_RAISE(out, arrow::io::FileOutputStream::Open(arguments.out));
    }
    ARROW_RETURN_NOT_OK(format::WriteBatches(*result.reader, format, out).status());
    ARROW_RETURN_NOT_OK(out->Close());
  }
  if (arguments.metrics) {
    sql::QueryMetrics metrics = result.metrics();
    std::cerr << "files: " << metrics.files_total << " total, " << metrics.files_pruned_by_partition
              << " pruned by partition, " << metrics.files_skipped_by_stats << " skipped by stats, "
              << metrics.files_read << " read; row groups: " << metrics.row_groups_total
              << " total, " << metrics.row_groups_pruned
              << " pruned; rows scanned: " << metrics.rows_scanned
              << "; bytes scanned: " << metrics.bytes_scanned << std::endl;
  }
  return arrow::Status::OK();
}

}  // namespace

void AddSqlCommand(CLI::App& app, int& exit_code) {
  auto arguments = std::make_shared<SqlArguments>();
  CLI::App* command = app.add_subcommand("sql", "Run a read-only SQL query over tables");
  command
      ->add_option("--table", arguments->tables,
                   "NAME=URI of a Delta table or Parquet file/directory (repeatable)")
      // One value per --table, so the query after it stays positional.
      ->allow_extra_args(false);
  command->add_option("query", arguments->query, "The SQL query")->required();
  command
      ->add_option("--format", arguments->format,
                   "table, json, ndjson, csv, arrow, arrow-file or parquet")
      ->capture_default_str();
  command->add_option("--out", arguments->out, "Output file (default: standard output)");
  command->add_flag("--metrics", arguments->metrics, "Print scan and pruning figures to stderr");
  command->callback([arguments, &exit_code]() {
    arrow::Status status = RunSql(*arguments);
    if (!status.ok()) exit_code = ReportError(status);
  });
}

}  // namespace nlk::cli
