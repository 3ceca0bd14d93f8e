// One value expression bound outside a query (scalar_expression.h), through the same code that
// binds a query's expressions, so that a DELETE's WHERE or a CHECK constraint means exactly what
// it would mean in a SELECT.

#include <algorithm>
#include <cctype>
#include <chrono>
#include <string>

#include "sql/binder_internal.h"
#include "sql/scalar_expression.h"

namespace nlk::sql {

namespace {

constexpr std::string_view kSelectPrefix = "SELECT ";

// Errors name positions in "SELECT <text>"; the caller wrote only <text>.
arrow::Status InText(const arrow::Status& status) {
  if (status.ok()) return status;
  const std::string marker = "SQL error at position ";
  std::string message = status.message();
  if (message.rfind(marker, 0) != 0) return status;
  size_t end = marker.size();
  while (end < message.size() && std::isdigit(static_cast<unsigned char>(message[end]))) ++end;
  if (end == marker.size()) return status;
  int position = std::stoi(message.substr(marker.size(), end - marker.size()));
  position = std::max(1, position - static_cast<int>(kSelectPrefix.size()));
  return status.WithMessage(marker, position, message.substr(end));
}

}  // namespace

arrow::Result<ScalarExpression> Binder::Implementation::BindScalar(
    const ParsedExpression& node, const std::vector<ExpressionColumn>& columns,
    const ScalarExpressionOptions& options) {
  Scope scope;
  for (const ExpressionColumn& column : columns) {
    if (column.type == nullptr)
      return arrow::Status::Invalid("column ", column.name, " has no type");
    std::string field = column.field.empty() ? column.name : column.field;
    Declare(field, column.type);
    scope.columns.push_back(ScopeColumn{column.qualifier, column.name, field, column.type});
  }
  ExpressionContext context{&scope, "the condition"};
  TypedExpression value;
  if (options.boolean) {
    ARROW_ASSIGN_OR_RAISE(value, BindBoolean(node, context));
  } else {
    context.clause = "the expression";
    ARROW_ASSIGN_OR_RAISE(value, BindExpression(node, context));
  }
  if (options.result_type != nullptr && !value.type->Equals(*options.result_type)) {
    ARROW_ASSIGN_OR_RAISE(value, Located(factory_.Cast(value, options.result_type), node.location));
  }
  return ScalarExpression{value.expression, value.type};
}

arrow::Result<ScalarExpression> Binder::BindScalar(const ParsedExpression& node,
                                                   const std::vector<ExpressionColumn>& columns,
                                                   const ScalarExpressionOptions& options) {
  return implementation_->BindScalar(node, columns, options);
}

arrow::Result<ScalarExpression> BindScalarExpression(std::string_view text,
                                                     const std::vector<ExpressionColumn>& columns,
                                                     const ScalarExpressionOptions& options) {
  std::string sql = std::string(kSelectPrefix) + std::string(text);
  auto parsed = ParseStatement(sql);
  if (!parsed.ok()) return InText(parsed.status());
  const Statement& statement = *parsed;
  const SelectStatement& select = *statement.select;
  if (statement.explain || select.items.size() != 1 || !select.from.empty() ||
      select.where != nullptr || !select.group_by.empty() || select.having != nullptr ||
      !select.order_by.empty() || select.limit != nullptr || select.offset != nullptr ||
      !select.with.empty() || select.set_operation != SelectStatement::SetOperation::kNone ||
      !select.items[0].alias.empty()) {
    return arrow::Status::Invalid("'", text, "' is not one SQL expression");
  }
  ExpressionPointer expression = select.items[0].expression;
  bool refused = Contains(expression, [](const ParsedExpression& node) {
    return node.kind == Kind::kSubquery || IsAggregateCall(node) || node.window ||
           node.kind == Kind::kStar;
  });
  if (refused) {
    return arrow::Status::Invalid("'", text,
                                  "' uses a subquery, an aggregate, a window function or *");
  }
  int64_t now =
      options.now_microseconds.value_or(std::chrono::duration_cast<std::chrono::microseconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count());
  Binder binder(sql, /*catalog=*/nullptr, now);
  auto bound = binder.BindScalar(*expression, columns, options);
  if (!bound.ok()) return InText(bound.status());
  return bound;
}

arrow::Result<ScalarExpression> BindScalarExpression(std::string_view text,
                                                     const arrow::Schema& schema,
                                                     const ScalarExpressionOptions& options) {
  std::vector<ExpressionColumn> columns;
  for (const auto& field : schema.fields()) {
    columns.push_back(ExpressionColumn{"", field->name(), field->type(), field->name()});
  }
  return BindScalarExpression(text, columns, options);
}

}  // namespace nlk::sql
