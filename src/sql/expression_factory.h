// Builds Arrow compute expressions for SQL operators, scalar functions and casts, with
// PostgreSQL-like implicit coercions (a string literal compared with a timestamp is a timestamp,
// NULL takes the other side's type, naive timestamps meet zoned ones in UTC, a number compared
// with a column is compared in the column's type).
//
// Errors carry no position; the binder adds the location of the syntax node.
// Not thread-safe; one per binder.
#pragma once

#include <arrow/compute/expression.h>
#include <arrow/result.h>
#include <arrow/scalar.h>
#include <arrow/type.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nlk::sql {

struct TypedExpression {
  arrow::compute::Expression expression;
  std::shared_ptr<arrow::DataType> type;
  // Set for literals (after folding casts of literals), e.g. to use them as function options.
  std::shared_ptr<arrow::Scalar> constant;
  // For a number written with a fraction or an exponent, whose `constant` is the nearest double:
  // the value as written (a decimal), so comparisons with integers and casts to integers are
  // exact. Null otherwise.
  std::shared_ptr<arrow::Scalar> written;
};

class ExpressionFactory {
 public:
  // `now_microseconds`: the value of now() for the whole query (UTC).
  explicit ExpressionFactory(int64_t now_microseconds) : now_microseconds_(now_microseconds) {}

  // Makes the internal column `name` known for typing expressions that read it.
  void DeclareColumn(const std::string& name, std::shared_ptr<arrow::DataType> type);
  TypedExpression Column(const std::string& name) const;
  TypedExpression Literal(std::shared_ptr<arrow::Scalar> value) const;
  // A numeric constant as written in SQL, typed as PostgreSQL does: an integer is int4 if it
  // fits, else int8, else numeric (decimal, up to 38 digits; double beyond); a number with a
  // fraction or an exponent is a double that remembers its exact value (`written`).
  static arrow::Result<TypedExpression> NumberLiteral(const std::string& text);

  // Operators by their SQL spelling: + - * / % = <> != < <= > >= || ~ ~* !~ !~* AND OR NOT
  // NEGATE, "IS NULL", "IS NOT NULL", "IS TRUE", "IS DISTINCT FROM", LIKE, ILIKE, ...
  arrow::Result<TypedExpression> Operator(const std::string& name,
                                          std::vector<TypedExpression> arguments);
  // Scalar functions by (lower-case) SQL name.
  arrow::Result<TypedExpression> Function(const std::string& name,
                                          std::vector<TypedExpression> arguments);
  arrow::Result<TypedExpression> Cast(TypedExpression value,
                                      const std::shared_ptr<arrow::DataType>& type);
  // CASE WHEN c1 THEN v1 ... ELSE e END; `otherwise` may be null (ELSE NULL).
  arrow::Result<TypedExpression> Case(std::vector<TypedExpression> conditions,
                                      std::vector<TypedExpression> values,
                                      std::optional<TypedExpression> otherwise);
  // x IN (v1, v2, ...).
  arrow::Result<TypedExpression> InList(TypedExpression value, std::vector<TypedExpression> list);

  // The Arrow type of an expression over the declared columns.
  arrow::Result<std::shared_ptr<arrow::DataType>> TypeOf(
      const arrow::compute::Expression& expression);
  // The type both values convert to (for CASE, COALESCE, UNION), or TypeError.
  static arrow::Result<std::shared_ptr<arrow::DataType>> CommonType(
      const std::shared_ptr<arrow::DataType>& left, const std::shared_ptr<arrow::DataType>& right);
  // SQL type names (int4, bigint, text, timestamptz, ...) to Arrow types.
  static arrow::Result<std::shared_ptr<arrow::DataType>> TypeFromName(const std::string& name);
  // '1 hour 30 minutes' -> microseconds. Months and years have no fixed length: refused.
  static arrow::Result<int64_t> ParseInterval(const std::string& text);

 private:
  arrow::Result<TypedExpression> Make(
      const std::string& function, std::vector<TypedExpression> arguments,
      std::shared_ptr<arrow::compute::FunctionOptions> options = nullptr);
  // The type `function` returns for `arguments`.
  arrow::Result<std::shared_ptr<arrow::DataType>> CallType(
      const std::string& function, const std::vector<TypedExpression>& arguments,
      const std::shared_ptr<arrow::compute::FunctionOptions>& options);
  // and_kleene/or_kleene of one or more boolean terms, as a balanced tree.
  arrow::Result<TypedExpression> Connect(const std::string& function,
                                         std::vector<TypedExpression> terms);
  // `value` as a literal when it reads no column (now() - INTERVAL '1 hour', 2 * 3, casts of
  // constants), so pruning and EXPLAIN see the value; errors (overflow, division by zero) are
  // raised now, as PostgreSQL's planner raises them.
  arrow::Result<TypedExpression> Fold(TypedExpression value);
  // Makes two operands comparable or combinable (literal conversions, time zones, NULL).
  arrow::Status Harmonize(TypedExpression* left, TypedExpression* right);
  // `value <function> number` for an integer `value` and a numeric constant, decided exactly and
  // in value's type (e.g. int_column > 2.5 is int_column >= 3; int_column = 2.5 is false unless
  // the column is NULL); nullopt when the operands are not of that shape.
  arrow::Result<std::optional<TypedExpression>> CompareIntegerWithNumber(
      const std::string& function, const TypedExpression& value, const TypedExpression& number);
  // `date <function> timestamp` for a date `value` and a timestamp constant, as a comparison of
  // dates (the date is its midnight in UTC), which statistics can evaluate; nullopt otherwise.
  arrow::Result<std::optional<TypedExpression>> CompareDateWithTimestamp(
      const std::string& function, const TypedExpression& value, const TypedExpression& instant);
  // The expression that is `result` for every non-NULL `value`, and NULL where value is NULL.
  arrow::Result<TypedExpression> KnownUnlessNull(const TypedExpression& value, bool result);
  arrow::Result<TypedExpression> Extract(const std::string& field, TypedExpression value);
  // `value` as binary or utf8 (the types the byte functions take), or TypeError "<expected>, not
  // <type>".
  arrow::Result<TypedExpression> BytesOrText(TypedExpression value, const std::string& expected);
  arrow::Result<std::string> ConstantString(const TypedExpression& value, const char* what) const;
  arrow::Result<int64_t> ConstantInteger(const TypedExpression& value, const char* what) const;

  int64_t now_microseconds_;
  arrow::FieldVector fields_;
  std::shared_ptr<arrow::Schema> schema_;  // cache of fields_, rebuilt when stale
};

}  // namespace nlk::sql
