// The binder's SELECT: items and *, GROUP BY, HAVING, window calls, ORDER BY, LIMIT and
// OFFSET over one query block.

#include "sql/binder_internal.h"

namespace nlk::sql {

arrow::Result<int64_t> Binder::Implementation::BindCount(const ExpressionPointer& node,
                                                         const char* clause,
                                                         std::optional<int64_t> if_null) {
  ExpressionContext context{nullptr, clause};
  ARROW_ASSIGN_OR_RAISE(auto value, BindExpression(*node, context));
  if (!value.constant || (value.constant->is_valid && !arrow::is_integer(value.type->id()))) {
    return SqlError(sql_, node->location, std::string(clause) + " must be an integer constant");
  }
  if (!value.constant->is_valid) {
    if (if_null) return *if_null;
    return SqlError(sql_, node->location, std::string(clause) + " must not be NULL");
  }
  ARROW_ASSIGN_OR_RAISE(value, Located(factory_.Cast(value, arrow::int64()), node->location));
  int64_t count = static_cast<const arrow::Int64Scalar&>(*value.constant).value;
  if (count < 0)
    return SqlError(sql_, node->location, std::string(clause) + " must not be negative");
  return count;
}

arrow::Result<BoundQuery> Binder::Implementation::FinishQuery(const SelectStatement& select,
                                                              BoundQuery query,
                                                              std::vector<SortKey> sort_keys,
                                                              size_t visible) {
  PlanPointer plan = query.plan;
  if (!sort_keys.empty()) {
    auto sort = std::make_shared<LogicalOperator>();
    sort->kind = LogicalOperator::Kind::kSort;
    sort->schema = plan->schema;
    sort->children = {plan};
    sort->sort_keys = std::move(sort_keys);
    plan = sort;
  }
  if (select.limit != nullptr || select.offset != nullptr) {
    std::optional<int64_t> count;
    int64_t offset = 0;
    if (select.limit != nullptr) {
      ARROW_ASSIGN_OR_RAISE(int64_t limit, BindCount(select.limit, "LIMIT", -1));
      if (limit >= 0) count = limit;
    }
    if (select.offset != nullptr) {
      ARROW_ASSIGN_OR_RAISE(offset, BindCount(select.offset, "OFFSET", 0));
    }
    plan = MakeLimit(plan, offset, count);
  }
  if (static_cast<size_t>(plan->schema->num_fields()) > visible) {
    std::vector<compute::Expression> expressions;
    arrow::FieldVector fields;
    for (size_t index = 0; index < visible; ++index) {
      fields.push_back(plan->schema->field(static_cast<int>(index)));
      expressions.push_back(compute::field_ref(fields.back()->name()));
    }
    plan = MakeProject(plan, std::move(expressions), std::move(fields));
  }
  query.plan = plan;
  query.names.resize(visible);
  return query;
}

arrow::Result<BoundQuery> Binder::Implementation::BindSelect(const SelectStatement& select,
                                                             const Scope* outer) {
  ARROW_ASSIGN_OR_RAISE(auto from, BindFromAndWhere(select, outer));
  PlanPointer plan = from.first;
  const Scope& scope = from.second;

  // Expand * and qualified stars.
  std::vector<SelectItem> items;
  for (const auto& item : select.items) {
    if (item.expression->kind != Kind::kStar) {
      items.push_back(item);
      continue;
    }
    bool any = false;
    const auto& qualifier = item.expression->names;
    for (const auto& column : scope.columns) {
      if (column.using_duplicate && qualifier.empty()) continue;
      if (!qualifier.empty() && column.qualifier != qualifier.back() &&
          Lower(column.qualifier) != Lower(qualifier.back())) {
        continue;
      }
      auto reference = std::make_shared<ParsedExpression>();
      reference->kind = Kind::kColumn;
      reference->location = item.expression->location;
      reference->names = {column.qualifier, column.name};
      // Bound to this very column: a subquery may yield two columns of one name, which a
      // lookup by name would call ambiguous.
      star_columns_[reference.get()] = {reference, column.internal};
      items.push_back({reference, column.name});
      any = true;
    }
    if (!any) {
      return SqlError(sql_, item.expression->location,
                      qualifier.empty()
                          ? "SELECT * with no tables"
                          : "missing FROM-clause entry for table \"" + qualifier.back() + "\"");
    }
  }

  bool aggregating = !select.group_by.empty() || Contains(select.having, IsAggregateCall);
  for (const auto& item : items) aggregating |= Contains(item.expression, IsAggregateCall);
  for (const auto& order : select.order_by) {
    aggregating |= Contains(order.expression, IsAggregateCall);
  }

  AggregationState aggregation;
  aggregation.input = &scope;
  aggregation.grouped = !select.group_by.empty();
  if (aggregating) {
    std::set<std::string> seen;
    for (const auto& group : select.group_by) {
      const ParsedExpression* node = group.get();
      if (node->kind == Kind::kConstant &&
          node->constant_kind == ParsedExpression::ConstantKind::kInteger) {
        size_t position = std::stoul(node->text);
        if (position < 1 || position > items.size()) {
          return SqlError(sql_, node->location,
                          "GROUP BY position " + node->text + " is not in the select list");
        }
        node = items[position - 1].expression.get();
      } else if (node->kind == Kind::kColumn && node->names.size() == 1 &&
                 FindIn(scope, node->names) == nullptr) {
        for (const auto& item : items) {
          if (item.alias == node->names[0]) node = item.expression.get();
        }
      }
      ExpressionContext context{&scope, "GROUP BY"};
      ARROW_ASSIGN_OR_RAISE(auto key, BindExpression(*node, context));
      std::string name;
      if (const auto* reference = key.expression.field_ref()) name = *reference->name();
      if (name.empty()) name = Fresh("group");
      if (!seen.insert(name).second) continue;
      if (key.expression.field_ref() == nullptr) Declare(name, key.type);
      aggregation.group_expressions.push_back(key.expression);
      aggregation.group_columns.push_back(name);
      aggregation.pre_expressions.push_back(key.expression);
      aggregation.pre_fields.push_back(arrow::field(name, key.type));
      aggregation.output_fields.push_back(arrow::field(name, key.type));
    }
  }

  WindowState windows;
  ExpressionContext context{&scope, "SELECT"};
  if (aggregating) context.aggregation = &aggregation;
  context.windows = &windows;
  std::vector<TypedExpression> values;
  std::vector<std::string> names;
  for (const auto& item : items) {
    ARROW_ASSIGN_OR_RAISE(auto value, BindExpression(*item.expression, context));
    values.push_back(value);
    names.push_back(item.alias.empty() ? DefaultName(*item.expression) : item.alias);
  }

  std::optional<TypedExpression> having;
  if (select.having != nullptr) {
    ExpressionContext having_context{&scope, "HAVING"};
    having_context.aggregation = &aggregation;
    ARROW_ASSIGN_OR_RAISE(having, BindBoolean(*select.having, having_context));
  }

  // ORDER BY: output positions, output names, or expressions (hidden columns if needed).
  std::vector<std::pair<int, const OrderItem*>> order_targets;
  size_t visible = values.size();
  for (const auto& order : select.order_by) {
    const ParsedExpression& node = *order.expression;
    int position = -1;
    if (node.kind == Kind::kConstant &&
        node.constant_kind == ParsedExpression::ConstantKind::kInteger) {
      position = std::stoi(node.text) - 1;
      if (position < 0 || position >= static_cast<int>(visible)) {
        return SqlError(sql_, node.location,
                        "ORDER BY position " + node.text + " is not in the select list");
      }
    } else if (node.kind == Kind::kColumn && node.names.size() == 1) {
      for (size_t index = 0; index < visible; ++index) {
        if (names[index] == node.names[0] && !items[index].alias.empty()) {
          position = static_cast<int>(index);
        }
      }
    }
    if (position < 0) {
      ARROW_ASSIGN_OR_RAISE(auto value, BindExpression(node, context));
      for (size_t index = 0; index < values.size(); ++index) {
        if (values[index].expression.Equals(value.expression)) position = static_cast<int>(index);
      }
      if (position < 0) {
        if (select.distinct) {
          return SqlError(sql_, node.location,
                          "for SELECT DISTINCT, ORDER BY expressions must appear in the select "
                          "list");
        }
        position = static_cast<int>(values.size());
        values.push_back(value);
        names.push_back("order");
      }
    }
    order_targets.push_back({position, &order});
  }

  if (aggregating) {
    plan = MakeProject(plan, aggregation.pre_expressions, aggregation.pre_fields);
    auto aggregate = std::make_shared<LogicalOperator>();
    aggregate->kind = LogicalOperator::Kind::kAggregate;
    aggregate->keys = aggregation.group_columns;
    aggregate->aggregates = aggregation.calls;
    aggregate->schema = arrow::schema(aggregation.output_fields);
    aggregate->children = {plan};
    plan = aggregate;
    if (having) plan = MakeFilter(plan, having->expression);
  }
  if (!windows.calls.empty()) {
    std::vector<compute::Expression> expressions;
    arrow::FieldVector fields = plan->schema->fields();
    for (const auto& field : fields) expressions.push_back(compute::field_ref(field->name()));
    expressions.insert(expressions.end(), windows.extra_expressions.begin(),
                       windows.extra_expressions.end());
    fields.insert(fields.end(), windows.extra_fields.begin(), windows.extra_fields.end());
    plan = MakeProject(plan, std::move(expressions), fields);
    auto window = std::make_shared<LogicalOperator>();
    window->kind = LogicalOperator::Kind::kWindow;
    window->windows = windows.calls;
    for (const auto& call : windows.calls) {
      fields.push_back(arrow::field(call.output, call.output_type));
    }
    window->schema = arrow::schema(fields);
    window->children = {plan};
    plan = window;
  }
  std::vector<compute::Expression> expressions;
  arrow::FieldVector fields;
  for (size_t index = 0; index < values.size(); ++index) {
    expressions.push_back(values[index].expression);
    fields.push_back(Declare(Fresh(names[index]), values[index].type));
  }
  plan = MakeProject(plan, std::move(expressions), fields);
  if (select.distinct) {
    ARROW_ASSIGN_OR_RAISE(plan, MakeDistinct(plan));
  }
  std::vector<SortKey> sort_keys;
  for (const auto& [position, order] : order_targets) {
    sort_keys.push_back({fields[position]->name(), order->ascending,
                         order->nulls_first.value_or(!order->ascending)});
  }
  return FinishQuery(select, BoundQuery{plan, names}, std::move(sort_keys), visible);
}

}  // namespace nlk::sql
