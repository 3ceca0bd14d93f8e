#include <arrow/api.h>
#include <gtest/gtest.h>

#include <string>

#include "catalog/manifest.h"
#include "catalog/manifest_reader.h"
#include "catalog/project_catalog.h"
#include "catalog/validation.h"

namespace nlk::catalog {
namespace {

std::string ManifestOf(const Catalog& catalog, const std::string& root) {
  auto manifest = BuildManifest(catalog, {root});
  EXPECT_TRUE(manifest.ok()) << manifest.status();
  return manifest.ValueOr("");
}

// The smallest manifest a declaration needs: derived fields and empty ones left out.
std::string MinimalManifest(std::string_view table_fields) {
  return R"({"format": "neuralake-catalog-manifest", "format_version": 1, "root": "/lake",
             "catalogs": [{"name": "lab", "databases": [{"name": "ephys", "tables": [{)" +
         std::string(table_fields) + "}]}]}]}";
}

TEST(CatalogManifestReaderTest, ReadsBackEveryDeclarationOfTheExampleCatalog) {
  std::string written = ManifestOf(ProjectCatalog(), "/data/lake");
  auto read = ParseManifest(written);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ((*read)->root, "/data/lake");
  EXPECT_TRUE(ValidateCatalog((*read)->catalog).ok());
  // Writing the read catalog again gives the same document, byte for byte.
  EXPECT_EQ(ManifestOf((*read)->catalog, (*read)->root), written);
}

TEST(CatalogManifestReaderTest, FillsOmittedFieldsAndRecomputesDerivedOnes) {
  auto read = ParseManifest(MinimalManifest(
      R"("name": "units", "kind": "delta", "uri": "ephys/units", "description": "One row per unit",
         "resolved_uri": "/elsewhere", "qualified_name": "wrong.name", "unknown_field": 3)"));
  ASSERT_TRUE(read.ok()) << read.status();
  const Table* table = (*read)->catalog.FindTable("ephys", "units");
  ASSERT_NE(table, nullptr);
  EXPECT_EQ(table->uri, "ephys/units");
  EXPECT_EQ(table->writer, WriterEngine::kNlk);
  EXPECT_TRUE(table->tags.empty());
  std::string rewritten = ManifestOf((*read)->catalog, (*read)->root);
  EXPECT_NE(rewritten.find(R"("resolved_uri": "/lake/ephys/units")"), std::string::npos);
  EXPECT_NE(rewritten.find(R"("qualified_name": "ephys.units")"), std::string::npos);
}

TEST(CatalogManifestReaderTest, FunctionTablesAreListedWithoutRows) {
  auto read = ParseManifest(
      MinimalManifest(R"("name": "probes", "kind": "function", "description": "Probe geometry")"));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(ValidateCatalog((*read)->catalog).ok());
  const Table* table = (*read)->catalog.FindTable("ephys", "probes");
  ASSERT_NE(table, nullptr);
  auto rows = table->function(FunctionContext{"/lake"});
  ASSERT_TRUE(rows.status().IsNotImplemented());
  EXPECT_NE(rows.status().message().find("ephys.probes"), std::string::npos);
}

TEST(CatalogManifestReaderTest, ErrorsNameTheField) {
  struct Case {
    std::string json;
    std::string expected;
  };
  const Case cases[] = {
      {"[1]", "manifest: expected an object"},
      {"{", "not valid JSON"},
      {R"({"format": "something-else", "format_version": 1})", "is not a catalog manifest"},
      {R"({"format": "neuralake-catalog-manifest", "format_version": 2, "catalogs": []})",
       "format_version: 2 is not supported"},
      {R"({"format": "neuralake-catalog-manifest", "format_version": 1, "catalogs": []})",
       "manifest.catalogs: holds 0 catalogs"},
      {MinimalManifest(R"("name": "units", "kind": "view")"),
       "manifest.catalogs[0].databases[0].tables[0].kind: 'view' is not delta, parquet or "
       "function"},
      {MinimalManifest(R"("name": "units", "kind": "delta", "tags": "raw")"),
       "tables[0].tags: expected an array, found a string"},
      {MinimalManifest(R"("kind": "delta")"), "tables[0].name: is missing"},
      {MinimalManifest(R"("name": "units", "kind": "delta", "writer": "flink")"),
       "tables[0].writer: 'flink' is not nlk or spark"},
      {MinimalManifest(R"("name": "units", "kind": "delta", "schema": {"type": "struct",
                          "fields": [{"name": "a", "type": "variant_x", "nullable": true,
                                      "metadata": {}}]})"),
       "tables[0].schema: "},
  };
  for (const Case& test : cases) {
    auto read = ParseManifest(test.json);
    ASSERT_FALSE(read.ok()) << test.json;
    EXPECT_NE(read.status().message().find(test.expected), std::string::npos)
        << read.status().message();
  }
}

TEST(CatalogManifestReaderTest, ReadDeclarationsAreValidatedLikeCompiledOnes) {
  auto read = ParseManifest(MinimalManifest(
      R"("name": "raw units", "kind": "delta", "partition_columns": ["day"],
         "schema": {"type": "struct", "fields": [{"name": "unit", "type": "long",
                    "nullable": true, "metadata": {}}]})"));
  ASSERT_TRUE(read.ok()) << read.status();
  std::vector<std::string> problems = FindCatalogProblems((*read)->catalog);
  std::string all;
  for (const std::string& problem : problems) all += problem + "\n";
  EXPECT_NE(all.find("table ephys.raw units: name: 'raw units'"), std::string::npos) << all;
  EXPECT_NE(all.find("uri: is missing"), std::string::npos) << all;
  EXPECT_NE(all.find("description: is missing"), std::string::npos) << all;
  EXPECT_NE(all.find("partition_columns: 'day' is not a column"), std::string::npos) << all;
}

}  // namespace
}  // namespace nlk::catalog
