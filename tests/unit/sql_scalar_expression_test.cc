// One SQL value expression bound outside a query: it reads the caller's field names, types as
// in a SELECT, tells qualified columns apart, and refuses what is not a single expression with
// a position inside the caller's text.
#include "sql/scalar_expression.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "common/arrow_runtime.h"

namespace nlk::sql {
namespace {

namespace cp = arrow::compute;

// Arrays written out: ints and bools with std::nullopt for null.
template <typename Builder, typename T>
std::shared_ptr<arrow::Array> Make(const std::vector<std::optional<T>>& values) {
  Builder builder;
  for (const auto& value : values) {
    EXPECT_TRUE((value ? builder.Append(*value) : builder.AppendNull()).ok());
  }
  return *builder.Finish();
}
std::shared_ptr<arrow::Array> Ints(const std::vector<std::optional<int64_t>>& values) {
  return Make<arrow::Int64Builder>(values);
}
std::shared_ptr<arrow::Array> Int32s(const std::vector<std::optional<int32_t>>& values) {
  return Make<arrow::Int32Builder>(values);
}
std::shared_ptr<arrow::Array> Bools(const std::vector<std::optional<bool>>& values) {
  return Make<arrow::BooleanBuilder>(values);
}
std::shared_ptr<arrow::Array> Strings(const std::vector<std::optional<std::string>>& values) {
  return Make<arrow::StringBuilder>(values);
}

std::shared_ptr<arrow::Array> Execute(const cp::Expression& expression,
                                      const std::shared_ptr<arrow::RecordBatch>& batch) {
  auto bound = expression.Bind(*batch->schema());
  EXPECT_TRUE(bound.ok()) << bound.status().ToString();
  if (!bound.ok()) return nullptr;
  auto datum = cp::ExecuteScalarExpression(*bound, cp::ExecBatch(*batch));
  EXPECT_TRUE(datum.ok()) << datum.status().ToString();
  if (!datum.ok()) return nullptr;
  return datum->make_array();
}

class ScalarExpressionTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(InitializeArrowCompute().ok()); }

  // Evaluates `expression` over the batch {id: [1, 2, 3, null], name: [a, b, c, d]}.
  static std::shared_ptr<arrow::Array> Evaluate(const cp::Expression& expression) {
    auto schema =
        arrow::schema({arrow::field("id", arrow::int64()), arrow::field("name", arrow::utf8())});
    auto batch = arrow::RecordBatch::Make(
        schema, 4, {Ints({1, 2, 3, std::nullopt}), Strings({"a", "b", "c", "d"})});
    return Execute(expression, batch);
  }

  static arrow::Schema Table() {
    return arrow::Schema({arrow::field("id", arrow::int64()), arrow::field("name", arrow::utf8())});
  }
};

TEST_F(ScalarExpressionTest, PredicateOverASchema) {
  auto bound = BindScalarExpression("id >= 2 AND name <> 'c'", Table(), {.boolean = true});
  ASSERT_TRUE(bound.ok()) << bound.status().ToString();
  EXPECT_TRUE(bound->type->Equals(arrow::boolean()));
  auto result = Evaluate(bound->expression);
  ASSERT_NE(result, nullptr);
  EXPECT_TRUE(result->Equals(*Bools({false, true, false, std::nullopt}))) << result->ToString();
}

TEST_F(ScalarExpressionTest, ValueCastToTheResultType) {
  auto bound =
      BindScalarExpression("coalesce(id, 0) * 10 + 1", Table(), {.result_type = arrow::int32()});
  ASSERT_TRUE(bound.ok()) << bound.status().ToString();
  EXPECT_TRUE(bound->type->Equals(arrow::int32()));
  auto result = Evaluate(bound->expression);
  ASSERT_NE(result, nullptr);
  EXPECT_TRUE(result->Equals(*Int32s({11, 21, 31, 1}))) << result->ToString();
}

TEST_F(ScalarExpressionTest, QualifiedColumnsReadTheCallersFields) {
  std::vector<ExpressionColumn> columns = {
      {"t", "id", arrow::int64(), "target_id"},
      {"s", "id", arrow::int64(), "source_id"},
      {"s", "name", arrow::utf8(), "source_name"},
  };
  auto bound =
      BindScalarExpression("t.id = s.id + 1 OR upper(name) = 'D'", columns, {.boolean = true});
  ASSERT_TRUE(bound.ok()) << bound.status().ToString();
  auto schema = arrow::schema({arrow::field("target_id", arrow::int64()),
                               arrow::field("source_id", arrow::int64()),
                               arrow::field("source_name", arrow::utf8())});
  auto batch =
      arrow::RecordBatch::Make(schema, 2, {Ints({3, 5}), Ints({2, 1}), Strings({"x", "d"})});
  auto result = Execute(bound->expression, batch);
  ASSERT_NE(result, nullptr);
  // Row 1: 3 = 2 + 1. Row 2: 5 <> 2, but upper('d') = 'D'.
  EXPECT_TRUE(result->Equals(*Bools({true, true}))) << result->ToString();

  auto ambiguous = BindScalarExpression("id = 1", columns, {.boolean = true});
  ASSERT_FALSE(ambiguous.ok());
  EXPECT_NE(ambiguous.status().message().find("ambiguous"), std::string::npos)
      << ambiguous.status().ToString();
}

TEST_F(ScalarExpressionTest, ErrorsPointIntoTheCallersText) {
  auto unknown = BindScalarExpression("id > 1 AND nme = 'a'", Table(), {.boolean = true});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("position 12"), std::string::npos)
      << unknown.status().ToString();
  EXPECT_NE(unknown.status().message().find("nme"), std::string::npos);

  auto not_boolean = BindScalarExpression("id + 1", Table(), {.boolean = true});
  ASSERT_FALSE(not_boolean.ok());
  EXPECT_NE(not_boolean.status().message().find("must be boolean"), std::string::npos)
      << not_boolean.status().ToString();

  for (const char* text : {"count(*)", "id > (SELECT 1)", "id FROM t", "1, 2", "id AS x", "*",
                           "id; DROP TABLE t", "id >"}) {
    auto refused = BindScalarExpression(text, Table());
    EXPECT_FALSE(refused.ok()) << text;
  }
}

}  // namespace
}  // namespace nlk::sql
