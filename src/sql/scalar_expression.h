// One SQL value expression, bound outside a query: the text of a WHERE, a SET value, a MERGE
// condition, a CHECK constraint or a generated column's formula, typed over the columns a caller
// names. The result is an Arrow compute expression over the callers' own field names, ready to
// run on their batches (arrow::compute::ExecuteScalarExpression after Bind).
//
// Names are matched as in a query: unquoted names case-insensitively, "quoted" ones exactly, and
// a qualifier (t.col) picks among columns of the same name. Subqueries, aggregates and window
// functions are refused. Errors read "SQL error at position N: reason" with N counted in `text`.
//
// Thread-safe: every call binds independently.
#pragma once

#include <arrow/compute/expression.h>
#include <arrow/result.h>
#include <arrow/type.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nlk::sql {

struct ExpressionColumn {
  std::string qualifier;  // may be empty: reachable by its name alone
  std::string name;
  std::shared_ptr<arrow::DataType> type;
  // The field the expression reads for this column; `name` when empty.
  std::string field;
};

struct ScalarExpressionOptions {
  // now() and current_timestamp; the current time when absent.
  std::optional<int64_t> now_microseconds;
  // Cast the result to this type (an error when SQL has no such cast).
  std::shared_ptr<arrow::DataType> result_type;
  // The result must be a boolean (a predicate): anything else is an error.
  bool boolean = false;
};

struct ScalarExpression {
  arrow::compute::Expression expression;
  std::shared_ptr<arrow::DataType> type;
};

arrow::Result<ScalarExpression> BindScalarExpression(std::string_view text,
                                                     const std::vector<ExpressionColumn>& columns,
                                                     const ScalarExpressionOptions& options = {});

// The columns of `schema`, unqualified.
arrow::Result<ScalarExpression> BindScalarExpression(std::string_view text,
                                                     const arrow::Schema& schema,
                                                     const ScalarExpressionOptions& options = {});

}  // namespace nlk::sql
