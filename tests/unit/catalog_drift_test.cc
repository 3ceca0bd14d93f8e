#include <arrow/api.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "catalog/inspection.h"
#include "catalog/schema_drift.h"
#include "catalog/snippets.h"
#include "delta/table.h"

namespace nlk::catalog {
namespace {

std::shared_ptr<arrow::Schema> Declared() {
  return arrow::schema(
      {arrow::field("device_id", arrow::utf8(), false), arrow::field("channel", arrow::int32()),
       arrow::field("probe", arrow::struct_({arrow::field("depth_um", arrow::float64())})),
       arrow::field("date", arrow::date32())});
}

TEST(CatalogDriftTest, SameSchemaHasNoDrift) {
  EXPECT_TRUE(CompareSchemas(*Declared(), *Declared()).empty());
}

TEST(CatalogDriftTest, ArrowSpellingsOfOneDeltaTypeAreNotDrift) {
  auto declared = arrow::schema({arrow::field("t", arrow::timestamp(arrow::TimeUnit::NANO, "UTC")),
                                 arrow::field("s", arrow::large_utf8())});
  auto actual = arrow::schema({arrow::field("t", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")),
                               arrow::field("s", arrow::utf8())});
  EXPECT_TRUE(CompareSchemas(*declared, *actual).empty());
}

TEST(CatalogDriftTest, ReportsMissingExtraTypeAndNullabilityDifferences) {
  auto actual = arrow::schema(
      {arrow::field("device_id", arrow::utf8(), true), arrow::field("channel", arrow::int64()),
       arrow::field("probe", arrow::struct_({arrow::field("depth_um", arrow::float32())})),
       arrow::field("gain", arrow::float64())});
  std::vector<std::string> drift = CompareSchemas(*Declared(), *actual);
  ASSERT_EQ(drift.size(), 5u);
  EXPECT_EQ(drift[0], "column 'device_id': declared NOT NULL, the table allows nulls");
  EXPECT_EQ(drift[1], "column 'channel': declared integer, the table has long");
  EXPECT_EQ(drift[2], "column 'probe.depth_um': declared double, the table has float");
  EXPECT_EQ(drift[3], "column 'date' is declared but the table has no such column");
  EXPECT_EQ(drift[4], "column 'gain' is in the table but not declared");
}

TEST(CatalogDriftTest, ReportsPartitionDifferences) {
  EXPECT_TRUE(ComparePartitions({"date"}, {"date"}).empty());
  auto drift = ComparePartitions({"date"}, {});
  ASSERT_EQ(drift.size(), 1u);
  EXPECT_EQ(drift[0], "partition columns: declared [date], the table has []");
}

class CatalogInspectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("nlk_catalog_inspection_" + std::to_string(::getpid()));
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  std::filesystem::path root_;
};

TEST_F(CatalogInspectionTest, ReadsLiveFactsAndDriftOfADeltaTable) {
  auto stored = arrow::schema(
      {arrow::field("channel", arrow::int64(), false), arrow::field("date", arrow::date32())});
  arrow::Int64Builder channels;
  ASSERT_TRUE(channels.AppendValues({1, 2, 3}).ok());
  arrow::Date32Builder dates;
  ASSERT_TRUE(dates.AppendValues({20454, 20454, 20455}).ok());
  auto batch = arrow::RecordBatch::Make(stored, 3, {*channels.Finish(), *dates.Finish()});
  auto reader = *arrow::RecordBatchReader::Make({batch}, stored);
  delta::CreateOptions create;
  create.partition_columns = {"date"};
  ASSERT_TRUE(delta::Table::Create((root_ / "t").string(), stored, create, reader).ok());

  Database database{.name = "db"};
  Table table{.name = "t",
              .kind = TableKind::kDelta,
              .uri = "t",
              .schema = arrow::schema({arrow::field("channel", arrow::int32(), false),
                                       arrow::field("date", arrow::date32())}),
              .partition_columns = {"date"},
              .description = "test"};
  TableReport report = InspectTable(database, table, {root_.string(), 5});
  ASSERT_TRUE(report.status.ok()) << report.status;
  EXPECT_EQ(report.facts.version, 0);
  EXPECT_EQ(report.facts.row_count, 3);
  EXPECT_EQ(report.facts.file_count, 2);
  EXPECT_GT(*report.facts.size_bytes, 0);
  ASSERT_EQ(report.facts.history.size(), 1u);
  ASSERT_EQ(report.drift.size(), 1u);
  EXPECT_EQ(report.drift[0], "column 'channel': declared integer, the table has long");
  EXPECT_TRUE(report.has_problem());

  // Nothing at the location: not created yet, which is not a problem.
  Table missing = table;
  missing.uri = "nothing_here";
  TableReport missing_report = InspectTable(database, missing, {root_.string(), 5});
  EXPECT_TRUE(missing_report.not_created);
  EXPECT_TRUE(missing_report.status.ok()) << missing_report.status;
  EXPECT_FALSE(missing_report.has_problem());

  // A log that cannot be read is a problem.
  std::filesystem::create_directories(root_ / "broken" / "_delta_log");
  std::ofstream(root_ / "broken" / "_delta_log" / "00000000000000000000.json") << "{\"add\": [";
  Table broken = table;
  broken.uri = "broken";
  TableReport broken_report = InspectTable(database, broken, {root_.string(), 5});
  EXPECT_FALSE(broken_report.not_created);
  EXPECT_FALSE(broken_report.status.ok());
  EXPECT_TRUE(broken_report.has_problem());
}

TEST(CatalogInspectionHintTest, NamesWhereRowsComeFromElseHowToCreateTheTable) {
  Table written_by_ingest{.name = "dead_letters",
                          .kind = TableKind::kDelta,
                          .uri = "neural/dead_letters",
                          .description = "test",
                          .data_input = "nlk ingest, in the same run as neural.samples"};
  std::string hint = CreationHint(written_by_ingest, "/lake/neural/dead_letters");
  EXPECT_NE(hint.find("nlk ingest, in the same run as neural.samples"), std::string::npos);
  EXPECT_EQ(hint.find("nlk table create"), std::string::npos) << hint;

  Table by_hand{.name = "t", .kind = TableKind::kDelta, .uri = "t", .description = "test"};
  EXPECT_EQ(CreationHint(by_hand, "/lake/t"),
            "create it with `nlk table create /lake/t --input FILE.parquet`");
  Table parquet{.name = "p", .kind = TableKind::kParquet, .uri = "p", .description = "test"};
  EXPECT_EQ(CreationHint(parquet, "/lake/p"), "write Parquet files under /lake/p");
}

TEST(CatalogSnippetsTest, FillsEverySnippetWithTheDocsFilter) {
  auto schema = arrow::schema({arrow::field("device_id", arrow::utf8()),
                               arrow::field("channel", arrow::int32()),
                               arrow::field("date", arrow::date32())});
  Database database{.name = "neural"};
  Table table{.name = "samples",
              .kind = TableKind::kDelta,
              .uri = "neural/samples",
              .schema = schema,
              .description = "samples",
              .docs_filters = {{.filter = "date = '2026-01-01' AND channel IN (1, 2)"}}};
  auto snippets = BuildSnippets(database, table, {"/lake", "http://127.0.0.1:9000", schema});
  ASSERT_TRUE(snippets.ok()) << snippets.status();
  std::map<std::string, std::string> code;
  for (const Snippet& snippet : *snippets) code[snippet.id] = snippet.code;
  ASSERT_EQ(code.size(), 6u);
  EXPECT_NE(code["curl"].find("http://127.0.0.1:9000/api/sql"), std::string::npos);
  EXPECT_NE(code["curl"].find("SELECT * FROM neural.samples WHERE date = '2026-01-01' AND "
                              "channel IN (1, 2) LIMIT 10"),
            std::string::npos)
      << code["curl"];
  EXPECT_NE(code["deltalake"].find("DeltaTable(\"/lake/neural/samples\")"), std::string::npos);
  EXPECT_NE(code["polars"].find("(pl.col(\"date\") == datetime.date(2026, 1, 1)) & "
                                "((pl.col(\"channel\") == 1) | (pl.col(\"channel\") == 2))"),
            std::string::npos)
      << code["polars"];
  EXPECT_NE(code["polars"].find("import datetime"), std::string::npos);
  EXPECT_NE(code["pyarrow"].find("pc.field(\"date\") == datetime.date(2026, 1, 1)"),
            std::string::npos)
      << code["pyarrow"];
  EXPECT_NE(code["pyspark"].find(".where(\"date = '2026-01-01' AND channel IN (1, 2)\")"),
            std::string::npos)
      << code["pyspark"];
  EXPECT_NE(code["cpp"].find("options.filter = \"date = '2026-01-01' AND channel IN (1, 2)\";"),
            std::string::npos)
      << code["cpp"];
}

TEST(CatalogSnippetsTest, FunctionTablesAreReadThroughTheServiceOrTheCatalog) {
  Database database{.name = "neural"};
  Table table{
      .name = "electrodes",
      .kind = TableKind::kFunction,
      .function = [](const FunctionContext&) -> arrow::Result<std::shared_ptr<arrow::Table>> {
        return arrow::Status::NotImplemented("unused");
      },
      .description = "layout"};
  auto snippets = BuildSnippets(database, table, {"/lake", "http://127.0.0.1:8080", nullptr});
  ASSERT_TRUE(snippets.ok()) << snippets.status();
  ASSERT_EQ(snippets->size(), 2u);
  EXPECT_EQ((*snippets)[0].id, "curl");
  EXPECT_EQ((*snippets)[1].id, "cpp");
  EXPECT_NE((*snippets)[1].code.find("FindTable(\"neural\", \"electrodes\")"), std::string::npos);
}

}  // namespace
}  // namespace nlk::catalog
