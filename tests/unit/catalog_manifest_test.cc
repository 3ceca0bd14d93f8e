#include <arrow/api.h>
#include <gtest/gtest.h>

#include <string>

#include "catalog/json_indent.h"
#include "catalog/manifest.h"
#include "catalog/project_catalog.h"
#include "common/json_value.h"

namespace nlk::catalog {
namespace {

const JsonValue& Member(const JsonValue& object, std::string_view key) {
  const JsonValue* value = object.Find(key);
  EXPECT_NE(value, nullptr) << "no member " << key;
  static const JsonValue kMissing;
  return value ? *value : kMissing;
}

JsonValue ParseManifest(const Catalog& catalog, const std::string& root) {
  auto manifest = BuildManifest(catalog, {root});
  EXPECT_TRUE(manifest.ok()) << manifest.status();
  auto parsed = ParseJson(manifest.ValueOr("{}"));
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.ValueOr(JsonValue());
}

const JsonValue* FindByName(const JsonValue& array, std::string_view name) {
  for (const JsonValue& item : array.array()) {
    const JsonValue* item_name = item.Find("name");
    if (item_name != nullptr && item_name->string() == name) return &item;
  }
  return nullptr;
}

TEST(CatalogManifestTest, DescribesEveryTableOfTheExampleCatalog) {
  JsonValue manifest = ParseManifest(ProjectCatalog(), "/data/lake");
  EXPECT_EQ(Member(manifest, "format").string(), "neuralake-catalog-manifest");
  EXPECT_EQ(Member(manifest, "format_version").integer(), kManifestFormatVersion);
  EXPECT_EQ(Member(manifest, "root").string(), "/data/lake");
  const JsonValue& catalogs = Member(manifest, "catalogs");
  ASSERT_EQ(catalogs.array().size(), 1u);
  EXPECT_EQ(Member(catalogs.array()[0], "name").string(), "neuralake");
  const JsonValue* neural = FindByName(Member(catalogs.array()[0], "databases"), "neural");
  ASSERT_NE(neural, nullptr);
  const JsonValue& tables = Member(*neural, "tables");
  for (std::string_view name :
       {"samples", "spikes", "band_power", "samples_dead_letters", "electrodes"}) {
    EXPECT_NE(FindByName(tables, name), nullptr) << name;
  }

  const JsonValue* samples = FindByName(tables, "samples");
  ASSERT_NE(samples, nullptr);
  EXPECT_EQ(Member(*samples, "qualified_name").string(), "neural.samples");
  EXPECT_EQ(Member(*samples, "kind").string(), "delta");
  EXPECT_EQ(Member(*samples, "uri").string(), "neural/samples");
  EXPECT_EQ(Member(*samples, "resolved_uri").string(), "/data/lake/neural/samples");
  EXPECT_EQ(Member(*samples, "partition_columns").array()[0].string(), "date");
  EXPECT_FALSE(Member(*samples, "owner").string().empty());
  EXPECT_FALSE(Member(*samples, "docs_filters").array().empty());
  EXPECT_FALSE(Member(Member(*samples, "freshness"), "latency").string().empty());
  EXPECT_TRUE(Member(*samples, "deprecation").is_null());
  EXPECT_EQ(Member(Member(*samples, "computed_columns").array()[0], "name").string(), "voltage_mv");
  // The schema is a Delta schema object, as in the Delta log.
  const JsonValue& schema = Member(*samples, "schema");
  EXPECT_EQ(Member(schema, "type").string(), "struct");
  const JsonValue* voltage = FindByName(Member(schema, "fields"), "voltage_uv");
  ASSERT_NE(voltage, nullptr);
  EXPECT_EQ(Member(*voltage, "type").string(), "float");
  EXPECT_FALSE(Member(*voltage, "nullable").boolean());

  EXPECT_EQ(Member(*samples, "writer").string(), "nlk");
  EXPECT_TRUE(Member(*samples, "lineage").is_null());
  const JsonValue* rollup = FindByName(tables, "samples_rollup");
  ASSERT_NE(rollup, nullptr);
  EXPECT_EQ(Member(*rollup, "writer").string(), "spark");
  const JsonValue& lineage = Member(*rollup, "lineage");
  EXPECT_EQ(Member(lineage, "job").string(), "jobs/downsample.py");
  ASSERT_EQ(Member(lineage, "sources").array().size(), 1u);
  EXPECT_EQ(Member(lineage, "sources").array()[0].string(), "neural.samples");
  EXPECT_TRUE(Member(*FindByName(tables, "electrodes"), "writer").is_null());

  const JsonValue* deprecated = FindByName(tables, "channel_map");
  ASSERT_NE(deprecated, nullptr);
  EXPECT_EQ(Member(Member(*deprecated, "deprecation"), "replacement").string(),
            "neural.electrodes");
}

TEST(CatalogManifestTest, ServeSectionNamesTablesAsDatabaseDotTable) {
  JsonValue manifest = ParseManifest(ProjectCatalog(), "/data/lake");
  const JsonValue& serve = Member(Member(manifest, "serve"), "tables");
  const JsonValue* samples = FindByName(serve, "neural.samples");
  ASSERT_NE(samples, nullptr);
  EXPECT_EQ(Member(*samples, "uri").string(), "/data/lake/neural/samples");
  EXPECT_EQ(Member(*samples, "format").string(), "delta");
  EXPECT_EQ(Member(*samples, "partition_columns").array().size(), 1u);
  const JsonValue* electrodes = FindByName(serve, "neural.electrodes");
  ASSERT_NE(electrodes, nullptr);
  EXPECT_EQ(Member(*electrodes, "format").string(), "function");
  EXPECT_TRUE(Member(*electrodes, "uri").is_null());
}

TEST(CatalogManifestTest, ParquetDatasetsRecordHivePartitioning) {
  Catalog catalog{
      .name = "test",
      .databases = {Database{.name = "exports",
                             .tables = {Table{.name = "daily",
                                              .kind = TableKind::kParquet,
                                              .uri = "s3://bucket/exports/daily",
                                              .partition_columns = {"date"},
                                              .description = "daily exports"},
                                        Table{.name = "flat",
                                              .kind = TableKind::kParquet,
                                              .uri = "exports/flat",
                                              .description = "one directory of files"}}}}};
  JsonValue manifest = ParseManifest(catalog, "/root");
  const JsonValue& serve = Member(Member(manifest, "serve"), "tables");
  const JsonValue* daily = FindByName(serve, "exports.daily");
  ASSERT_NE(daily, nullptr);
  EXPECT_TRUE(Member(*daily, "hive_partitioning").boolean());
  EXPECT_EQ(Member(*daily, "uri").string(), "s3://bucket/exports/daily");
  const JsonValue* flat = FindByName(serve, "exports.flat");
  ASSERT_NE(flat, nullptr);
  EXPECT_FALSE(Member(*flat, "hive_partitioning").boolean());
  EXPECT_EQ(Member(*flat, "uri").string(), "/root/exports/flat");
  // No declared schema: null, not an empty struct.
  const JsonValue& table =
      Member(Member(Member(manifest, "catalogs").array()[0], "databases").array()[0], "tables")
          .array()[0];
  EXPECT_TRUE(Member(table, "schema").is_null());
}

TEST(CatalogManifestTest, InvalidCatalogHasNoManifest) {
  Catalog catalog{
      .name = "test",
      .databases = {Database{.name = "neural",
                             .tables = {Table{.name = "samples", .description = "no uri"}}}}};
  auto manifest = BuildManifest(catalog, {"/root"});
  ASSERT_FALSE(manifest.ok());
  EXPECT_NE(manifest.status().message().find("table neural.samples: uri: is missing"),
            std::string::npos)
      << manifest.status();
}

TEST(CatalogManifestTest, ManifestIsDeterministic) {
  auto first = BuildManifest(ProjectCatalog(), {"/r"});
  auto second = BuildManifest(ProjectCatalog(), {"/r"});
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(*first, *second);
}

TEST(CatalogManifestTest, IndentingKeepsTheDocument) {
  std::string compact = R"({"a":[1,{"b":"x,y:{z}\"q"}],"e":{},"f":[]})";
  std::string indented = IndentJson(compact);
  EXPECT_NE(indented.find("\"e\": {}"), std::string::npos) << indented;
  auto parsed = ParseJson(indented);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->CompactRaw(), compact);
}

}  // namespace
}  // namespace nlk::catalog
