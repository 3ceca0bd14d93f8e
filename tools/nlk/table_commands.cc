#include "table_commands.h"

#include <arrow/compute/cast.h>
#include <arrow/io/file.h>
#include <arrow/io/stdio.h>
#include <arrow/scalar.h>

#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli_error.h"
#include "common/json_writer.h"
#include "delta/data/scan.h"
#include "delta/data/schema.h"
#include "delta/log/expression_compiler.h"
#include "delta/log/table_constraints.h"
#include "delta/table.h"
#include "format/output_format.h"
#include "format/text_table.h"
#include "input_files.h"
#include "table_column_commands.h"
#include "table_constraint_commands.h"
#include "table_dml_commands.h"
#include "table_erase_command.h"
#include "table_printer.h"
#include "writer_rule.h"

namespace nlk::cli {
namespace {

using delta::Table;

struct TableArguments {
  std::string uri;
  std::vector<std::string> inputs;
  std::vector<std::string> partition_by;
  std::vector<std::string> properties;
  std::vector<std::string> constraints;  // NAME=EXPR
  std::vector<std::string> generated;    // COLUMN=EXPR
  std::string name;
  std::string description;
  bool schema_evolution = false;
  std::string app_id;
  int64_t app_version = -1;
  std::string where;
  // read
  std::optional<int64_t> version;
  std::string timestamp;
  std::vector<std::string> columns;
  std::string filter;
  std::optional<int64_t> limit;
  std::string format = "table";
  std::string out;
  bool metrics = false;
  bool json = false;
  // changes
  int64_t from_version = 0;
  std::optional<int64_t> to_version;
};

arrow::Result<int64_t> ParseTimestampMillis(const std::string& text) {
  for (auto type : {arrow::timestamp(arrow::TimeUnit::MILLI),
                    arrow::timestamp(arrow::TimeUnit::MILLI, "UTC")}) {
    auto cast = arrow::compute::Cast(arrow::Datum(arrow::MakeScalar(text)), type);
    if (cast.ok()) return static_cast<const arrow::TimestampScalar&>(*cast->scalar()).value;
  }
  return arrow::Status::Invalid("--timestamp '", text,
                                "' is not a timestamp (use e.g. 2026-01-01T00:00:00Z)");
}

arrow::Result<std::map<std::string, std::string>> ParseProperties(
    const std::vector<std::string>& pairs) {
  std::map<std::string, std::string> properties;
  for (const std::string& pair : pairs) {
    size_t equals = pair.find('=');
    if (equals == std::string::npos || equals == 0) {
      return arrow::Status::Invalid("--property '", pair, "' must look like key=value");
    }
    properties[pair.substr(0, equals)] = pair.substr(equals + 1);
  }
  return properties;
}

delta::WriteOptions MakeWriteOptions(const TableArguments& arguments) {
  delta::WriteOptions options;
  options.schema_evolution = arguments.schema_evolution;
  if (!arguments.app_id.empty()) {
    options.app_transactions.push_back({arguments.app_id, arguments.app_version, std::nullopt});
  }
  return options;
}

arrow::Status CheckAppTransaction(const TableArguments& arguments) {
  if (arguments.app_id.empty() != (arguments.app_version < 0)) {
    return arrow::Status::Invalid("--app-id and --app-version go together");
  }
  return arrow::Status::OK();
}

void PrintWrite(const std::string& verb, const delta::WriteResult& result) {
  if (result.version < 0) {
    std::cout << "skipped: this application transaction was already applied" << std::endl;
    return;
  }
  std::cout << verb << " " << result.rows_written << " rows in " << result.files_added << " files";
  if (result.files_removed > 0) std::cout << " (removed " << result.files_removed << " files)";
  std::cout << " as version " << result.version << std::endl;
  if (!result.maintenance_status.ok()) {
    std::cerr << "nlk: warning: committed, but the automatic checkpoint failed: "
              << result.maintenance_status.message() << std::endl;
  }
}

// "left=right" split at the first '='; `flag` names the option in errors.
arrow::Result<std::pair<std::string, std::string>> SplitAssignment(const std::string& flag,
                                                                   const std::string& text) {
  size_t equals = text.find('=');
  if (equals == std::string::npos || equals == 0 || equals + 1 == text.size()) {
    return arrow::Status::Invalid(flag, " '", text, "' must look like NAME=EXPRESSION");
  }
  return std::make_pair(text.substr(0, equals), text.substr(equals + 1));
}

// The input schema with each --generated column's generation expression in its Delta column
// metadata; a column the input lacks is added with the type of its expression (computed from
// the other columns when the rows are written).
arrow::Result<std::shared_ptr<arrow::Schema>> WithGeneratedColumns(
    std::shared_ptr<arrow::Schema> schema, const std::vector<std::string>& generated) {
  const auto input = schema;
  for (const std::string& text : generated) {
    ARROW_ASSIGN_OR_RAISE(auto pair, SplitAssignment("--generated", text));
    const auto& [column, expression] = pair;
    std::string metadata = R"({")" + std::string(delta::kGenerationExpressionKey) + R"(":)";
    AppendJsonString(&metadata, expression);
    metadata += "}";
    const int index = schema->GetFieldIndex(column);
    if (index >= 0) {
      ARROW_ASSIGN_OR_RAISE(schema, schema->SetField(index, delta::data::WithDeltaFieldMetadata(
                                                                schema->field(index), metadata)));
      continue;
    }
    auto compiled = delta::CompileSqlExpression(expression, *input, {});
    if (!compiled.ok()) {
      return arrow::Status::Invalid("--generated '", text, "': ", compiled.status().message());
    }
    ARROW_ASSIGN_OR_RAISE(auto bound, compiled->Bind(*input));
    ARROW_ASSIGN_OR_RAISE(auto type,
                          delta::data::NormalizeToDeltaType(bound.type()->GetSharedPtr(), column));
    ARROW_ASSIGN_OR_RAISE(
        schema, schema->AddField(schema->num_fields(), delta::data::WithDeltaFieldMetadata(
                                                           arrow::field(column, type), metadata)));
  }
  return schema;
}

arrow::Status RunCreate(const TableArguments& arguments) {
  ARROW_RETURN_NOT_OK(CheckNlkMayWrite(arguments.uri));
  ARROW_ASSIGN_OR_RAISE(auto input, OpenParquetInputs(arguments.inputs));
  delta::CreateOptions options;
  options.partition_columns = arguments.partition_by;
  ARROW_ASSIGN_OR_RAISE(options.properties, ParseProperties(arguments.properties));
  for (const std::string& text : arguments.constraints) {
    ARROW_ASSIGN_OR_RAISE(auto pair, SplitAssignment("--constraint", text));
    options.properties[delta::ConstraintPropertyKey(pair.first)] = pair.second;
  }
  if (!arguments.name.empty()) options.name = arguments.name;
  if (!arguments.description.empty()) options.description = arguments.description;
  ARROW_ASSIGN_OR_RAISE(auto schema, WithGeneratedColumns(input->schema(), arguments.generated));
  ARROW_ASSIGN_OR_RAISE(auto table, Table::Create(arguments.uri, schema, options, input));
  std::cout << "created " << arguments.uri << " at version 0" << std::endl;
  return arrow::Status::OK();
}

arrow::Status RunAppend(const TableArguments& arguments) {
  ARROW_RETURN_NOT_OK(CheckAppTransaction(arguments));
  ARROW_RETURN_NOT_OK(CheckNlkMayWrite(arguments.uri));
  ARROW_ASSIGN_OR_RAISE(auto input, OpenParquetInputs(arguments.inputs));
  ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(arguments.uri));
  ARROW_ASSIGN_OR_RAISE(auto result, table->Append(input, MakeWriteOptions(arguments)));
  PrintWrite("appended", result);
  return arrow::Status::OK();
}

arrow::Status RunOverwrite(const TableArguments& arguments) {
  ARROW_RETURN_NOT_OK(CheckAppTransaction(arguments));
  ARROW_RETURN_NOT_OK(CheckNlkMayWrite(arguments.uri));
  ARROW_ASSIGN_OR_RAISE(auto input, OpenParquetInputs(arguments.inputs));
  ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(arguments.uri));
  std::optional<std::string> where;
  if (!arguments.where.empty()) where = arguments.where;
  ARROW_ASSIGN_OR_RAISE(auto result, table->Overwrite(input, where, MakeWriteOptions(arguments)));
  PrintWrite("wrote", result);
  return arrow::Status::OK();
}

