// PostgreSQL's text and binary forms of values, and Arrow columns encoded as DataRows. The
// expected texts are what PostgreSQL 15 prints for the same values.
#include <arrow/api.h>
#include <arrow/json/from_string.h>
#include <gtest/gtest.h>

#include <cmath>

#include "pgwire/pg_type.h"
#include "pgwire/row_encoder.h"
#include "pgwire/value_format.h"

namespace nlk::pgwire {
namespace {

std::string Float8(double value) {
  std::string text;
  AppendFloat8Text(value, &text);
  return text;
}

std::string Float4(float value) {
  std::string text;
  AppendFloat4Text(value, &text);
  return text;
}

TEST(PgwireValueFormatTest, FloatsAsPostgresPrintsThem) {
  EXPECT_EQ(Float8(1e16), "1e+16");
  EXPECT_EQ(Float8(1e15), "1e+15");
  EXPECT_EQ(Float8(1e14), "100000000000000");
  EXPECT_EQ(Float8(123456789012345678.0), "1.2345678901234568e+17");
  EXPECT_EQ(Float8(0.0001), "0.0001");
  EXPECT_EQ(Float8(0.00001), "1e-05");
  EXPECT_EQ(Float8(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(Float8(-2.5e-7), "-2.5e-07");
  EXPECT_EQ(Float8(0), "0");
  EXPECT_EQ(Float8(-0.0), "-0");
  EXPECT_EQ(Float8(std::nan("")), "NaN");
  EXPECT_EQ(Float8(-HUGE_VAL), "-Infinity");
  EXPECT_EQ(Float4(100000.0f), "100000");
  EXPECT_EQ(Float4(1e6f), "1e+06");
  EXPECT_EQ(Float4(1234567.0f), "1.234567e+06");
  EXPECT_EQ(Float4(1.0f / 3), "0.33333334");
  EXPECT_EQ(Float4(HUGE_VALF), "Infinity");
}

TEST(PgwireValueFormatTest, DatesTimesAndIntervals) {
  std::string text;
  AppendTimestampText(1767323045120000, false, &text);  // 2026-01-02 03:04:05.12
  EXPECT_EQ(text, "2026-01-02 03:04:05.12");
  text.clear();
  AppendTimestampText(1767323045000000, true, &text);
  EXPECT_EQ(text, "2026-01-02 03:04:05+00");
  text.clear();
  AppendTimestampText(-1500000, true, &text);  // 1.5 s before the epoch
  EXPECT_EQ(text, "1969-12-31 23:59:58.5+00");
  text.clear();
  AppendDateText(-719528, &text);  // 0001-01-01 BC, the year before 0001-01-01
  EXPECT_EQ(text, "0001-01-01 BC");
  text.clear();
  AppendTimeText(43201500000, &text);
  EXPECT_EQ(text, "12:00:01.5");
  auto interval = [](int32_t months, int32_t days, int64_t micros) {
    std::string out;
    AppendIntervalText(months, days, micros, &out);
    return out;
  };
  EXPECT_EQ(interval(0, 1, 3661001000), "1 day 01:01:01.001");
  EXPECT_EQ(interval(0, 0, -1500000), "-00:00:01.5");
  EXPECT_EQ(interval(0, 0, 90061001000), "25:01:01.001");
  EXPECT_EQ(interval(0, 0, 0), "00:00:00");
  EXPECT_EQ(interval(0, -2, -10800000000), "-2 days -03:00:00");
  EXPECT_EQ(interval(14, 3, 14706700000), "1 year 2 mons 3 days 04:05:06.7");
  EXPECT_EQ(interval(0, -1, 3600000000), "-1 days +01:00:00");
  text.clear();
  AppendByteaText(std::string("\x00\xff", 2), &text);
  EXPECT_EQ(text, "\\x00ff");
}

TEST(PgwireValueFormatTest, NumericBinaryIsBase10000Groups) {
  std::string bytes;
  AppendNumericBinary("-123.4500", &bytes);
  // ndigits 2, weight 0, negative, dscale 4, digits 123 and 4500.
  EXPECT_EQ(bytes, std::string("\x00\x02\x00\x00\x40\x00\x00\x04\x00\x7b\x11\x94", 12));
  bytes.clear();
  AppendNumericBinary("0", &bytes);
  EXPECT_EQ(bytes, std::string("\x00\x00\x00\x00\x00\x00\x00\x00", 8));
  bytes.clear();
  AppendNumericBinary("10000.5", &bytes);
  EXPECT_EQ(bytes, std::string("\x00\x03\x00\x01\x00\x00\x00\x01\x00\x01\x00\x00\x13\x88", 14));
}

// The fields of one DataRow message (-1 length: NULL).
std::vector<std::optional<std::string>> Fields(const std::string& message) {
  std::vector<std::optional<std::string>> fields;
  EXPECT_EQ(message[0], 'D');
  int16_t count = ReadInt16(std::string_view(message).substr(5));
  size_t position = 7;
  for (int16_t index = 0; index < count; ++index) {
    int32_t length = ReadInt32(std::string_view(message).substr(position));
    position += 4;
    if (length < 0) {
      fields.push_back(std::nullopt);
      continue;
    }
    fields.push_back(message.substr(position, static_cast<size_t>(length)));
    position += static_cast<size_t>(length);
  }
  EXPECT_EQ(position, message.size());
  return fields;
}

std::shared_ptr<arrow::Array> ArrayOf(const std::shared_ptr<arrow::DataType>& type,
                                      const std::string& json) {
  return arrow::json::ArrayFromJSONString(type, json).ValueOrDie();
}

TEST(PgwireValueFormatTest, ArrowColumnsAsTextAndBinary) {
  auto schema = arrow::schema({
      arrow::field("b", arrow::boolean()),
      arrow::field("i8", arrow::int8()),
      arrow::field("u64", arrow::uint64()),
      arrow::field("f", arrow::float64()),
      arrow::field("d", arrow::decimal128(5, 2)),
      arrow::field("s", arrow::utf8()),
      arrow::field("bin", arrow::binary()),
      arrow::field("day", arrow::date32()),
      arrow::field("ts", arrow::timestamp(arrow::TimeUnit::NANO, "UTC")),
      arrow::field("dur", arrow::duration(arrow::TimeUnit::MILLI)),
      arrow::field("list", arrow::list(arrow::int32())),
      arrow::field("dict", arrow::dictionary(arrow::int8(), arrow::utf8())),
  });
  std::vector<std::shared_ptr<arrow::Array>> columns = {
      ArrayOf(arrow::boolean(), "[true, null]"),
      ArrayOf(arrow::int8(), "[-5, null]"),
      ArrayOf(arrow::uint64(), "[18446744073709551615, null]"),
      ArrayOf(arrow::float64(), "[1e15, null]"),
      ArrayOf(arrow::decimal128(5, 2), "[\"-1.50\", null]"),
      ArrayOf(arrow::utf8(), "[\"caf\xc3\xa9\", null]"),
      ArrayOf(arrow::binary(), "[\"\\u0000A\", null]"),
      ArrayOf(arrow::date32(), "[20455, null]"),
      ArrayOf(arrow::timestamp(arrow::TimeUnit::NANO, "UTC"), "[1767323045123456789, null]"),
      ArrayOf(arrow::duration(arrow::TimeUnit::MILLI), "[-1500, null]"),
      ArrayOf(arrow::list(arrow::int32()), "[[1, null], null]"),
      arrow::DictionaryArray::FromArrays(arrow::dictionary(arrow::int8(), arrow::utf8()),
                                         ArrayOf(arrow::int8(), "[1, null]"),
                                         ArrayOf(arrow::utf8(), "[\"a\", \"b\"]"))
          .ValueOrDie(),
  };
  auto batch = arrow::RecordBatch::Make(schema, 2, columns);

  std::vector<int32_t> types;
  for (const ResultColumn& column : DescribeColumns(*schema)) types.push_back(column.type.oid);
  EXPECT_EQ(types, (std::vector<int32_t>{kBoolOid, kInt2Oid, kNumericOid, kFloat8Oid, kNumericOid,
                                         kTextOid, kByteaOid, kDateOid, kTimestamptzOid,
                                         kIntervalOid, kJsonOid, kTextOid}));

  auto text = RowEncoder::Make(*batch, std::vector<bool>(12, false)).ValueOrDie();
  std::string row;
  text.AppendRow(0, &row);
  std::vector<std::optional<std::string>> expected = {
      "t",           "-5",         "18446744073709551615",
      "1e+15",       "-1.50",      "caf\xc3\xa9",
      "\\x0041",     "2026-01-02", "2026-01-02 03:04:05.123456+00",
      "-00:00:01.5", "[1,null]",   "b"};
  EXPECT_EQ(Fields(row), expected);
  row.clear();
  text.AppendRow(1, &row);
  EXPECT_EQ(Fields(row), std::vector<std::optional<std::string>>(12, std::nullopt));

  auto binary = RowEncoder::Make(*batch, std::vector<bool>(12, true)).ValueOrDie();
  row.clear();
  binary.AppendRow(0, &row);
  auto fields = Fields(row);
  EXPECT_EQ(*fields[0], std::string("\x01", 1));
  EXPECT_EQ(*fields[1], std::string("\xff\xfb", 2));  // int2 -5
  std::string expected_double;
  AppendFloat8Binary(1e15, &expected_double);
  EXPECT_EQ(*fields[3], expected_double);
  std::string expected_numeric;
  AppendNumericBinary("-1.50", &expected_numeric);
  EXPECT_EQ(*fields[4], expected_numeric);
  EXPECT_EQ(*fields[6], std::string("\x00"
                                    "A",
                                    2));
  EXPECT_EQ(ReadInt32(*fields[7]), 20455 - kPostgresEpochDays);
  EXPECT_EQ(ReadInt64(*fields[8]), 1767323045123456 - kPostgresEpochMicros);
  EXPECT_EQ(ReadInt64(*fields[9]), -1500000);  // interval: microseconds, then days and months
  EXPECT_EQ(fields[9]->size(), 16u);
  EXPECT_EQ(*fields[10], "[1,null]");
}

TEST(PgwireValueFormatTest, TypeNamesAsFormatTypeGivesThem) {
  EXPECT_EQ(FormatType(kInt4Oid, -1), "integer");
  EXPECT_EQ(FormatType(kTimestamptzOid, -1), "timestamp with time zone");
  EXPECT_EQ(FormatType(kNumericOid, ((10 << 16) | 2) + 4), "numeric(10,2)");
  EXPECT_EQ(FormatType(kVarcharOid, 24), "character varying(20)");
  EXPECT_EQ(FormatType(kTextArrayOid, -1), "text[]");
  EXPECT_EQ(FormatType(kCharOid, -1), "\"char\"");
  EXPECT_EQ(FormatType(123456, -1), "???");
  EXPECT_EQ(FindTypeByName("character varying")->oid, kVarcharOid);
  EXPECT_EQ(FindTypeByName("INT")->oid, kInt4Oid);
  EXPECT_EQ(FindTypeByName("int4[]")->oid, kInt4ArrayOid);
  EXPECT_EQ(FindTypeByName("nope"), nullptr);
}

}  // namespace
}  // namespace nlk::pgwire
