// Binder: syntax tree -> logical plan. Resolves table names through the TableCatalog and
// column names through scopes (FROM items, subqueries, CTEs), types every expression, splits
// aggregation and window functions into their own operators, and turns IN/EXISTS subqueries
// into semi/anti joins. User errors read "SQL error at position N: reason"; unknown tables are
// a KeyError (so a server can answer 404), everything else Invalid.
//
// Not thread-safe; one Binder per query.
#pragma once

#include <arrow/result.h>
#include <arrow/table.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sql/ast.h"
#include "sql/logical_plan.h"
#include "sql/scalar_expression.h"
#include "sql/table_catalog.h"

namespace nlk::sql {

struct BoundQuery {
  PlanPointer plan;
  // The output column names, one per field of plan->schema (whose names are internal). Bind
  // makes them unique: the first column of a name keeps it, later ones get the first suffix
  // _1, _2, ... that no other column of the result has (count, count_1).
  std::vector<std::string> names;
};

// Runs an uncorrelated subquery's plan to completion while binding (scalar subqueries become
// constants, so they prune scans like any literal; NOT IN learns whether its list holds NULL).
using SubqueryRunner =
    std::function<arrow::Result<std::shared_ptr<arrow::Table>>(const PlanPointer& plan)>;

class Binder {
 public:
  // `sql` is the query text (for error positions); `now_microseconds` the query's now().
  // Without a `run_subquery`, scalar subqueries are refused.
  Binder(std::string_view sql, TableCatalog* catalog, int64_t now_microseconds,
         SubqueryRunner run_subquery = nullptr);
  ~Binder();

  arrow::Result<BoundQuery> Bind(const SelectStatement& select);

  // One value expression over `columns`, outside any query (see scalar_expression.h).
  arrow::Result<ScalarExpression> BindScalar(const ParsedExpression& node,
                                             const std::vector<ExpressionColumn>& columns,
                                             const ScalarExpressionOptions& options);

 private:
  class Implementation;
  std::unique_ptr<Implementation> implementation_;
};

}  // namespace nlk::sql
