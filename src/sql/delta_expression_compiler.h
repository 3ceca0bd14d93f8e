// The SQL engine as the Delta writer's expression compiler (delta/log/expression_compiler.h):
// CHECK constraints, invariants and generated columns' formulas are bound with
// BindScalarExpression, exactly as the same text would be in a SELECT.
//
// The texts are Spark SQL as delta-spark stores them, so `back-quoted` identifiers are read as
// "quoted" ones; everything else is this engine's SQL (docs/sql.md).
//
// Thread-safe.
#pragma once

#include <arrow/compute/expression.h>
#include <arrow/result.h>
#include <arrow/type.h>

#include <string>
#include <string_view>

#include "delta/log/expression_compiler.h"

namespace nlk::sql {

arrow::Result<arrow::compute::Expression> CompileDeltaExpression(
    std::string_view text, const arrow::Schema& schema,
    const delta::ExpressionCompileOptions& options);

// Registers CompileDeltaExpression for the whole process; programs that write tables call it
// once at start-up.
void RegisterDeltaExpressionCompiler();

// `text` with each `back-quoted` identifier as a "double-quoted" one (`` inside becomes `,
// " becomes ""), leaving string literals alone. An unterminated back quote is an error.
arrow::Result<std::string> BackQuotesToDoubleQuotes(std::string_view text);

}  // namespace nlk::sql
