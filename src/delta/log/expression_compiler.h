// The SQL expressions a table's metadata holds (CHECK constraints, column invariants, generated
// columns' formulas) are Spark SQL text. Writers must evaluate them, but the Delta layers know
// no SQL: a program that links a SQL engine registers a compiler here, and the data writer asks
// it to turn each text into an Arrow compute expression over the table's columns.
//
// Without a registered compiler, tables whose metadata uses these features are refused for
// writes by name (log/protocol_support.h), as a writer that cannot enforce them must.
//
// Thread-safety: registration and compilation may run concurrently on any threads; a compile
// uses the compiler registered when it starts.
#pragma once

#include <arrow/compute/expression.h>
#include <arrow/result.h>
#include <arrow/type.h>

#include <functional>
#include <memory>
#include <string_view>

namespace nlk::delta {

struct ExpressionCompileOptions {
  // The expression must yield a boolean (a CHECK constraint or an invariant).
  bool predicate = false;
  // Cast the result to this type (a generated column's type); unset leaves it as computed.
  std::shared_ptr<arrow::DataType> result_type;
};

// Compiles `text` over the columns of `schema` (by their logical names) into an unbound
// expression that reads those columns by name. Errors say what is wrong with the text.
using SqlExpressionCompiler = std::function<arrow::Result<arrow::compute::Expression>(
    std::string_view text, const arrow::Schema& schema, const ExpressionCompileOptions& options)>;

// Makes `compiler` the process's compiler (an empty function unregisters it).
void RegisterSqlExpressionCompiler(SqlExpressionCompiler compiler);

bool HasSqlExpressionCompiler();

// Compiles with the registered compiler; NotImplemented when none is registered.
arrow::Result<arrow::compute::Expression> CompileSqlExpression(
    std::string_view text, const arrow::Schema& schema, const ExpressionCompileOptions& options);

}  // namespace nlk::delta
