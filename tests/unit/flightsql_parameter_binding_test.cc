// Prepared statement parameters bound from Arrow columns: each value a literal where its $n
// stood, by the PostgreSQL listener's rules.
#include <arrow/array.h>
#include <arrow/json/from_string.h>
#include <gtest/gtest.h>

#include "flightsql/parameter_binding.h"
#include "test_status.h"

namespace nlk::flightsql {
namespace {

std::shared_ptr<arrow::Array> Array(const std::shared_ptr<arrow::DataType>& type,
                                    const std::string& json) {
  auto array = arrow::json::ArrayFromJSONString(type, json);
  EXPECT_TRUE(array.ok()) << array.status().ToString();
  return *array;
}

TEST(FlightSqlParameterBindingTest, EachRowBindsItsValues) {
  ASSERT_OK_AND_ASSIGN(ParameterizedQuery query,
                       ParseParameterizedQuery("SELECT * FROM t WHERE a = $1 AND b = $2 "
                                               "AND c = '$1' AND d = $3 AND e = $4"));
  EXPECT_EQ(query.parameter_count, 4);
  auto batch = arrow::RecordBatch::Make(
      arrow::schema({arrow::field("a", arrow::int64()), arrow::field("b", arrow::utf8()),
                     arrow::field("c", arrow::boolean()), arrow::field("d", arrow::float64())}),
      2,
      {Array(arrow::int64(), "[-5, 7]"), Array(arrow::utf8(), R"(["it's", null])"),
       Array(arrow::boolean(), "[true, false]"), Array(arrow::float64(), "[1.5, -0.25]")});
  ASSERT_OK_AND_ASSIGN(std::string first, BindParameters(query, *batch, 0));
  EXPECT_EQ(first,
            "SELECT * FROM t WHERE a = (-5) AND b = 'it''s' AND c = '$1' AND d = true AND e = 1.5");
  ASSERT_OK_AND_ASSIGN(std::string second, BindParameters(query, *batch, 1));
  EXPECT_EQ(second,
            "SELECT * FROM t WHERE a = 7 AND b = NULL AND c = '$1' AND d = false AND e = (-0.25)");
}

TEST(FlightSqlParameterBindingTest, NullsDatesAndTimestamps) {
  ASSERT_OK_AND_ASSIGN(ParameterizedQuery query, ParseParameterizedQuery("SELECT $1, $2, $3"));
  auto batch = arrow::RecordBatch::Make(
      arrow::schema({arrow::field("a", arrow::null()), arrow::field("b", arrow::date32()),
                     arrow::field("c", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"))}),
      1,
      {Array(arrow::null(), "[null]"), Array(arrow::date32(), "[20454]"),
       Array(arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"), R"(["2026-01-02 03:04:05"])")});
  ASSERT_OK_AND_ASSIGN(std::string bound, BindParameters(query, *batch, 0));
  EXPECT_EQ(bound, "SELECT NULL, '2026-01-01', '2026-01-02 03:04:05.000000Z'");
  ASSERT_OK_AND_ASSIGN(std::string placeholders, BindPlaceholders(query));
  EXPECT_EQ(placeholders, "SELECT NULL, NULL, NULL");
}

TEST(FlightSqlParameterBindingTest, MistakesAreInvalid) {
  ASSERT_OK_AND_ASSIGN(ParameterizedQuery query, ParseParameterizedQuery("SELECT $1 + 1"));
  auto two_columns = arrow::RecordBatch::Make(
      arrow::schema({arrow::field("a", arrow::int64()), arrow::field("b", arrow::int64())}), 1,
      {Array(arrow::int64(), "[1]"), Array(arrow::int64(), "[2]")});
  auto wrong_count = BindParameters(query, *two_columns, 0);
  ASSERT_TRUE(wrong_count.status().IsInvalid());
  EXPECT_NE(wrong_count.status().message().find("takes 1 parameter"), std::string::npos);
  auto binary = arrow::RecordBatch::Make(arrow::schema({arrow::field("a", arrow::binary())}), 1,
                                         {Array(arrow::binary(), R"(["x"])")});
  auto unsupported = BindParameters(query, *binary, 0);
  ASSERT_TRUE(unsupported.status().IsInvalid());
  EXPECT_NE(unsupported.status().message().find("$1 has Arrow type binary"), std::string::npos);
  EXPECT_TRUE(ParseParameterizedQuery("SELECT 1; SELECT 2").status().IsInvalid());
  EXPECT_TRUE(ParseParameterizedQuery("SELEC $1").status().IsInvalid());
}

}  // namespace
}  // namespace nlk::flightsql
