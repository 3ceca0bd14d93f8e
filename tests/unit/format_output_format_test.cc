#include "format/output_format.h"

#include <arrow/api.h>
#include <arrow/io/memory.h>
#include <arrow/ipc/reader.h>
#include <arrow/json/from_string.h>
#include <gtest/gtest.h>
#include <parquet/arrow/reader.h>

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

TEST(OutputFormat, UnknownFormatIsAnError) {
  auto result = ParseOutputFormat("xml");
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("xml"), std::string::npos);
}

}  // namespace
}  // namespace nlk::format
