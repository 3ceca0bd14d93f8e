#include "delta/data/constraint_enforcer.h"

#include <arrow/array/util.h>
#include <arrow/compute/api.h>
#include <arrow/compute/exec.h>

#include <algorithm>
#include <utility>

#include "delta/data/array_conform.h"
#include "delta/log/expression_compiler.h"

namespace nlk::delta::data {
namespace {

namespace cp = arrow::compute;

// Compiles and binds `text`; errors name the rule (`description`) and keep the status code.
arrow::Result<cp::Expression> Compile(const std::string& feature, const std::string& description,
                                      const std::string& text, const arrow::Schema& schema,
                                      const ExpressionCompileOptions& options) {
  if (!HasSqlExpressionCompiler()) {
    // Refused by the feature's name, as log/protocol_support.h refuses it.
    return arrow::Status::NotImplemented(
        "The table uses the Delta writer feature '", feature, "' (", description,
        "), whose SQL expressions this program cannot evaluate (it registered no SQL expression "
        "compiler); it can be read but not written here");
  }
  auto compiled = CompileSqlExpression(text, schema, options);
  if (!compiled.ok()) {
    return compiled.status().WithMessage("the table's ", description,
                                         " cannot be enforced: ", compiled.status().message());
  }
  auto bound = compiled->Bind(schema);
  if (!bound.ok()) {
    return bound.status().WithMessage("the table's ", description,
                                      " cannot be enforced: ", bound.status().message());
  }
  return bound;
}

std::vector<std::string> ColumnsRead(const cp::Expression& expression) {
  std::vector<std::string> columns;
  for (const arrow::FieldRef& ref : cp::FieldsInExpression(expression)) {
    std::string name = ref.name() != nullptr ? *ref.name() : ref.ToString();
    if (std::find(columns.begin(), columns.end(), name) == columns.end()) {
      columns.push_back(std::move(name));
    }
  }
  return columns;
}

std::string ValueText(const arrow::Array& column, int64_t row) {
  if (column.IsNull(row)) return "NULL";
  auto scalar = column.GetScalar(row);
  return scalar.ok() ? (*scalar)->ToString() : "?";
}

// "a = 1, b = NULL": the values `columns` hold in `row` of `batch`.
std::string RowValues(const arrow::RecordBatch& batch, const std::vector<std::string>& columns,
                      int64_t row) {
  std::string text;
  for (const std::string& name : columns) {
    auto column = batch.GetColumnByName(name);
    if (column == nullptr) continue;
    text += (text.empty() ? "" : ", ") + name + " = " + ValueText(*column, row);
  }
  return text.empty() ? "(no columns)" : text;
}

arrow::Result<std::shared_ptr<arrow::Array>> Evaluate(const cp::Expression& expression,
                                                      const arrow::RecordBatch& batch) {
  ARROW_ASSIGN_OR_RAISE(arrow::Datum result,
                        cp::ExecuteScalarExpression(expression, cp::ExecBatch(batch)));
  if (result.is_array()) return result.make_array();
  if (result.is_scalar()) return arrow::MakeArrayFromScalar(*result.scalar(), batch.num_rows());
  return arrow::Status::Invalid("expression ", expression.ToString(), " yields ", result.ToString(),
                                ", not one value per row");
}

// The first row where `result` is false or NULL, or -1.
int64_t FirstNotTrue(const arrow::BooleanArray& result) {
  if (result.true_count() == result.length()) return -1;
  for (int64_t row = 0; row < result.length(); ++row) {
    if (result.IsNull(row) || !result.Value(row)) return row;
  }
  return -1;
}

}  // namespace

arrow::Result<std::unique_ptr<ConstraintEnforcer>> ConstraintEnforcer::Make(
    const Metadata& metadata, const std::shared_ptr<arrow::Schema>& table_schema) {
  ARROW_ASSIGN_OR_RAISE(TableConstraints constraints, ReadTableConstraints(metadata));
  if (constraints.empty()) return nullptr;
  std::unique_ptr<ConstraintEnforcer> enforcer(new ConstraintEnforcer());
  enforcer->table_schema_ = table_schema;
  arrow::FieldVector conform_fields = table_schema->fields();

  for (const GeneratedColumn& column : constraints.generated_columns) {
    const int index = table_schema->GetFieldIndex(column.column);
    const std::string description =
        "generated column " + column.column + " (" + column.expression + ")";
    if (index < 0) {
      return arrow::Status::Invalid("the table's ", description,
                                    " is not a column of the table schema");
    }
    ExpressionCompileOptions options;
    options.result_type = table_schema->field(index)->type();
    ARROW_ASSIGN_OR_RAISE(auto expression, Compile("generatedColumns", description,
                                                   column.expression, *table_schema, options));
    enforcer->generated_.push_back({index, column.expression, expression, ColumnsRead(expression)});
    conform_fields[index] = conform_fields[index]->WithNullable(true);
  }
  ExpressionCompileOptions predicate;
  predicate.predicate = true;
  for (const CheckConstraint& check : constraints.checks) {
    const std::string description =
        "CHECK constraint " + check.name + " (" + check.expression + ")";
    ARROW_ASSIGN_OR_RAISE(auto expression, Compile("checkConstraints", description,
                                                   check.expression, *table_schema, predicate));
    enforcer->rules_.push_back({description, expression, ColumnsRead(expression)});
  }
  for (const ColumnInvariant& invariant : constraints.invariants) {
    const std::string description =
        "invariant of column " + invariant.column + " (" + invariant.expression + ")";
    ARROW_ASSIGN_OR_RAISE(auto expression, Compile("invariants", description, invariant.expression,
                                                   *table_schema, predicate));
    enforcer->rules_.push_back({description, expression, ColumnsRead(expression)});
  }
  enforcer->conform_schema_ = arrow::schema(std::move(conform_fields), table_schema->metadata());
  return enforcer;
}

arrow::Result<std::shared_ptr<arrow::RecordBatch>> ConstraintEnforcer::Apply(
    const std::shared_ptr<arrow::RecordBatch>& rows, const arrow::Schema& supplied) const {
  // The rules read the table's types: dictionary-encoded strings are decoded for them, while the
  // rows written keep their encoding.
  arrow::ArrayVector plain_columns = rows->columns();
  for (auto& column : plain_columns) {
    if (IsStringDictionary(*column->type())) {
      ARROW_ASSIGN_OR_RAISE(arrow::Datum decoded, cp::Cast(column, arrow::utf8()));
      column = decoded.make_array();
    }
  }
  arrow::FieldVector plain_fields = conform_schema_->fields();
  auto plain =
      arrow::RecordBatch::Make(arrow::schema(plain_fields), rows->num_rows(), plain_columns);
  std::shared_ptr<arrow::RecordBatch> result = rows;

  for (const Generated& generated : generated_) {
    const auto& field = table_schema_->field(generated.index);
    const std::string description =
        "generated column " + field->name() + " (" + generated.text + ")";
    ARROW_ASSIGN_OR_RAISE(auto value, Evaluate(generated.expression, *plain));
    if (!value->type()->Equals(*field->type())) {
      ARROW_ASSIGN_OR_RAISE(arrow::Datum cast, cp::Cast(value, field->type()));
      value = cast.make_array();
    }
    if (FindMatchingField(supplied.fields(), *field, MatchBy::kName) >= 0) {
      // Supplied: it must equal the formula's value, NULL only where the formula gives NULL.
      const auto& given = plain->column(generated.index);
      ARROW_ASSIGN_OR_RAISE(arrow::Datum equal, cp::CallFunction("equal", {given, value}));
      ARROW_ASSIGN_OR_RAISE(arrow::Datum given_null, cp::IsNull(given));
      ARROW_ASSIGN_OR_RAISE(arrow::Datum value_null, cp::IsNull(value));
      ARROW_ASSIGN_OR_RAISE(arrow::Datum both_null, cp::And(given_null, value_null));
      ARROW_ASSIGN_OR_RAISE(arrow::Datum same, cp::CallFunction("coalesce", {equal, both_null}));
      const int64_t row = FirstNotTrue(*same.array_as<arrow::BooleanArray>());
      if (row >= 0) {
        std::vector<std::string> columns = generated.columns;
        columns.push_back(field->name());
        return arrow::Status::Invalid(
            description, " is violated: a row supplies ", field->name(), " = ",
            ValueText(*given, row), " where the expression gives ", ValueText(*value, row),
            " (row values: ", RowValues(*plain, columns, row),
            "); leave the column out to have it computed. Nothing was written");
      }
      continue;
    }
    if (!field->nullable() && value->null_count() > 0) {
      ARROW_ASSIGN_OR_RAISE(arrow::Datum valid, cp::IsValid(value));
      const int64_t row = FirstNotTrue(*valid.array_as<arrow::BooleanArray>());
      return arrow::Status::Invalid(
          description, " gives NULL for a row, but the column is NOT NULL (row values: ",
          RowValues(*plain, generated.columns, row), "). Nothing was written");
    }
    ARROW_ASSIGN_OR_RAISE(plain,
                          plain->SetColumn(generated.index, plain_fields[generated.index], value));
    ARROW_ASSIGN_OR_RAISE(
        result,
        result->SetColumn(generated.index, result->schema()->field(generated.index), value));
  }

  for (const Rule& rule : rules_) {
    ARROW_ASSIGN_OR_RAISE(auto outcome, Evaluate(rule.expression, *plain));
    if (outcome->type_id() != arrow::Type::BOOL) {
      return arrow::Status::Invalid("the table's ", rule.description, " yields ",
                                    outcome->type()->ToString(), ", not a boolean");
    }
    const int64_t row = FirstNotTrue(static_cast<const arrow::BooleanArray&>(*outcome));
    if (row >= 0) {
      return arrow::Status::Invalid(rule.description, " is violated by a row with values ",
                                    RowValues(*plain, rule.columns, row), ". Nothing was written");
    }
  }

  // The generated columns' own nullability, relaxed for conforming, holds again.
  arrow::FieldVector fields = result->schema()->fields();
  for (const Generated& generated : generated_) {
    fields[generated.index] =
        fields[generated.index]->WithNullable(table_schema_->field(generated.index)->nullable());
  }
  return arrow::RecordBatch::Make(arrow::schema(std::move(fields), result->schema()->metadata()),
                                  result->num_rows(), result->columns());
}

}  // namespace nlk::delta::data
