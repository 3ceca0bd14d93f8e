#include "delta/log/expression_compiler.h"

#include <mutex>
#include <utility>

namespace nlk::delta {
namespace {

// The one piece of process-wide state the Delta layers keep: which SQL engine the program
// linked, set once at start-up by the program (or a test).
struct Registry {
  std::mutex mutex;
  SqlExpressionCompiler compiler;
};

Registry& TheRegistry() {
  static Registry registry;
  return registry;
}

SqlExpressionCompiler Current() {
  Registry& registry = TheRegistry();
  std::lock_guard<std::mutex> lock(registry.mutex);
  return registry.compiler;
}

}  // namespace

void RegisterSqlExpressionCompiler(SqlExpressionCompiler compiler) {
  Registry& registry = TheRegistry();
  std::lock_guard<std::mutex> lock(registry.mutex);
  registry.compiler = std::move(compiler);
}

bool HasSqlExpressionCompiler() { return static_cast<bool>(Current()); }

arrow::Result<arrow::compute::Expression> CompileSqlExpression(
    std::string_view text, const arrow::Schema& schema, const ExpressionCompileOptions& options) {
  SqlExpressionCompiler compiler = Current();
  if (!compiler) {
    return arrow::Status::NotImplemented(
        "no SQL expression compiler is registered in this program, so the SQL expression '", text,
        "' of the table's metadata cannot be evaluated");
  }
  return compiler(text, schema, options);
}

}  // namespace nlk::delta
