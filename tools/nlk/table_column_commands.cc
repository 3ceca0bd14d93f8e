// `nlk table rename-column URI OLD NEW` and `nlk table drop-column URI COLUMN...`: metadata-only
// schema changes of a table with column mapping (delta/table.h, docs/tables.md).
#include "table_column_commands.h"

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli_error.h"
#include "delta/table.h"

namespace nlk::cli {

namespace {

struct ColumnArguments {
  std::string uri;
  std::string from;
  std::string to;
  std::vector<std::string> columns;
};

arrow::Status RunRename(const ColumnArguments& arguments) {
  ARROW_ASSIGN_OR_RAISE(auto table, delta::Table::Open(arguments.uri));
  ARROW_ASSIGN_OR_RAISE(int64_t version, table->RenameColumn(arguments.from, arguments.to));
  std::cout << "renamed column " << arguments.from << " to " << arguments.to << " as version "
            << version << " (metadata only; no data file rewritten)\n";
  return arrow::Status::OK();
}

arrow::Status RunDrop(const ColumnArguments& arguments) {
  ARROW_ASSIGN_OR_RAISE(auto table, delta::Table::Open(arguments.uri));
  ARROW_ASSIGN_OR_RAISE(int64_t version, table->DropColumns(arguments.columns));
  std::string list;
  for (const auto& column : arguments.columns) list += (list.empty() ? "" : ", ") + column;
  std::cout << "dropped column" << (arguments.columns.size() > 1 ? "s " : " ") << list
            << " as version " << version << " (metadata only; no data file rewritten)\n";
  return arrow::Status::OK();
}

void OnRun(CLI::App* command, arrow::Status (*runner)(const ColumnArguments&),
           const std::shared_ptr<ColumnArguments>& arguments, int& exit_code) {
  command->callback([runner, arguments, &exit_code] {
    arrow::Status status = runner(*arguments);
    if (!status.ok()) exit_code = ReportError(status);
  });
}

}  // namespace

void AddTableColumnCommands(CLI::App& table, int& exit_code) {
  auto arguments = std::make_shared<ColumnArguments>();
  CLI::App* rename = table.add_subcommand("rename-column",
                                          "Rename a column (needs column mapping; metadata only)");
  rename->add_option("uri", arguments->uri, "Table location: a path, file://... or s3://...")
      ->required();
  rename->add_option("old", arguments->from, "The column's current name")->required();
  rename->add_option("new", arguments->to, "Its new name")->required();
  OnRun(rename, RunRename, arguments, exit_code);

  CLI::App* drop =
      table.add_subcommand("drop-column", "Drop columns (needs column mapping; metadata only)");
  drop->add_option("uri", arguments->uri, "Table location: a path, file://... or s3://...")
      ->required();
  drop->add_option("columns", arguments->columns, "The columns to drop")->required();
  OnRun(drop, RunDrop, arguments, exit_code);
}

}  // namespace nlk::cli