arrow::Result<delta::ReadOptions> MakeReadOptions(const TableArguments& arguments) {
  delta::ReadOptions options;
  if (arguments.version && !arguments.timestamp.empty()) {
    return arrow::Status::Invalid("give --version or --timestamp, not both");
  }
  options.version = arguments.version;
  if (!arguments.timestamp.empty()) {
    ARROW_ASSIGN_OR_RAISE(options.timestamp_ms, ParseTimestampMillis(arguments.timestamp));
  }
  options.columns = arguments.columns;
  if (!arguments.filter.empty()) options.filter = arguments.filter;
  options.limit = arguments.limit;
  return options;
}

arrow::Status WriteRows(const TableArguments& arguments, arrow::RecordBatchReader& reader) {
  if (arguments.format == "count") {
    int64_t rows = 0;
    std::shared_ptr<arrow::RecordBatch> batch;
    while (true) {
      ARROW_RETURN_NOT_OK(reader.ReadNext(&batch));
      if (!batch) break;
      rows += batch->num_rows();
    }
    std::cout << rows << std::endl;
    return arrow::Status::OK();
  }
  if (arguments.format == "table") return format::WriteTextTable(reader, std::cout);
  ARROW_ASSIGN_OR_RAISE(format::OutputFormat format, format::ParseOutputFormat(arguments.format));
  std::shared_ptr<arrow::io::OutputStream> out;
  if (arguments.out.empty() || arguments.out == "-") {
    out = std::make_shared<arrow::io::StdoutStream>();
  } else {
    ARROW_ASSIGN_OR_RAISE(out, arrow::io::FileOutputStream::Open(arguments.out));
  }
  ARROW_RETURN_NOT_OK(format::WriteBatches(reader, format, out).status());
  return out->Close();
}

