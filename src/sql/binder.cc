#include "sql/binder.h"

#include <arrow/array/util.h>
#include <arrow/compute/api.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <unordered_map>
#include <utility>

#include "sql/expression_factory.h"
#include "sql/parser.h"
#include "sql/sql_error.h"
#include "sql/sql_functions.h"

namespace nlk::sql {

namespace compute = arrow::compute;
using Kind = ParsedExpression::Kind;

namespace {

struct ScopeColumn {
  std::string qualifier;
  std::string name;
  std::string internal;
  std::shared_ptr<arrow::DataType> type;
  // The right-hand copy of a USING column: reachable qualified only, skipped by *.
  bool using_duplicate = false;
};

struct Scope {
  std::vector<ScopeColumn> columns;
  const Scope* outer = nullptr;  // the enclosing query, for correlated EXISTS
};

struct AggregationState {
  const Scope* input = nullptr;
  bool grouped = false;
  std::vector<compute::Expression> group_expressions;  // over the input scope
  std::vector<std::string> group_columns;
  std::vector<compute::Expression> pre_expressions;  // the projection feeding the aggregate
  arrow::FieldVector pre_fields;
  std::vector<AggregateCall> calls;
  std::vector<compute::Expression> call_inputs;  // to reuse identical aggregates
  arrow::FieldVector output_fields;
};

struct WindowState {
  std::vector<compute::Expression> extra_expressions;
  arrow::FieldVector extra_fields;
  std::vector<WindowCall> calls;
};

struct ExpressionContext {
  const Scope* scope = nullptr;
  std::string clause;  // "WHERE", "GROUP BY", ... for "not allowed in" errors
  AggregationState* aggregation = nullptr;
  WindowState* windows = nullptr;
  bool* correlated = nullptr;  // set when an outer column is read; null: outer refs refused
};

const std::set<std::string> kAggregateFunctions = {"count",
                                                   "sum",
                                                   "avg",
                                                   "mean",
                                                   "min",
                                                   "max",
                                                   "stddev",
                                                   "stddev_samp",
                                                   "stddev_pop",
                                                   "variance",
                                                   "var_samp",
                                                   "var_pop",
                                                   "approximate_median",
                                                   "approx_median",
                                                   "median",
                                                   "approx_percentile_cont",
                                                   "percentile_cont",
                                                   "percentile_disc",
                                                   "bool_and",
                                                   "bool_or",
                                                   "every"};

const std::set<std::string> kWindowOnlyFunctions = {"row_number", "rank", "dense_rank", "lag",
                                                    "lead"};

bool IsAggregateCall(const ParsedExpression& node) {
  return node.kind == Kind::kFunction && !node.window && kAggregateFunctions.count(node.name) > 0;
}

// Whether `node` contains a call matching `predicate`, not looking into subqueries.
bool Contains(const ExpressionPointer& node,
              const std::function<bool(const ParsedExpression&)>& predicate) {
  if (node == nullptr) return false;
  if (predicate(*node)) return true;
  for (const auto& argument : node->arguments) {
    if (Contains(argument, predicate)) return true;
  }
  return Contains(node->filter, predicate);
}

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string Join(const std::vector<std::string>& names) {
  std::string joined;
  for (const auto& name : names) joined += (joined.empty() ? "" : ", ") + name;
  return joined;
}

std::string DefaultName(const ParsedExpression& node) {
  switch (node.kind) {
    case Kind::kColumn:
      return node.names.back();
    case Kind::kFunction:
      return node.name;
    case Kind::kCast:
      return DefaultName(*node.arguments[0]);
    case Kind::kSubquery:
      // PostgreSQL names a scalar subquery after its one column.
      if (node.subquery_kind == ParsedExpression::SubqueryKind::kScalar &&
          node.subquery->items.size() == 1) {
        const SelectItem& item = node.subquery->items[0];
        return item.alias.empty() ? DefaultName(*item.expression) : item.alias;
      }
      return node.subquery_kind == ParsedExpression::SubqueryKind::kExists ? "exists" : "?column?";
    default:
      return "?column?";
  }
}

// The first column of a name keeps it; a later one gets the first suffix _1, _2, ... that no
// column of the result has.
std::vector<std::string> UniqueNames(const std::vector<std::string>& names) {
  std::set<std::string> taken(names.begin(), names.end());
  std::set<std::string> used;
  std::vector<std::string> unique;
  for (const auto& name : names) {
    std::string chosen = name;
    for (int suffix = 1; used.count(chosen) > 0; ++suffix) {
      chosen = name + "_" + std::to_string(suffix);
      if (taken.count(chosen) > 0) chosen = name;
    }
    used.insert(chosen);
    unique.push_back(std::move(chosen));
  }
  return unique;
}

void SplitAnd(const ExpressionPointer& node, std::vector<ExpressionPointer>* terms) {
  if (node == nullptr) return;
  if (node->kind == Kind::kOperator && node->name == "AND") {
    for (const auto& argument : node->arguments) SplitAnd(argument, terms);
    return;
  }
  terms->push_back(node);
}

}  // namespace

class Binder::Implementation {
 public:
  Implementation(std::string_view sql, TableCatalog* catalog, int64_t now_microseconds,
                 SubqueryRunner run_subquery)
      : sql_(sql),
        catalog_(catalog),
        factory_(now_microseconds),
        run_subquery_(std::move(run_subquery)) {}

