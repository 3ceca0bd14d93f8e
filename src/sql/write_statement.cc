// DELETE, UPDATE and INSERT on a Delta table (write_statement.h): resolve the target, bind the
// statement's expressions over its columns with the query binder, run the table operation.

#include "sql/write_statement.h"

#include <arrow/array/util.h>
#include <arrow/builder.h>
#include <arrow/compute/api.h>
#include <arrow/compute/exec.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/arrow_runtime.h"
#include "delta/data/schema.h"
#include "sql/binder.h"
#include "sql/binder_internal.h"
#include "sql/delta_table_provider.h"
#include "sql/sql_error.h"
#include "sql/sql_functions.h"

namespace nlk::sql {
namespace {

std::string CommandName(WriteStatement::Kind kind) {
  switch (kind) {
    case WriteStatement::Kind::kDelete:
      return "DELETE";
    case WriteStatement::Kind::kUpdate:
      return "UPDATE";
    case WriteStatement::Kind::kInsert:
      return "INSERT";
  }
  return "WRITE";
}

std::string ColumnList(const arrow::Schema& schema) {
  std::string names;
  for (const auto& field : schema.fields()) names += (names.empty() ? "" : ", ") + field->name();
  return names;
}

// The index of `column` in `schema`, matched as the binder matches column names.
arrow::Result<int> FindColumn(std::string_view sql, const arrow::Schema& schema,
                              const WriteColumn& column, const std::string& table) {
  for (int pass = 0; pass < 2; ++pass) {
    int match = -1;
    for (int index = 0; index < schema.num_fields(); ++index) {
      const std::string& name = schema.field(index)->name();
      bool matches = pass == 0 ? name == column.name : Lower(name) == Lower(column.name);
      if (!matches) continue;
      if (match >= 0) {
        return SqlError(sql, column.location,
                        "column reference \"" + column.name + "\" is ambiguous");
      }
      match = index;
    }
    if (match >= 0) return match;
  }
  return SqlError(sql, column.location,
                  "column \"" + column.name + "\" of table \"" + table +
                      "\" does not exist; columns: " + ColumnList(schema));
}

// Subqueries, aggregates, window functions and * have no meaning in a row's own expression.
arrow::Status CheckRowExpression(std::string_view sql, const ExpressionPointer& node,
                                 const std::string& clause) {
  const ParsedExpression* refused = nullptr;
  Contains(node, [&refused](const ParsedExpression& item) {
    bool bad = item.kind == Kind::kSubquery || IsAggregateCall(item) || item.window ||
               item.kind == Kind::kStar;
    if (bad && refused == nullptr) refused = &item;
    return bad;
  });
  if (refused == nullptr) return arrow::Status::OK();
  std::string what = refused->kind == Kind::kSubquery ? "subqueries"
                     : refused->kind == Kind::kStar   ? "*"
                     : refused->window                ? "window functions"
                                                      : "aggregate functions";
  return SqlError(sql, refused->location, what + " are not allowed in " + clause);
}

int Leftmost(const ExpressionPointer& node) {
  if (node == nullptr) return -1;
  int leftmost = node->location;
  auto consider = [&leftmost](int location) {
    if (location >= 0 && (leftmost < 0 || location < leftmost)) leftmost = location;
  };
  for (const auto& argument : node->arguments) consider(Leftmost(argument));
  consider(Leftmost(node->filter));
  return leftmost;
}

// The WHERE clause as written (the last clause of DELETE and UPDATE), for commitInfo.
std::string WhereText(std::string_view sql, const ExpressionPointer& where) {
  int start = Leftmost(where);
  if (start < 0 || static_cast<size_t>(start) >= sql.size()) return "";
  size_t begin = static_cast<size_t>(start);
  while (begin > 0 &&
         (std::isspace(static_cast<unsigned char>(sql[begin - 1])) != 0 || sql[begin - 1] == '(')) {
    --begin;
  }
  while (begin < sql.size() && std::isspace(static_cast<unsigned char>(sql[begin])) != 0) ++begin;
  size_t end = sql.size();
  while (end > begin &&
         (std::isspace(static_cast<unsigned char>(sql[end - 1])) != 0 || sql[end - 1] == ';')) {
    --end;
  }
  return std::string(sql.substr(begin, end - begin));
}

int64_t NowMicroseconds() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Target {
  std::shared_ptr<DeltaTableProvider> provider;
  std::shared_ptr<arrow::Schema> schema;  // the table's logical columns
  std::string qualifier;                  // what a column may be qualified with
  std::string uri;
};

arrow::Result<Target> ResolveTarget(std::string_view sql, const WriteStatement& statement,
                                    TableCatalog& catalog) {
  auto resolved = catalog.Resolve(statement.table);
  if (!resolved.ok()) {
    if (resolved.status().IsKeyError()) {
      auto names = catalog.TableNames();
      std::string available;
      for (const auto& name : names) available += (available.empty() ? "" : ", ") + name;
      return arrow::Status::KeyError(SqlError(sql, statement.table_location,
                                              "table \"" + statement.table +
                                                  "\" does not exist; available tables: " +
                                                  (available.empty() ? "(none)" : available))
                                         .message());
    }
    return resolved.status().WithMessage("table \"", statement.table,
                                         "\": ", resolved.status().message());
  }
  if (!resolved->restriction.empty()) {
    return SqlError(sql, statement.table_location,
                    "table \"" + statement.table +
                        "\" is restricted for this caller (row filter or masks); it cannot be "
                        "written");
  }
  Target target;
  target.provider = std::dynamic_pointer_cast<DeltaTableProvider>(resolved->table);
  if (target.provider == nullptr) {
    return SqlError(sql, statement.table_location,
                    "table \"" + statement.table + "\" is " + resolved->table->description() +
                        ", not a Delta table: only Delta tables can be written");
  }
  target.schema = target.provider->schema();
  target.uri = target.provider->table()->log()->table_uri();
  if (!statement.alias.empty()) {
    target.qualifier = statement.alias;
  } else {
    size_t dot = statement.table.rfind('.');
    target.qualifier = dot == std::string::npos ? statement.table : statement.table.substr(dot + 1);
  }
  return target;
}

std::vector<ExpressionColumn> TargetColumns(const Target& target) {
  std::vector<ExpressionColumn> columns;
  for (const auto& field : target.schema->fields()) {
    columns.push_back(ExpressionColumn{target.qualifier, field->name(), field->type(), ""});
  }
  return columns;
}

arrow::Result<std::optional<arrow::compute::Expression>> BindWhere(std::string_view sql,
                                                                   const WriteStatement& statement,
                                                                   const Target& target,
                                                                   Binder& binder) {
  if (statement.where == nullptr) return std::nullopt;
  ARROW_RETURN_NOT_OK(CheckRowExpression(sql, statement.where, "WHERE"));
  ScalarExpressionOptions options;
  options.boolean = true;
  ARROW_ASSIGN_OR_RAISE(auto bound,
                        binder.BindScalar(*statement.where, TargetColumns(target), options));
  return bound.expression;
}

void FillFigures(WriteStatementResult& result, const delta::dml::DmlResult& dml, int64_t rows) {
  result.rows = rows;
  result.version = dml.version;
  result.committed = dml.committed;
  result.dml = dml;
}

arrow::Result<WriteStatementResult> RunDelete(std::string_view sql, const WriteStatement& statement,
                                              const Target& target, Binder& binder,
                                              const WriteStatementOptions& options) {
  ARROW_ASSIGN_OR_RAISE(auto predicate, BindWhere(sql, statement, target, binder));
  if (options.check_target) ARROW_RETURN_NOT_OK(options.check_target(target.uri));
  delta::dml::DmlOptions dml_options;
  dml_options.mode = options.mode;
  dml_options.predicate_text = WhereText(sql, statement.where);
  ARROW_ASSIGN_OR_RAISE(auto dml, target.provider->table()->Delete(predicate, dml_options));
  WriteStatementResult result;
  FillFigures(result, dml, dml.rows_deleted);
  return result;
}

arrow::Result<WriteStatementResult> RunUpdate(std::string_view sql, const WriteStatement& statement,
                                              const Target& target, Binder& binder,
                                              const WriteStatementOptions& options) {
  std::vector<delta::dml::Assignment> assignments;
  std::set<int> assigned;
  for (const auto& assignment : statement.assignments) {
    ARROW_ASSIGN_OR_RAISE(int index,
                          FindColumn(sql, *target.schema, assignment.column, statement.table));
    const auto& field = target.schema->field(index);
    if (!assigned.insert(index).second) {
      return SqlError(sql, assignment.column.location,
                      "multiple assignments to the same column \"" + field->name() + "\"");
    }
    ARROW_RETURN_NOT_OK(CheckRowExpression(sql, assignment.value, "UPDATE's SET"));
    ScalarExpressionOptions value_options;
    value_options.result_type = field->type();
    ARROW_ASSIGN_OR_RAISE(
        auto value, binder.BindScalar(*assignment.value, TargetColumns(target), value_options));
    assignments.push_back(delta::dml::Assignment{field->name(), std::move(value.expression)});
  }
  ARROW_ASSIGN_OR_RAISE(auto predicate, BindWhere(sql, statement, target, binder));
  if (options.check_target) ARROW_RETURN_NOT_OK(options.check_target(target.uri));
  delta::dml::DmlOptions dml_options;
  dml_options.mode = options.mode;
  dml_options.predicate_text = WhereText(sql, statement.where);
  ARROW_ASSIGN_OR_RAISE(auto dml,
                        target.provider->table()->Update(assignments, predicate, dml_options));
  WriteStatementResult result;
  FillFigures(result, dml, dml.rows_updated);
  return result;
}

// Which table column each inserted value goes to, in the order values come.
arrow::Result<std::vector<int>> InsertColumns(std::string_view sql, const WriteStatement& statement,
                                              const Target& target) {
  std::vector<int> indices;
  if (statement.columns.empty()) {
    for (int index = 0; index < target.schema->num_fields(); ++index) indices.push_back(index);
    return indices;
  }
  std::set<int> seen;
  for (const auto& column : statement.columns) {
    ARROW_ASSIGN_OR_RAISE(int index, FindColumn(sql, *target.schema, column, statement.table));
    if (!seen.insert(index).second) {
      return SqlError(
          sql, column.location,
          "column \"" + target.schema->field(index)->name() + "\" is specified more than once");
    }
    indices.push_back(index);
  }
  for (int index = 0; index < target.schema->num_fields(); ++index) {
    const auto& field = target.schema->field(index);
    if (seen.count(index) == 0 && !field->nullable()) {
      return SqlError(
          sql, statement.table_location,
          "column \"" + field->name() + "\" is NOT NULL and the INSERT gives it no value");
    }
  }
  return indices;
}

// One batch in the table's schema from the values of the inserted columns (`values[i]` for
// table column `indices[i]`); the other columns are NULL.
arrow::Result<std::shared_ptr<arrow::RecordBatch>> TableBatch(
    const arrow::Schema& schema, const std::vector<int>& indices,
    std::vector<std::shared_ptr<arrow::Array>> values, int64_t rows) {
  std::vector<std::shared_ptr<arrow::Array>> columns(schema.num_fields());
  for (size_t position = 0; position < indices.size(); ++position) {
    columns[indices[position]] = std::move(values[position]);
  }
  for (int index = 0; index < schema.num_fields(); ++index) {
    const auto& field = schema.field(index);
    if (columns[index] == nullptr) {
      ARROW_ASSIGN_OR_RAISE(columns[index], arrow::MakeArrayOfNull(field->type(), rows));
    } else if (!field->nullable() && columns[index]->null_count() > 0) {
      return arrow::Status::Invalid("null value in column \"", field->name(),
                                    "\" violates its NOT NULL constraint");
    }
  }
  return arrow::RecordBatch::Make(arrow::schema(schema.fields(), schema.metadata()), rows,
                                  std::move(columns));
}

arrow::Result<std::shared_ptr<arrow::Array>> ToArray(const arrow::Datum& datum, int64_t rows) {
  if (datum.is_scalar()) return arrow::MakeArrayFromScalar(*datum.scalar(), rows);
  return datum.make_array();
}

// The rows of INSERT ... VALUES, each value cast to its column's type.
arrow::Result<std::shared_ptr<arrow::RecordBatch>> ValuesBatch(std::string_view sql,
                                                               const WriteStatement& statement,
                                                               const Target& target,
                                                               const std::vector<int>& indices,
                                                               Binder& binder) {
  std::vector<std::unique_ptr<arrow::ArrayBuilder>> builders;
  for (int index : indices) {
    std::unique_ptr<arrow::ArrayBuilder> builder;
    ARROW_RETURN_NOT_OK(arrow::MakeBuilder(arrow::default_memory_pool(),
                                           target.schema->field(index)->type(), &builder));
    builders.push_back(std::move(builder));
  }
  arrow::Schema no_columns({});
  arrow::compute::ExecBatch one_row({}, 1);
  for (const auto& row : statement.values) {
    if (row.size() != indices.size()) {
      int location = row.empty() ? statement.location : row.front()->location;
      return SqlError(sql, location,
                      row.size() > indices.size()
                          ? "INSERT has more expressions than target columns"
                          : "INSERT has fewer expressions than target columns");
    }
    for (size_t position = 0; position < row.size(); ++position) {
      ARROW_RETURN_NOT_OK(CheckRowExpression(sql, row[position], "VALUES"));
      ScalarExpressionOptions options;
      options.result_type = target.schema->field(indices[position])->type();
      ARROW_ASSIGN_OR_RAISE(auto value, binder.BindScalar(*row[position], {}, options));
      ARROW_ASSIGN_OR_RAISE(auto bound, value.expression.Bind(no_columns));
      auto datum = arrow::compute::ExecuteScalarExpression(bound, one_row);
      if (!datum.ok()) {
        return SqlError(sql, row[position]->location,
                        "column \"" + target.schema->field(indices[position])->name() +
                            "\": " + datum.status().message());
      }
      ARROW_ASSIGN_OR_RAISE(auto array, ToArray(*datum, 1));
      ARROW_RETURN_NOT_OK(builders[position]->AppendArraySlice(*array->data(), 0, 1));
    }
  }
  std::vector<std::shared_ptr<arrow::Array>> values;
  for (auto& builder : builders) {
    std::shared_ptr<arrow::Array> array;
    ARROW_RETURN_NOT_OK(builder->Finish(&array));
    values.push_back(std::move(array));
  }
  return TableBatch(*target.schema, indices, std::move(values),
                    static_cast<int64_t>(statement.values.size()));
}

// The rows of INSERT ... SELECT, converted batch by batch to the table's schema.
class InsertReader : public arrow::RecordBatchReader {
 public:
  static arrow::Result<std::shared_ptr<InsertReader>> Make(
      std::string_view sql, const WriteStatement& statement, const Target& target,
      const std::vector<int>& indices, std::shared_ptr<arrow::RecordBatchReader> source,
      Binder& binder) {
    auto reader = std::shared_ptr<InsertReader>(new InsertReader());
    const arrow::Schema& source_schema = *source->schema();
    if (source_schema.num_fields() != static_cast<int>(indices.size())) {
      return SqlError(sql, statement.table_location,
                      source_schema.num_fields() > static_cast<int>(indices.size())
                          ? "INSERT has more expressions than target columns"
                          : "INSERT has fewer expressions than target columns");
    }
    arrow::FieldVector renamed;
    std::vector<ExpressionColumn> columns;
    for (int index = 0; index < source_schema.num_fields(); ++index) {
      std::string name = "c" + std::to_string(index);
      renamed.push_back(arrow::field(name, source_schema.field(index)->type()));
      columns.push_back(ExpressionColumn{"", name, source_schema.field(index)->type(), name});
    }
    reader->input_schema_ = arrow::schema(renamed);
    for (int index = 0; index < source_schema.num_fields(); ++index) {
      const auto& field = target.schema->field(indices[index]);
      ParsedExpression column;
      column.kind = Kind::kColumn;
      column.location = statement.table_location;
      column.names = {columns[index].name};
      ScalarExpressionOptions options;
      options.result_type = field->type();
      auto value = binder.BindScalar(column, columns, options);
      if (!value.ok()) {
        return SqlError(sql, statement.table_location,
                        "column \"" + field->name() + "\" of type " + field->type()->ToString() +
                            " cannot take the query's column " + std::to_string(index + 1) +
                            " of type " + source_schema.field(index)->type()->ToString());
      }
      ARROW_ASSIGN_OR_RAISE(auto bound, value->expression.Bind(*reader->input_schema_));
      reader->conversions_.push_back(std::move(bound));
    }
    reader->table_schema_ = target.schema;
    reader->indices_ = indices;
    reader->source_ = std::move(source);
    return reader;
  }