// One line, in the words of `nlk sql --metrics`.
void PrintScanMetrics(const delta::data::ScanMetrics& metrics) {
  std::cerr << "files: " << metrics.files_total << " total, " << metrics.files_pruned_by_partition
            << " pruned by partition, " << metrics.files_skipped_by_stats << " skipped by stats, "
            << metrics.files_skipped_by_limit << " skipped by limit, " << metrics.files_read
            << " read; row groups: " << metrics.row_groups_total << " total, "
            << metrics.row_groups_pruned << " pruned; rows scanned: " << metrics.rows_read
            << "; bytes scanned: " << metrics.bytes_read << std::endl;
}

arrow::Status RunRead(const TableArguments& arguments) {
  ARROW_ASSIGN_OR_RAISE(delta::ReadOptions options, MakeReadOptions(arguments));
  ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(arguments.uri));
  if (arguments.format == "table" && !options.limit) options.limit = 20;
  ARROW_ASSIGN_OR_RAISE(auto scan, table->PlanRead(options));
  ARROW_ASSIGN_OR_RAISE(auto reader, scan->ToRecordBatchReader());
  ARROW_RETURN_NOT_OK(WriteRows(arguments, *reader));
  if (arguments.metrics) PrintScanMetrics(scan->metrics());
  return arrow::Status::OK();
}

arrow::Status RunChanges(const TableArguments& arguments) {
  ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(arguments.uri));
  delta::ChangeFeedOptions options;
  options.from_version = arguments.from_version;
  options.to_version = arguments.to_version;
  ARROW_ASSIGN_OR_RAISE(auto reader, table->Changes(options));
  return WriteRows(arguments, *reader);
}

arrow::Status RunHistory(const TableArguments& arguments) {
  ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(arguments.uri));
  return PrintHistory(*table, arguments.limit, arguments.json, std::cout);
}

arrow::Status RunDescribe(const TableArguments& arguments) {
  ARROW_ASSIGN_OR_RAISE(delta::ReadOptions options, MakeReadOptions(arguments));
  ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(arguments.uri));
  ARROW_ASSIGN_OR_RAISE(auto snapshot, table->SnapshotFor(options));
  return PrintDescription(*table, *snapshot, arguments.json, std::cout);
}

arrow::Status RunFiles(const TableArguments& arguments) {
  ARROW_ASSIGN_OR_RAISE(delta::ReadOptions options, MakeReadOptions(arguments));
  ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(arguments.uri));
  ARROW_ASSIGN_OR_RAISE(auto snapshot, table->SnapshotFor(options));
  return PrintFiles(*snapshot, arguments.json, std::cout);
}

arrow::Status RunCheckpoint(const TableArguments& arguments) {
  ARROW_RETURN_NOT_OK(CheckNlkMayWrite(arguments.uri));
  ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(arguments.uri));
  ARROW_ASSIGN_OR_RAISE(int64_t version, table->Checkpoint());
  std::cout << "checkpoint written at version " << version << std::endl;
  return arrow::Status::OK();
}

using Runner = arrow::Status (*)(const TableArguments&);

CLI::App* AddCommand(CLI::App& parent, const std::string& name, const std::string& help,
                     Runner runner, const std::shared_ptr<TableArguments>& arguments,
                     int& exit_code) {
  CLI::App* command = parent.add_subcommand(name, help);
  command->add_option("uri", arguments->uri, "Table location: a path, file://... or s3://...")
      ->required();
  command->callback([runner, arguments, &exit_code] {
    arrow::Status status = runner(*arguments);
    if (!status.ok()) exit_code = ReportError(status);
  });
  return command;
}

