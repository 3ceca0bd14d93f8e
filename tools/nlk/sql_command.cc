#include "sql_command.h"

#include <arrow/io/file.h>
#include <arrow/io/stdio.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "catalog/project_catalog.h"
#include "catalog_commands.h"
#include "cli_error.h"
#include "delta/table.h"
#include "format/output_format.h"
#include "format/text_table.h"
#include "sql/dataset_table_provider.h"
#include "sql/delta_table_provider.h"
#include "sql/memory_table_provider.h"
#include "sql/parser.h"
#include "sql/sql_engine.h"
#include "sql/table_at_uri.h"
#include "sql_write.h"
#include "table_printer.h"

namespace nlk::cli {
namespace {

struct SqlArguments {
  std::vector<std::string> tables;  // NAME=URI
  bool catalog = false;
  std::string catalog_root;
  std::string query;
  std::string format = "table";
  std::string out;
  bool metrics = false;
  bool write = false;
  std::string mode = "auto";
};

// NAME=URI, registered as RegisterTableAtUri decides.
arrow::Status RegisterTable(sql::MapTableCatalog& provider, const std::string& binding) {
  auto equals = binding.find('=');
  if (equals == std::string::npos || equals == 0 || equals + 1 == binding.size()) {
    return arrow::Status::Invalid("--table expects NAME=URI, got '", binding, "'");
  }
  return sql::RegisterTableAtUri(provider, binding.substr(0, equals), binding.substr(equals + 1));
}

// Every table of this build's catalog as database.table, opened only if the query names it, so
// that tables not created yet do not stand in the way of the others. Function tables are
// computed by their function.
void RegisterCatalog(sql::MapTableCatalog& provider, const std::string& root) {
  for (const catalog::Database& database : catalog::ProjectCatalog().databases) {
    for (const catalog::Table& table : database.tables) {
      std::string name = catalog::QualifiedName(database, table);
      if (table.kind == catalog::TableKind::kFunction) {
        provider.Register(
            name, [&table, name, root]() -> arrow::Result<std::shared_ptr<sql::TableProvider>> {
              ARROW_ASSIGN_OR_RAISE(auto rows, table.function(catalog::FunctionContext{root}));
              return std::make_shared<sql::MemoryTableProvider>(std::move(rows),
                                                                "function " + name);
            });
        continue;
      }
      std::string uri = catalog::ResolveUri(table.uri, root);
      bool delta = table.kind == catalog::TableKind::kDelta;
      provider.Register(name, [uri, delta]() -> arrow::Result<std::shared_ptr<sql::TableProvider>> {
        if (!delta) return sql::DatasetTableProvider::Parquet(uri);
        ARROW_ASSIGN_OR_RAISE(auto opened, delta::Table::Open(uri));
        ARROW_ASSIGN_OR_RAISE(auto snapshot, opened->log()->Latest());
        return sql::DeltaTableProvider::Make(std::move(opened), std::move(snapshot));
      });
    }
  }
}

arrow::Status RunSql(const SqlArguments& arguments) {
  auto provider = std::make_shared<sql::MapTableCatalog>();
  if (arguments.catalog) RegisterCatalog(*provider, CatalogRoot(arguments.catalog_root));
  for (const auto& binding : arguments.tables)
    ARROW_RETURN_NOT_OK(RegisterTable(*provider, binding));
  if (arguments.write) {
    sql::ParseOptions parse_options;
    parse_options.allow_writes = true;
    ARROW_ASSIGN_OR_RAISE(sql::Statement statement,
                          sql::ParseStatement(arguments.query, parse_options));
    if (statement.write != nullptr) {
      return RunWriteStatement(arguments.query, *statement.write, provider, arguments.format,
                               arguments.mode);
    }
  }
  sql::SqlEngine engine(provider);
  auto executed = engine.Execute(arguments.query, {});
  if (!executed.ok() && !arguments.write) {
    const std::string& message = executed.status().message();
    for (const char* verb : {"DELETE", "UPDATE", "INSERT"}) {
      if (message.rfind(std::string("read-only: ") + verb + " ", 0) == 0) {
        return executed.status().WithMessage(message, " (run DELETE, UPDATE and INSERT with ",
                                             "nlk sql --write)");
      }
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto result, std::move(executed));
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
  CLI::App* command = app.add_subcommand(
      "sql", "Run a SQL query over tables (with --write also DELETE, UPDATE, INSERT)");
  command
      ->add_option("--table", arguments->tables,
                   "NAME=URI of a Delta table or Parquet file/directory (repeatable)")
      // One value per --table, so the query after it stays positional.
      ->allow_extra_args(false);
  CLI::Option* catalog = command->add_flag(
      "--catalog", arguments->catalog,
      "Also query every table of this build's catalog as DATABASE.TABLE (function tables too)");
  command
      ->add_option("--root", arguments->catalog_root,
                   "With --catalog: where relative table URIs point (default $NLK_CATALOG_ROOT, "
                   "else the working directory)")
      ->needs(catalog);
  command->add_option("query", arguments->query, "The SQL query")->required();
  command
      ->add_option("--format", arguments->format,
                   "table, json, ndjson, csv, arrow, arrow-file or parquet")
      ->capture_default_str();
  command->add_option("--out", arguments->out, "Output file (default: standard output)");
  command->add_flag("--metrics", arguments->metrics, "Print scan and pruning figures to stderr");
  CLI::Option* write = command->add_flag(
      "--write", arguments->write,
      "Also run DELETE, UPDATE and INSERT on Delta tables (without it they are refused)");
  command
      ->add_option("--mode", arguments->mode,
                   "With --write: how DELETE and UPDATE change rows: auto (deletion vectors when "
                   "the table enables them), copy-on-write or deletion-vectors")
      ->capture_default_str()
      ->needs(write);
  command->callback([arguments, &exit_code]() {
    arrow::Status status = RunSql(*arguments);
    if (!status.ok()) exit_code = ReportError(status);
  });
}

}  // namespace nlk::cli
