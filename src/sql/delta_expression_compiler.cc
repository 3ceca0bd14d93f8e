#include "sql/delta_expression_compiler.h"

#include "sql/scalar_expression.h"

namespace nlk::sql {

arrow::Result<std::string> BackQuotesToDoubleQuotes(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\'') {
      // A string literal, '' standing for a quote inside it.
      size_t end = i + 1;
      while (end < text.size()) {
        if (text[end] == '\'' && end + 1 < text.size() && text[end + 1] == '\'') {
          end += 2;
        } else if (text[end] == '\'') {
          break;
        } else {
          ++end;
        }
      }
      out.append(text.substr(i, end + 1 - i));
      i = end;
    } else if (c == '`') {
      out.push_back('"');
      size_t j = i + 1;
      for (;; ++j) {
        if (j >= text.size()) {
          return arrow::Status::Invalid("SQL error at position ", i + 1,
                                        ": unterminated back-quoted identifier in '", text, "'");
        }
        if (text[j] == '`') {
          if (j + 1 < text.size() && text[j + 1] == '`') {
            out.push_back('`');
            ++j;
            continue;
          }
          break;
        }
        if (text[j] == '"') out.push_back('"');
        out.push_back(text[j]);
      }
      out.push_back('"');
      i = j;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

arrow::Result<arrow::compute::Expression> CompileDeltaExpression(
    std::string_view text, const arrow::Schema& schema,
    const delta::ExpressionCompileOptions& options) {
  ARROW_ASSIGN_OR_RAISE(std::string sql, BackQuotesToDoubleQuotes(text));
  ScalarExpressionOptions bind_options;
  bind_options.boolean = options.predicate;
  bind_options.result_type = options.result_type;
  ARROW_ASSIGN_OR_RAISE(ScalarExpression bound, BindScalarExpression(sql, schema, bind_options));
  return bound.expression;
}

void RegisterDeltaExpressionCompiler() {
  delta::RegisterSqlExpressionCompiler(CompileDeltaExpression);
}

}  // namespace nlk::sql
