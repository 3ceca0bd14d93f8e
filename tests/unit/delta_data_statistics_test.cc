#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/compute/expression.h>
#include <arrow/io/memory.h>
#include <arrow/json/from_string.h>
#include <gtest/gtest.h>
#include <parquet/arrow/writer.h>
#include <parquet/properties.h>

#include "delta/data/data_skipping.h"
#include "delta/data/schema.h"
#include "delta/data/statistics.h"

namespace nlk::delta::data {
namespace {

namespace cp = arrow::compute;

std::shared_ptr<arrow::Array> Json(const std::shared_ptr<arrow::DataType>& type,
                                   const std::string& text) {
  return arrow::json::ArrayFromJSONString(type, text).ValueOrDie();
}

std::shared_ptr<arrow::Table> SampleTable() {
  auto ts_type = arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
  auto s_type = arrow::struct_({arrow::field("x", arrow::float64())});
  auto schema = arrow::schema({arrow::field("id", arrow::int64()),
                               arrow::field("name", arrow::utf8()), arrow::field("ts", ts_type),
                               arrow::field("flag", arrow::boolean()), arrow::field("s", s_type)});
  std::string long_name(40, 'z');
  arrow::ArrayVector columns = {
      Json(arrow::int64(), "[5, -2, 9, null]"),
      Json(arrow::utf8(), R"(["b", "a", ")" + long_name + R"(", "m"])"),
      Json(ts_type, "[1500, 2000001, 1000000, 3]"),
      Json(arrow::boolean(), "[true, false, true, true]"),
      Json(s_type, R"([{"x": 1.5}, {"x": null}, {"x": -3.25}, {"x": 2}])")};
  return arrow::Table::Make(schema, columns);
}

TEST(Statistics, ComputesNestedStatsLikeSpark) {
  auto json = ComputeStatisticsJson(*SampleTable(), ColumnMappingMode::kNone);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(*json,
            R"({"numRecords":4,)"
            R"("minValues":{"id":-2,"name":"a","ts":"1970-01-01T00:00:00.000Z","s":{"x":-3.25}},)"
            R"("maxValues":{"id":9,"name":"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz)"
            "\xF4\x8F\xBF\xBF"
            R"(","ts":"1970-01-01T00:00:02.001Z","s":{"x":2}},)"
            R"("nullCount":{"id":1,"name":0,"ts":0,"flag":0,"s":{"x":1}}})");
}

TEST(Statistics, ParsesBackTypedAndWidened) {
  auto table = SampleTable();
  auto json = ComputeStatisticsJson(*table, ColumnMappingMode::kNone);
  ASSERT_TRUE(json.ok());
  auto parser = StatisticsParser::Make(*table->schema(), ColumnMappingMode::kNone);
  ASSERT_TRUE(parser.ok());
  auto stats = parser->Parse(*json);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->num_records, 4);
  const auto* id = stats->Find({"id"});
  ASSERT_NE(id, nullptr);
  EXPECT_TRUE(id->min->Equals(*arrow::MakeScalar(int64_t{-2})));
  EXPECT_TRUE(id->max->Equals(*arrow::MakeScalar(int64_t{9})));
  EXPECT_EQ(id->null_count, 1);
  const auto* ts = stats->Find({"ts"});
  ASSERT_NE(ts, nullptr);
  // 2'000'001 us rounds up to 2.001 s, then widened by 999 us on read.
  EXPECT_EQ(static_cast<const arrow::TimestampScalar&>(*ts->max).value, 2'001'999);
  const auto* x = stats->Find({"s", "x"});
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->null_count, 1);
  EXPECT_EQ(stats->Find({"flag"})->min, nullptr);  // booleans get no min/max
  EXPECT_FALSE(parser->Parse("not json").ok());
}

TEST(Statistics, DecimalsAndNaN) {
  auto schema = arrow::schema(
      {arrow::field("d", arrow::decimal128(10, 2)), arrow::field("f", arrow::float64())});
  auto table = arrow::Table::Make(schema, {Json(arrow::decimal128(10, 2), R"(["1.25", "-0.50"])"),
                                           Json(arrow::float64(), "[1, NaN]")});
  auto json = ComputeStatisticsJson(*table, ColumnMappingMode::kNone);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(*json, R"({"numRecords":2,"minValues":{"d":-0.50},"maxValues":{"d":1.25},)"
                   R"("nullCount":{"d":0,"f":0}})");
  auto stats = StatisticsParser::Make(*schema, ColumnMappingMode::kNone)->Parse(*json);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->Find({"d"})->min->ToString(), "-0.50");
}

