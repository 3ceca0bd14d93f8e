#include <arrow/api.h>
#include <arrow/json/from_string.h>
#include <arrow/util/byte_size.h>
#include <arrow/util/key_value_metadata.h>
#include <gtest/gtest.h>

#include "delta/data/array_conform.h"
#include "delta/data/column_mapping.h"
#include "delta/data/schema.h"
#include "delta/data/schema_enforcement.h"

namespace nlk::delta::data {
namespace {

// The example of PROTOCOL.md "Schema Serialization Format", compacted.
constexpr char kSpecExample[] =
    R"({"type":"struct","fields":[)"
    R"({"name":"a","type":"integer","nullable":false,"metadata":{}},)"
    R"({"name":"b","type":{"type":"struct","fields":[{"name":"d","type":"integer","nullable":false,"metadata":{}}]},"nullable":true,"metadata":{}},)"
    R"({"name":"c","type":{"type":"array","elementType":"integer","containsNull":false},"nullable":true,"metadata":{}},)"
    R"({"name":"e","type":{"type":"array","elementType":{"type":"struct","fields":[{"name":"d","type":"integer","nullable":false,"metadata":{}}]},"containsNull":true},"nullable":true,"metadata":{}},)"
    R"({"name":"f","type":{"type":"map","keyType":"string","valueType":"string","valueContainsNull":true},"nullable":true,"metadata":{}}]})";

TEST(Schema, ParsesAndReserializesTheSpecExample) {
  auto schema = ParseDeltaSchema(kSpecExample);
  ASSERT_TRUE(schema.ok()) << schema.status();
  EXPECT_TRUE((*schema)->field(0)->type()->Equals(arrow::int32()));
  EXPECT_FALSE((*schema)->field(0)->nullable());
  EXPECT_EQ((*schema)->field(1)->type()->ToString(), "struct<d: int32 not null>");
  EXPECT_EQ((*schema)->field(2)->type()->ToString(), "list<element: int32 not null>");
  EXPECT_EQ((*schema)->field(4)->type()->ToString(), "map<string, string>");
  EXPECT_EQ(*SerializeDeltaSchema(**schema), kSpecExample);
}

TEST(Schema, MapsEveryPrimitiveType) {
  const std::vector<std::pair<std::string, std::shared_ptr<arrow::DataType>>> cases = {
      {"string", arrow::utf8()},
      {"long", arrow::int64()},
      {"integer", arrow::int32()},
      {"short", arrow::int16()},
      {"byte", arrow::int8()},
      {"float", arrow::float32()},
      {"double", arrow::float64()},
      {"decimal(12,3)", arrow::decimal128(12, 3)},
      {"boolean", arrow::boolean()},
      {"binary", arrow::binary()},
      {"date", arrow::date32()},
      {"timestamp", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")},
      {"timestamp_ntz", arrow::timestamp(arrow::TimeUnit::MICRO)},
  };
  for (const auto& [name, type] : cases) {
    std::string json = R"({"type":"struct","fields":[{"name":"x","type":")" + name +
                       R"(","nullable":true,"metadata":{}}]})";
    auto schema = ParseDeltaSchema(json);
    ASSERT_TRUE(schema.ok()) << name << ": " << schema.status();
    EXPECT_TRUE((*schema)->field(0)->type()->Equals(*type)) << name;
    EXPECT_EQ(*SerializeDeltaSchema(**schema), json);
  }
}

TEST(Schema, KeepsColumnMetadataVerbatim) {
  std::string json =
      R"({"type":"struct","fields":[{"name":"x","type":"long","nullable":true,"metadata":)"
      R"({"delta.columnMapping.id":5,"delta.columnMapping.physicalName":"col-1","comment":"hi","n":{"a":[1,2]}}}]})";
  auto schema = ParseDeltaSchema(json);
  ASSERT_TRUE(schema.ok()) << schema.status();
  EXPECT_EQ(*SerializeDeltaSchema(**schema), json);
}

TEST(Schema, RejectsUnsupportedTypesNamingTheColumn) {
  auto variant = ParseDeltaSchema(
      R"({"type":"struct","fields":[{"name":"s","type":{"type":"struct","fields":[)"
      R"({"name":"raw","type":"variant","nullable":true,"metadata":{}}]},"nullable":true,"metadata":{}}]})");
  ASSERT_FALSE(variant.ok());
  EXPECT_NE(variant.status().message().find("s.raw"), std::string::npos);
  EXPECT_NE(variant.status().message().find("variant"), std::string::npos);
  EXPECT_FALSE(ParseDeltaSchema("not json").ok());
  EXPECT_FALSE(ParseDeltaSchema(
                   R"json({"type":"struct","fields":[{"name":"x","type":"decimal(50,2)"}]})json")
                   .ok());
  auto unsigned_type = SerializeDeltaSchema(*arrow::schema({arrow::field("u", arrow::uint32())}));
  ASSERT_FALSE(unsigned_type.ok());
  EXPECT_NE(unsigned_type.status().message().find("'u'"), std::string::npos);
}

