// Private to the binder (binder.h): the state of one binding, Binder::Implementation, and the
// scopes and helpers its parts share. Its methods live in the binder*.cc files by the part of a
// query they bind:
//   binder.cc                 the entry point (Binder) and WITH
//   binder_from.cc            FROM: tables, subqueries in FROM, joins, WHERE over the FROM items
//   binder_restriction.cc     an access policy's row filter and masks on a table
//   binder_expressions.cc     column names and value expressions (operators, functions, CASE)
//   binder_aggregates.cc      aggregate and window function calls
//   binder_subqueries.cc      scalar, IN and EXISTS subqueries
//   binder_set_operations.cc  UNION, INTERSECT, EXCEPT and DISTINCT
//   binder_select.cc          one SELECT: its items, GROUP BY, HAVING, ORDER BY and LIMIT
//   binder_scalar.cc          one value expression outside a query (scalar_expression.h)
#pragma once

#include <arrow/array/util.h>
#include <arrow/compute/api.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sql/binder.h"
#include "sql/expression_factory.h"
#include "sql/parser.h"
#include "sql/sql_error.h"
#include "sql/sql_functions.h"

namespace nlk::sql {

namespace compute = arrow::compute;
using Kind = ParsedExpression::Kind;

namespace binder_detail {

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

inline const std::set<std::string> kAggregateFunctions = {"count",
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

inline const std::set<std::string> kWindowOnlyFunctions = {"row_number", "rank", "dense_rank",
                                                           "lag", "lead"};

inline bool IsAggregateCall(const ParsedExpression& node) {
  return node.kind == Kind::kFunction && !node.window && kAggregateFunctions.count(node.name) > 0;
}

// Whether `node` contains a call matching `predicate`, not looking into subqueries.
inline bool Contains(const ExpressionPointer& node,
                     const std::function<bool(const ParsedExpression&)>& predicate) {
  if (node == nullptr) return false;
  if (predicate(*node)) return true;
  for (const auto& argument : node->arguments) {
    if (Contains(argument, predicate)) return true;
  }
  return Contains(node->filter, predicate);
}

inline std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

inline std::string Join(const std::vector<std::string>& names) {
  std::string joined;
  for (const auto& name : names) joined += (joined.empty() ? "" : ", ") + name;
  return joined;
}

inline std::string DefaultName(const ParsedExpression& node) {
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
inline std::vector<std::string> UniqueNames(const std::vector<std::string>& names) {
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

inline void SplitAnd(const ExpressionPointer& node, std::vector<ExpressionPointer>* terms) {
  if (node == nullptr) return;
  if (node->kind == Kind::kOperator && node->name == "AND") {
    for (const auto& argument : node->arguments) SplitAnd(argument, terms);
    return;
  }
  terms->push_back(node);
}

}  // namespace binder_detail

using namespace binder_detail;  // NOLINT: a private header of the binder's own files

class Binder::Implementation {
 public:
  Implementation(std::string_view sql, TableCatalog* catalog, int64_t now_microseconds,
                 SubqueryRunner run_subquery)
      : sql_(sql),
        catalog_(catalog),
        factory_(now_microseconds),
        run_subquery_(std::move(run_subquery)) {}

  arrow::Result<BoundQuery> BindQuery(const SelectStatement& select, const Scope* outer);

  // One value expression over `columns` (binder_scalar.cc).
  arrow::Result<ScalarExpression> BindScalar(const ParsedExpression& node,
                                             const std::vector<ExpressionColumn>& columns,
                                             const ScalarExpressionOptions& options);

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
                                                                  const Scope* outer);

  arrow::Result<std::pair<PlanPointer, Scope>> MakeScope(BoundQuery query,
                                                         const std::string& qualifier,
                                                         const std::vector<std::string>& aliases,
                                                         int location);

  arrow::Result<std::pair<PlanPointer, Scope>> BindTable(const TableReference& reference);

  // A policy expression: one SQL value expression, without subqueries or aggregates.
  static arrow::Result<ExpressionPointer> ParsePolicyExpression(const std::string& text);

  // The rows of `scan` a restricted caller reads: the row filter first, then the masks. `scope`
  // is updated to name the masked columns.
  arrow::Result<PlanPointer> Restrict(PlanPointer scan, Scope& scope,
                                      const TableRestriction& restriction);

  // Adds a column computing `value` to `plan` (passing all columns through) unless `value` is
  // already a column of it; returns the column's name.
  std::string EnsureColumn(PlanPointer* plan, const TypedExpression& value);

  bool Within(const compute::Expression& expression, const arrow::Schema& schema);

  // Builds a hash join; equality terms of `conditions` between the two sides become keys, the
  // rest the residual filter (or, for inner joins, is returned in `leftover` to filter above).
  arrow::Result<PlanPointer> MakeJoin(PlanPointer left, PlanPointer right,
                                      arrow::acero::JoinType type,
                                      std::vector<TypedExpression> conditions,
                                      std::vector<TypedExpression>* leftover);

  arrow::Result<std::pair<PlanPointer, Scope>> BindJoin(const TableReference& reference,
                                                        const Scope* outer);

  // ---------------------------------------------------------------- names

  const ScopeColumn* FindIn(const Scope& scope, const std::vector<std::string>& names,
                            bool* ambiguous = nullptr);

  arrow::Result<TypedExpression> ResolveColumn(const ParsedExpression& node,
                                               const ExpressionContext& context);

  // ---------------------------------------------------------------- expressions

  arrow::Result<TypedExpression> BindBoolean(const ParsedExpression& node,
                                             ExpressionContext& context);

  arrow::Result<TypedExpression> Constant(const ParsedExpression& node);

  arrow::Result<std::vector<TypedExpression>> BindArguments(
      const std::vector<ExpressionPointer>& nodes, ExpressionContext& context);

  arrow::Result<TypedExpression> BindExpression(const ParsedExpression& node,
                                                ExpressionContext& context);

  arrow::Result<TypedExpression> BindCast(const ParsedExpression& node, ExpressionContext& context);

  arrow::Result<TypedExpression> BindCase(const ParsedExpression& node, ExpressionContext& context);

  // a OR b OR c ... (AND alike) as one list of terms however the parser nested them, each term
  // bound once; in an OR, equality tests of one expression against constants become one IN.
  arrow::Result<TypedExpression> BindConnective(const ParsedExpression& node,
                                                ExpressionContext& context);

  // OR terms `x = c1`, `x = c2`, ... (x the same expression, c constants of x's type) as one
  // `x IN (c1, c2, ...)` in the place of the first; the others are kept in order.
  arrow::Result<std::vector<TypedExpression>> EqualitiesAsIn(std::vector<TypedExpression> terms);

  arrow::Result<TypedExpression> BindOperator(const ParsedExpression& node,
                                              ExpressionContext& context);

  arrow::Result<TypedExpression> BindFunction(const ParsedExpression& node,
                                              ExpressionContext& context);

  // The output type of aggregate `function`, by running it over no rows.
  arrow::Result<std::shared_ptr<arrow::DataType>> AggregateType(
      const std::string& function, const std::shared_ptr<arrow::DataType>& input,
      const compute::FunctionOptions* options, bool grouped);

  arrow::Result<TypedExpression> BindAggregate(const ParsedExpression& node,
                                               ExpressionContext& context);

  arrow::Result<TypedExpression> AggregateResult(AggregationState* aggregation,
                                                 const AggregateCall& call);

  // A window input column for `value`: an existing column, or one computed before the window.
  std::string WindowInput(WindowState* windows, const TypedExpression& value);

  arrow::Result<TypedExpression> BindWindowFunction(const ParsedExpression& node,
                                                    ExpressionContext& context);

  // ---------------------------------------------------------------- SELECT

  arrow::Result<int64_t> BindCount(const ExpressionPointer& node, const char* clause,
                                   std::optional<int64_t> if_null);

  // ORDER BY, LIMIT and OFFSET over a bound query whose output may carry hidden sort columns
  // beyond `visible` (they are dropped at the end).
  arrow::Result<BoundQuery> FinishQuery(const SelectStatement& select, BoundQuery query,
                                        std::vector<SortKey> sort_keys, size_t visible);

  arrow::Result<PlanPointer> MakeDistinct(PlanPointer plan);

  arrow::Result<BoundQuery> BindSetOperation(const SelectStatement& select);

  // Runs an uncorrelated subquery now (it has no outer columns, so its value is one for the
  // whole query).
  arrow::Result<std::shared_ptr<arrow::Table>> RunSubquery(const PlanPointer& plan, int location);

  // (SELECT one value ...) as an expression: its value, or NULL when it returns no row.
  arrow::Result<TypedExpression> BindScalarSubquery(const ParsedExpression& node);

  // Rows and non-null values of a one-column subquery, for NOT IN's three-valued logic.
  arrow::Result<std::pair<int64_t, int64_t>> CountValues(const SelectStatement& select,
                                                         int location);

  // WHERE conditions that are subqueries become semi/anti joins.
  arrow::Result<PlanPointer> BindSubqueryCondition(PlanPointer plan, const Scope& scope,
                                                   const ParsedExpression& node, bool negated);

  // The FROM items of an EXISTS subquery, cross joined (its WHERE supplies the conditions).
  arrow::Result<std::pair<PlanPointer, Scope>> BindFromItems(const SelectStatement& select,
                                                             const Scope* outer);

  // FROM items joined (comma joins use the equalities of WHERE as keys) and WHERE applied.
  arrow::Result<std::pair<PlanPointer, Scope>> BindFromAndWhere(const SelectStatement& select,
                                                                const Scope* outer);

  arrow::Result<BoundQuery> BindSelect(const SelectStatement& select, const Scope* outer);

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

}  // namespace nlk::sql
