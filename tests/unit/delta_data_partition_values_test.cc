#include <arrow/util/decimal.h>
#include <gtest/gtest.h>

#include <cmath>

#include "delta/data/partition_values.h"

namespace nlk::delta::data {
namespace {

std::optional<std::string> Serialize(const std::shared_ptr<arrow::Scalar>& scalar) {
  auto result = SerializePartitionValue(*scalar);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ValueOr(std::nullopt);
}

std::shared_ptr<arrow::Scalar> Parse(const std::string& text,
                                     const std::shared_ptr<arrow::DataType>& type) {
  auto result = ParsePartitionValue(text, type);
  EXPECT_TRUE(result.ok()) << text << ": " << result.status();
  return result.ValueOr(nullptr);
}

TEST(PartitionValues, RoundTripsEveryPrimitiveType) {
  auto decimal = std::make_shared<arrow::Decimal128Scalar>(arrow::Decimal128(-12345),
                                                           arrow::decimal128(10, 2));
  const std::vector<std::pair<std::shared_ptr<arrow::Scalar>, std::string>> cases = {
      {arrow::MakeScalar("a b/c"), "a b/c"},
      {*arrow::MakeScalar(arrow::int8(), int8_t{-8}), "-8"},
      {*arrow::MakeScalar(arrow::int16(), int16_t{300}), "300"},
      {*arrow::MakeScalar(arrow::int32(), int32_t{-70000}), "-70000"},
      {*arrow::MakeScalar(arrow::int64(), int64_t{1} << 40), "1099511627776"},
      {*arrow::MakeScalar(arrow::float32(), 1.5f), "1.5"},
      {*arrow::MakeScalar(arrow::float64(), 0.1), "0.1"},
      {arrow::MakeScalar(true), "true"},
      {decimal, "-123.45"},
      {*arrow::MakeScalar(arrow::date32(), int32_t{19000}), "2022-01-08"},
      {*arrow::MakeScalar(arrow::date32(), int32_t{-1}), "1969-12-31"},
      {*arrow::MakeScalar(arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"),
                          int64_t{1'700'000'000'123'456}),
       "2023-11-14T22:13:20.123456Z"},
      {*arrow::MakeScalar(arrow::timestamp(arrow::TimeUnit::MICRO), int64_t{1'000'000}),
       "1970-01-01 00:00:01"},
      {*arrow::MakeScalar(arrow::timestamp(arrow::TimeUnit::MICRO), int64_t{-1}),
       "1969-12-31 23:59:59.999999"},
      {std::make_shared<arrow::BinaryScalar>(arrow::Buffer::FromString(std::string("\x01\x02", 2))),
       std::string("\x01\x02", 2)},
  };
  for (const auto& [scalar, text] : cases) {
    EXPECT_EQ(Serialize(scalar), text) << scalar->type->ToString();
    auto parsed = Parse(text, scalar->type);
    ASSERT_NE(parsed, nullptr);
    EXPECT_TRUE(parsed->Equals(*scalar)) << text << " -> " << parsed->ToString();
  }
}

TEST(PartitionValues, NullAndEmptyMeanNull) {
  EXPECT_EQ(Serialize(arrow::MakeNullScalar(arrow::int32())), std::nullopt);
  EXPECT_EQ(Serialize(arrow::MakeScalar("")), std::nullopt);
  EXPECT_FALSE(ParsePartitionValue(std::nullopt, arrow::int32()).ValueOrDie()->is_valid);
  EXPECT_FALSE(ParsePartitionValue("", arrow::date32()).ValueOrDie()->is_valid);
}

TEST(PartitionValues, AcceptsEveryTimestampForm) {
  auto type = arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
  const int64_t expected = 123456;  // 1970-01-01 00:00:00.123456 UTC
  for (const char* text : {"1970-01-01 00:00:00.123456", "1970-01-01T00:00:00.123456Z",
                           "1970-01-01T01:00:00.123456+01:00", "1970-01-01 00:00:00.1234567"}) {
    auto parsed = Parse(text, type);
    ASSERT_NE(parsed, nullptr);
    EXPECT_EQ(static_cast<const arrow::TimestampScalar&>(*parsed).value, expected) << text;
  }
  EXPECT_EQ(static_cast<const arrow::TimestampScalar&>(*Parse("1970-01-01 00:00:00", type)).value,
            0);
  EXPECT_FALSE(ParsePartitionValue("1970-13-01 00:00:00", type).ok());
  EXPECT_FALSE(ParsePartitionValue("yesterday", type).ok());
}

TEST(PartitionValues, ParsesSpecialsAndRejectsJunk) {
  auto nan = Parse("NaN", arrow::float64());
  EXPECT_TRUE(std::isnan(static_cast<const arrow::DoubleScalar&>(*nan).value));
  EXPECT_EQ(Serialize(*arrow::MakeScalar(arrow::float64(), -INFINITY)), "-Infinity");
  EXPECT_TRUE(Parse("TRUE", arrow::boolean())->Equals(*arrow::MakeScalar(true)));
  EXPECT_TRUE(
      Parse("1.5", arrow::decimal128(5, 2))
          ->Equals(arrow::Decimal128Scalar(arrow::Decimal128(150), arrow::decimal128(5, 2))));
  EXPECT_FALSE(ParsePartitionValue("12x", arrow::int32()).ok());
  EXPECT_FALSE(ParsePartitionValue("300", arrow::int8()).ok());
  EXPECT_FALSE(ParsePartitionValue("maybe", arrow::boolean()).ok());
  EXPECT_FALSE(ParsePartitionValue("1.234", arrow::decimal128(5, 2)).ok());
}

TEST(PartitionValues, HiveDirectories) {
  EXPECT_EQ(EscapePartitionPathComponent("a:b/c=d%e f"), "a%3Ab%2Fc%3Dd%25e f");
  EXPECT_EQ(UnescapePartitionPathComponent("a%3Ab%2Fc%3Dd%25e f"), "a:b/c=d%e f");
  EXPECT_EQ(EscapePartitionPathComponent(std::string("\x01#?", 3)), "%01%23%3F");
  EXPECT_EQ(HivePartitionDirectory(
                {{"date", "2024-01-01"}, {"ts", "2024-01-01 10:00:00"}, {"region", std::nullopt}}),
            "date=2024-01-01/ts=2024-01-01 10%3A00%3A00/region=__HIVE_DEFAULT_PARTITION__");
}

TEST(PartitionValues, MakesConstantArrays) {
  auto array = MakePartitionArray("42", arrow::int64(), 3);
  ASSERT_TRUE(array.ok());
  EXPECT_EQ((*array)->ToString(), "[\n  42,\n  42,\n  42\n]");
  auto nulls = MakePartitionArray(std::nullopt, arrow::utf8(), 2);
  ASSERT_TRUE(nulls.ok());
  EXPECT_EQ((*nulls)->null_count(), 2);
}

}  // namespace
}  // namespace nlk::delta::data