  std::shared_ptr<arrow::Schema> schema() const override { return table_schema_; }

  // Reads ahead to the first batch with rows: false when the query returns none.
  arrow::Result<bool> HasRows() {
    while (pending_ == nullptr) {
      std::shared_ptr<arrow::RecordBatch> batch;
      ARROW_RETURN_NOT_OK(Next(&batch));
      if (batch == nullptr) return false;
      if (batch->num_rows() > 0) pending_ = std::move(batch);
    }
    return true;
  }

  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* batch) override {
    if (pending_ != nullptr) {
      *batch = std::move(pending_);
      pending_ = nullptr;
      return arrow::Status::OK();
    }
    return Next(batch);
  }

  arrow::Status Close() override { return source_->Close(); }

 private:
  InsertReader() = default;

  arrow::Status Next(std::shared_ptr<arrow::RecordBatch>* out) {
    std::shared_ptr<arrow::RecordBatch> batch;
    ARROW_RETURN_NOT_OK(source_->ReadNext(&batch));
    if (batch == nullptr) {
      *out = nullptr;
      return arrow::Status::OK();
    }
    auto input = arrow::RecordBatch::Make(input_schema_, batch->num_rows(), batch->columns());
    arrow::compute::ExecBatch exec(*input);
    std::vector<std::shared_ptr<arrow::Array>> values;
    for (size_t index = 0; index < conversions_.size(); ++index) {
      auto datum = arrow::compute::ExecuteScalarExpression(conversions_[index], exec);
      if (!datum.ok()) {
        return datum.status().WithMessage("INSERT: column \"",
                                          table_schema_->field(indices_[index])->name(),
                                          "\": ", datum.status().message());
      }
      ARROW_ASSIGN_OR_RAISE(auto array, ToArray(*datum, batch->num_rows()));
      values.push_back(std::move(array));
    }
    ARROW_ASSIGN_OR_RAISE(
        *out, TableBatch(*table_schema_, indices_, std::move(values), batch->num_rows()));
    return arrow::Status::OK();
  }

