// The binder's set operations: UNION [ALL], INTERSECT and EXCEPT, and DISTINCT.

#include "sql/binder_internal.h"

namespace nlk::sql {

arrow::Result<PlanPointer> Binder::Implementation::MakeDistinct(PlanPointer plan) {
  auto distinct = std::make_shared<LogicalOperator>();
  distinct->kind = LogicalOperator::Kind::kAggregate;
  distinct->schema = plan->schema;
  for (const auto& field : plan->schema->fields()) distinct->keys.push_back(field->name());
  distinct->children = {plan};
  return distinct;
}

arrow::Result<BoundQuery> Binder::Implementation::BindSetOperation(const SelectStatement& select) {
  ARROW_ASSIGN_OR_RAISE(auto left, BindQuery(*select.left, nullptr));
  ARROW_ASSIGN_OR_RAISE(auto right, BindQuery(*select.right, nullptr));
  if (left.names.size() != right.names.size()) {
    return SqlError(sql_, select.right->location,
                    "each side of a set operation must have the same number of columns (" +
                        std::to_string(left.names.size()) + " vs " +
                        std::to_string(right.names.size()) + ")");
  }
  std::vector<compute::Expression> left_expressions;
  std::vector<compute::Expression> right_expressions;
  arrow::FieldVector fields;
  arrow::FieldVector right_fields;
  for (size_t index = 0; index < left.names.size(); ++index) {
    const auto& left_field = left.plan->schema->field(static_cast<int>(index));
    const auto& right_field = right.plan->schema->field(static_cast<int>(index));
    ARROW_ASSIGN_OR_RAISE(
        auto type, Located(ExpressionFactory::CommonType(left_field->type(), right_field->type()),
                           select.right->location));
    ARROW_ASSIGN_OR_RAISE(auto left_value,
                          factory_.Cast(factory_.Column(left_field->name()), type));
    ARROW_ASSIGN_OR_RAISE(auto right_value,
                          factory_.Cast(factory_.Column(right_field->name()), type));
    left_expressions.push_back(left_value.expression);
    right_expressions.push_back(right_value.expression);
    fields.push_back(Declare(Fresh(left.names[index]), type));
    right_fields.push_back(Declare(Fresh(left.names[index]), type));
  }
  PlanPointer left_plan = MakeProject(left.plan, left_expressions, fields);
  PlanPointer right_plan = MakeProject(right.plan, right_expressions, right_fields);
  PlanPointer plan;
  if (select.set_operation == SelectStatement::SetOperation::kUnion) {
    // Acero's union needs identical schemas: rename the right side to the left's names.
    std::vector<compute::Expression> renamed;
    for (const auto& field : right_fields) renamed.push_back(compute::field_ref(field->name()));
    right_plan = MakeProject(right_plan, renamed, fields);
    auto union_node = std::make_shared<LogicalOperator>();
    union_node->kind = LogicalOperator::Kind::kUnion;
    union_node->schema = arrow::schema(fields);
    union_node->children = {left_plan, right_plan};
    plan = union_node;
    if (!select.set_all) {
      ARROW_ASSIGN_OR_RAISE(plan, MakeDistinct(plan));
    }
  } else {
    if (select.set_all) {
      return SqlError(sql_, select.location, "INTERSECT ALL and EXCEPT ALL are not supported");
    }
    ARROW_ASSIGN_OR_RAISE(left_plan, MakeDistinct(left_plan));
    auto join = std::make_shared<LogicalOperator>();
    join->kind = LogicalOperator::Kind::kJoin;
    join->join_type = select.set_operation == SelectStatement::SetOperation::kIntersect
                          ? arrow::acero::JoinType::LEFT_SEMI
                          : arrow::acero::JoinType::LEFT_ANTI;
    for (size_t index = 0; index < fields.size(); ++index) {
      join->left_keys.push_back(fields[index]->name());
      join->right_keys.push_back(right_fields[index]->name());
    }
    join->null_equal_keys = true;
    join->schema = left_plan->schema;
    join->children = {left_plan, right_plan};
    plan = join;
  }
  BoundQuery query{plan, left.names};
  std::vector<SortKey> sort_keys;
  for (const auto& order : select.order_by) {
    int position = -1;
    const ParsedExpression& node = *order.expression;
    if (node.kind == Kind::kConstant &&
        node.constant_kind == ParsedExpression::ConstantKind::kInteger) {
      position = std::stoi(node.text) - 1;
    } else if (node.kind == Kind::kColumn && node.names.size() == 1) {
      for (size_t index = 0; index < query.names.size(); ++index) {
        if (query.names[index] == node.names[0]) position = static_cast<int>(index);
      }
    }
    if (position < 0 || position >= static_cast<int>(query.names.size())) {
      return SqlError(
          sql_, node.location,
          "ORDER BY of a set operation must name an output column: " + Join(query.names));
    }
    sort_keys.push_back(
        {fields[position]->name(), order.ascending, order.nulls_first.value_or(!order.ascending)});
  }
  return FinishQuery(select, std::move(query), std::move(sort_keys), left.names.size());
}

}  // namespace nlk::sql
