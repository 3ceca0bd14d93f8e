// RENAME COLUMN and DROP COLUMNS (table.h): metadata-only changes of a table with column mapping
// (PROTOCOL.md "Column Mapping"). Data files, statistics and partition values name columns by
// their physical names, which never change, so a rename only changes the logical name in the
// schema and a drop only removes the field: no data file is read or written. A column added later
// under a dropped column's name gets a fresh physical name and id, so the dropped values never
// come back.

#include <algorithm>
#include <cctype>
#include <set>
#include <string>
#include <vector>

#include "delta/data/column_mapping.h"
#include "delta/data/schema.h"
#include "delta/log/expression_compiler.h"
#include "delta/log/protocol_support.h"
#include "delta/log/table_constraints.h"
#include "delta/log/transaction.h"
#include "delta/table.h"

namespace nlk::delta {

namespace {

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string JsonString(const std::string& text) {
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "\"";
}

struct SchemaChange {
  std::shared_ptr<const Snapshot> snapshot;
  Metadata metadata;
  std::shared_ptr<arrow::Schema> schema;
};

// The latest snapshot, refused unless it can be written and maps columns; `what` names the
// operation in errors.
arrow::Result<SchemaChange> StartSchemaChange(DeltaLog& log, const std::string& what) {
  ARROW_ASSIGN_OR_RAISE(auto snapshot, log.Latest());
  ARROW_RETURN_NOT_OK(CheckWriteSupported(snapshot->protocol(), snapshot->metadata()));
  ARROW_ASSIGN_OR_RAISE(auto mode, data::ColumnMappingModeOf(snapshot->metadata().configuration));
  if (mode == data::ColumnMappingMode::kNone) {
    return arrow::Status::Invalid(
        what,
        " needs column mapping, so that data files keep their column names: create the table "
        "with --property delta.columnMapping.mode=name (Spark: ALTER TABLE ... SET TBLPROPERTIES "
        "('delta.columnMapping.mode' = 'name'))");
  }
  SchemaChange change{snapshot, snapshot->metadata(), nullptr};
  ARROW_ASSIGN_OR_RAISE(change.schema, data::ParseDeltaSchema(change.metadata.schema_string));
  return change;
}

// The index of top-level column `name` (exact spelling first, then case-insensitively, as Spark
// resolves names), or an error listing the columns.
arrow::Result<int> ColumnIndex(const arrow::Schema& schema, const std::string& name) {
  int index = schema.GetFieldIndex(name);
  if (index >= 0) return index;
  std::string columns;
  for (int i = 0; i < schema.num_fields(); ++i) {
    if (Lower(schema.field(i)->name()) == Lower(name)) return i;
    columns += (columns.empty() ? "" : ", ") + schema.field(i)->name();
  }
  if (name.find('.') != std::string::npos) {
    return arrow::Status::Invalid(
        "no top-level column '", name,
        "' (nested fields cannot be renamed or dropped yet); columns: ", columns);
  }
  return arrow::Status::Invalid("no column '", name, "'; columns: ", columns);
}

// Refuses a change that would leave a CHECK constraint, an invariant or a generated column's
// formula naming a column that no longer exists: each must still compile over `changed` (the
// table could not be written otherwise). As in Spark, the user drops or changes the rule first.
// Rules carried by a dropped column (its invariant, its own formula) go with it.
arrow::Status CheckRulesStillApply(const Metadata& metadata, const arrow::Schema& changed,
                                   const std::set<std::string>& dropped, const std::string& what) {
  ARROW_ASSIGN_OR_RAISE(TableConstraints rules, ReadTableConstraints(metadata));
  auto check = [&](const std::string& rule, const std::string& expression, bool predicate,
                   const std::string& remedy) -> arrow::Status {
    ExpressionCompileOptions options;
    options.predicate = predicate;
    auto compiled = CompileSqlExpression(expression, changed, options);
    if (compiled.ok()) return arrow::Status::OK();
    return arrow::Status::Invalid("cannot ", what, ": ", rule, " (", expression,
                                  ") would no longer apply (", compiled.status().message(), "); ",
                                  remedy, " first");
  };
  for (const CheckConstraint& constraint : rules.checks) {
    ARROW_RETURN_NOT_OK(check("CHECK constraint " + constraint.name, constraint.expression, true,
                              "drop it with `nlk table constraint drop`"));
  }
  for (const ColumnInvariant& invariant : rules.invariants) {
    if (dropped.count(invariant.column.substr(0, invariant.column.find('.'))) > 0) continue;
    ARROW_RETURN_NOT_OK(check("the invariant on " + invariant.column, invariant.expression, true,
                              "remove the invariant"));
  }
  for (const GeneratedColumn& generated : rules.generated_columns) {
    if (dropped.count(generated.column) > 0) continue;
    ARROW_RETURN_NOT_OK(check("the formula of generated column " + generated.column,
                              generated.expression, false, "drop the generated column"));
  }
  return arrow::Status::OK();
}

arrow::Result<int64_t> CommitSchemaChange(DeltaLog& log, SchemaChange change,
                                          const std::string& operation, StringMap parameters) {
  ARROW_ASSIGN_OR_RAISE(change.metadata.schema_string, data::SerializeDeltaSchema(*change.schema));
  auto transaction = log.StartTransaction(change.snapshot);
  transaction->UpdateMetadata(std::move(change.metadata));
  transaction->SetOperation(operation, std::move(parameters));
  ARROW_ASSIGN_OR_RAISE(CommitResult result, transaction->Commit());
  return result.version;
}

}  // namespace

arrow::Result<int64_t> Table::RenameColumn(const std::string& from, const std::string& to) {
  ARROW_ASSIGN_OR_RAISE(SchemaChange change, StartSchemaChange(*log_, "renaming a column"));
  ARROW_ASSIGN_OR_RAISE(int index, ColumnIndex(*change.schema, from));
  const std::string old_name = change.schema->field(index)->name();
  if (to.empty()) return arrow::Status::Invalid("the new name of '", old_name, "' is empty");
  for (int i = 0; i < change.schema->num_fields(); ++i) {
    if (i != index && Lower(change.schema->field(i)->name()) == Lower(to)) {
      return arrow::Status::Invalid("cannot rename '", old_name, "' to '", to,
                                    "': the table already has a column '",
                                    change.schema->field(i)->name(), "'");
    }
  }
  if (to == old_name) return arrow::Status::Invalid("'", old_name, "' already has that name");
  ARROW_ASSIGN_OR_RAISE(change.schema,
                        change.schema->SetField(index, change.schema->field(index)->WithName(to)));
  for (std::string& column : change.metadata.partition_columns) {
    if (column == old_name) column = to;
  }
  ARROW_RETURN_NOT_OK(CheckRulesStillApply(change.metadata, *change.schema, {},
                                           "rename column '" + old_name + "'"));
  return CommitSchemaChange(*log_, std::move(change), "RENAME COLUMN",
                            {{"oldColumnPath", old_name}, {"newColumnPath", to}});
}

arrow::Result<int64_t> Table::DropColumns(const std::vector<std::string>& columns) {
  if (columns.empty()) return arrow::Status::Invalid("no column to drop");
  ARROW_ASSIGN_OR_RAISE(SchemaChange change, StartSchemaChange(*log_, "dropping a column"));
  std::set<int> indexes;
  std::vector<std::string> names;
  for (const std::string& column : columns) {
    ARROW_ASSIGN_OR_RAISE(int index, ColumnIndex(*change.schema, column));
    const std::string& name = change.schema->field(index)->name();
    const auto& partitions = change.metadata.partition_columns;
    if (std::find(partitions.begin(), partitions.end(), name) != partitions.end()) {
      return arrow::Status::Invalid("cannot drop '", name, "': it is a partition column");
    }
    if (!indexes.insert(index).second) {
      return arrow::Status::Invalid("'", name, "' is listed twice");
    }
    names.push_back(name);
  }
  if (static_cast<int>(indexes.size()) +
          static_cast<int>(change.metadata.partition_columns.size()) >=
      change.schema->num_fields()) {
    return arrow::Status::Invalid("cannot drop every data column of the table");
  }
  for (auto index = indexes.rbegin(); index != indexes.rend(); ++index) {
    ARROW_ASSIGN_OR_RAISE(change.schema, change.schema->RemoveField(*index));
  }
  ARROW_RETURN_NOT_OK(CheckRulesStillApply(change.metadata, *change.schema,
                                           std::set<std::string>(names.begin(), names.end()),
                                           "drop column '" + names.front() + "'"));
  std::string list = "[";
  for (const std::string& name : names) list += (list.size() > 1 ? "," : "") + JsonString(name);
  list += "]";
  return CommitSchemaChange(*log_, std::move(change), "DROP COLUMNS", {{"columns", list}});
}

}  // namespace nlk::delta
