#include "delta/predicate.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <gtest/gtest.h>

namespace nlk::delta {
namespace {

namespace compute = arrow::compute;

std::shared_ptr<arrow::Schema> TestSchema() {
  return arrow::schema(
      {arrow::field("device_id", arrow::utf8()), arrow::field("channel", arrow::int32()),
       arrow::field("ts", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")),
       arrow::field("day", arrow::date32()), arrow::field("value", arrow::float64())});
}

std::shared_ptr<arrow::RecordBatch> TestBatch() {
  arrow::StringBuilder device;
  arrow::Int32Builder channel;
  arrow::TimestampBuilder ts(arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"),
                             arrow::default_memory_pool());
  arrow::Date32Builder day;
  arrow::DoubleBuilder value;
  for (int i = 0; i < 6; ++i) {
    EXPECT_TRUE(device.Append(i % 2 == 0 ? "a" : "b'c").ok());
    EXPECT_TRUE(channel.Append(i).ok());
    EXPECT_TRUE(ts.Append(1767225600000000LL + i * 1000000LL).ok());
    EXPECT_TRUE(day.Append(20454 + i / 3).ok());
    if (i == 5) {
      EXPECT_TRUE(value.AppendNull().ok());
    } else {
      EXPECT_TRUE(value.Append(i * 1.5).ok());
    }
  }
  std::vector<std::shared_ptr<arrow::Array>> columns(5);
  EXPECT_TRUE(device.Finish(&columns[0]).ok());
  EXPECT_TRUE(channel.Finish(&columns[1]).ok());
  EXPECT_TRUE(ts.Finish(&columns[2]).ok());
  EXPECT_TRUE(day.Finish(&columns[3]).ok());
  EXPECT_TRUE(value.Finish(&columns[4]).ok());
  return arrow::RecordBatch::Make(TestSchema(), 6, columns);
}

// Rows (by channel) for which the predicate is true.
std::vector<int32_t> Matching(const std::string& text) {
  auto schema = TestSchema();
  auto expression = ParsePredicate(text, *schema);
  EXPECT_TRUE(expression.ok()) << expression.status().ToString();
  auto bound = expression->Bind(*schema).ValueOrDie();
  auto batch = TestBatch();
  auto mask = compute::ExecuteScalarExpression(bound, compute::ExecBatch(*batch)).ValueOrDie();
  auto array = std::static_pointer_cast<arrow::BooleanArray>(mask.make_array());
  std::vector<int32_t> rows;
  for (int64_t i = 0; i < array->length(); ++i) {
    if (array->IsValid(i) && array->Value(i)) rows.push_back(static_cast<int32_t>(i));
  }
  return rows;
}

TEST(Predicate, Comparisons) {
  EXPECT_EQ(Matching("channel = 2"), (std::vector<int32_t>{2}));
  EXPECT_EQ(Matching("channel >= 4"), (std::vector<int32_t>{4, 5}));
  EXPECT_EQ(Matching("channel <> 0 AND channel < 3"), (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(Matching("device_id = 'b''c'"), (std::vector<int32_t>{1, 3, 5}));
  EXPECT_EQ(Matching("value > 4.4"), (std::vector<int32_t>{3, 4}));
}

TEST(Predicate, LiteralsTakeTheColumnType) {
  EXPECT_EQ(Matching("ts >= '2026-01-01 00:00:04'"), (std::vector<int32_t>{4, 5}));
  EXPECT_EQ(Matching("'2026-01-01T00:00:01Z' = ts"), (std::vector<int32_t>{1}));
  EXPECT_EQ(Matching("day = '2026-01-02'"), (std::vector<int32_t>{3, 4, 5}));
}

TEST(Predicate, LogicAndSets) {
  EXPECT_EQ(Matching("channel IN (0, 5) OR (device_id = 'a' AND NOT channel = 0)"),
            (std::vector<int32_t>{0, 2, 4, 5}));
  EXPECT_EQ(Matching("channel NOT IN (0, 1, 2)"), (std::vector<int32_t>{3, 4, 5}));
  EXPECT_EQ(Matching("channel BETWEEN 1 AND 3"), (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(Matching("value IS NULL"), (std::vector<int32_t>{5}));
  EXPECT_EQ(Matching("value is not null and channel > 3"), (std::vector<int32_t>{4}));
}

TEST(Predicate, ErrorsSayWhereAndWhy) {
  auto schema = TestSchema();
  auto unknown = ParsePredicate("chanel = 1", *schema);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("unknown column 'chanel'"), std::string::npos);
  EXPECT_NE(unknown.status().message().find("channel"), std::string::npos);

  auto unterminated = ParsePredicate("device_id = 'abc", *schema);
  ASSERT_FALSE(unterminated.ok());
  EXPECT_NE(unterminated.status().message().find("position 13"), std::string::npos);

  auto bad_cast = ParsePredicate("ts > 'yesterday'", *schema);
  ASSERT_FALSE(bad_cast.ok());
  EXPECT_NE(bad_cast.status().message().find("timestamp"), std::string::npos);

  EXPECT_FALSE(ParsePredicate("", *schema).ok());
  EXPECT_FALSE(ParsePredicate("channel = 1 AND", *schema).ok());
  EXPECT_FALSE(ParsePredicate("channel ( 1", *schema).ok());
  EXPECT_FALSE(ParsePredicate("1 = 1", *schema).ok());
  EXPECT_FALSE(ParsePredicate("channel = 1)", *schema).ok());
}

}  // namespace
}  // namespace nlk::delta