  arrow::Result<BoundQuery> BindQuery(const SelectStatement& select, const Scope* outer) {
    common_tables_.emplace_back();
    for (const auto& common : select.with) {
      if (common_tables_.back().count(common.name) > 0) {
        return SqlError(sql_, common.location,
                        "WITH query name \"" + common.name + "\" specified more than once");
      }
      common_tables_.back()[common.name] = &common;
    }
    auto result = select.set_operation == SelectStatement::SetOperation::kNone
                      ? BindSelect(select, outer)
                      : BindSetOperation(select);
    common_tables_.pop_back();
    return result;
  }

 private:
  std::string Fresh(const std::string& name) { return name + "#" + std::to_string(next_column_++); }

  arrow::Status Located(const arrow::Status& status, int location) {
    if (status.ok()) return status;
    std::string message = status.message();
    if (message.rfind("SQL error", 0) == 0) return status;
    return SqlError(sql_, location, message);
  }

  template <typename T>
  arrow::Result<T> Located(arrow::Result<T> result, int location) {
    if (result.ok()) return result;
    return Located(result.status(), location);
  }

  std::shared_ptr<arrow::Field> Declare(const std::string& internal,
                                        const std::shared_ptr<arrow::DataType>& type) {
    factory_.DeclareColumn(internal, type);
    return arrow::field(internal, type);
  }

  // ---------------------------------------------------------------- FROM

