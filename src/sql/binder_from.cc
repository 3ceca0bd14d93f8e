// The binder's FROM clause: table references (tables, WITH queries, subqueries in FROM),
// joins and their conditions, and the FROM items of a SELECT joined and filtered by WHERE.

#include "sql/binder_internal.h"

namespace nlk::sql {

arrow::Result<std::pair<PlanPointer, Scope>> Binder::Implementation::BindTableReference(
    const TableReference& reference, const Scope* outer) {
  switch (reference.kind) {
    case TableReference::Kind::kTable:
      return BindTable(reference);
    case TableReference::Kind::kSubquery: {
      ARROW_ASSIGN_OR_RAISE(auto query, BindQuery(*reference.subquery, nullptr));
      if (reference.alias.empty()) {
        return SqlError(sql_, reference.location, "a subquery in FROM must have an alias");
      }
      return MakeScope(std::move(query), reference.alias, reference.column_aliases,
                       reference.location);
    }
    case TableReference::Kind::kJoin:
      return BindJoin(reference, outer);
  }
  return arrow::Status::Invalid("unknown table reference");
}

arrow::Result<std::pair<PlanPointer, Scope>> Binder::Implementation::MakeScope(
    BoundQuery query, const std::string& qualifier, const std::vector<std::string>& aliases,
    int location) {
  if (aliases.size() > query.names.size()) {
    return SqlError(sql_, location,
                    qualifier + " has " + std::to_string(query.names.size()) +
                        " columns available but " + std::to_string(aliases.size()) +
                        " columns specified");
  }
  Scope scope;
  for (int index = 0; index < query.plan->schema->num_fields(); ++index) {
    const auto& field = query.plan->schema->field(index);
    std::string name =
        static_cast<size_t>(index) < aliases.size() ? aliases[index] : query.names[index];
    scope.columns.push_back({qualifier, name, field->name(), field->type()});
  }
  return std::make_pair(query.plan, std::move(scope));
}

arrow::Result<std::pair<PlanPointer, Scope>> Binder::Implementation::BindTable(
    const TableReference& reference) {
  std::string qualifier = reference.alias.empty() ? reference.name : reference.alias;
  for (auto frame = common_tables_.rbegin(); frame != common_tables_.rend(); ++frame) {
    auto found = frame->find(reference.name);
    if (found == frame->end()) continue;
    const CommonTableExpression* common = found->second;
    // Bind the CTE afresh for each reference: every use gets its own columns.
    std::vector<std::map<std::string, const CommonTableExpression*>> saved(common_tables_.begin(),
                                                                           frame.base());
    saved.back().erase(reference.name);  // a CTE cannot see itself (no RECURSIVE)
    std::swap(saved, common_tables_);
    auto query = BindQuery(*common->query, nullptr);
    std::swap(saved, common_tables_);
    ARROW_RETURN_NOT_OK(query.status());
    std::vector<std::string> aliases =
        reference.column_aliases.empty() ? common->column_aliases : reference.column_aliases;
    return MakeScope(std::move(*query), qualifier, aliases, reference.location);
  }
  auto source = catalog_->Resolve(reference.name);
  if (!source.ok()) {
    if (source.status().IsKeyError()) {
      auto names = catalog_->TableNames();
      return arrow::Status::KeyError(
          "SQL error at position ", CharacterPosition(sql_, reference.location), ": table \"",
          reference.name,
          "\" does not exist; available tables: ", names.empty() ? "(none)" : Join(names));
    }
    return source.status().WithMessage("table \"", reference.name,
                                       "\": ", source.status().message());
  }
  auto scan = std::make_shared<LogicalOperator>();
  scan->kind = LogicalOperator::Kind::kScan;
  scan->table_name = reference.name;
  scan->source = *source;
  Scope scope;
  arrow::FieldVector fields;
  for (const auto& field : source->table->schema()->fields()) {
    std::string internal = Fresh(field->name());
    scan->columns.push_back(field->name());
    fields.push_back(Declare(internal, field->type()));
    scope.columns.push_back({qualifier, field->name(), internal, field->type()});
  }
  scan->schema = arrow::schema(fields);
  PlanPointer plan = scan;
  if (!source->restriction.empty()) {
    auto restricted = Restrict(scan, scope, source->restriction);
    if (!restricted.ok()) {
      // The policy's own text is not the query's: say which table's policy failed.
      return arrow::Status::Invalid(
          "table \"", reference.name,
          "\": its access policy cannot be applied: ", restricted.status().message());
    }
    plan = *restricted;
  }
  // Aliases rename the columns after the policy named them.
  if (reference.column_aliases.size() > scope.columns.size()) {
    return SqlError(sql_, reference.location, "too many column aliases for " + qualifier);
  }
  for (size_t index = 0; index < reference.column_aliases.size(); ++index) {
    scope.columns[index].name = reference.column_aliases[index];
  }
  return std::make_pair(plan, std::move(scope));
}

std::string Binder::Implementation::EnsureColumn(PlanPointer* plan, const TypedExpression& value) {
  if (const auto* reference = value.expression.field_ref()) {
    if (reference->name() != nullptr && (*plan)->schema->GetFieldByName(*reference->name())) {
      return *reference->name();
    }
  }
  std::vector<compute::Expression> expressions;
  arrow::FieldVector fields = (*plan)->schema->fields();
  for (const auto& field : fields) expressions.push_back(compute::field_ref(field->name()));
  std::string name = Fresh("key");
  expressions.push_back(value.expression);
  fields.push_back(Declare(name, value.type));
  *plan = MakeProject(*plan, std::move(expressions), std::move(fields));
  return name;
}

bool Binder::Implementation::Within(const compute::Expression& expression,
                                    const arrow::Schema& schema) {
  for (const auto& name : ReferencedColumns(expression)) {
    if (schema.GetFieldByName(name) == nullptr) return false;
  }
  return true;
}

arrow::Result<PlanPointer> Binder::Implementation::MakeJoin(
    PlanPointer left, PlanPointer right, arrow::acero::JoinType type,
    std::vector<TypedExpression> conditions, std::vector<TypedExpression>* leftover) {
  std::vector<std::string> left_keys;
  std::vector<std::string> right_keys;
  std::vector<compute::Expression> residual;
  for (auto& condition : conditions) {
    const compute::Expression::Call* call = condition.expression.call();
    bool is_key = false;
    if (call != nullptr && call->function_name == "equal" && call->arguments.size() == 2) {
      const auto& first = call->arguments[0];
      const auto& second = call->arguments[1];
      bool straight = Within(first, *left->schema) && Within(second, *right->schema);
      bool crossed = Within(first, *right->schema) && Within(second, *left->schema);
      if ((straight || crossed) && !ReferencedColumns(first).empty() &&
          !ReferencedColumns(second).empty()) {
        TypedExpression left_value{straight ? first : second, nullptr, nullptr};
        TypedExpression right_value{straight ? second : first, nullptr, nullptr};
        ARROW_ASSIGN_OR_RAISE(left_value.type, factory_.TypeOf(left_value.expression));
        ARROW_ASSIGN_OR_RAISE(right_value.type, factory_.TypeOf(right_value.expression));
        if (!left_value.type->Equals(*right_value.type)) {
          // Acero's hash join needs keys of one type (int32 = int64 would crash it).
          ARROW_ASSIGN_OR_RAISE(auto common,
                                ExpressionFactory::CommonType(left_value.type, right_value.type));
          ARROW_ASSIGN_OR_RAISE(left_value, factory_.Cast(left_value, common));
          ARROW_ASSIGN_OR_RAISE(right_value, factory_.Cast(right_value, common));
        }
        left_keys.push_back(EnsureColumn(&left, left_value));
        right_keys.push_back(EnsureColumn(&right, right_value));
        is_key = true;
      }
    }
    if (is_key) continue;
    if (type == arrow::acero::JoinType::INNER && leftover != nullptr) {
      leftover->push_back(condition);
    } else {
      residual.push_back(condition.expression);
    }
  }
  if (left_keys.empty()) {
    // No equality: join every row with every row through a constant key.
    TypedExpression constant = factory_.Literal(arrow::MakeScalar(int32_t{0}));
    left_keys.push_back(EnsureColumn(&left, constant));
    right_keys.push_back(EnsureColumn(&right, constant));
  }
  auto join = std::make_shared<LogicalOperator>();
  join->kind = LogicalOperator::Kind::kJoin;
  join->join_type = type;
  join->left_keys = left_keys;
  join->right_keys = right_keys;
  join->join_filter = JoinConjunction(residual);
  arrow::FieldVector fields = left->schema->fields();
  if (type != arrow::acero::JoinType::LEFT_SEMI && type != arrow::acero::JoinType::LEFT_ANTI) {
    for (const auto& field : right->schema->fields()) fields.push_back(field);
  }
  join->schema = arrow::schema(fields);
  join->children = {left, right};
  return join;
}

arrow::Result<std::pair<PlanPointer, Scope>> Binder::Implementation::BindJoin(
    const TableReference& reference, const Scope* outer) {
  ARROW_ASSIGN_OR_RAISE(auto left, BindTableReference(*reference.left, outer));
  ARROW_ASSIGN_OR_RAISE(auto right, BindTableReference(*reference.right, outer));
  Scope scope;
  scope.outer = outer;
  scope.columns = left.second.columns;
  std::vector<TypedExpression> conditions;
  for (const auto& name : reference.using_columns) {
    auto left_column = FindIn(left.second, {name});
    auto right_column = FindIn(right.second, {name});
    if (left_column == nullptr || right_column == nullptr) {
      return SqlError(sql_, reference.location,
                      "column \"" + name + "\" specified in USING is missing on one side");
    }
    ARROW_ASSIGN_OR_RAISE(auto equal,
                          Located(factory_.Operator("=", {factory_.Column(left_column->internal),
                                                          factory_.Column(right_column->internal)}),
                                  reference.location));
    conditions.push_back(equal);
  }
  for (auto column : right.second.columns) {
    if (std::find(reference.using_columns.begin(), reference.using_columns.end(), column.name) !=
        reference.using_columns.end()) {
      column.using_duplicate = true;
    }
    scope.columns.push_back(column);
  }
  if (reference.condition != nullptr) {
    ExpressionContext context{&scope, "JOIN ON"};
    ARROW_ASSIGN_OR_RAISE(auto condition, BindBoolean(*reference.condition, context));
    for (auto& term : SplitConjunction(condition.expression)) {
      TypedExpression typed{term, arrow::boolean(), nullptr};
      conditions.push_back(typed);
    }
  }
  arrow::acero::JoinType type = arrow::acero::JoinType::INNER;
  switch (reference.join_type) {
    case TableReference::JoinType::kLeft:
      type = arrow::acero::JoinType::LEFT_OUTER;
      break;
    case TableReference::JoinType::kRight:
      type = arrow::acero::JoinType::RIGHT_OUTER;
      break;
    case TableReference::JoinType::kFull:
      type = arrow::acero::JoinType::FULL_OUTER;
      break;
    case TableReference::JoinType::kInner:
    case TableReference::JoinType::kCross:
      break;
  }
  std::vector<TypedExpression> leftover;
  ARROW_ASSIGN_OR_RAISE(auto plan, MakeJoin(left.first, right.first, type, conditions, &leftover));
  if (!leftover.empty()) {
    std::vector<compute::Expression> terms;
    for (const auto& term : leftover) terms.push_back(term.expression);
    plan = MakeFilter(plan, JoinConjunction(terms));
  }
  return std::make_pair(plan, std::move(scope));
}

arrow::Result<std::pair<PlanPointer, Scope>> Binder::Implementation::BindFromItems(
    const SelectStatement& select, const Scope* outer) {
  if (select.from.empty()) {
    return SqlError(sql_, select.location, "EXISTS needs a subquery with FROM");
  }
  Scope scope;
  scope.outer = outer;
  PlanPointer plan;
  for (const auto& reference : select.from) {
    ARROW_ASSIGN_OR_RAISE(auto item, BindTableReference(*reference, outer));
    scope.columns.insert(scope.columns.end(), item.second.columns.begin(),
                         item.second.columns.end());
    if (plan == nullptr) {
      plan = item.first;
    } else {
      ARROW_ASSIGN_OR_RAISE(plan,
                            MakeJoin(plan, item.first, arrow::acero::JoinType::INNER, {}, nullptr));
    }
  }
  return std::make_pair(plan, std::move(scope));
}

arrow::Result<std::pair<PlanPointer, Scope>> Binder::Implementation::BindFromAndWhere(
    const SelectStatement& select, const Scope* outer) {
  std::vector<std::pair<PlanPointer, Scope>> items;
  for (const auto& reference : select.from) {
    ARROW_ASSIGN_OR_RAISE(auto item, BindTableReference(*reference, outer));
    items.push_back(std::move(item));
  }
  Scope scope;
  scope.outer = outer;
  for (auto& item : items) {
    scope.columns.insert(scope.columns.end(), item.second.columns.begin(),
                         item.second.columns.end());
  }
  std::vector<ExpressionPointer> terms;
  SplitAnd(select.where, &terms);
  std::vector<TypedExpression> conditions;
  std::vector<std::pair<ExpressionPointer, bool>> subqueries;
  for (const auto& term : terms) {
    const ParsedExpression* node = term.get();
    bool negated = false;
    if (node->kind == Kind::kOperator && node->name == "NOT" &&
        node->arguments[0]->kind == Kind::kSubquery) {
      node = node->arguments[0].get();
      negated = true;
    }
    if (node->kind == Kind::kSubquery &&
        node->subquery_kind != ParsedExpression::SubqueryKind::kScalar) {
      subqueries.push_back({negated ? term->arguments[0] : term, negated});
      continue;
    }
    ExpressionContext context{&scope, "WHERE"};
    ARROW_ASSIGN_OR_RAISE(auto condition, BindBoolean(*term, context));
    for (auto& part : SplitConjunction(condition.expression)) {
      conditions.push_back({part, arrow::boolean(), nullptr});
    }
  }
  PlanPointer plan;
  if (items.empty()) {
    plan = std::make_shared<LogicalOperator>();
    plan->kind = LogicalOperator::Kind::kSingleRow;
    plan->schema = arrow::schema({Declare(Fresh("one"), arrow::int32())});
  } else {
    plan = items[0].first;
    for (size_t index = 1; index < items.size(); ++index) {
      const PlanPointer& next = items[index].first;
      std::vector<TypedExpression> usable;
      std::vector<TypedExpression> rest;
      for (auto& condition : conditions) {
        bool fits = true;
        for (const auto& name : ReferencedColumns(condition.expression)) {
          if (plan->schema->GetFieldByName(name) == nullptr &&
              next->schema->GetFieldByName(name) == nullptr) {
            fits = false;
          }
        }
        (fits ? usable : rest).push_back(condition);
      }
      std::vector<TypedExpression> leftover;
      ARROW_ASSIGN_OR_RAISE(plan,
                            MakeJoin(plan, next, arrow::acero::JoinType::INNER, usable, &leftover));
      rest.insert(rest.end(), leftover.begin(), leftover.end());
      conditions = std::move(rest);
    }
  }
  if (!conditions.empty()) {
    std::vector<compute::Expression> expressions;
    for (const auto& condition : conditions) expressions.push_back(condition.expression);
    plan = MakeFilter(plan, JoinConjunction(expressions));
  }
  for (const auto& [node, negated] : subqueries) {
    ARROW_ASSIGN_OR_RAISE(plan, BindSubqueryCondition(plan, scope, *node, negated));
  }
  return std::make_pair(plan, std::move(scope));
}

}  // namespace nlk::sql
