#include <arrow/api.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "catalog/site_generator.h"

namespace nlk::catalog {
namespace {

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::shared_ptr<arrow::Schema> NestedSchema() {
  return arrow::schema(
      {arrow::field("probe", arrow::struct_({arrow::field("depth_um", arrow::float64()),
                                             arrow::field("shank", arrow::int32())})),
       arrow::field("gains", arrow::list(arrow::float32())),
       arrow::field("labels", arrow::map(arrow::utf8(), arrow::utf8()))});
}

arrow::Result<std::shared_ptr<arrow::Table>> EmptyNested(const FunctionContext&) {
  return arrow::Table::MakeEmpty(NestedSchema());
}

class CatalogSiteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    out_ =
        std::filesystem::temp_directory_path() / ("nlk_catalog_site_" + std::to_string(::getpid()));
    std::filesystem::remove_all(out_);
  }
  void TearDown() override { std::filesystem::remove_all(out_); }

  std::filesystem::path out_;
};

TEST_F(CatalogSiteTest, WritesPagesWithNestedSchemaTreesAndEscapedText) {
  Catalog catalog{
      .name = "test",
      .description = "A <test> catalog",
      .databases = {Database{.name = "hardware",
                             .tables = {Table{.name = "probes",
                                              .kind = TableKind::kFunction,
                                              .function = EmptyNested,
                                              .schema = NestedSchema(),
                                              .description = "Probes & their <channels>",
                                              .docs_filters = {{.filter = "gains IS NOT NULL"}}},
                                        Table{.name = "missing",
                                              .kind = TableKind::kDelta,
                                              .uri = "nowhere",
                                              .description = "not there"}}}}};
  SiteOptions options;
  options.out_dir = out_.string();
  options.root = (out_ / "lake").string();
  auto summary = WriteSite(catalog, options);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->tables, 2);
  // The missing table is not created yet, which is not a problem.
  EXPECT_EQ(summary->tables_with_problems, 0);
  EXPECT_EQ(summary->tables_not_created, 1);
  EXPECT_EQ(summary->index_file, (out_ / "index.html").string());
  EXPECT_EQ(summary->pages_directory, (out_ / "tables").string());
  for (const char* file :
       {"index.html", "manifest.json", "assets/site.css", "assets/site.js",
        "assets/search-index.js", "tables/hardware.probes.html", "tables/hardware.missing.html"}) {
    EXPECT_TRUE(std::filesystem::exists(out_ / file)) << file;
  }

  std::string page = ReadFile(out_ / "tables" / "hardware.probes.html");
  EXPECT_NE(page.find("Probes &amp; their &lt;channels&gt;"), std::string::npos);
  EXPECT_EQ(page.find("<channels>"), std::string::npos);
  // Nested columns are trees: struct fields, the list element, the map key and value.
  EXPECT_NE(page.find("<details open><summary class=\"column\"><span class=\"column-name\">probe"),
            std::string::npos);
  for (const char* child : {">depth_um<", ">shank<", ">element<", ">key<", ">value<"}) {
    EXPECT_NE(page.find(child), std::string::npos) << child;
  }
  EXPECT_NE(page.find("href=\"../assets/site.css\""), std::string::npos);
  EXPECT_EQ(page.find("http://"), page.find("http://127.0.0.1:8080"))
      << "the only URL is the query service's, in the curl snippet";

  std::string missing = ReadFile(out_ / "tables" / "hardware.missing.html");
  EXPECT_NE(missing.find("Not created yet"), std::string::npos);
  EXPECT_NE(missing.find("create it with `nlk table create"), std::string::npos);
  EXPECT_EQ(missing.find("could not be read"), std::string::npos);

  std::string search = ReadFile(out_ / "assets" / "search-index.js");
  EXPECT_EQ(search.rfind("window.NLK_SEARCH = [", 0), 0u);
  EXPECT_NE(search.find("\"columns\":[\"probe\",\"gains\",\"labels\"]"), std::string::npos)
      << search;
}

TEST_F(CatalogSiteTest, TablePagesShowTheWriterAndLineageBothWays) {
  Catalog catalog{
      .name = "test",
      .description = "lineage",
      .databases = {Database{
          .name = "neural",
          .tables = {Table{.name = "samples",
                           .kind = TableKind::kDelta,
                           .uri = "samples",
                           .description = "raw"},
                     Table{.name = "rollup",
                           .kind = TableKind::kDelta,
                           .uri = "rollup",
                           .description = "derived",
                           .writer = WriterEngine::kSpark,
                           .lineage = {.sources = {"neural.samples"}, .job = "jobs/roll.py"}}}}}};
  SiteOptions options;
  options.out_dir = out_.string();
  options.root = (out_ / "lake").string();
  ASSERT_TRUE(WriteSite(catalog, options).ok());

  std::string derived = ReadFile(out_ / "tables" / "neural.rollup.html");
  EXPECT_NE(derived.find("id=\"lineage\""), std::string::npos);
  EXPECT_NE(derived.find("Derived from <a href=\"neural.samples.html\"><code>neural.samples</code>"
                         "</a> by <code>jobs/roll.py</code>, written by spark"),
            std::string::npos)
      << derived;
  EXPECT_NE(derived.find("<dt>Written by</dt><dd><code>spark</code> (<code>jobs/roll.py</code>)"),
            std::string::npos);

  std::string source = ReadFile(out_ / "tables" / "neural.samples.html");
  EXPECT_NE(source.find("<li><a href=\"neural.rollup.html\"><code>neural.rollup</code></a> by "
                        "<code>jobs/roll.py</code></li>"),
            std::string::npos)
      << source;
  EXPECT_NE(source.find("<dt>Written by</dt><dd><code>nlk</code></dd>"), std::string::npos);
}

TEST_F(CatalogSiteTest, InvalidCatalogWritesNothing) {
  Catalog catalog{.name = "test",
                  .databases = {Database{.name = "db",
                                         .tables = {Table{.name = "t", .description = "no uri"}}}}};
  SiteOptions options;
  options.out_dir = out_.string();
  auto summary = WriteSite(catalog, options);
  ASSERT_FALSE(summary.ok());
  EXPECT_NE(summary.status().message().find("table db.t: uri: is missing"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(out_));
}

}  // namespace
}  // namespace nlk::catalog