TEST(ColumnMapping, BuildsThePhysicalSchema) {
  auto schema = ParseDeltaSchema(
      R"({"type":"struct","fields":[)"
      R"({"name":"asset","type":"string","nullable":true,"metadata":{"delta.columnMapping.id":1,"delta.columnMapping.physicalName":"col-a"}},)"
      R"({"name":"nested","type":{"type":"struct","fields":[{"name":"inner","type":"long","nullable":true,"metadata":{"delta.columnMapping.id":3,"delta.columnMapping.physicalName":"col-c"}}]},"nullable":true,"metadata":{"delta.columnMapping.id":2,"delta.columnMapping.physicalName":"col-b"}}]})");
  ASSERT_TRUE(schema.ok()) << schema.status();
  auto physical = PhysicalSchema(**schema, ColumnMappingMode::kName);
  ASSERT_TRUE(physical.ok()) << physical.status();
  EXPECT_EQ((*physical)->field(0)->name(), "col-a");
  EXPECT_EQ((*physical)->field(1)->name(), "col-b");
  EXPECT_EQ((*physical)->field(1)->type()->field(0)->name(), "col-c");
  EXPECT_EQ(*(*physical)->field(1)->metadata()->Get("PARQUET:field_id"), "2");
  EXPECT_EQ(*(*physical)->field(1)->type()->field(0)->metadata()->Get("PARQUET:field_id"), "3");

  auto none = PhysicalSchema(**schema, ColumnMappingMode::kNone);
  EXPECT_EQ((*none)->field(0)->name(), "asset");
  EXPECT_EQ((*none)->field(0)->metadata(), nullptr);

  EXPECT_EQ(*ColumnMappingModeOf({{"delta.columnMapping.mode", "id"}}), ColumnMappingMode::kId);
  EXPECT_EQ(*ColumnMappingModeOf({}), ColumnMappingMode::kNone);
  EXPECT_FALSE(ColumnMappingModeOf({{"delta.columnMapping.mode", "bogus"}}).ok());

  EXPECT_EQ(*MaxColumnIdOf({}), 0);
  EXPECT_EQ(*MaxColumnIdOf({{"delta.columnMapping.maxColumnId", "17"}}), 17);
  for (const char* bad : {"", "x", "-1", "12abc", "99999999999999999999999"}) {
    EXPECT_FALSE(MaxColumnIdOf({{"delta.columnMapping.maxColumnId", bad}}).ok()) << bad;
  }

  auto unmapped = arrow::schema({arrow::field("x", arrow::int32())});
  EXPECT_FALSE(PhysicalSchema(*unmapped, ColumnMappingMode::kName).ok());
}

TEST(ColumnMapping, AssignsNamesAndIds) {
  auto schema =
      arrow::schema({arrow::field("a", arrow::int32()),
                     arrow::field("s", arrow::struct_({arrow::field("b", arrow::utf8())}))});
  int64_t max_id = 0;
  auto assigned = AssignColumnMapping(*schema, &max_id);
  ASSERT_TRUE(assigned.ok()) << assigned.status();
  EXPECT_EQ(max_id, 3);
  auto info = ColumnMappingOf(*(*assigned)->field(0));
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->physical_name->starts_with("col-"));
  EXPECT_TRUE(info->field_id.has_value());
  // Survives a trip through the schema string.
  auto reparsed = ParseDeltaSchema(*SerializeDeltaSchema(**assigned));
  ASSERT_TRUE(reparsed.ok());
  EXPECT_EQ(*PhysicalName(*(*reparsed)->field(0), ColumnMappingMode::kName), *info->physical_name);
}

TEST(SchemaEnforcement, ListsEveryProblemByName) {
  auto table =
      arrow::schema({arrow::field("id", arrow::int64(), false), arrow::field("name", arrow::utf8()),
                     arrow::field("score", arrow::float64())});
  auto incoming =
      arrow::schema({arrow::field("name", arrow::int32()), arrow::field("extra", arrow::utf8()),
                     arrow::field("score", arrow::float64())});
  auto status = CheckWriteSchema(*table, *incoming);
  ASSERT_FALSE(status.ok());
  const std::string& message = status.message();
  EXPECT_NE(message.find("missing non-nullable columns: id"), std::string::npos) << message;
  EXPECT_NE(message.find("columns not in the table: extra"), std::string::npos) << message;
  EXPECT_NE(message.find("name (table \"string\", data \"integer\")"), std::string::npos)
      << message;
  // A missing nullable column is fine.
  EXPECT_TRUE(CheckWriteSchema(*table, *arrow::schema({arrow::field("id", arrow::int64())})).ok());
}

