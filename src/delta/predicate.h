// A small predicate language for `--filter` and `--where` on the command line, e.g.
//   device_id = 'device-001' AND timestamp >= '2026-01-01 00:00:10' AND channel IN (1, 2)
// Supported: = != <> < <= > >=, AND, OR, NOT, parentheses, IS [NOT] NULL, [NOT] IN (...),
// BETWEEN x AND y. Literals are strings in single quotes ('' escapes a quote), numbers,
// TRUE/FALSE and NULL; a literal compared with a column takes the column's type, so dates and
// timestamps are written as strings. Column names may be "double quoted".
#pragma once

#include <arrow/compute/expression.h>
#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <memory>
#include <string_view>

namespace nlk::delta {

// Parses `text` and binds it against `schema`. Errors give the position and the reason, and
// name unknown columns together with the columns that exist.
arrow::Result<arrow::compute::Expression> ParsePredicate(std::string_view text,
                                                         const arrow::Schema& schema);

// Parses a value for `UPDATE ... SET column = <value>`: the operands above (columns and
// literals) combined with + - * / (overflow and division by zero are errors) and parentheses.
// A literal standing alone is converted to `type` (the assigned column's), so dates and
// timestamps are written as strings as in predicates.
arrow::Result<arrow::compute::Expression> ParseValueExpression(
    std::string_view text, const arrow::Schema& schema,
    const std::shared_ptr<arrow::DataType>& type);

}  // namespace nlk::delta