void AddSnapshotSelection(CLI::App* command, TableArguments& arguments) {
  command->add_option("--version", arguments.version, "Read the table as of this version");
  command->add_option("--timestamp", arguments.timestamp,
                      "Read the table as of this time, e.g. 2026-01-01T00:00:00Z");
}

}  // namespace

void AddTableCommands(CLI::App& app, int& exit_code) {
  auto arguments = std::make_shared<TableArguments>();
  CLI::App* table = app.add_subcommand("table", "Create, write, read and inspect Delta tables");
  table->require_subcommand(1);

  CLI::App* create = AddCommand(*table, "create", "Create a table from Parquet input", RunCreate,
                                arguments, exit_code);
  create->add_option("--input", arguments->inputs, "Parquet file(s) with the first data")
      ->required();
  create->add_option("--partition-by", arguments->partition_by, "Partition columns")
      ->delimiter(',');
  create->add_option("--property", arguments->properties, "Table property key=value");
  create->add_option("--constraint", arguments->constraints,
                     "A CHECK constraint NAME=EXPRESSION every row must satisfy (repeatable)");
  create->add_option("--generated", arguments->generated,
                     "A generated column COLUMN=EXPRESSION, computed from the other columns when "
                     "rows lack it (repeatable)");
  create->add_option("--name", arguments->name, "Table name");
  create->add_option("--description", arguments->description, "Table description");

  CLI::App* append =
      AddCommand(*table, "append", "Append Parquet input", RunAppend, arguments, exit_code);
  CLI::App* overwrite = AddCommand(*table, "overwrite", "Replace the table or some partitions",
                                   RunOverwrite, arguments, exit_code);
  overwrite->add_option("--where", arguments->where,
                        "Replace only the partitions matching this predicate");
  for (CLI::App* write : {append, overwrite}) {
    write->add_option("--input", arguments->inputs, "Parquet file(s)")->required();
    write->add_flag("--schema-evolution", arguments->schema_evolution,
                    "Add new columns of the input to the table schema");
    write->add_option("--app-id", arguments->app_id, "Idempotent write: application id");
    write->add_option("--app-version", arguments->app_version,
                      "Idempotent write: application version (applied once)");
  }

  CLI::App* read = AddCommand(*table, "read", "Read rows", RunRead, arguments, exit_code);
  AddSnapshotSelection(read, *arguments);
  read->add_option("--columns", arguments->columns, "Columns to read")->delimiter(',');
  read->add_option("--filter", arguments->filter, "Row predicate, e.g. \"channel = 3\"");
  read->add_option("--limit", arguments->limit, "At most this many rows");
  read->add_option("--format", arguments->format,
                   "table, count, json, ndjson, csv, arrow, arrow-file or parquet")
      ->capture_default_str();
  read->add_option("--out", arguments->out, "Output file (default: standard output)");
  read->add_flag("--metrics", arguments->metrics,
                 "Print the files and row groups pruned, skipped and read to stderr");

  CLI::App* changes = AddCommand(*table, "changes",
                                 "Read the change data feed: rows inserted, deleted and updated "
                                 "by a range of versions",
                                 RunChanges, arguments, exit_code);
  changes->add_option("--from-version", arguments->from_version, "First version (inclusive)")
      ->required();
  changes->add_option("--to-version", arguments->to_version,
                      "Last version (inclusive; default: the latest)");
  changes
      ->add_option("--format", arguments->format,
                   "table, count, json, ndjson, csv, arrow, arrow-file or parquet")
      ->capture_default_str();
  changes->add_option("--out", arguments->out, "Output file (default: standard output)");

  CLI::App* history =
      AddCommand(*table, "history", "List commits", RunHistory, arguments, exit_code);
  history->add_option("--limit", arguments->limit, "Newest N commits");
  CLI::App* describe = AddCommand(*table, "describe", "Show schema, properties and size",
                                  RunDescribe, arguments, exit_code);
  AddSnapshotSelection(describe, *arguments);
  CLI::App* files =
      AddCommand(*table, "files", "List the active data files", RunFiles, arguments, exit_code);
  AddSnapshotSelection(files, *arguments);
  for (CLI::App* command : {history, describe, files}) {
    command->add_flag("--json", arguments->json, "Machine-readable JSON output");
  }
  AddCommand(*table, "checkpoint", "Write a checkpoint at the latest version", RunCheckpoint,
             arguments, exit_code);
  AddTableDmlCommands(*table, exit_code);
  AddTableColumnCommands(*table, exit_code);
  AddTableEraseCommand(*table, exit_code);
  AddTableConstraintCommands(*table, exit_code);
}

}  // namespace nlk::cli