TEST(SchemaEnforcement, MergesNewColumns) {
  auto table =
      arrow::schema({arrow::field("id", arrow::int64(), false),
                     arrow::field("s", arrow::struct_({arrow::field("a", arrow::int32())}))});
  auto incoming =
      arrow::schema({arrow::field("id", arrow::int64()),
                     arrow::field("s", arrow::struct_({arrow::field("a", arrow::int32()),
                                                       arrow::field("b", arrow::utf8(), false)})),
                     arrow::field("added", arrow::timestamp(arrow::TimeUnit::NANO, "UTC"))});
  auto merged = MergeSchemas(*table, *incoming, ColumnMappingMode::kNone, nullptr);
  ASSERT_TRUE(merged.ok()) << merged.status();
  auto schema = ParseDeltaSchema(*merged);
  ASSERT_TRUE(schema.ok());
  EXPECT_EQ((*schema)->ToString(),
            "id: int64 not null\ns: struct<a: int32, b: string>\nadded: timestamp[us, tz=UTC]");
  auto conflicting = arrow::schema({arrow::field("id", arrow::utf8())});
  EXPECT_FALSE(MergeSchemas(*table, *conflicting, ColumnMappingMode::kNone, nullptr).ok());
}

// RowBytes must count what Arrow's walk of the referenced buffer ranges counts, for whole arrays
// and for slices that start and end mid-byte, since a writer's row groups are cut by it.
TEST(RowBytes, AgreesWithArrowsReferencedBufferSize) {
  auto from_json = [](const std::shared_ptr<arrow::DataType>& type, const std::string& text) {
    return arrow::json::ArrayFromJSONString(type, text).ValueOrDie();
  };
  auto dictionary_type = arrow::dictionary(arrow::int8(), arrow::utf8());
  auto dictionary =
      arrow::DictionaryArray::FromArrays(
          dictionary_type, from_json(arrow::int8(), "[0, 1, null, 1, 0, 2, 2, 1, 0, 1, 0]"),
          from_json(arrow::utf8(), R"(["left", "right", "a much longer value"])"))
          .ValueOrDie();
  std::vector<std::shared_ptr<arrow::Array>> arrays = {
      from_json(arrow::int64(), "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]"),
      from_json(arrow::int32(), "[1, null, 3, 4, null, 6, 7, 8, 9, null, 11]"),
      from_json(arrow::float32(), "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]"),
      from_json(arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"),
                "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, null]"),
      from_json(arrow::utf8(),
                R"(["a", "bb", null, "dddd", "", "ffffff", "g", "hh", "i", "j", "k"])"),
      from_json(arrow::large_binary(),
                R"(["a", "bb", "ccc", null, "", "f", "g", "h", "i", "j", "k"])"),
      from_json(arrow::boolean(),
                "[true, false, null, true, true, false, true, false, true, true, false]"),
      from_json(arrow::list(arrow::int32()),
                "[[1], [2, 3], null, [], [4], [5], [6], [7], [8], [9], [10]]"),
      dictionary};
  for (const auto& array : arrays) {
    for (auto [offset, length] : {std::pair<int64_t, int64_t>{0, 11}, {3, 5}, {9, 2}, {4, 0}}) {
      auto slice = array->Slice(offset, length);
      auto expected = arrow::util::ReferencedBufferSize(*slice->data());
      ASSERT_TRUE(expected.ok()) << expected.status();
      auto counted = RowBytes(*slice->data());
      ASSERT_TRUE(counted.ok()) << counted.status();
      EXPECT_EQ(*counted, *expected)
          << array->type()->ToString() << " rows " << offset << "+" << length;
    }
  }
  auto batch = arrow::RecordBatch::Make(
      arrow::schema({arrow::field("a", arrow::int64()), arrow::field("s", arrow::utf8())}), 11,
      {arrays[0], arrays[4]});
  EXPECT_EQ(*RowBytes(*batch->Slice(2, 7)),
            *arrow::util::ReferencedBufferSize(*batch->Slice(2, 7)));
}

}  // namespace
}  // namespace nlk::delta::data
