// The binder's value expressions: column names through scopes, constants, operators, casts,
// CASE, AND/OR lists and scalar function calls, each typed.

#include "sql/binder_internal.h"

namespace nlk::sql {

const ScopeColumn* Binder::Implementation::FindIn(const Scope& scope,
                                                  const std::vector<std::string>& names,
                                                  bool* ambiguous) {
  const std::string& name = names.back();
  std::string qualifier = names.size() >= 2 ? names[names.size() - 2] : "";
  // Exact spelling first; then case-insensitively, so unquoted lower-case names reach
  // mixed-case columns written by other tools.
  for (int pass = 0; pass < 2; ++pass) {
    const ScopeColumn* match = nullptr;
    for (const auto& column : scope.columns) {
      bool name_matches = pass == 0 ? column.name == name : Lower(column.name) == Lower(name);
      bool qualifier_matches = qualifier.empty()
                                   ? !column.using_duplicate
                                   : (pass == 0 ? column.qualifier == qualifier
                                                : Lower(column.qualifier) == Lower(qualifier));
      if (!name_matches || !qualifier_matches) continue;
      if (match != nullptr) {
        if (ambiguous != nullptr) *ambiguous = true;
        return nullptr;
      }
      match = &column;
    }
    if (match != nullptr) return match;
  }
  return nullptr;
}

arrow::Result<TypedExpression> Binder::Implementation::ResolveColumn(
    const ParsedExpression& node, const ExpressionContext& context) {
  if (auto star = star_columns_.find(&node); star != star_columns_.end()) {
    return factory_.Column(star->second.second);
  }
  std::string written = Join(node.names);
  std::replace(written.begin(), written.end(), ',', '.');
  written.erase(std::remove(written.begin(), written.end(), ' '), written.end());
  if (node.names.size() > 2) {
    return SqlError(sql_, node.location, "column reference \"" + written + "\" has too many parts");
  }
  for (const Scope* scope = context.scope; scope != nullptr; scope = scope->outer) {
    bool ambiguous = false;
    const ScopeColumn* column = FindIn(*scope, node.names, &ambiguous);
    if (ambiguous) {
      return SqlError(sql_, node.location, "column reference \"" + written + "\" is ambiguous");
    }
    if (column == nullptr) continue;
    if (scope != context.scope) {
      if (context.correlated == nullptr) {
        return SqlError(
            sql_, node.location,
            "correlated reference to \"" + written + "\" is only supported in EXISTS subqueries");
      }
      *context.correlated = true;
    }
    return factory_.Column(column->internal);
  }
  std::vector<std::string> candidates;
  if (context.scope != nullptr) {
    for (const auto& column : context.scope->columns) {
      if (!column.using_duplicate) candidates.push_back(column.name);
    }
  }
  return SqlError(sql_, node.location,
                  "column \"" + written + "\" does not exist; columns in scope: " +
                      (candidates.empty() ? "(none)" : Join(candidates)));
}

arrow::Result<TypedExpression> Binder::Implementation::BindBoolean(const ParsedExpression& node,
                                                                   ExpressionContext& context) {
  ARROW_ASSIGN_OR_RAISE(auto value, BindExpression(node, context));
  if (value.type->id() == arrow::Type::NA) return factory_.Cast(value, arrow::boolean());
  if (value.type->id() != arrow::Type::BOOL) {
    return SqlError(
        sql_, node.location,
        "argument of " + context.clause + " must be boolean, not " + value.type->ToString());
  }
  return value;
}

arrow::Result<TypedExpression> Binder::Implementation::Constant(const ParsedExpression& node) {
  switch (node.constant_kind) {
    case ParsedExpression::ConstantKind::kInteger:
    case ParsedExpression::ConstantKind::kFloat:
      return Located(ExpressionFactory::NumberLiteral(node.text), node.location);
    case ParsedExpression::ConstantKind::kString:
      return factory_.Literal(arrow::MakeScalar(node.text));
    case ParsedExpression::ConstantKind::kBoolean:
      return factory_.Literal(arrow::MakeScalar(node.text == "true"));
    case ParsedExpression::ConstantKind::kNull:
      return factory_.Literal(arrow::MakeNullScalar(arrow::null()));
  }
  return arrow::Status::Invalid("unknown constant");
}

arrow::Result<std::vector<TypedExpression>> Binder::Implementation::BindArguments(
    const std::vector<ExpressionPointer>& nodes, ExpressionContext& context) {
  std::vector<TypedExpression> values;
  for (const auto& node : nodes) {
    ARROW_ASSIGN_OR_RAISE(auto value, BindExpression(*node, context));
    values.push_back(std::move(value));
  }
  return values;
}

arrow::Result<TypedExpression> Binder::Implementation::BindExpression(const ParsedExpression& node,
                                                                      ExpressionContext& context) {
  if (context.aggregation != nullptr && node.kind != Kind::kConstant) {
    // In an aggregate query an expression is either a group key, an aggregate, or built from
    // those.
    ExpressionContext probe{context.aggregation->input, context.clause};
    auto plain = BindExpression(node, probe);
    if (plain.ok()) {
      const auto& groups = context.aggregation->group_expressions;
      for (size_t index = 0; index < groups.size(); ++index) {
        if (groups[index].Equals(plain->expression)) {
          return factory_.Column(context.aggregation->group_columns[index]);
        }
      }
      if (node.kind == Kind::kColumn) {
        return SqlError(sql_, node.location,
                        "column \"" + node.names.back() +
                            "\" must appear in the GROUP BY clause or be used in an aggregate "
                            "function");
      }
    } else if (node.kind == Kind::kColumn) {
      return plain.status();
    }
  }
  switch (node.kind) {
    case Kind::kColumn:
      return ResolveColumn(node, context);
    case Kind::kStar:
      return SqlError(sql_, node.location, "* is only allowed in the select list and count(*)");
    case Kind::kConstant:
      return Constant(node);
    case Kind::kList:
      return SqlError(sql_, node.location, "a list is only allowed after IN");
    case Kind::kSubquery:
      if (node.subquery_kind == ParsedExpression::SubqueryKind::kScalar) {
        return BindScalarSubquery(node);
      }
      return SqlError(sql_, node.location,
                      "IN and EXISTS subqueries are supported as top-level WHERE conditions "
                      "(joined with AND), not here");
    case Kind::kCast:
      return BindCast(node, context);
    case Kind::kCase:
      return BindCase(node, context);
    case Kind::kOperator:
      return BindOperator(node, context);
    case Kind::kFunction:
      return BindFunction(node, context);
  }
  return arrow::Status::Invalid("unknown expression");
}

arrow::Result<TypedExpression> Binder::Implementation::BindCast(const ParsedExpression& node,
                                                                ExpressionContext& context) {
  const ParsedExpression& argument = *node.arguments[0];
  if (node.type_name == "interval") {
    if (argument.kind != Kind::kConstant ||
        argument.constant_kind != ParsedExpression::ConstantKind::kString) {
      return SqlError(sql_, node.location, "only interval constants ('1 hour') are supported");
    }
    ARROW_ASSIGN_OR_RAISE(int64_t micros,
                          Located(ExpressionFactory::ParseInterval(argument.text), node.location));
    return factory_.Literal(
        std::make_shared<arrow::DurationScalar>(micros, arrow::TimeUnit::MICRO));
  }
  ARROW_ASSIGN_OR_RAISE(auto type,
                        Located(ExpressionFactory::TypeFromName(node.type_name), node.location));
  ARROW_ASSIGN_OR_RAISE(auto value, BindExpression(argument, context));
  return Located(factory_.Cast(std::move(value), type), node.location);
}

arrow::Result<TypedExpression> Binder::Implementation::BindCase(const ParsedExpression& node,
                                                                ExpressionContext& context) {
  size_t index = 0;
  std::optional<TypedExpression> operand;
  if (node.case_has_operand) {
    ARROW_ASSIGN_OR_RAISE(operand, BindExpression(*node.arguments[index++], context));
  }
  size_t end = node.arguments.size() - (node.case_has_else ? 1 : 0);
  std::vector<TypedExpression> conditions;
  std::vector<TypedExpression> values;
  for (; index + 1 < end + 1 && index < end; index += 2) {
    ARROW_ASSIGN_OR_RAISE(auto condition, BindExpression(*node.arguments[index], context));
    if (operand) {
      ARROW_ASSIGN_OR_RAISE(condition, Located(factory_.Operator("=", {*operand, condition}),
                                               node.arguments[index]->location));
    }
    ARROW_ASSIGN_OR_RAISE(auto value, BindExpression(*node.arguments[index + 1], context));
    conditions.push_back(std::move(condition));
    values.push_back(std::move(value));
  }
  std::optional<TypedExpression> otherwise;
  if (node.case_has_else) {
    ARROW_ASSIGN_OR_RAISE(otherwise, BindExpression(*node.arguments.back(), context));
  }
  return Located(factory_.Case(std::move(conditions), std::move(values), std::move(otherwise)),
                 node.location);
}

arrow::Result<TypedExpression> Binder::Implementation::BindConnective(const ParsedExpression& node,
                                                                      ExpressionContext& context) {
  std::vector<const ParsedExpression*> pending = {&node};
  std::vector<TypedExpression> terms;
  while (!pending.empty()) {
    const ParsedExpression* next = pending.back();
    pending.pop_back();
    if (next->kind == Kind::kOperator && next->name == node.name) {
      for (auto argument = next->arguments.rbegin(); argument != next->arguments.rend();
           ++argument) {
        pending.push_back(argument->get());
      }
      continue;
    }
    ARROW_ASSIGN_OR_RAISE(auto term, BindExpression(*next, context));
    terms.push_back(std::move(term));
  }
  if (node.name == "OR") {
    ARROW_ASSIGN_OR_RAISE(terms, Located(EqualitiesAsIn(std::move(terms)), node.location));
  }
  return Located(factory_.Operator(node.name, std::move(terms)), node.location);
}

arrow::Result<std::vector<TypedExpression>> Binder::Implementation::EqualitiesAsIn(
    std::vector<TypedExpression> terms) {
  struct Group {
    size_t position;
    compute::Expression tested;
    std::vector<TypedExpression> constants;
    size_t size = 0;  // constants.size() until they move into the IN
  };
  std::vector<Group> groups;
  std::unordered_multimap<size_t, size_t> groups_by_hash;
  std::vector<std::optional<size_t>> group_of(terms.size());
  for (size_t index = 0; index < terms.size(); ++index) {
    const compute::Expression::Call* call = terms[index].expression.call();
    if (call == nullptr || call->function_name != "equal" || call->arguments.size() != 2) {
      continue;
    }
    int constant_side = call->arguments[1].literal() != nullptr   ? 1
                        : call->arguments[0].literal() != nullptr ? 0
                                                                  : -1;
    if (constant_side < 0 || call->arguments[1 - constant_side].literal() != nullptr) continue;
    const compute::Expression& tested = call->arguments[1 - constant_side];
    const arrow::Datum& constant = *call->arguments[constant_side].literal();
    if (!constant.is_scalar()) continue;
    ARROW_ASSIGN_OR_RAISE(auto tested_type, factory_.TypeOf(tested));
    if (!constant.type()->Equals(*tested_type)) continue;
    std::optional<size_t> found;
    auto [first, last] = groups_by_hash.equal_range(tested.hash());
    for (auto candidate = first; candidate != last; ++candidate) {
      if (groups[candidate->second].tested.Equals(tested)) found = candidate->second;
    }
    if (!found) {
      found = groups.size();
      groups.push_back({index, tested, {}, 0});
      groups_by_hash.emplace(tested.hash(), *found);
    }
    groups[*found].constants.push_back(factory_.Literal(constant.scalar()));
    ++groups[*found].size;
    group_of[index] = found;
  }
  std::vector<TypedExpression> rewritten;
  for (size_t index = 0; index < terms.size(); ++index) {
    if (!group_of[index] || groups[*group_of[index]].size < 2) {
      rewritten.push_back(std::move(terms[index]));
      continue;
    }
    Group& group = groups[*group_of[index]];
    if (group.position != index) continue;
    ARROW_ASSIGN_OR_RAISE(auto type, factory_.TypeOf(group.tested));
    ARROW_ASSIGN_OR_RAISE(auto in,
                          factory_.InList(TypedExpression{group.tested, type, nullptr, nullptr},
                                          std::move(group.constants)));
    rewritten.push_back(std::move(in));
  }
  return rewritten;
}

arrow::Result<TypedExpression> Binder::Implementation::BindOperator(const ParsedExpression& node,
                                                                    ExpressionContext& context) {
  const std::string& name = node.name;
  if (name == "AND" || name == "OR") return BindConnective(node, context);
  if (name == "IN" || name == "NOT IN") {
    const ParsedExpression& list = *node.arguments[1];
    if (list.kind != Kind::kList) return SqlError(sql_, node.location, "IN expects a list");
    ARROW_ASSIGN_OR_RAISE(auto value, BindExpression(*node.arguments[0], context));
    ARROW_ASSIGN_OR_RAISE(auto items, BindArguments(list.arguments, context));
    ARROW_ASSIGN_OR_RAISE(auto result, Located(factory_.InList(value, items), node.location));
    if (name == "NOT IN") return Located(factory_.Operator("NOT", {result}), node.location);
    return result;
  }
  if (name == "BETWEEN" || name == "NOT BETWEEN") {
    ARROW_ASSIGN_OR_RAISE(auto values, BindArguments(node.arguments, context));
    if (values.size() != 3) return SqlError(sql_, node.location, "BETWEEN needs two bounds");
    ARROW_ASSIGN_OR_RAISE(auto low,
                          Located(factory_.Operator(">=", {values[0], values[1]}), node.location));
    ARROW_ASSIGN_OR_RAISE(auto high,
                          Located(factory_.Operator("<=", {values[0], values[2]}), node.location));
    ARROW_ASSIGN_OR_RAISE(auto both, Located(factory_.Operator("AND", {low, high}), node.location));
    if (name == "NOT BETWEEN") return Located(factory_.Operator("NOT", {both}), node.location);
    return both;
  }
  ARROW_ASSIGN_OR_RAISE(auto values, BindArguments(node.arguments, context));
  return Located(factory_.Operator(name, std::move(values)), node.location);
}

arrow::Result<TypedExpression> Binder::Implementation::BindFunction(const ParsedExpression& node,
                                                                    ExpressionContext& context) {
  if (node.window) return BindWindowFunction(node, context);
  if (kAggregateFunctions.count(node.name) > 0) return BindAggregate(node, context);
  if (kWindowOnlyFunctions.count(node.name) > 0) {
    return SqlError(sql_, node.location, node.name + "() requires an OVER clause");
  }
  if (node.distinct || node.star_argument || node.filter != nullptr) {
    return SqlError(sql_, node.location, node.name + "() is not an aggregate function");
  }
  ARROW_ASSIGN_OR_RAISE(auto arguments, BindArguments(node.arguments, context));
  return Located(factory_.Function(node.name, std::move(arguments)), node.location);
}

}  // namespace nlk::sql
