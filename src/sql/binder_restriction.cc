// The binder's access restrictions: a caller's row filter and column masks (TableRestriction)
// parsed and applied to a table's scan beneath everything the query does with it.

#include "sql/binder_internal.h"

namespace nlk::sql {

arrow::Result<ExpressionPointer> Binder::Implementation::ParsePolicyExpression(
    const std::string& text) {
  ARROW_ASSIGN_OR_RAISE(Statement statement, ParseStatement("SELECT " + text));
  const SelectStatement& select = *statement.select;
  if (statement.explain || select.items.size() != 1 || !select.from.empty() ||
      select.set_operation != SelectStatement::SetOperation::kNone) {
    return arrow::Status::Invalid("'", text, "' is not one SQL expression");
  }
  ExpressionPointer expression = select.items[0].expression;
  bool refused = Contains(expression, [](const ParsedExpression& node) {
    return node.kind == Kind::kSubquery || IsAggregateCall(node) || node.window;
  });
  if (refused) {
    return arrow::Status::Invalid("'", text,
                                  "' uses a subquery, an aggregate or a window function");
  }
  return expression;
}

arrow::Result<PlanPointer> Binder::Implementation::Restrict(PlanPointer scan, Scope& scope,
                                                            const TableRestriction& restriction) {
  PlanPointer plan = std::move(scan);
  if (!restriction.row_filter.empty()) {
    ARROW_ASSIGN_OR_RAISE(ExpressionPointer filter, ParsePolicyExpression(restriction.row_filter));
    ExpressionContext context{&scope, "row filter"};
    ARROW_ASSIGN_OR_RAISE(auto condition, BindBoolean(*filter, context));
    PlanPointer barrier = MakeFilter(plan, condition.expression);
    barrier->barrier = true;
    plan = barrier;
  }
  if (restriction.masks.empty()) return plan;
  std::map<std::string, std::string> masks(restriction.masks.begin(), restriction.masks.end());
  std::vector<compute::Expression> expressions;
  arrow::FieldVector fields;
  Scope masked = scope;
  for (ScopeColumn& column : masked.columns) {
    auto mask = masks.find(column.name);
    if (mask == masks.end()) {
      expressions.push_back(compute::field_ref(column.internal));
      fields.push_back(arrow::field(column.internal, column.type));
      continue;
    }
    ARROW_ASSIGN_OR_RAISE(ExpressionPointer parsed, ParsePolicyExpression(mask->second));
    ExpressionContext context{&scope, "column mask"};
    ARROW_ASSIGN_OR_RAISE(TypedExpression value, BindExpression(*parsed, context));
    if (!value.type->Equals(*column.type)) {
      ARROW_ASSIGN_OR_RAISE(value, factory_.Cast(value, column.type));
    }
    masks.erase(mask);
    column.internal = Fresh(column.name);
    expressions.push_back(value.expression);
    fields.push_back(Declare(column.internal, column.type));
  }
  if (!masks.empty()) {
    return arrow::Status::Invalid("the masked column \"", masks.begin()->first,
                                  "\" is not a column of the table");
  }
  scope = std::move(masked);
  return MakeProject(plan, std::move(expressions), std::move(fields));
}

}  // namespace nlk::sql