  arrow::Result<std::pair<PlanPointer, Scope>> BindTableReference(const TableReference& reference,
                                                                  const Scope* outer) {
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

  arrow::Result<std::pair<PlanPointer, Scope>> MakeScope(BoundQuery query,
                                                         const std::string& qualifier,
                                                         const std::vector<std::string>& aliases,
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

  arrow::Result<std::pair<PlanPointer, Scope>> BindTable(const TableReference& reference) {
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

  // A policy expression: one SQL value expression, without subqueries or aggregates.
  static arrow::Result<ExpressionPointer> ParsePolicyExpression(const std::string& text) {
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

  // The rows of `scan` a restricted caller reads: the row filter first, then the masks. `scope`
  // is updated to name the masked columns.
  arrow::Result<PlanPointer> Restrict(PlanPointer scan, Scope& scope,
                                      const TableRestriction& restriction) {
    PlanPointer plan = std::move(scan);
    if (!restriction.row_filter.empty()) {
      ARROW_ASSIGN_OR_RAISE(ExpressionPointer filter,
                            ParsePolicyExpression(restriction.row_filter));
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

  // Adds a column computing `value` to `plan` (passing all columns through) unless `value` is
  // already a column of it; returns the column's name.
  std::string EnsureColumn(PlanPointer* plan, const TypedExpression& value) {
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

  bool Within(const compute::Expression& expression, const arrow::Schema& schema) {
    for (const auto& name : ReferencedColumns(expression)) {
      if (schema.GetFieldByName(name) == nullptr) return false;
    }
    return true;
  }

  // Builds a hash join; equality terms of `conditions` between the two sides become keys, the
  // rest the residual filter (or, for inner joins, is returned in `leftover` to filter above).
  arrow::Result<PlanPointer> MakeJoin(PlanPointer left, PlanPointer right,
                                      arrow::acero::JoinType type,
                                      std::vector<TypedExpression> conditions,
                                      std::vector<TypedExpression>* leftover) {
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

  arrow::Result<std::pair<PlanPointer, Scope>> BindJoin(const TableReference& reference,
                                                        const Scope* outer) {
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
      ARROW_ASSIGN_OR_RAISE(
          auto equal, Located(factory_.Operator("=", {factory_.Column(left_column->internal),
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
    ARROW_ASSIGN_OR_RAISE(auto plan,
                          MakeJoin(left.first, right.first, type, conditions, &leftover));
    if (!leftover.empty()) {
      std::vector<compute::Expression> terms;
      for (const auto& term : leftover) terms.push_back(term.expression);
      plan = MakeFilter(plan, JoinConjunction(terms));
    }
    return std::make_pair(plan, std::move(scope));
  }

  // ---------------------------------------------------------------- names

  const ScopeColumn* FindIn(const Scope& scope, const std::vector<std::string>& names,
                            bool* ambiguous = nullptr) {
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

  arrow::Result<TypedExpression> ResolveColumn(const ParsedExpression& node,
                                               const ExpressionContext& context) {
    if (auto star = star_columns_.find(&node); star != star_columns_.end()) {
      return factory_.Column(star->second.second);
    }
    std::string written = Join(node.names);
    std::replace(written.begin(), written.end(), ',', '.');
    written.erase(std::remove(written.begin(), written.end(), ' '), written.end());
    if (node.names.size() > 2) {
      return SqlError(sql_, node.location,
                      "column reference \"" + written + "\" has too many parts");
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

  // ---------------------------------------------------------------- expressions

  arrow::Result<TypedExpression> BindBoolean(const ParsedExpression& node,
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

  arrow::Result<TypedExpression> Constant(const ParsedExpression& node) {
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

  arrow::Result<std::vector<TypedExpression>> BindArguments(
      const std::vector<ExpressionPointer>& nodes, ExpressionContext& context) {
    std::vector<TypedExpression> values;
    for (const auto& node : nodes) {
      ARROW_ASSIGN_OR_RAISE(auto value, BindExpression(*node, context));
      values.push_back(std::move(value));
    }
    return values;
  }

  arrow::Result<TypedExpression> BindExpression(const ParsedExpression& node,
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

  arrow::Result<TypedExpression> BindCast(const ParsedExpression& node,
                                          ExpressionContext& context) {
    const ParsedExpression& argument = *node.arguments[0];
    if (node.type_name == "interval") {
      if (argument.kind != Kind::kConstant ||
          argument.constant_kind != ParsedExpression::ConstantKind::kString) {
        return SqlError(sql_, node.location, "only interval constants ('1 hour') are supported");
      }
      ARROW_ASSIGN_OR_RAISE(
          int64_t micros, Located(ExpressionFactory::ParseInterval(argument.text), node.location));
      return factory_.Literal(
          std::make_shared<arrow::DurationScalar>(micros, arrow::TimeUnit::MICRO));
    }
    ARROW_ASSIGN_OR_RAISE(auto type,
                          Located(ExpressionFactory::TypeFromName(node.type_name), node.location));
    ARROW_ASSIGN_OR_RAISE(auto value, BindExpression(argument, context));
    return Located(factory_.Cast(std::move(value), type), node.location);
  }

  arrow::Result<TypedExpression> BindCase(const ParsedExpression& node,
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

  // a OR b OR c ... (AND alike) as one list of terms however the parser nested them, each term
  // bound once; in an OR, equality tests of one expression against constants become one IN.
  arrow::Result<TypedExpression> BindConnective(const ParsedExpression& node,
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

  // OR terms `x = c1`, `x = c2`, ... (x the same expression, c constants of x's type) as one
  // `x IN (c1, c2, ...)` in the place of the first; the others are kept in order.
  arrow::Result<std::vector<TypedExpression>> EqualitiesAsIn(std::vector<TypedExpression> terms) {
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

  arrow::Result<TypedExpression> BindOperator(const ParsedExpression& node,
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
      ARROW_ASSIGN_OR_RAISE(
          auto low, Located(factory_.Operator(">=", {values[0], values[1]}), node.location));
      ARROW_ASSIGN_OR_RAISE(
          auto high, Located(factory_.Operator("<=", {values[0], values[2]}), node.location));
      ARROW_ASSIGN_OR_RAISE(auto both,
                            Located(factory_.Operator("AND", {low, high}), node.location));
      if (name == "NOT BETWEEN") return Located(factory_.Operator("NOT", {both}), node.location);
      return both;
    }
    ARROW_ASSIGN_OR_RAISE(auto values, BindArguments(node.arguments, context));
    return Located(factory_.Operator(name, std::move(values)), node.location);
  }

  arrow::Result<TypedExpression> BindFunction(const ParsedExpression& node,
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

  // The output type of aggregate `function`, by running it over no rows.
  arrow::Result<std::shared_ptr<arrow::DataType>> AggregateType(
      const std::string& function, const std::shared_ptr<arrow::DataType>& input,
      const compute::FunctionOptions* options, bool grouped) {
    if (function == "count_all") return arrow::int64();
    if (function == "tdigest" && grouped) return arrow::fixed_size_list(arrow::float64(), 1);
    ARROW_ASSIGN_OR_RAISE(auto empty, arrow::MakeEmptyArray(input));
    auto result = compute::CallFunction(function, {empty}, options);
    if (!result.ok()) {
      return arrow::Status::TypeError("aggregate ", function, " does not accept ",
                                      input->ToString());
    }
    return result->type();
  }

  arrow::Result<TypedExpression> BindAggregate(const ParsedExpression& node,
                                               ExpressionContext& context) {
    AggregationState* aggregation = context.aggregation;
    if (aggregation == nullptr) {
      return SqlError(sql_, node.location,
                      "aggregate functions are not allowed in " + context.clause);
    }
    ExpressionContext argument_context{aggregation->input, "aggregate function arguments"};
    std::string function;
    std::shared_ptr<compute::FunctionOptions> options;
    auto skip_nulls = std::make_shared<compute::ScalarAggregateOptions>(true, 1);
    const std::string& name = node.name;
    std::vector<ExpressionPointer> argument_nodes = node.arguments;
    double quantile = 0.5;
    if (name == "percentile_cont" || name == "percentile_disc") {
      if (node.within_group.size() != 1 || argument_nodes.size() != 1) {
        return SqlError(sql_, node.location,
                        name + " needs one fraction and WITHIN GROUP (ORDER BY value)");
      }
      ARROW_ASSIGN_OR_RAISE(auto fraction, BindExpression(*argument_nodes[0], argument_context));
      ARROW_ASSIGN_OR_RAISE(fraction,
                            Located(factory_.Cast(fraction, arrow::float64()), node.location));
      if (!fraction.constant)
        return SqlError(sql_, node.location, "the fraction must be a constant");
      quantile = static_cast<const arrow::DoubleScalar&>(*fraction.constant).value;
      argument_nodes = {node.within_group[0].expression};
    } else if (!node.within_group.empty()) {
      return SqlError(sql_, node.location, "WITHIN GROUP is not supported for " + name);
    }
    if (name == "approx_percentile_cont") {
      if (argument_nodes.size() != 2) {
        return SqlError(sql_, node.location, "approx_percentile_cont(value, fraction)");
      }
      ARROW_ASSIGN_OR_RAISE(auto fraction, BindExpression(*argument_nodes[1], argument_context));
      ARROW_ASSIGN_OR_RAISE(fraction,
                            Located(factory_.Cast(fraction, arrow::float64()), node.location));
      if (!fraction.constant)
        return SqlError(sql_, node.location, "the fraction must be a constant");
      quantile = static_cast<const arrow::DoubleScalar&>(*fraction.constant).value;
      argument_nodes.resize(1);
    }
    if (node.star_argument) {
      if (name != "count") return SqlError(sql_, node.location, name + "(*) is not allowed");
      function = "count_all";
    } else if (argument_nodes.size() != 1) {
      return SqlError(sql_, node.location, name + "() takes exactly one argument");
    }
    if (node.distinct && name != "count") {
      return SqlError(sql_, node.location, "DISTINCT is only supported in count(DISTINCT ...)");
    }
    if (function.empty()) {
      if (name == "count") {
        function = node.distinct ? "count_distinct" : "count";
        options = std::make_shared<compute::CountOptions>(compute::CountOptions::ONLY_VALID);
      } else if (name == "sum" || name == "min" || name == "max") {
        function = name;
        options = skip_nulls;
      } else if (name == "avg" || name == "mean") {
        function = "mean";
        options = skip_nulls;
      } else if (name == "stddev" || name == "stddev_samp" || name == "stddev_pop" ||
                 name == "variance" || name == "var_samp" || name == "var_pop") {
        function = name.rfind("stddev", 0) == 0 ? "stddev" : "variance";
        int ddof = name.find("pop") != std::string::npos ? 0 : 1;
        options = std::make_shared<compute::VarianceOptions>(ddof, true, 1);
      } else if (name == "approximate_median" || name == "approx_median" || name == "median") {
        function = "approximate_median";
        options = skip_nulls;
      } else if (name == "approx_percentile_cont" || name == "percentile_cont" ||
                 name == "percentile_disc") {
        function = "tdigest";
        options = std::make_shared<compute::TDigestOptions>(quantile);
      } else if (name == "bool_and" || name == "every") {
        function = "all";
        options = skip_nulls;
      } else {
        function = "any";
        options = skip_nulls;
      }
    }
    TypedExpression input;
    bool has_input = function != "count_all";
    if (has_input) {
      ARROW_ASSIGN_OR_RAISE(input, BindExpression(*argument_nodes[0], argument_context));
      if (input.type->id() == arrow::Type::NA) {
        ARROW_ASSIGN_OR_RAISE(input, factory_.Cast(input, arrow::int64()));
      }
      // Arrow's sum wraps around past the int64 range; ours fails there, as PostgreSQL's
      // integer arithmetic does.
      if (function == "sum" && arrow::is_signed_integer(input.type->id())) function = kCheckedSum;
    }
    if (node.filter != nullptr) {
      ExpressionContext filter_context{aggregation->input, "FILTER"};
      ARROW_ASSIGN_OR_RAISE(auto condition, BindBoolean(*node.filter, filter_context));
      if (!has_input) {
        // count(*) FILTER (WHERE c) counts the rows where c holds.
        function = "count";
        options = std::make_shared<compute::CountOptions>(compute::CountOptions::ONLY_VALID);
        input = factory_.Literal(arrow::MakeScalar(int64_t{1}));
        has_input = true;
      }
      ARROW_ASSIGN_OR_RAISE(
          auto definite,
          factory_.Function("coalesce", {condition, factory_.Literal(arrow::MakeScalar(false))}));
      TypedExpression filtered{
          compute::call("if_else", {definite.expression, input.expression,
                                    compute::literal(arrow::MakeNullScalar(input.type))}),
          input.type, nullptr};
      input = filtered;
    }
    compute::Expression identity = has_input ? input.expression : compute::literal(true);
    for (size_t index = 0; index < aggregation->calls.size(); ++index) {
      const AggregateCall& call = aggregation->calls[index];
      bool same_options =
          (call.options == nullptr && options == nullptr) ||
          (call.options != nullptr && options != nullptr && call.options->Equals(*options));
      if (call.function == function && same_options &&
          aggregation->call_inputs[index].Equals(identity)) {
        return AggregateResult(aggregation, call);
      }
    }
    AggregateCall call;
    call.function = function;
    call.options = options;
    call.output = Fresh(name);
    std::shared_ptr<arrow::DataType> input_type = has_input ? input.type : arrow::int64();
    if (has_input) {
      call.input = Fresh(name + "_input");
      aggregation->pre_expressions.push_back(input.expression);
      aggregation->pre_fields.push_back(Declare(call.input, input.type));
    }
    ARROW_ASSIGN_OR_RAISE(
        auto output_type,
        Located(AggregateType(function, input_type, options.get(), aggregation->grouped),
                node.location));
    aggregation->output_fields.push_back(Declare(call.output, output_type));
    aggregation->calls.push_back(call);
    aggregation->call_inputs.push_back(identity);
    return AggregateResult(aggregation, call);
  }

  arrow::Result<TypedExpression> AggregateResult(AggregationState* aggregation,
                                                 const AggregateCall& call) {
    TypedExpression column = factory_.Column(call.output);
    if (call.function == "tdigest" && aggregation->grouped) {
      // The grouped t-digest yields a one-element list per group.
      return TypedExpression{
          compute::call("list_element", {column.expression, compute::literal(int32_t{0})}),
          arrow::float64(), nullptr};
    }
    return column;
  }

  // A window input column for `value`: an existing column, or one computed before the window.
  std::string WindowInput(WindowState* windows, const TypedExpression& value) {
    if (const auto* reference = value.expression.field_ref()) {
      if (reference->name() != nullptr) return *reference->name();
    }
    for (size_t index = 0; index < windows->extra_expressions.size(); ++index) {
      if (windows->extra_expressions[index].Equals(value.expression)) {
        return windows->extra_fields[index]->name();
      }
    }
    std::string name = Fresh("window_input");
    windows->extra_expressions.push_back(value.expression);
    windows->extra_fields.push_back(Declare(name, value.type));
    return name;
  }

  arrow::Result<TypedExpression> BindWindowFunction(const ParsedExpression& node,
                                                    ExpressionContext& context) {
    if (context.windows == nullptr) {
      return SqlError(sql_, node.location, "window functions are not allowed in " + context.clause);
    }
    WindowState* windows = context.windows;
    ExpressionContext inner = context;
    inner.windows = nullptr;
    static const std::map<std::string, WindowFunction> kFunctions = {
        {"row_number", WindowFunction::kRowNumber},
        {"rank", WindowFunction::kRank},
        {"dense_rank", WindowFunction::kDenseRank},
        {"lag", WindowFunction::kLag},
        {"lead", WindowFunction::kLead},
        {"sum", WindowFunction::kSum},
        {"avg", WindowFunction::kAverage},
        {"mean", WindowFunction::kAverage},
        {"count", WindowFunction::kCount},
        {"min", WindowFunction::kMinimum},
        {"max", WindowFunction::kMaximum}};
    auto found = kFunctions.find(node.name);
    if (found == kFunctions.end()) {
      return SqlError(sql_, node.location, node.name + "() is not supported as a window function");
    }
    if (node.distinct || node.filter != nullptr) {
      return SqlError(sql_, node.location, "DISTINCT and FILTER are not supported in windows");
    }
    WindowCall call;
    call.function = found->second;
    const WindowSpecification& window = *node.window;
    std::shared_ptr<arrow::DataType> input_type;
    bool takes_value = call.function != WindowFunction::kRowNumber &&
                       call.function != WindowFunction::kRank &&
                       call.function != WindowFunction::kDenseRank && !node.star_argument;
    if (takes_value) {
      if (node.arguments.empty())
        return SqlError(sql_, node.location, node.name + "() needs an argument");
      ARROW_ASSIGN_OR_RAISE(auto value, BindExpression(*node.arguments[0], inner));
      input_type = value.type;
      call.input = WindowInput(windows, value);
    }
    if (call.function == WindowFunction::kLag || call.function == WindowFunction::kLead) {
      if (node.arguments.size() >= 2) {
        ARROW_ASSIGN_OR_RAISE(auto offset, BindExpression(*node.arguments[1], inner));
        if (!offset.constant || !arrow::is_integer(offset.type->id())) {
          return SqlError(sql_, node.arguments[1]->location,
                          "the offset must be an integer constant");
        }
        ARROW_ASSIGN_OR_RAISE(
            offset, Located(factory_.Cast(offset, arrow::int64()), node.arguments[1]->location));
        call.offset = static_cast<const arrow::Int64Scalar&>(*offset.constant).value;
      }
      if (node.arguments.size() >= 3) {
        ARROW_ASSIGN_OR_RAISE(auto fallback, BindExpression(*node.arguments[2], inner));
        ARROW_ASSIGN_OR_RAISE(
            fallback, Located(factory_.Cast(fallback, input_type), node.arguments[2]->location));
        call.default_value_column = WindowInput(windows, fallback);
      }
    }
    for (const auto& partition : window.partition_by) {
      ARROW_ASSIGN_OR_RAISE(auto value, BindExpression(*partition, inner));
      call.partition_by.push_back(WindowInput(windows, value));
    }
    for (const auto& order : window.order_by) {
      ARROW_ASSIGN_OR_RAISE(auto value, BindExpression(*order.expression, inner));
      call.order_by.push_back({WindowInput(windows, value), order.ascending,
                               order.nulls_first.value_or(!order.ascending)});
    }
    if (window.has_frame) {
      auto offset = [](const FrameBound& bound) -> std::optional<int64_t> {
        switch (bound.kind) {
          case FrameBound::Kind::kUnboundedPreceding:
          case FrameBound::Kind::kUnboundedFollowing:
            return std::nullopt;
          case FrameBound::Kind::kPreceding:
            return -bound.offset;
          case FrameBound::Kind::kFollowing:
            return bound.offset;
          case FrameBound::Kind::kCurrentRow:
            return 0;
        }
        return 0;
      };
      call.frame.start = offset(window.start);
      call.frame.end = offset(window.end);
      call.frame.include_peers = !window.rows_frame && !call.order_by.empty();
    } else if (call.order_by.empty()) {
      call.frame.start = std::nullopt;
      call.frame.end = std::nullopt;
    } else {
      call.frame.include_peers = true;
    }
    switch (call.function) {
      case WindowFunction::kRowNumber:
      case WindowFunction::kRank:
      case WindowFunction::kDenseRank:
      case WindowFunction::kCount:
        call.output_type = arrow::int64();
        break;
      case WindowFunction::kAverage:
        call.output_type = arrow::float64();
        break;
      case WindowFunction::kSum:
        call.output_type = arrow::is_integer(input_type->id()) ? arrow::int64() : arrow::float64();
        if (!arrow::is_integer(input_type->id()) && !arrow::is_floating(input_type->id())) {
          return SqlError(sql_, node.location, "sum() over a window needs a number");
        }
        break;
      case WindowFunction::kLag:
      case WindowFunction::kLead:
      case WindowFunction::kMinimum:
      case WindowFunction::kMaximum:
        call.output_type = input_type;
        break;
    }
    call.output = Fresh(node.name);
    Declare(call.output, call.output_type);
    windows->calls.push_back(call);
    return factory_.Column(call.output);
  }

  // ---------------------------------------------------------------- SELECT

  arrow::Result<int64_t> BindCount(const ExpressionPointer& node, const char* clause,
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

  // ORDER BY, LIMIT and OFFSET over a bound query whose output may carry hidden sort columns
  // beyond `visible` (they are dropped at the end).
  arrow::Result<BoundQuery> FinishQuery(const SelectStatement& select, BoundQuery query,
                                        std::vector<SortKey> sort_keys, size_t visible) {
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

  arrow::Result<PlanPointer> MakeDistinct(PlanPointer plan) {
    auto distinct = std::make_shared<LogicalOperator>();
    distinct->kind = LogicalOperator::Kind::kAggregate;
    distinct->schema = plan->schema;
    for (const auto& field : plan->schema->fields()) distinct->keys.push_back(field->name());
    distinct->children = {plan};
    return distinct;
  }

  arrow::Result<BoundQuery> BindSetOperation(const SelectStatement& select) {
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
      sort_keys.push_back({fields[position]->name(), order.ascending,
                           order.nulls_first.value_or(!order.ascending)});
    }
    return FinishQuery(select, std::move(query), std::move(sort_keys), left.names.size());
  }

  // Runs an uncorrelated subquery now (it has no outer columns, so its value is one for the
  // whole query).
  arrow::Result<std::shared_ptr<arrow::Table>> RunSubquery(const PlanPointer& plan, int location) {
    if (!run_subquery_) {
      return SqlError(sql_, location, "subqueries used as values are not supported here");
    }
    return Located(run_subquery_(plan), location);
  }

  // (SELECT one value ...) as an expression: its value, or NULL when it returns no row.
  arrow::Result<TypedExpression> BindScalarSubquery(const ParsedExpression& node) {
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

  // Rows and non-null values of a one-column subquery, for NOT IN's three-valued logic.
  arrow::Result<std::pair<int64_t, int64_t>> CountValues(const SelectStatement& select,
                                                         int location) {
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

  // WHERE conditions that are subqueries become semi/anti joins.
  arrow::Result<PlanPointer> BindSubqueryCondition(PlanPointer plan, const Scope& scope,
                                                   const ParsedExpression& node, bool negated) {
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

  // The FROM items of an EXISTS subquery, cross joined (its WHERE supplies the conditions).
  arrow::Result<std::pair<PlanPointer, Scope>> BindFromItems(const SelectStatement& select,
                                                             const Scope* outer) {
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
        ARROW_ASSIGN_OR_RAISE(
            plan, MakeJoin(plan, item.first, arrow::acero::JoinType::INNER, {}, nullptr));
      }
    }
    return std::make_pair(plan, std::move(scope));
  }

  // FROM items joined (comma joins use the equalities of WHERE as keys) and WHERE applied.
  arrow::Result<std::pair<PlanPointer, Scope>> BindFromAndWhere(const SelectStatement& select,
                                                                const Scope* outer) {
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
        ARROW_ASSIGN_OR_RAISE(
            plan, MakeJoin(plan, next, arrow::acero::JoinType::INNER, usable, &leftover));
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

  arrow::Result<BoundQuery> BindSelect(const SelectStatement& select, const Scope* outer) {
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

  std::string_view sql_;
  TableCatalog* catalog_;
  ExpressionFactory factory_;
  SubqueryRunner run_subquery_;
  int64_t next_column_ = 0;
  std::vector<std::map<std::string, const CommonTableExpression*>> common_tables_;
  // The column references * expanded to, with the column each stands for (the node is held so
  // its address is not reused).
  std::map<const ParsedExpression*, std::pair<ExpressionPointer, std::string>> star_columns_;
};

Binder::Binder(std::string_view sql, TableCatalog* catalog, int64_t now_microseconds,
               SubqueryRunner run_subquery)
    : implementation_(std::make_unique<Implementation>(sql, catalog, now_microseconds,
                                                       std::move(run_subquery))) {}

Binder::~Binder() = default;

arrow::Result<BoundQuery> Binder::Bind(const SelectStatement& select) {
  ARROW_ASSIGN_OR_RAISE(BoundQuery query, implementation_->BindQuery(select, nullptr));
  query.names = UniqueNames(query.names);
  return query;
}

}  // namespace nlk::sql
