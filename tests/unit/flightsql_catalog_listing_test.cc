// What Flight SQL's catalog commands list (schemas from dotted names, LIKE filters, the table
// schemas of include_schema) and what SqlInfo answers.
#include <arrow/array.h>
#include <arrow/io/memory.h>
#include <arrow/ipc/dictionary.h>
#include <arrow/ipc/reader.h>
#include <arrow/scalar.h>
#include <gtest/gtest.h>

#include "flightsql/catalog_listing.h"
#include "flightsql/sql_info.h"
#include "test_status.h"

namespace nlk::flightsql {
namespace {

std::vector<std::string> Strings(const std::shared_ptr<arrow::RecordBatch>& batch,
                                 const std::string& column) {
  auto array = std::static_pointer_cast<arrow::StringArray>(batch->GetColumnByName(column));
  std::vector<std::string> values;
  for (int64_t row = 0; row < array->length(); ++row) values.emplace_back(array->GetView(row));
  return values;
}

const std::vector<std::string> kTables = {"samples", "neural.spikes", "big", "neural.units"};

TEST(FlightSqlCatalogListingTest, LikePatterns) {
  EXPECT_TRUE(MatchesLikePattern("samples", "samples"));
  EXPECT_TRUE(MatchesLikePattern("samples", "sam%"));
  EXPECT_TRUE(MatchesLikePattern("samples", "%les"));
  EXPECT_TRUE(MatchesLikePattern("samples", "s_mpl_s"));
  EXPECT_TRUE(MatchesLikePattern("samples", "%"));
  EXPECT_TRUE(MatchesLikePattern("", "%"));
  EXPECT_TRUE(MatchesLikePattern("abcabc", "a%b%c"));
  EXPECT_TRUE(MatchesLikePattern("a_b", "a\\_b"));
  EXPECT_TRUE(MatchesLikePattern("50%", "50\\%"));
  EXPECT_FALSE(MatchesLikePattern("axb", "a\\_b"));
  EXPECT_FALSE(MatchesLikePattern("500", "50\\%"));
  EXPECT_FALSE(MatchesLikePattern("samples", "Samples"));
  EXPECT_FALSE(MatchesLikePattern("samples", "sample"));
  EXPECT_FALSE(MatchesLikePattern("samples", "_amples_"));
  EXPECT_FALSE(MatchesLikePattern("", "_"));
  EXPECT_FALSE(MatchesLikePattern("abcab", "a%b%c"));
}

TEST(FlightSqlCatalogListingTest, SchemasComeFromDottedNames) {
  EXPECT_EQ(SplitTableName("neural.spikes"),
            std::make_pair(std::string("neural"), std::string("spikes")));
  EXPECT_EQ(SplitTableName("samples"),
            std::make_pair(std::string("public"), std::string("samples")));
  ASSERT_OK_AND_ASSIGN(auto schemas, ListDbSchemas({}, kTables));
  EXPECT_EQ(Strings(schemas, "db_schema_name"), (std::vector<std::string>{"neural", "public"}));
  EXPECT_EQ(Strings(schemas, "catalog_name"), (std::vector<std::string>{"neuralake", "neuralake"}));
  ASSERT_OK_AND_ASSIGN(schemas, ListDbSchemas({std::nullopt, "neu%"}, kTables));
  EXPECT_EQ(Strings(schemas, "db_schema_name"), (std::vector<std::string>{"neural"}));
  ASSERT_OK_AND_ASSIGN(schemas, ListDbSchemas({"elsewhere", std::nullopt}, kTables));
  EXPECT_EQ(schemas->num_rows(), 0);
  // "public" exists even before any table is in it, as in PostgreSQL.
  ASSERT_OK_AND_ASSIGN(schemas, ListDbSchemas({}, {"neural.spikes"}));
  EXPECT_EQ(Strings(schemas, "db_schema_name"), (std::vector<std::string>{"neural", "public"}));
}

TEST(FlightSqlCatalogListingTest, TablesSortedFilteredAndWithTheirSchemas) {
  std::vector<std::string> asked;
  auto schema_of = [&](const std::string& name) -> arrow::Result<std::shared_ptr<arrow::Schema>> {
    asked.push_back(name);
    return arrow::schema({arrow::field(name + "_column", arrow::int32(), false)});
  };
  ASSERT_OK_AND_ASSIGN(auto tables, ListTables({}, kTables, schema_of));
  EXPECT_EQ(Strings(tables, "db_schema_name"),
            (std::vector<std::string>{"neural", "neural", "public", "public"}));
  EXPECT_EQ(Strings(tables, "table_name"),
            (std::vector<std::string>{"spikes", "units", "big", "samples"}));
  EXPECT_EQ(Strings(tables, "table_type"), std::vector<std::string>(4, "TABLE"));
  EXPECT_EQ(tables->num_columns(), 4);
  EXPECT_TRUE(asked.empty());

  CommandGetTables filtered;
  filtered.table_name_filter_pattern = "s%";
  filtered.include_schema = true;
  ASSERT_OK_AND_ASSIGN(tables, ListTables(filtered, kTables, schema_of));
  EXPECT_EQ(Strings(tables, "table_name"), (std::vector<std::string>{"spikes", "samples"}));
  EXPECT_EQ(asked, (std::vector<std::string>{"neural.spikes", "samples"}));
  ASSERT_TRUE(tables->schema()->Equals(*TablesSchema(true)));
  auto serialized = std::static_pointer_cast<arrow::BinaryArray>(tables->column(4));
  arrow::io::BufferReader input(arrow::Buffer::FromString(std::string(serialized->GetView(0))));
  arrow::ipc::DictionaryMemo memo;
  ASSERT_OK_AND_ASSIGN(auto columns, arrow::ipc::ReadSchema(&input, &memo));
  EXPECT_EQ(columns->field(0)->name(), "neural.spikes_column");

  CommandGetTables views;
  views.table_types = {"VIEW"};
  ASSERT_OK_AND_ASSIGN(tables, ListTables(views, kTables, schema_of));
  EXPECT_EQ(tables->num_rows(), 0);
  CommandGetTables schema_filter;
  schema_filter.db_schema_filter_pattern = "public";
  schema_filter.catalog = "neuralake";
  ASSERT_OK_AND_ASSIGN(tables, ListTables(schema_filter, kTables, schema_of));
  EXPECT_EQ(Strings(tables, "table_name"), (std::vector<std::string>{"big", "samples"}));
}

TEST(FlightSqlCatalogListingTest, SqlInfoAnswersWhatIsAskedInOrder) {
  ASSERT_OK_AND_ASSIGN(auto info, SqlInfo({504, 3, 99999, 0}, "1.2.3"));
  ASSERT_OK(info->ValidateFull());
  ASSERT_TRUE(info->schema()->Equals(*SqlInfoSchema()));
  auto names = std::static_pointer_cast<arrow::UInt32Array>(info->column(0));
  ASSERT_EQ(info->num_rows(), 3);  // 99999 is not an info we have
  EXPECT_EQ(names->Value(0), 504u);
  EXPECT_EQ(names->Value(1), 3u);
  EXPECT_EQ(names->Value(2), 0u);
  auto values = std::static_pointer_cast<arrow::DenseUnionArray>(info->column(1));
  ASSERT_OK_AND_ASSIGN(auto quote, values->GetScalar(0));
  ASSERT_OK_AND_ASSIGN(auto read_only, values->GetScalar(1));
  EXPECT_EQ(quote->ToString(), "union{string_value: string = \"}");
  EXPECT_EQ(read_only->ToString(), "union{bool_value: bool = true}");
  ASSERT_OK_AND_ASSIGN(auto everything, SqlInfo({}, "1.2.3"));
  ASSERT_OK(everything->ValidateFull());
  EXPECT_GT(everything->num_rows(), 10);
}

}  // namespace
}  // namespace nlk::flightsql
