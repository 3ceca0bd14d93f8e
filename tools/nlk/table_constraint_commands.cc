// `nlk table constraint add|drop`: a table's CHECK constraints (delta/check_constraints.h).
#include "table_constraint_commands.h"

#include <iostream>
#include <memory>
#include <string>

#include "cli_error.h"
#include "delta/check_constraints.h"
#include "delta/table.h"
#include "writer_rule.h"

namespace nlk::cli {
namespace {

struct ConstraintArguments {
  std::string uri;
  std::string name;
  std::string expression;
  bool if_exists = false;
};

arrow::Status RunAdd(const ConstraintArguments& arguments) {
  ARROW_RETURN_NOT_OK(CheckNlkMayWrite(arguments.uri));
  ARROW_ASSIGN_OR_RAISE(auto table, delta::Table::Open(arguments.uri));
  ARROW_ASSIGN_OR_RAISE(delta::ConstraintChange change,
                        delta::AddCheckConstraint(*table, arguments.name, arguments.expression));
  std::cout << "added CHECK constraint " << arguments.name << " (" << change.expression
            << ") as version " << change.version << "; " << change.rows_checked
            << " existing rows satisfy it" << std::endl;
  return arrow::Status::OK();
}

arrow::Status RunDrop(const ConstraintArguments& arguments) {
  ARROW_RETURN_NOT_OK(CheckNlkMayWrite(arguments.uri));
  ARROW_ASSIGN_OR_RAISE(auto table, delta::Table::Open(arguments.uri));
  ARROW_ASSIGN_OR_RAISE(delta::ConstraintChange change,
                        delta::DropCheckConstraint(*table, arguments.name, arguments.if_exists));
  if (change.version < 0) {
    std::cout << "the table has no CHECK constraint " << arguments.name << "; nothing to drop"
              << std::endl;
  } else {
    std::cout << "dropped CHECK constraint " << arguments.name << " (" << change.expression
              << ") as version " << change.version << std::endl;
  }
  return arrow::Status::OK();
}

}  // namespace

void AddTableConstraintCommands(CLI::App& table, int& exit_code) {
  CLI::App* constraint =
      table.add_subcommand("constraint", "Add or drop a CHECK constraint of a table");
  constraint->require_subcommand(1);
  auto arguments = std::make_shared<ConstraintArguments>();
  auto add_common = [&](CLI::App* command) {
    command->add_option("uri", arguments->uri, "Table location: a path, file://... or s3://...")
        ->required();
    command->add_option("name", arguments->name, "Constraint name (letters, digits, _)")
        ->required();
  };
  CLI::App* add = constraint->add_subcommand(
      "add", "Add a CHECK constraint; every existing row must satisfy it");
  add_common(add);
  add->add_option("expression", arguments->expression,
                  "A boolean SQL expression over the columns, e.g. \"value > 0\"")
      ->required();
  add->callback([arguments, &exit_code] {
    arrow::Status status = RunAdd(*arguments);
    if (!status.ok()) exit_code = ReportError(status);
  });
  CLI::App* drop = constraint->add_subcommand("drop", "Drop a CHECK constraint");
  add_common(drop);
  drop->add_flag("--if-exists", arguments->if_exists,
                 "Succeed without a change when the table has no such constraint");
  drop->callback([arguments, &exit_code] {
    arrow::Status status = RunDrop(*arguments);
    if (!status.ok()) exit_code = ReportError(status);
  });
}

}  // namespace nlk::cli
