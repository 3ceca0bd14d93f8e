#include <arrow/api.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "catalog/project_catalog.h"
#include "catalog/validation.h"

namespace nlk::catalog {
namespace {

// Names written as literals are checked by the compiler; these prove the rule it applies.
static_assert(IsValidName("samples"));
static_assert(IsValidName("_staging2"));
static_assert(!IsValidName("raw samples"));
static_assert(!IsValidName("2026_samples"));
static_assert(!IsValidName("neural.samples"));
static_assert(!IsValidName(""));

std::shared_ptr<arrow::Schema> SampleSchema() {
  return arrow::schema({arrow::field("device_id", arrow::utf8(), false),
                        arrow::field("channel", arrow::int32(), false),
                        arrow::field("date", arrow::date32(), false)});
}

Table ValidTable() {
  return Table{.name = "samples",
               .kind = TableKind::kDelta,
               .uri = "neural/samples",
               .schema = SampleSchema(),
               .partition_columns = {"date"},
               .description = "Raw samples",
               .docs_filters = {{.filter = "channel = 3", .description = "one channel"}},
               .unique_columns = {"device_id", "channel"}};
}

Catalog WithTables(std::vector<Table> tables) {
  return Catalog{.name = "test",
                 .description = "a test catalog",
                 .databases = {Database{.name = "neural", .tables = std::move(tables)}}};
}

// Exactly one problem, which mentions every fragment.
void ExpectOneProblem(const Catalog& catalog, const std::vector<std::string>& fragments) {
  std::vector<std::string> problems = FindCatalogProblems(catalog);
  ASSERT_EQ(problems.size(), 1u) << (problems.empty() ? "no problem" : problems[0]);
  for (const std::string& fragment : fragments) {
    EXPECT_NE(problems[0].find(fragment), std::string::npos)
        << "'" << fragment << "' missing from: " << problems[0];
  }
}

TEST(CatalogValidationTest, ValidCatalogHasNoProblems) {
  EXPECT_TRUE(FindCatalogProblems(WithTables({ValidTable()})).empty());
  EXPECT_TRUE(ValidateCatalog(WithTables({ValidTable()})).ok());
}

TEST(CatalogValidationTest, ExampleCatalogIsValid) {
  EXPECT_TRUE(ValidateCatalog(ProjectCatalog()).ok()) << ValidateCatalog(ProjectCatalog());
}

TEST(CatalogValidationTest, DuplicateTableNamesAreRejected) {
  ExpectOneProblem(WithTables({ValidTable(), ValidTable()}),
                   {"table neural.samples", "name", "declared twice"});
}

TEST(CatalogValidationTest, DuplicateDatabaseNamesAreRejected) {
  Catalog catalog{.name = "test",
                  .databases = {Database{.name = "neural", .tables = {ValidTable()}},
                                Database{.name = "neural"}}};
  ExpectOneProblem(catalog, {"database neural", "declared twice"});
}

TEST(CatalogValidationTest, NamesKnownOnlyAtRunTimeAreChecked) {
  std::string computed = "raw samples";
  Table table = ValidTable();
  table.name = Name::Unchecked(computed);
  ExpectOneProblem(WithTables({table}), {"table neural.raw samples", "name", "is not a name"});
}

TEST(CatalogValidationTest, MissingUriIsRejected) {
  Table table = ValidTable();
  table.uri.clear();
  ExpectOneProblem(WithTables({table}), {"table neural.samples", "uri", "is missing"});
}

TEST(CatalogValidationTest, PartitionColumnMustBeInTheDeclaredSchema) {
  Table table = ValidTable();
  table.partition_columns = {"day"};
  ExpectOneProblem(WithTables({table}), {"table neural.samples", "partition_columns", "'day'",
                                         "columns: device_id, channel, date"});
}

TEST(CatalogValidationTest, PartitionColumnsAreUncheckedWithoutASchema) {
  Table table = ValidTable();
  table.schema = nullptr;
  table.partition_columns = {"day"};
  EXPECT_TRUE(FindCatalogProblems(WithTables({table})).empty());
}

TEST(CatalogValidationTest, UniqueColumnMustBeInTheDeclaredSchema) {
  Table table = ValidTable();
  table.unique_columns = {"device_id", "sequence"};
  ExpectOneProblem(WithTables({table}), {"unique_columns", "'sequence'"});
}

TEST(CatalogValidationTest, RetentionNeedsADatePartitionColumn) {
  Table table = ValidTable();
  table.retention = Retention{.column = "date", .keep = std::chrono::days{90}};
  EXPECT_TRUE(FindCatalogProblems(WithTables({table})).empty());
  table.retention = Retention{.column = "channel", .keep = std::chrono::days{90}};
  std::vector<std::string> problems = FindCatalogProblems(WithTables({table}));
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_NE(problems[0].find("not one of partition_columns"), std::string::npos) << problems[0];
  EXPECT_NE(problems[1].find("needs a date or timestamp column"), std::string::npos) << problems[1];
  table.retention = Retention{.column = "date", .keep = std::chrono::days{0}};
  ExpectOneProblem(WithTables({table}), {"samples", "retention.keep", "positive"});
  table.retention = Retention{.column = "", .keep = std::chrono::days{1}};
  ExpectOneProblem(WithTables({table}), {"retention.column", "is missing"});
}

TEST(CatalogValidationTest, DocsFilterMustParseAgainstTheSchema) {
  Table table = ValidTable();
  table.docs_filters = {{.filter = "chanel = 3", .description = "typo"}};
  ExpectOneProblem(WithTables({table}), {"docs_filters[0]", "chanel", "unknown column"});
}

TEST(CatalogValidationTest, FunctionTableNeedsAFunctionAndNoUri) {
  Table table{.name = "layout",
              .kind = TableKind::kFunction,
              .uri = "somewhere",
              .description = "computed"};
  std::vector<std::string> problems = FindCatalogProblems(WithTables({table}));
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_NE(problems[0].find("function: is missing"), std::string::npos) << problems[0];
  EXPECT_NE(problems[1].find("uri: must be empty"), std::string::npos) << problems[1];
}

TEST(CatalogValidationTest, DeprecationReplacementMustExist) {
  Table table = ValidTable();
  table.deprecation = Deprecation{.message = "use the new one", .replacement = "neural.samples2"};
  ExpectOneProblem(WithTables({table}), {"deprecation.replacement", "'neural.samples2'"});
  table.deprecation->replacement = "neural.samples";
  EXPECT_TRUE(FindCatalogProblems(WithTables({table})).empty());
}

TEST(CatalogValidationTest, ComputedColumnMustNotShadowAStoredOne) {
  Table table = ValidTable();
  table.computed_columns = {{.name = "channel", .expression = "channel + 1"}};
  ExpectOneProblem(WithTables({table}), {"computed_columns[0]", "already a stored column"});
}

TEST(CatalogValidationTest, DescriptionIsRequired) {
  Table table = ValidTable();
  table.description.clear();
  ExpectOneProblem(WithTables({table}), {"description", "is missing"});
}

TEST(CatalogValidationTest, ValidateListsEveryProblem) {
  Table table = ValidTable();
  table.uri.clear();
  table.partition_columns = {"day"};
  arrow::Status status = ValidateCatalog(WithTables({table}));
  ASSERT_TRUE(status.IsInvalid());
  EXPECT_NE(status.message().find("catalog test has 2 problems"), std::string::npos)
      << status.message();
  EXPECT_NE(status.message().find("uri"), std::string::npos);
  EXPECT_NE(status.message().find("partition_columns"), std::string::npos);
}

TEST(CatalogValidationTest, LineageSourcesMustBeTablesOfTheCatalogWithAJob) {
  Table derived = ValidTable();
  derived.name = "rollup";
  derived.uri = "neural/rollup";
  derived.writer = WriterEngine::kSpark;
  derived.lineage = {.sources = {"neural.samples"}, .job = "jobs/downsample.py"};
  EXPECT_TRUE(FindCatalogProblems(WithTables({ValidTable(), derived})).empty());

  derived.lineage.sources = {"neural.sample"};
  ExpectOneProblem(WithTables({ValidTable(), derived}),
                   {"neural.rollup", "lineage.sources", "'neural.sample'", "not a table"});
  derived.lineage.sources = {"neural.rollup"};
  ExpectOneProblem(WithTables({ValidTable(), derived}), {"lineage.sources", "itself"});
  derived.lineage = {.sources = {"neural.samples"}};
  ExpectOneProblem(WithTables({ValidTable(), derived}), {"lineage.job", "is missing"});
  derived.lineage = {.job = "jobs/downsample.py"};
  ExpectOneProblem(WithTables({ValidTable(), derived}), {"lineage.sources", "is empty"});
}

TEST(CatalogValidationTest, FunctionTablesAreNeverWrittenBySpark) {
  Table table{
      .name = "layout",
      .kind = TableKind::kFunction,
      .function = [](const FunctionContext&) -> arrow::Result<std::shared_ptr<arrow::Table>> {
        return arrow::Status::NotImplemented("unused");
      },
      .description = "computed",
      .writer = WriterEngine::kSpark};
  ExpectOneProblem(WithTables({table}), {"writer", "function table"});
}

TEST(CatalogValidationTest, FindsTheTableStoredAtAUri) {
  Table derived = ValidTable();
  derived.name = "rollup";
  derived.uri = "neural/rollup";
  Table absolute = ValidTable();
  absolute.name = "elsewhere";
  absolute.uri = "s3://bucket/other/table";
  Catalog catalog = WithTables({ValidTable(), derived, absolute});
  for (const char* uri :
       {"/data/lake/neural/rollup", "/data/lake/neural/rollup/", "file:///data/lake/neural/rollup",
        "/data/lake/neural/../neural/rollup"}) {
    TableAt found = FindTableAt(catalog, uri, "/data/lake");
    ASSERT_NE(found.table, nullptr) << uri;
    EXPECT_EQ(found.table->name.view(), "rollup") << uri;
    EXPECT_EQ(found.database->name.view(), "neural");
  }
  EXPECT_EQ(FindTableAt(catalog, "s3://bucket/lake/neural/samples/", "s3://bucket/lake").table,
            &catalog.databases[0].tables[0]);
  EXPECT_EQ(FindTableAt(catalog, "s3://bucket/other/table", "/data/lake").table,
            &catalog.databases[0].tables[2]);
  EXPECT_EQ(FindTableAt(catalog, "/data/lake/neural/rollups", "/data/lake").table, nullptr);
  EXPECT_EQ(FindTableAt(catalog, "s3://bucket/lake/neural/samples", "/data/lake").table, nullptr);
}

TEST(CatalogValidationTest, ResolvesRelativeUrisAgainstTheRoot) {
  EXPECT_EQ(ResolveUri("neural/samples", "/data"), "/data/neural/samples");
  EXPECT_EQ(ResolveUri("neural/samples", "s3://bucket/lake/"), "s3://bucket/lake/neural/samples");
  EXPECT_EQ(ResolveUri("/abs/samples", "/data"), "/abs/samples");
  EXPECT_EQ(ResolveUri("s3://other/samples", "/data"), "s3://other/samples");
  EXPECT_EQ(ResolveUri("neural/samples", ""), "neural/samples");
}

}  // namespace
}  // namespace nlk::catalog