// Bounds are dropped for a float column holding NaN or an infinity in a valid row, of either
// width, in any slice, and kept when such bits sit only under a null.
TEST(Statistics, NonFiniteValuesDropFloatBoundsButNullSlotsDoNot) {
  auto bounds_of = [](const std::shared_ptr<arrow::Array>& values) {
    auto schema = arrow::schema({arrow::field("f", values->type())});
    auto table = arrow::Table::Make(schema, {values});
    return ComputeStatisticsJson(*table, ColumnMappingMode::kNone).ValueOrDie();
  };
  for (const auto& type : {arrow::float32(), arrow::float64()}) {
    SCOPED_TRACE(type->ToString());
    EXPECT_EQ(bounds_of(Json(type, "[1, Inf, 2]")).find("minValues\":{\"f"), std::string::npos);
    EXPECT_EQ(bounds_of(Json(type, "[1, -Inf, 2]")).find("minValues\":{\"f"), std::string::npos);
    EXPECT_EQ(bounds_of(Json(type, "[1, null, NaN]")).find("minValues\":{\"f"), std::string::npos);
    // Sliced past the infinity: finite again.
    EXPECT_NE(bounds_of(Json(type, "[Inf, 1, 2]")->Slice(1)).find("minValues\":{\"f\":1"),
              std::string::npos);
    // An infinity under a null is no value at all.
    auto values = Json(type, "[1, Inf, 2]")->data()->Copy();
    values->buffers[0] = arrow::AllocateBitmap(3).ValueOrDie();
    uint8_t* validity = values->buffers[0]->mutable_data();
    validity[0] = 0b101;
    values->null_count = 1;
    std::string json = bounds_of(arrow::MakeArray(values));
    EXPECT_NE(json.find("\"maxValues\":{\"f\":2"), std::string::npos) << json;
  }
}

// Writes `row_groups` as one Parquet file (one row group each, statistics on or off) and
// returns its footer.
std::shared_ptr<parquet::FileMetaData> WriteRowGroups(
    const std::vector<std::vector<std::shared_ptr<arrow::RecordBatch>>>& row_groups,
    bool statistics) {
  auto sink = arrow::io::BufferOutputStream::Create().ValueOrDie();
  parquet::WriterProperties::Builder properties;
  if (!statistics) properties.disable_statistics();
  auto writer =
      parquet::arrow::FileWriter::Open(*row_groups.front().front()->schema(),
                                       arrow::default_memory_pool(), sink, properties.build())
          .ValueOrDie();
  for (const auto& pieces : row_groups) {
    auto table = arrow::Table::FromRecordBatches(pieces).ValueOrDie();
    EXPECT_TRUE(writer->WriteTable(*table, table->num_rows()).ok());
  }
  EXPECT_TRUE(writer->Close().ok());
  return writer->metadata();
}

