// The binder's subqueries: uncorrelated scalar subqueries run once, IN and EXISTS conditions
// turned into semi and anti joins.

#include "sql/binder_internal.h"

namespace nlk::sql {

arrow::Result<std::shared_ptr<arrow::Table>> Binder::Implementation::RunSubquery(
    const PlanPointer& plan, int location) {
  if (!run_subquery_) {
    return SqlError(sql_, location, "subqueries used as values are not supported here");
  }
  return Located(run_subquery_(plan), location);
}

arrow::Result<TypedExpression> Binder::Implementation::BindScalarSubquery(
    const ParsedExpression& node) {
  auto query = BindQuery(*node.subquery, nullptr);
  if (!query.ok()) {
    // An unknown column may be the outer query's: say that this is not supported.
    const std::string& message = query.status().message();
    size_t column = message.find("column \"");
    size_t missing = message.find("\" does not exist");
    if (column != std::string::npos && missing != std::string::npos && missing > column) {
      return SqlError(sql_, node.location,
                      "correlated subqueries are not supported as values (" +
                          message.substr(column, missing + 1 - column) +
                          " is not a column of the subquery)");
    }
    return query.status();
  }
  if (query->names.size() != 1) {
    return SqlError(sql_, node.location, "subquery must return only one column");
  }
  auto type = query->plan->schema->field(0)->type();
  ARROW_ASSIGN_OR_RAISE(auto table, RunSubquery(query->plan, node.location));
  if (table->num_rows() > 1) {
    return SqlError(sql_, node.location,
                    "more than one row returned by a subquery used as an expression");
  }
  std::shared_ptr<arrow::Scalar> value = arrow::MakeNullScalar(type);
  if (table->num_rows() == 1) {
    ARROW_ASSIGN_OR_RAISE(value, table->column(0)->GetScalar(0));
  }
  if (value->type->id() == arrow::Type::NA) value = arrow::MakeNullScalar(arrow::int64());
  return factory_.Literal(value);
}

arrow::Result<std::pair<int64_t, int64_t>> Binder::Implementation::CountValues(
    const SelectStatement& select, int location) {
  ARROW_ASSIGN_OR_RAISE(auto query, BindQuery(select, nullptr));
  auto aggregate = std::make_shared<LogicalOperator>();
  aggregate->kind = LogicalOperator::Kind::kAggregate;
  aggregate->children = {query.plan};
  std::string rows = Fresh("rows");
  std::string values = Fresh("values");
  aggregate->aggregates.push_back({"count_all", "", nullptr, rows});
  aggregate->aggregates.push_back(
      {"count", query.plan->schema->field(0)->name(),
       std::make_shared<compute::CountOptions>(compute::CountOptions::ONLY_VALID), values});
  aggregate->schema =
      arrow::schema({arrow::field(rows, arrow::int64()), arrow::field(values, arrow::int64())});
  ARROW_ASSIGN_OR_RAISE(auto table, RunSubquery(aggregate, location));
  if (table->num_rows() != 1) return arrow::Status::Invalid("NOT IN: no count");
  ARROW_ASSIGN_OR_RAISE(auto row_count, table->column(0)->GetScalar(0));
  ARROW_ASSIGN_OR_RAISE(auto value_count, table->column(1)->GetScalar(0));
  return std::make_pair(static_cast<const arrow::Int64Scalar&>(*row_count).value,
                        static_cast<const arrow::Int64Scalar&>(*value_count).value);
}

arrow::Result<PlanPointer> Binder::Implementation::BindSubqueryCondition(
    PlanPointer plan, const Scope& scope, const ParsedExpression& node, bool negated) {
  auto type = negated ? arrow::acero::JoinType::LEFT_ANTI : arrow::acero::JoinType::LEFT_SEMI;
  if (node.subquery_kind == ParsedExpression::SubqueryKind::kIn) {
    ExpressionContext context{&scope, "WHERE"};
    ARROW_ASSIGN_OR_RAISE(auto tested, BindExpression(*node.arguments[0], context));
    ARROW_ASSIGN_OR_RAISE(auto query, BindQuery(*node.subquery, nullptr));
    if (query.names.size() != 1) {
      return SqlError(sql_, node.location, "subquery of IN must return exactly one column");
    }
    const auto& field = query.plan->schema->field(0);
    TypedExpression inner = factory_.Column(field->name());
    ARROW_ASSIGN_OR_RAISE(auto equal,
                          Located(factory_.Operator("=", {tested, inner}), node.location));
    ARROW_ASSIGN_OR_RAISE(auto joined, MakeJoin(plan, query.plan, type, {equal}, nullptr));
    if (!negated || !run_subquery_) return joined;
    // x NOT IN (S) is NULL, so false, when S holds a NULL, or when x is NULL and S is not
    // empty; the anti join alone would keep those rows.
    ARROW_ASSIGN_OR_RAISE(auto counts, CountValues(*node.subquery, node.location));
    auto [rows, values] = counts;
    if (rows == 0) return joined;
    if (values < rows) return MakeFilter(joined, compute::literal(false));
    return MakeFilter(joined, compute::call("is_valid", {tested.expression}));
  }
  // EXISTS: bind FROM and WHERE of the subquery with the outer scope visible; terms that read
  // outer columns become the join condition.
  const SelectStatement& select = *node.subquery;
  if (select.set_operation != SelectStatement::SetOperation::kNone || !select.group_by.empty() ||
      select.having != nullptr || select.limit != nullptr) {
    ARROW_ASSIGN_OR_RAISE(auto query, BindQuery(select, nullptr));
    return MakeJoin(plan, query.plan, type, {}, nullptr);
  }
  common_tables_.emplace_back();
  for (const auto& common : select.with) common_tables_.back()[common.name] = &common;
  auto from = BindFromItems(select, &scope);
  common_tables_.pop_back();
  ARROW_RETURN_NOT_OK(from.status());
  auto [inner_plan, inner_scope] = std::move(*from);
  std::vector<TypedExpression> correlation;
  std::vector<ExpressionPointer> terms;
  SplitAnd(select.where, &terms);
  std::vector<compute::Expression> local;
  for (const auto& term : terms) {
    bool correlated = false;
    ExpressionContext context{&inner_scope, "WHERE"};
    context.correlated = &correlated;
    if (term->kind == Kind::kSubquery) {
      return SqlError(sql_, term->location, "nested subqueries in EXISTS are not supported");
    }
    ARROW_ASSIGN_OR_RAISE(auto value, BindBoolean(*term, context));
    if (correlated) {
      correlation.push_back(value);
    } else {
      local.push_back(value.expression);
    }
  }
  if (!local.empty()) inner_plan = MakeFilter(inner_plan, JoinConjunction(local));
  return MakeJoin(plan, inner_plan, type, correlation, nullptr);
}

}  // namespace nlk::sql
