// `nlk table delete URI --where PRED` and `nlk table update URI --set "col = expr" --where PRED`:
// parse the texts against the table's schema and run the row-level operation.
#include "table_dml_commands.h"

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli_error.h"
#include "delta/data/schema.h"
#include "delta/predicate.h"
#include "delta/table.h"
#include "table_merge_command.h"
#include "writer_rule.h"

namespace nlk::cli {
namespace {

namespace dml = delta::dml;

struct DmlArguments {
  std::string uri;
  std::string where;
  bool all_rows = false;
  std::vector<std::string> assignments;
  std::string mode = "auto";
};

arrow::Result<dml::RowChangeMode> ParseMode(const std::string& mode) {
  if (mode == "auto") return dml::RowChangeMode::kTableDefault;
  if (mode == "copy-on-write") return dml::RowChangeMode::kCopyOnWrite;
  if (mode == "deletion-vectors") return dml::RowChangeMode::kDeletionVectors;
  return arrow::Status::Invalid("--mode '", mode,
                                "' is not one of auto, copy-on-write, deletion-vectors");
}

std::string Trim(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t\n");
  if (begin == std::string_view::npos) return "";
  size_t end = text.find_last_not_of(" \t\n");
  return std::string(text.substr(begin, end - begin + 1));
}

// "column = value" or "\"column\" = value".
arrow::Result<dml::Assignment> ParseAssignment(const std::string& text,
                                               const arrow::Schema& schema) {
  std::string column;
  size_t rest = 0;
  std::string trimmed = Trim(text);
  if (!trimmed.empty() && trimmed.front() == '"') {
    size_t close = trimmed.find('"', 1);
    if (close == std::string::npos) {
      return arrow::Status::Invalid("--set '", text, "': unterminated quoted column name");
    }
    column = trimmed.substr(1, close - 1);
    rest = close + 1;
    size_t equals = trimmed.find_first_not_of(" \t", rest);
    if (equals == std::string::npos || trimmed[equals] != '=') {
      return arrow::Status::Invalid("--set '", text, "' must look like column = value");
    }
    rest = equals + 1;
  } else {
    size_t equals = trimmed.find('=');
    if (equals == std::string::npos) {
      return arrow::Status::Invalid("--set '", text, "' must look like column = value");
    }
    column = Trim(std::string_view(trimmed).substr(0, equals));
    rest = equals + 1;
  }
  if (column.empty()) {
    return arrow::Status::Invalid("--set '", text, "' names no column before '='");
  }
  auto field = schema.GetFieldByName(column);
  if (field == nullptr) {
    std::string names;
    for (const auto& existing : schema.fields()) {
      names += (names.empty() ? "" : ", ") + existing->name();
    }
    return arrow::Status::Invalid("--set '", text, "': unknown column '", column,
                                  "' (columns: ", names, ")");
  }
  auto value = delta::ParseValueExpression(trimmed.substr(rest), schema, field->type());
  if (!value.ok()) {
    return arrow::Status::Invalid("--set '", text, "': ", value.status().message());
  }
  return dml::Assignment{column, std::move(*value)};
}

struct Prepared {
  std::shared_ptr<delta::Table> table;
  std::shared_ptr<arrow::Schema> schema;
  std::optional<arrow::compute::Expression> predicate;
  dml::DmlOptions options;
};

arrow::Result<Prepared> Prepare(const DmlArguments& arguments, const std::string& verb) {
  if (arguments.where.empty() == !arguments.all_rows) {
    return arrow::Status::Invalid(verb, ": give --where PREDICATE, or --all to ", verb,
                                  " every row");
  }
  ARROW_RETURN_NOT_OK(CheckNlkMayWrite(arguments.uri));
  Prepared prepared;
  ARROW_ASSIGN_OR_RAISE(prepared.options.mode, ParseMode(arguments.mode));
  ARROW_ASSIGN_OR_RAISE(prepared.table, delta::Table::Open(arguments.uri));
  ARROW_ASSIGN_OR_RAISE(auto snapshot, prepared.table->SnapshotFor({}));
  ARROW_ASSIGN_OR_RAISE(prepared.schema,
                        delta::data::ParseDeltaSchema(snapshot->metadata().schema_string));
  if (!arguments.where.empty()) {
    auto predicate = delta::ParsePredicate(arguments.where, *prepared.schema);
    if (!predicate.ok()) {
      return arrow::Status::Invalid("--where '", arguments.where,
                                    "': ", predicate.status().message());
    }
    prepared.predicate = std::move(*predicate);
    prepared.options.predicate_text = arguments.where;
  }
  return prepared;
}

void PrintResult(const std::string& verb, int64_t rows, const dml::DmlResult& result) {
  if (!result.committed) {
    std::cout << "no rows matched; the table is unchanged at version " << result.version
              << std::endl;
  } else {
    std::cout << verb << " " << rows << " rows as version " << result.version << " ("
              << (result.used_deletion_vectors ? "deletion vectors" : "copy-on-write") << ")"
              << std::endl;
  }
  std::cout << "files: " << result.files_removed << " removed, " << result.files_added
            << " added; deletion vectors: " << result.deletion_vectors_added << " added, "
            << result.deletion_vectors_updated << " updated; files opened: " << result.files_opened
            << " of " << result.files_total << " (" << result.files_pruned_by_partition
            << " pruned by partition, " << result.files_skipped_by_stats << " skipped by stats, "
            << result.files_removed_without_reading << " removed without reading)" << std::endl;
  if (!result.maintenance_status.ok()) {
    std::cerr << "nlk: warning: committed, but the automatic checkpoint failed: "
              << result.maintenance_status.message() << std::endl;
  }
}

arrow::Status RunDelete(const DmlArguments& arguments) {
  ARROW_ASSIGN_OR_RAISE(Prepared prepared, Prepare(arguments, "delete"));
  ARROW_ASSIGN_OR_RAISE(dml::DmlResult result,
                        prepared.table->Delete(prepared.predicate, prepared.options));
  PrintResult("deleted", result.rows_deleted, result);
  return arrow::Status::OK();
}

arrow::Status RunUpdate(const DmlArguments& arguments) {
  ARROW_ASSIGN_OR_RAISE(Prepared prepared, Prepare(arguments, "update"));
  std::vector<dml::Assignment> assignments;
  for (const std::string& text : arguments.assignments) {
    ARROW_ASSIGN_OR_RAISE(auto assignment, ParseAssignment(text, *prepared.schema));
    assignments.push_back(std::move(assignment));
  }
  ARROW_ASSIGN_OR_RAISE(dml::DmlResult result,
                        prepared.table->Update(assignments, prepared.predicate, prepared.options));
  PrintResult("updated", result.rows_updated, result);
  return arrow::Status::OK();
}

CLI::App* AddDmlCommand(CLI::App& table, const std::string& name, const std::string& help,
                        arrow::Status (*runner)(const DmlArguments&),
                        const std::shared_ptr<DmlArguments>& arguments, int& exit_code) {
  CLI::App* command = table.add_subcommand(name, help);
  command->add_option("uri", arguments->uri, "Table location: a path, file://... or s3://...")
      ->required();
  command->add_option("--where", arguments->where,
                      "Only rows matching this predicate, e.g. \"subject_id = 'S-17'\"");
  command->add_flag("--all", arguments->all_rows, "Every row (instead of --where)");
  command
      ->add_option("--mode", arguments->mode,
                   "auto (deletion vectors when the table enables them), copy-on-write or "
                   "deletion-vectors")
      ->capture_default_str();
  command->callback([runner, arguments, &exit_code] {
    arrow::Status status = runner(*arguments);
    if (!status.ok()) exit_code = ReportError(status);
  });
  return command;
}

}  // namespace

void AddTableDmlCommands(CLI::App& table, int& exit_code) {
  auto arguments = std::make_shared<DmlArguments>();
  AddDmlCommand(table, "delete", "Delete the rows matching a predicate", RunDelete, arguments,
                exit_code);
  CLI::App* update = AddDmlCommand(table, "update", "Set columns of the rows matching a predicate",
                                   RunUpdate, arguments, exit_code);
  update
      ->add_option("--set", arguments->assignments,
                   "An assignment \"column = expression\" (repeat for several columns)")
      ->required();
  AddTableMergeCommand(table, exit_code);
}

}  // namespace nlk::cli