// A row group given as pieces (a stream's messages) has its non-string columns measured over
// all pieces at once and its bounds of strings, integers, dates, floats and micro/millisecond
// timestamps read from the Parquet footer; the result must be what the rows give in one table,
// whatever each piece holds: only nulls, NaN (which drops the column's bounds), -0, the
// extremes, a struct, nanosecond timestamps (measured, not read).
TEST(Statistics, RowGroupsOfPiecesMatchTheWholeTable) {
  auto s_type = arrow::struct_({arrow::field("x", arrow::float32())});
  auto ns_type = arrow::timestamp(arrow::TimeUnit::NANO);
  auto schema =
      arrow::schema({arrow::field("i", arrow::int32()), arrow::field("l", arrow::int64()),
                     arrow::field("d", arrow::float64()), arrow::field("n", arrow::float64()),
                     arrow::field("day", arrow::date32()),
                     arrow::field("ts", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")),
                     arrow::field("s", s_type), arrow::field("name", arrow::utf8()),
                     arrow::field("b", arrow::int8()), arrow::field("ns", ns_type),
                     arrow::field("z", arrow::float32())});
  auto piece = [&](std::vector<std::string> values) {
    arrow::ArrayVector columns;
    for (int i = 0; i < schema->num_fields(); ++i) {
      columns.push_back(Json(schema->field(i)->type(), values[i]));
    }
    return arrow::RecordBatch::Make(schema, 2, columns);
  };
  std::vector<std::shared_ptr<arrow::RecordBatch>> first = {
      piece({"[3, null]", "[null, null]", "[0.5, -1]", "[1, 2]", "[10, 11]", "[5, 6]",
             R"([{"x": 1}, null])", R"(["m", "q"])", "[-128, 5]", "[1, 2]", "[0, 0]"}),
      piece({"[-7, 2]", "[9, -9]", "[null, 2.5]", "[NaN, 3]", "[null, 9]", "[7000, 1]",
             R"([{"x": -2}, {"x": null}])", R"([null, "b"])", "[127, 0]", "[1999999, 3]",
             "[0, -0.0]"})};
  std::vector<std::shared_ptr<arrow::RecordBatch>> second = {piece(
      {"[null, null]", "[4, 100]", "[-8, -0.0]", "[0, 0]", "[20, 1]", "[null, 2000001]",
       R"([null, {"x": 4.5}])", R"(["zz", null])", "[null, 1]", "[null, 7]", "[-0.0, null]"})};
  std::vector<std::shared_ptr<arrow::RecordBatch>> all = first;
  all.insert(all.end(), second.begin(), second.end());
  auto whole = arrow::Table::FromRecordBatches(all).ValueOrDie()->CombineChunks().ValueOrDie();
  auto expected = ComputeStatisticsJson(*whole, ColumnMappingMode::kNone);
  ASSERT_TRUE(expected.ok()) << expected.status();
  EXPECT_EQ(*expected,
            R"({"numRecords":6,"minValues":{"i":-7,"l":-9,"d":-8,"day":"1970-01-02",)"
            R"("ts":"1970-01-01T00:00:00.000Z","s":{"x":-2},"name":"b","b":-128,)"
            R"("ns":"1970-01-01T00:00:00.000","z":0},"maxValues":{"i":3,"l":100,"d":2.5,)"
            R"("day":"1970-01-21","ts":"1970-01-01T00:00:02.001Z","s":{"x":4.5},"name":"zz",)"
            R"("b":127,"ns":"1970-01-01T00:00:00.002","z":0},"nullCount":{"i":3,"l":2,"d":1,)"
            R"("n":0,"day":1,"ts":1,"s":{"x":3},"name":2,"b":1,"ns":1,"z":1}})");

  auto collect = [&](const parquet::FileMetaData& footer) {
    auto collector = StatisticsCollector::Make(*schema, ColumnMappingMode::kNone).ValueOrDie();
    EXPECT_TRUE(collector->UpdateRowGroup(first).ok());
    EXPECT_TRUE(collector->UpdateRowGroup(second).ok());
    EXPECT_TRUE(collector->ReadParquetBounds(footer).ok());
    return collector->ToJson();
  };
  EXPECT_EQ(collect(*WriteRowGroups({first, second}, true)), *expected);

  // Without footer statistics only the measured columns keep bounds; nothing is made up.
  EXPECT_EQ(collect(*WriteRowGroups({first, second}, false)),
            R"({"numRecords":6,"minValues":{"s":{"x":-2},"ns":"1970-01-01T00:00:00.000"},)"
            R"("maxValues":{"s":{"x":4.5},"ns":"1970-01-01T00:00:00.002"},"nullCount":{"i":3,)"
            R"("l":2,"d":1,"n":0,"day":1,"ts":1,"s":{"x":3},"name":2,"b":1,"ns":1,"z":1}})");
}

// A string column whose footer has no statistics is measured from its pieces: strings, one-value
// strings, and dictionaries, where only the entries that valid rows reference count: not "zzz",
// the index under a null row, nor "a", referenced only beyond the piece's slice, nor the entries
// of an all-null piece. Without MeasureStringBounds the same footer leaves no bounds.
TEST(Statistics, StringsWithoutFooterStatisticsAreMeasuredFromTheirDictionaries) {
  auto schema = arrow::schema({arrow::field("name", arrow::utf8())});
  auto dictionary_type = arrow::dictionary(arrow::int32(), arrow::utf8());
  auto encoded = [&](const std::string& indices, const std::string& dictionary) {
    auto array = arrow::DictionaryArray::FromArrays(dictionary_type, Json(arrow::int32(), indices),
                                                    Json(arrow::utf8(), dictionary))
                     .ValueOrDie();
    return arrow::RecordBatch::Make(schema, array->length(), {array});
  };
  auto strings = [&](const std::string& values) {
    auto array = Json(arrow::utf8(), values);
    return arrow::RecordBatch::Make(schema, array->length(), {array});
  };
  std::vector<std::shared_ptr<arrow::RecordBatch>> row_group = {
      encoded("[1, null, 2, 3]", R"(["zzz", "c", "m", "a"])")->Slice(0, 3),
      encoded("[0, 0, null]", R"(["k"])"), strings(R"(["j", "j"])"), strings(R"(["p", null, "d"])"),
      encoded("[null, null]", R"(["0", "~"])")};
  // The same rows decoded, for a footer (without statistics) of the row group.
  std::vector<std::shared_ptr<arrow::RecordBatch>> decoded;
  for (const auto& piece : row_group) {
    std::shared_ptr<arrow::Array> column =
        arrow::compute::Cast(*piece->column(0), arrow::utf8()).ValueOrDie();
    decoded.push_back(arrow::RecordBatch::Make(schema, piece->num_rows(), {column}));
  }
  auto footer = WriteRowGroups({decoded}, false);
  auto collect = [&](bool measure) {
    auto collector = StatisticsCollector::Make(*schema, ColumnMappingMode::kNone).ValueOrDie();
    if (measure) {
      EXPECT_TRUE(collector->MeasureStringBounds("name").ok());
    }
    EXPECT_TRUE(collector->UpdateRowGroup(row_group).ok());
    EXPECT_TRUE(collector->ReadParquetBounds(*footer).ok());
    return collector->ToJson();
  };
  EXPECT_EQ(collect(true), R"({"numRecords":13,"minValues":{"name":"c"},"maxValues":{"name":"p"},)"
                           R"("nullCount":{"name":5}})");
  EXPECT_EQ(collect(false), R"({"numRecords":13,"minValues":{},"maxValues":{},)"
                            R"("nullCount":{"name":5}})");

  auto collector = StatisticsCollector::Make(*schema, ColumnMappingMode::kNone).ValueOrDie();
  EXPECT_EQ(collector->MeasureStringBounds("other").code(), arrow::StatusCode::KeyError);
  auto numbers = StatisticsCollector::Make(*arrow::schema({arrow::field("n", arrow::int64())}),
                                           ColumnMappingMode::kNone)
                     .ValueOrDie();
  EXPECT_EQ(numbers->MeasureStringBounds("n").code(), arrow::StatusCode::TypeError);
}

TEST(DataSkipping, IsConservative) {
  FileStatistics bounds;
  bounds.num_records = 10;
  bounds.columns[{"v"}] = {arrow::MakeScalar(int32_t{10}), arrow::MakeScalar(int32_t{20}), 0};
  bounds.columns[{"n"}] = {nullptr, nullptr, 10};  // all null
  auto v = cp::field_ref("v");
  EXPECT_TRUE(MightMatch(cp::greater(v, cp::literal(15)), bounds));
  EXPECT_FALSE(MightMatch(cp::greater(v, cp::literal(20)), bounds));
  EXPECT_FALSE(MightMatch(cp::less(cp::literal(20), v), bounds));           // flipped operands
  EXPECT_TRUE(MightMatch(cp::equal(v, cp::literal(int64_t{10})), bounds));  // other int width
  EXPECT_FALSE(MightMatch(cp::equal(v, cp::literal(9)), bounds));
  EXPECT_FALSE(MightMatch(cp::not_(cp::greater_equal(v, cp::literal(10))), bounds));
  EXPECT_TRUE(
      MightMatch(cp::or_(cp::equal(v, cp::literal(9)), cp::equal(v, cp::literal(12))), bounds));
  EXPECT_FALSE(MightMatch(cp::and_(cp::equal(v, cp::literal(12)), cp::is_null(v)), bounds));
  EXPECT_FALSE(MightMatch(cp::is_valid(cp::field_ref("n")), bounds));
  EXPECT_FALSE(MightMatch(cp::equal(cp::field_ref("n"), cp::literal(1)), bounds));
  EXPECT_TRUE(MightMatch(cp::equal(cp::field_ref("unknown"), cp::literal(1)), bounds));
  EXPECT_TRUE(MightMatch(cp::call("add", {v, cp::literal(1)}), bounds));
  EXPECT_FALSE(
      MightMatch(cp::call("is_in", {v},
                          std::make_shared<cp::SetLookupOptions>(Json(arrow::int32(), "[1, 2]"))),
                 bounds));
  EXPECT_TRUE(
      MightMatch(cp::call("is_in", {v},
                          std::make_shared<cp::SetLookupOptions>(Json(arrow::int32(), "[1, 15]"))),
                 bounds));
}

// Every row passes only when the bounds leave no row that makes the filter false or null.
TEST(DataSkipping, JudgesWhenEveryRowMatches) {
  FileStatistics bounds;
  bounds.num_records = 10;
  bounds.columns[{"v"}] = {arrow::MakeScalar(int32_t{10}), arrow::MakeScalar(int32_t{20}), 0};
  bounds.columns[{"w"}] = {arrow::MakeScalar(int32_t{10}), arrow::MakeScalar(int32_t{20}), 2};
  bounds.columns[{"u"}] = {arrow::MakeScalar(int32_t{10}), arrow::MakeScalar(int32_t{20}),
                           std::nullopt};  // null count unknown
  bounds.columns[{"f"}] = {arrow::MakeScalar(1.0), arrow::MakeScalar(2.0), 0};
  auto all = [&](const cp::Expression& filter) { return JudgeFilter(filter, bounds).matches_all; };
  auto v = cp::field_ref("v");
  EXPECT_TRUE(all(cp::greater_equal(v, cp::literal(10))));
  EXPECT_TRUE(all(cp::and_(cp::greater_equal(v, cp::literal(5)), cp::less(v, cp::literal(21)))));
  EXPECT_FALSE(all(cp::greater(v, cp::literal(10))));                         // 10 itself fails
  EXPECT_FALSE(all(cp::greater_equal(cp::field_ref("w"), cp::literal(10))));  // nulls give null
  EXPECT_FALSE(all(cp::greater_equal(cp::field_ref("u"), cp::literal(10))));
  EXPECT_FALSE(all(cp::less(cp::field_ref("f"), cp::literal(3.0))));  // NaN compares false
  EXPECT_FALSE(all(cp::equal(cp::field_ref("unknown"), cp::literal(1))));
  EXPECT_TRUE(all(cp::is_valid(v)));
  // NOT IN with a null in the list is null for every other value.
  auto not_in = cp::not_(
      cp::call("is_in", {v},
               std::make_shared<cp::SetLookupOptions>(Json(arrow::int32(), "[1, null]"),
                                                      cp::SetLookupOptions::INCONCLUSIVE)));
  EXPECT_FALSE(all(not_in));
  EXPECT_TRUE(JudgeFilter(not_in, bounds).might_match);
  EXPECT_FALSE(all(cp::and_(cp::greater_equal(v, cp::literal(10)),
                            cp::is_valid(cp::field_ref("w")))));  // w has nulls
  // Kleene OR is true when one side is, whatever the other; the plain kernel is null when
  // either side is, and w's nulls make its comparison null.
  auto v_holds = cp::greater_equal(v, cp::literal(10));
  auto w_null_sometimes = cp::greater_equal(cp::field_ref("w"), cp::literal(0));
  EXPECT_TRUE(all(cp::or_(v_holds, w_null_sometimes)));
  EXPECT_FALSE(all(cp::call("or", {v_holds, w_null_sometimes})));
  EXPECT_FALSE(JudgeFilter(cp::greater(v, cp::literal(20)), bounds).might_match);
}

}  // namespace
}  // namespace nlk::delta::data