  std::shared_ptr<arrow::Schema> input_schema_;
  std::shared_ptr<arrow::Schema> table_schema_;
  std::vector<int> indices_;
  std::vector<arrow::compute::Expression> conversions_;
  std::shared_ptr<arrow::RecordBatchReader> source_;
  std::shared_ptr<arrow::RecordBatch> pending_;
};

arrow::Result<WriteStatementResult> RunInsert(std::string_view sql, const WriteStatement& statement,
                                              const Target& target, Binder& binder,
                                              const std::shared_ptr<TableCatalog>& catalog,
                                              const WriteStatementOptions& options) {
  ARROW_ASSIGN_OR_RAISE(std::vector<int> indices, InsertColumns(sql, statement, target));
  const auto& snapshot = target.provider->snapshot();
  delta::WriteBuilder write = target.provider->table()->NewWrite();
  write.OnSnapshot(snapshot);
  if (statement.query == nullptr) {
    ARROW_ASSIGN_OR_RAISE(auto batch, ValuesBatch(sql, statement, target, indices, binder));
    write.Data(std::vector<std::shared_ptr<arrow::RecordBatch>>{batch});
  } else {
    Statement query;
    query.select = statement.query;
    SqlEngine engine(catalog);
    ARROW_ASSIGN_OR_RAISE(auto rows, engine.ExecuteParsed(sql, query, options.query));
    ARROW_ASSIGN_OR_RAISE(auto reader,
                          InsertReader::Make(sql, statement, target, indices, rows.reader, binder));
    ARROW_ASSIGN_OR_RAISE(bool has_rows, reader->HasRows());
    if (!has_rows) {
      WriteStatementResult result;
      result.version = snapshot->version();
      return result;
    }
    write.Data(reader);
  }
  if (options.check_target) ARROW_RETURN_NOT_OK(options.check_target(target.uri));
  ARROW_ASSIGN_OR_RAISE(delta::WriteResult written, write.Commit());
  WriteStatementResult result;
  result.rows = written.rows_written;
  result.version = written.version;
  result.committed = written.version >= 0;
  result.write = written;
  return result;
}

}  // namespace

arrow::Result<WriteStatementResult> ExecuteWriteStatement(
    std::string_view sql, const WriteStatement& statement,
    const std::shared_ptr<TableCatalog>& catalog, const WriteStatementOptions& options) {
  ARROW_RETURN_NOT_OK(InitializeArrowCompute());
  ARROW_RETURN_NOT_OK(RegisterSqlFunctions());
  ARROW_ASSIGN_OR_RAISE(Target target, ResolveTarget(sql, statement, *catalog));
  Binder binder(sql, catalog.get(), NowMicroseconds());
  arrow::Result<WriteStatementResult> result;
  switch (statement.kind) {
    case WriteStatement::Kind::kDelete:
      result = RunDelete(sql, statement, target, binder, options);
      break;
    case WriteStatement::Kind::kUpdate:
      result = RunUpdate(sql, statement, target, binder, options);
      break;
    case WriteStatement::Kind::kInsert:
      result = RunInsert(sql, statement, target, binder, catalog, options);
      break;
  }
  ARROW_RETURN_NOT_OK(result.status());
  result->command = CommandName(statement.kind);
  result->table_uri = target.uri;
  return result;
}

}  // namespace nlk::sql
