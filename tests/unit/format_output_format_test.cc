#include "format/output_format.h"

#include <arrow/api.h>
#include <arrow/io/memory.h>
#include <arrow/ipc/reader.h>
#include <arrow/json/from_string.h>
#include <gtest/gtest.h>
#include <parquet/arrow/reader.h>

#include <limits>
#include <sstream>
#include <vector>

#include "format/text_table.h"

namespace nlk::format {
namespace {

std::shared_ptr<arrow::RecordBatch> Sample() {
  auto schema = arrow::schema({
      arrow::field("id", arrow::int64()),
      arrow::field("name", arrow::utf8()),
      arrow::field("value", arrow::float32()),
      arrow::field("ts", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")),
      arrow::field("day", arrow::date32()),
      arrow::field("tags", arrow::list(arrow::utf8())),
      arrow::field("flag", arrow::boolean()),
  });
  auto rows = arrow::json::ArrayFromJSONString(arrow::struct_(schema->fields()), R"([
    [1, "a\"b", 0.1, 1767225600000001, 20454, ["x", "y"], true],
    [2, null, null, 1767225600000000, 0, [], false]
  ])")
                  .ValueOrDie();
  return arrow::RecordBatch::FromStructArray(rows).ValueOrDie();
}

std::string Write(OutputFormat format, std::shared_ptr<arrow::RecordBatch> batch = Sample()) {
  auto reader = arrow::RecordBatchReader::Make({batch}).ValueOrDie();
  auto sink = arrow::io::BufferOutputStream::Create().ValueOrDie();
  auto rows = WriteBatches(*reader, format, sink);
  EXPECT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(*rows, 2);
  return sink->Finish().ValueOrDie()->ToString();
}

TEST(OutputFormat, JsonRowObjects) {
  EXPECT_EQ(Write(OutputFormat::kJson),
            R"([{"id":1,"name":"a\"b","value":0.1,"ts":"2026-01-01T00:00:00.000001Z",)"
            R"("day":"2026-01-01","tags":["x","y"],"flag":true},)"
            R"({"id":2,"name":null,"value":null,"ts":"2026-01-01T00:00:00Z",)"
            R"("day":"1970-01-01","tags":[],"flag":false}])");
  std::string lines = Write(OutputFormat::kNdjson);
  EXPECT_EQ(std::count(lines.begin(), lines.end(), '\n'), 2);
}

TEST(OutputFormat, CsvHasHeaderAndRows) {
  // CSV has no lists: drop that column (Arrow's writer refuses it with a clear error).
  std::string csv = Write(OutputFormat::kCsv, Sample()->RemoveColumn(5).ValueOrDie());
  EXPECT_EQ(csv.substr(0, csv.find('\n')), R"("id","name","value","ts","day","flag")");
}

TEST(OutputFormat, ArrowAndParquetRoundTrip) {
  auto expected = Sample();
  std::string stream = Write(OutputFormat::kArrowStream);
  auto stream_reader =
      arrow::ipc::RecordBatchStreamReader::Open(
          std::make_shared<arrow::io::BufferReader>(arrow::Buffer::FromString(stream)))
          .ValueOrDie();
  EXPECT_TRUE(stream_reader->ToTable().ValueOrDie()->Equals(
      *arrow::Table::FromRecordBatches({expected}).ValueOrDie()));

  std::string parquet_bytes = Write(OutputFormat::kParquet);
  auto parquet_reader =
      parquet::arrow::OpenFile(
          std::make_shared<arrow::io::BufferReader>(arrow::Buffer::FromString(parquet_bytes)),
          arrow::default_memory_pool())
          .ValueOrDie();
  auto table = parquet_reader->ReadTable().ValueOrDie();
  EXPECT_EQ(table->num_rows(), 2);
}

// One column in every text format: JSON, NDJSON, CSV and the text table.
struct TextForms {
  std::string json;
  std::string ndjson;
  std::string csv;
  std::string table;
};

std::string WriteAll(OutputFormat format, const std::shared_ptr<arrow::RecordBatch>& batch) {
  auto reader = arrow::RecordBatchReader::Make({batch}).ValueOrDie();
  auto sink = arrow::io::BufferOutputStream::Create().ValueOrDie();
  auto rows = WriteBatches(*reader, format, sink);
  EXPECT_TRUE(rows.ok()) << rows.status().ToString();
  return sink->Finish().ValueOrDie()->ToString();
}

TextForms Forms(const std::shared_ptr<arrow::Array>& column) {
  auto batch = arrow::RecordBatch::Make(arrow::schema({arrow::field("v", column->type())}),
                                        column->length(), {column});
  TextForms forms{WriteAll(OutputFormat::kJson, batch), WriteAll(OutputFormat::kNdjson, batch),
                  WriteAll(OutputFormat::kCsv, batch), ""};
  auto reader = arrow::RecordBatchReader::Make({batch}).ValueOrDie();
  std::ostringstream table;
  arrow::Status status = WriteTextTable(*reader, table);
  EXPECT_TRUE(status.ok()) << status.ToString();
  forms.table = table.str();
  return forms;
}

std::shared_ptr<arrow::Array> FromJson(const std::shared_ptr<arrow::DataType>& type,
                                       const std::string& json) {
  return arrow::json::ArrayFromJSONString(type, json).ValueOrDie();
}

// The JSON array of rows {"v": value} for these values (already JSON text).
std::string JsonRows(const std::vector<std::string>& values) {
  std::string json = "[";
  for (const auto& value : values) json += (json.size() > 1 ? "," : "") + ("{\"v\":" + value + "}");
  return json + "]";
}

std::string NdjsonRows(const std::vector<std::string>& values) {
  std::string lines;
  for (const auto& value : values) lines += "{\"v\":" + value + "}\n";
  return lines;
}

std::string CsvRows(const std::vector<std::string>& cells) {
  std::string csv = "\"v\"\n";
  for (const auto& cell : cells) csv += cell + "\n";
  return csv;
}

// The cells of a one-column text table, without the padding that aligns them.
std::vector<std::string> TableCells(const std::string& table) {
  std::vector<std::string> cells;
  std::istringstream lines(table);
  std::string line;
  int number = 0;
  while (std::getline(lines, line)) {
    if (number++ < 2 || line.starts_with("(")) continue;  // header, rule, row count
    while (!line.empty() && line.back() == ' ') line.pop_back();
    cells.push_back(line);
  }
  return cells;
}

std::vector<std::string> Cells(std::initializer_list<std::string> cells) { return cells; }

TEST(OutputFormat, BinaryIsLowercaseHexInEveryTextFormat) {
  arrow::BinaryBuilder builder;
  ASSERT_TRUE(builder.Append(std::string("\x00\xff\x7f", 3)).ok());
  ASSERT_TRUE(builder.Append(std::string("hi")).ok());
  ASSERT_TRUE(builder.AppendNull().ok());
  ASSERT_TRUE(builder.Append(std::string()).ok());
  auto forms = Forms(builder.Finish().ValueOrDie());
  EXPECT_EQ(forms.json, JsonRows({R"("00ff7f")", R"("6869")", "null", R"("")"}));
  EXPECT_EQ(forms.ndjson, NdjsonRows({R"("00ff7f")", R"("6869")", "null", R"("")"}));
  // Quoted like strings, so that empty bytes ("") differ from NULL (nothing).
  EXPECT_EQ(forms.csv, CsvRows({R"("00ff7f")", R"("6869")", "", R"("")"}));
  EXPECT_EQ(TableCells(forms.table), Cells({"00ff7f", "6869", "NULL", ""}));
}

TEST(OutputFormat, FixedSizeAndLargeBinaryAreHexToo) {
  auto fixed = FromJson(arrow::fixed_size_binary(2), R"(["ab", null])");
  auto forms = Forms(fixed);
  EXPECT_EQ(forms.json, JsonRows({R"("6162")", "null"}));
  EXPECT_EQ(forms.csv, CsvRows({R"("6162")", ""}));
  EXPECT_EQ(TableCells(forms.table), Cells({"6162", "NULL"}));
  auto large = Forms(FromJson(arrow::large_binary(), R"(["ab"])"));
  EXPECT_EQ(large.ndjson, NdjsonRows({R"("6162")"}));
  auto view = Forms(FromJson(arrow::binary_view(), R"(["ab"])"));
  EXPECT_EQ(view.csv, CsvRows({R"("6162")"}));
}

TEST(OutputFormat, NonFiniteFloatsAreNullInJsonAndNamedInText) {
  arrow::DoubleBuilder builder;
  ASSERT_TRUE(builder
                  .AppendValues({std::numeric_limits<double>::quiet_NaN(),
                                 std::numeric_limits<double>::infinity(),
                                 -std::numeric_limits<double>::infinity(), -0.25})
                  .ok());
  auto forms = Forms(builder.Finish().ValueOrDie());
  EXPECT_EQ(forms.json, JsonRows({"null", "null", "null", "-0.25"}));
  EXPECT_EQ(forms.ndjson, NdjsonRows({"null", "null", "null", "-0.25"}));
  EXPECT_EQ(forms.csv, CsvRows({"NaN", "Infinity", "-Infinity", "-0.25"}));
  EXPECT_EQ(TableCells(forms.table), Cells({"NaN", "Infinity", "-Infinity", "-0.25"}));

  arrow::FloatBuilder floats;
  ASSERT_TRUE(floats.AppendValues({std::numeric_limits<float>::quiet_NaN(), 0.1F}).ok());
  auto float_forms = Forms(floats.Finish().ValueOrDie());
  EXPECT_EQ(float_forms.json, JsonRows({"null", "0.1"}));
  EXPECT_EQ(float_forms.csv, CsvRows({"NaN", "0.1"}));
  EXPECT_EQ(TableCells(float_forms.table), Cells({"NaN", "0.1"}));
}

TEST(OutputFormat, DecimalsKeepTheirScale) {
  for (auto type : {arrow::decimal128(10, 2), arrow::decimal256(40, 2)}) {
    SCOPED_TRACE(type->ToString());
    auto forms = Forms(FromJson(type, R"(["1.50", "-0.05", null])"));
    EXPECT_EQ(forms.json, JsonRows({"1.50", "-0.05", "null"}));
    EXPECT_EQ(forms.ndjson, NdjsonRows({"1.50", "-0.05", "null"}));
    EXPECT_EQ(forms.csv, CsvRows({"1.50", "-0.05", ""}));
    EXPECT_EQ(TableCells(forms.table), Cells({"1.50", "-0.05", "NULL"}));
  }
}

TEST(OutputFormat, DatesBefore1970) {
  auto forms = Forms(FromJson(arrow::date32(), "[-1, -25567, -719162]"));
  std::vector<std::string> dates = {"1969-12-31", "1900-01-01", "0001-01-01"};
  EXPECT_EQ(forms.json, JsonRows({R"("1969-12-31")", R"("1900-01-01")", R"("0001-01-01")"}));
  EXPECT_EQ(forms.ndjson, NdjsonRows({R"("1969-12-31")", R"("1900-01-01")", R"("0001-01-01")"}));
  EXPECT_EQ(forms.csv, CsvRows(dates));
  EXPECT_EQ(TableCells(forms.table), dates);
  // Date64 counts milliseconds; a value inside a day still belongs to that day.
  auto date64 = Forms(FromJson(arrow::date64(), "[-86400000, -1]"));
  EXPECT_EQ(date64.csv, CsvRows({"1969-12-31", "1969-12-31"}));
}

TEST(OutputFormat, TimestampsBefore1970WithFractions) {
  // -1 us and -1.5 s: the fraction counts forward from the earlier whole second.
  auto zoned =
      Forms(FromJson(arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"), "[-1, -1500000, 0]"));
  std::vector<std::string> texts = {"1969-12-31T23:59:59.999999Z", "1969-12-31T23:59:58.500Z",
                                    "1970-01-01T00:00:00Z"};
  EXPECT_EQ(zoned.json,
            JsonRows({"\"" + texts[0] + "\"", "\"" + texts[1] + "\"", "\"" + texts[2] + "\""}));
  EXPECT_EQ(zoned.ndjson,
            NdjsonRows({"\"" + texts[0] + "\"", "\"" + texts[1] + "\"", "\"" + texts[2] + "\""}));
  EXPECT_EQ(zoned.csv, CsvRows(texts));
  EXPECT_EQ(TableCells(zoned.table), texts);
  auto nanos = Forms(FromJson(arrow::timestamp(arrow::TimeUnit::NANO, "UTC"), "[-1]"));
  EXPECT_EQ(nanos.csv, CsvRows({"1969-12-31T23:59:59.999999999Z"}));
}

TEST(OutputFormat, TimestampsWithoutZoneHaveNoZone) {
  // TIMESTAMP_NTZ is a wall-clock reading, not an instant: no "Z", in any format.
  auto forms = Forms(FromJson(arrow::timestamp(arrow::TimeUnit::MICRO), "[1767225600000001, -1]"));
  std::vector<std::string> texts = {"2026-01-01T00:00:00.000001", "1969-12-31T23:59:59.999999"};
  EXPECT_EQ(forms.json, JsonRows({"\"" + texts[0] + "\"", "\"" + texts[1] + "\""}));
  EXPECT_EQ(forms.ndjson, NdjsonRows({"\"" + texts[0] + "\"", "\"" + texts[1] + "\""}));
  EXPECT_EQ(forms.csv, CsvRows(texts));
  EXPECT_EQ(TableCells(forms.table), texts);
}

TEST(OutputFormat, DurationsAreIso8601Seconds) {
  // What subtracting timestamps gives in SQL; written as ROAPI writes it.
  auto forms =
      Forms(FromJson(arrow::duration(arrow::TimeUnit::MICRO), "[90061001000, -1500000, 0, null]"));
  std::vector<std::string> texts = {"PT90061.001S", "-PT1.5S", "P0D"};
  EXPECT_EQ(forms.json, JsonRows({R"("PT90061.001S")", R"("-PT1.5S")", R"("P0D")", "null"}));
  EXPECT_EQ(forms.ndjson, NdjsonRows({R"("PT90061.001S")", R"("-PT1.5S")", R"("P0D")", "null"}));
  EXPECT_EQ(forms.csv, CsvRows({texts[0], texts[1], texts[2], ""}));
  EXPECT_EQ(TableCells(forms.table), Cells({texts[0], texts[1], texts[2], "NULL"}));
  auto nanos = Forms(FromJson(arrow::duration(arrow::TimeUnit::NANO), "[1]"));
  EXPECT_EQ(nanos.csv, CsvRows({"PT0.000000001S"}));
}

TEST(OutputFormat, ListsAreJsonArraysInEveryFormat) {
  auto forms = Forms(FromJson(arrow::list(arrow::utf8()), R"([["a", "b,\"c"], [], null, [null]])"));
  EXPECT_EQ(forms.json, JsonRows({R"(["a","b,\"c"])", "[]", "null", "[null]"}));
  EXPECT_EQ(forms.ndjson, NdjsonRows({R"(["a","b,\"c"])", "[]", "null", "[null]"}));
  // In CSV the JSON text is one quoted field.
  EXPECT_EQ(forms.csv, CsvRows({R"("[""a"",""b,\""c""]")", R"("[]")", "", R"("[null]")"}));
  EXPECT_EQ(TableCells(forms.table), Cells({R"(["a","b,\"c"])", "[]", "NULL", "[null]"}));

  auto nested = Forms(FromJson(arrow::large_list(arrow::list(arrow::float64())), "[[[1.5], []]]"));
  EXPECT_EQ(nested.json, JsonRows({"[[1.5],[]]"}));
  auto binary = Forms(FromJson(arrow::fixed_size_list(arrow::binary(), 2), R"([["a", null]])"));
  EXPECT_EQ(binary.json, JsonRows({R"(["61",null])"}));
  EXPECT_EQ(TableCells(binary.table), Cells({R"(["61",null])"}));
}

TEST(OutputFormat, StructsAreJsonObjectsInEveryFormat) {
  auto type = arrow::struct_({arrow::field("x", arrow::int32()), arrow::field("b", arrow::binary()),
                              arrow::field("t", arrow::date32())});
  auto forms = Forms(FromJson(type, R"([{"x": 1, "b": "a", "t": -1}, {"x": null}, null])"));
  EXPECT_EQ(forms.json, JsonRows({R"({"x":1,"b":"61","t":"1969-12-31"})",
                                  R"({"x":null,"b":null,"t":null})", "null"}));
  EXPECT_EQ(forms.ndjson, NdjsonRows({R"({"x":1,"b":"61","t":"1969-12-31"})",
                                      R"({"x":null,"b":null,"t":null})", "null"}));
  EXPECT_EQ(forms.csv, CsvRows({R"("{""x"":1,""b"":""61"",""t"":""1969-12-31""}")",
                                R"("{""x"":null,""b"":null,""t"":null}")", ""}));
  EXPECT_EQ(TableCells(forms.table), Cells({R"({"x":1,"b":"61","t":"1969-12-31"})",
                                            R"({"x":null,"b":null,"t":null})", "NULL"}));
}

TEST(OutputFormat, MapsAreJsonObjectsKeyedByTheKeysText) {
  // Keys are escaped once: a quote in a key stays one escaped quote.
  auto forms = Forms(FromJson(arrow::map(arrow::utf8(), arrow::int32()),
                              R"([[["k", 1], ["a\"b", null]], [], null])"));
  EXPECT_EQ(forms.json, JsonRows({R"({"k":1,"a\"b":null})", "{}", "null"}));
  EXPECT_EQ(forms.ndjson, NdjsonRows({R"({"k":1,"a\"b":null})", "{}", "null"}));
  EXPECT_EQ(forms.csv, CsvRows({R"("{""k"":1,""a\""b"":null}")", R"("{}")", ""}));
  EXPECT_EQ(TableCells(forms.table), Cells({R"({"k":1,"a\"b":null})", "{}", "NULL"}));

  auto binary_keys =
      Forms(FromJson(arrow::map(arrow::binary(), arrow::int64()), R"([[["a", 1]]])"));
  EXPECT_EQ(binary_keys.json, JsonRows({R"({"61":1})"}));
}

TEST(OutputFormat, StringsInCsvAreQuotedSoEmptyDiffersFromNull) {
  auto forms = Forms(FromJson(arrow::utf8(), R"(["a,\"b", "", null, "line\nbreak"])"));
  EXPECT_EQ(forms.csv, CsvRows({R"("a,""b")", R"("")", "", "\"line\nbreak\""}));
}

TEST(OutputFormat, TextTableEscapesControlCharactersAndAlignsUtf8) {
  auto column = FromJson(arrow::utf8(), R"(["a\tb\nc\u001b[31m", "äé"])");
  auto batch = arrow::RecordBatch::Make(
      arrow::schema({arrow::field("v", arrow::utf8()), arrow::field("n", arrow::int32())}), 2,
      {column, FromJson(arrow::int32(), "[1, 2]")});
  auto reader = arrow::RecordBatchReader::Make({batch}).ValueOrDie();
  std::ostringstream table;
  ASSERT_TRUE(WriteTextTable(*reader, table).ok());
  // A string cannot break the layout or send escape sequences to the terminal, and a column is
  // as wide as its widest cell in characters, not bytes.
  EXPECT_EQ(table.str(),
            "v               | n\n"
            "--------------- | -\n"
            "a\\tb\\nc\\x1b[31m | 1\n"
            "äé              | 2\n"
            "(2 rows)\n");
}

TEST(OutputFormat, CsvOfEmptyResultIsTheHeader) {
  auto schema =
      arrow::schema({arrow::field("a", arrow::int32()), arrow::field("b\"", arrow::utf8())});
  auto reader = arrow::RecordBatchReader::Make({}, schema).ValueOrDie();
  auto sink = arrow::io::BufferOutputStream::Create().ValueOrDie();
  auto rows = WriteBatches(*reader, OutputFormat::kCsv, sink);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(*rows, 0);
  EXPECT_EQ(sink->Finish().ValueOrDie()->ToString(), "\"a\",\"b\"\"\"\n");
}

TEST(OutputFormat, UnknownFormatIsAnError) {
  auto result = ParseOutputFormat("xml");
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("xml"), std::string::npos);
}

}  // namespace
}  // namespace nlk::format
