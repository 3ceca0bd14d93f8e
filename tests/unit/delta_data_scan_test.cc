#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/json/from_string.h>
#include <gtest/gtest.h>
#include <parquet/arrow/reader.h>

#include "delta/data/column_mapping.h"
#include "delta/data/deletion_vector.h"
#include "delta/data/file_writer.h"
#include "delta/data/scan.h"
#include "delta/data/schema.h"
#include "delta_data_test_store.h"

namespace nlk::delta::data {
namespace {

namespace cp = arrow::compute;

std::shared_ptr<arrow::Array> Json(const std::shared_ptr<arrow::DataType>& type,
                                   const std::string& text) {
  return arrow::json::ArrayFromJSONString(type, text).ValueOrDie();
}

class ScanTest : public ::testing::Test {
 protected:
  ScanTest() : store_(std::make_shared<testing::LocalTestStore>(directory_.path())) {}

  Metadata MakeMetadata(const arrow::Schema& schema, std::vector<std::string> partitions = {},
                        StringMap configuration = {}) {
    Metadata metadata;
    metadata.id = "test";
    metadata.schema_string = SerializeDeltaSchema(schema).ValueOrDie();
    metadata.partition_columns = std::move(partitions);
    metadata.configuration = std::move(configuration);
    return metadata;
  }

  // ids 0..59; region "eu" for 0-19, "us" for 20-39, null for 40-59.
  std::shared_ptr<arrow::Table> Sample() {
    arrow::Int64Builder ids;
    arrow::DoubleBuilder values;
    arrow::StringBuilder regions;
    for (int64_t id = 0; id < 60; ++id) {
      EXPECT_TRUE(ids.Append(id).ok());
      EXPECT_TRUE(values.Append(id * 0.5).ok());
      EXPECT_TRUE((id < 20   ? regions.Append("eu")
                   : id < 40 ? regions.Append("us")
                             : regions.AppendNull())
                      .ok());
    }
    return arrow::Table::Make(schema_, {ids.Finish().ValueOrDie(), values.Finish().ValueOrDie(),
                                        regions.Finish().ValueOrDie()});
  }

  std::shared_ptr<arrow::Table> Read(const Metadata& metadata, const std::vector<AddFile>& files,
                                     std::optional<cp::Expression> filter, ScanMetrics* metrics,
                                     std::optional<int64_t> limit = std::nullopt) {
    ScanBuilder builder(store_, metadata, files);
    if (filter) builder.Filter(*filter);
    if (limit) builder.Limit(*limit);
    auto scan = builder.Build();
    EXPECT_TRUE(scan.ok()) << scan.status();
    auto table = (*scan)->ToTable();
    EXPECT_TRUE(table.ok()) << table.status();
    *metrics = (*scan)->metrics();
    return table.ValueOr(nullptr);
  }

  testing::TempDirectory directory_;
  std::shared_ptr<testing::LocalTestStore> store_;
  std::shared_ptr<arrow::Schema> schema_ =
      arrow::schema({arrow::field("id", arrow::int64()), arrow::field("value", arrow::float64()),
                     arrow::field("region", arrow::utf8())});
};

TEST_F(ScanTest, PartitionedWriteThenPrunedScans) {
  Metadata metadata = MakeMetadata(*schema_, {"region"});
  WriteOptions options;
  options.row_group_rows = 5;
  auto files = WriteDataFiles(store_, metadata, *Sample(), options);
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_EQ(files->size(), 3u);
  for (const auto& add : *files) {
    EXPECT_TRUE(add.path.starts_with("region=")) << add.path;
    EXPECT_TRUE(add.path.ends_with(".c000.snappy.parquet")) << add.path;
    EXPECT_GT(add.size, 0);
    EXPECT_GT(add.modification_time, 0);
    ASSERT_TRUE(add.stats.has_value());
    EXPECT_NE(add.stats->find("\"numRecords\":20"), std::string::npos) << *add.stats;
    EXPECT_EQ(add.stats->find("region"), std::string::npos);  // not stored in the file
  }
  // Partition columns are not stored in the data files.
  auto file = store_->OpenForRead(files->front().path).ValueOrDie();
  auto reader = parquet::arrow::OpenFile(file, arrow::default_memory_pool()).ValueOrDie();
  std::shared_ptr<arrow::Schema> file_schema;
  ASSERT_TRUE(reader->GetSchema(&file_schema).ok());
  EXPECT_EQ(file_schema->GetFieldIndex("region"), -1);

  ScanMetrics metrics;
  auto all = Read(metadata, *files, std::nullopt, &metrics);
  ASSERT_NE(all, nullptr);
  EXPECT_EQ(all->num_rows(), 60);
  EXPECT_TRUE(all->schema()->Equals(*schema_));
  EXPECT_EQ(metrics.files_read, 3);
  EXPECT_EQ(metrics.row_groups_total, 12);

  auto eu = Read(metadata, *files, cp::equal(cp::field_ref("region"), cp::literal("eu")), &metrics);
  EXPECT_EQ(eu->num_rows(), 20);
  EXPECT_EQ(metrics.files_pruned_by_partition, 2);
  EXPECT_EQ(metrics.files_read, 1);

  auto nulls = Read(metadata, *files, cp::is_null(cp::field_ref("region")), &metrics);
  EXPECT_EQ(nulls->num_rows(), 20);
  EXPECT_EQ(metrics.files_pruned_by_partition, 2);

  // Stats skip the eu and us files; row groups of 5 ids prune all but one in the null file.
  auto high =
      Read(metadata, *files, cp::greater_equal(cp::field_ref("id"), cp::literal(57)), &metrics);
  EXPECT_EQ(high->num_rows(), 3);
  EXPECT_EQ(metrics.files_skipped_by_stats, 2);
  EXPECT_EQ(metrics.row_groups_total, 4);
  EXPECT_EQ(metrics.row_groups_pruned, 3);

  auto limited = Read(metadata, *files, std::nullopt, &metrics, 7);
  EXPECT_EQ(limited->num_rows(), 7);
  EXPECT_EQ(metrics.files_skipped_by_limit, 2);
  EXPECT_EQ(metrics.rows_output, 7);
}

TEST_F(ScanTest, AppliesDeletionVectorsAndFilterExactly) {
  Metadata metadata = MakeMetadata(*schema_);
  auto files = WriteDataFiles(store_, metadata, *Sample());
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_EQ(files->size(), 1u);
  auto descriptor = InlineDescriptor(DeletionVector::FromRows({0, 5, 59}));
  ASSERT_TRUE(descriptor.ok());
  (*files)[0].deletion_vector = *descriptor;
  ScanMetrics metrics;
  auto table = Read(metadata, *files, cp::less(cp::field_ref("value"), cp::literal(3.0)), &metrics);
  ASSERT_NE(table, nullptr);
  // value < 3 keeps ids 0..5; the vector removes 0 and 5.
  EXPECT_TRUE(table->column(0)->Equals(arrow::ChunkedArray(Json(arrow::int64(), "[1, 2, 3, 4]"))))
      << table->column(0)->ToString();
  EXPECT_EQ(metrics.rows_deleted, 3);
}

TEST_F(ScanTest, ColumnMappingWritesPhysicalNamesAndSurvivesRenames) {
  for (const char* mode : {"name", "id"}) {
    int64_t max_id = 0;
    auto mapped = AssignColumnMapping(*schema_, &max_id).ValueOrDie();
    Metadata metadata = MakeMetadata(*mapped, {}, {{"delta.columnMapping.mode", mode}});
    auto files = WriteDataFiles(store_, metadata, *Sample());
    ASSERT_TRUE(files.ok()) << files.status();
    auto file = store_->OpenForRead(files->front().path).ValueOrDie();
    auto reader = parquet::arrow::OpenFile(file, arrow::default_memory_pool()).ValueOrDie();
    std::shared_ptr<arrow::Schema> file_schema;
    ASSERT_TRUE(reader->GetSchema(&file_schema).ok());
    std::string physical_id = *PhysicalName(*mapped->field(0), ColumnMappingMode::kName);
    EXPECT_EQ(file_schema->field(0)->name(), physical_id);
    EXPECT_EQ(*file_schema->field(0)->metadata()->Get("PARQUET:field_id"), "1");
    EXPECT_NE(files->front().stats->find(physical_id), std::string::npos);

    // Rename "id" to "key" in the logical schema only, as RENAME COLUMN does.
    auto renamed = mapped->SetField(0, mapped->field(0)->WithName("key")).ValueOrDie();
    Metadata after = MakeMetadata(*renamed, {}, {{"delta.columnMapping.mode", mode}});
    ScanMetrics metrics;
    auto table = Read(after, *files, cp::greater(cp::field_ref("key"), cp::literal(57)), &metrics);
    ASSERT_NE(table, nullptr) << mode;
    EXPECT_EQ(table->schema()->field(0)->name(), "key");
    EXPECT_TRUE(table->column(0)->Equals(arrow::ChunkedArray(Json(arrow::int64(), "[58, 59]"))))
        << mode << ": " << table->column(0)->ToString();
  }
}

TEST_F(ScanTest, FillsColumnsAddedBySchemaEvolutionWithNulls) {
  Metadata before = MakeMetadata(*schema_);
  auto files = WriteDataFiles(store_, before, *Sample());
  ASSERT_TRUE(files.ok());
  auto evolved = arrow::schema({schema_->field(0), schema_->field(1), schema_->field(2),
                                arrow::field("added", arrow::utf8())});
  ScanMetrics metrics;
  auto table = Read(MakeMetadata(*evolved), *files, std::nullopt, &metrics);
  ASSERT_NE(table, nullptr);
  EXPECT_EQ(table->num_columns(), 4);
  EXPECT_EQ(table->column(3)->null_count(), 60);
}

TEST_F(ScanTest, WriterEnforcesTheSchema) {
  Metadata metadata = MakeMetadata(*schema_);
  auto wrong = arrow::Table::Make(arrow::schema({arrow::field("id", arrow::utf8())}),
                                  {Json(arrow::utf8(), R"(["x"])")});
  auto result = WriteDataFiles(store_, metadata, *wrong);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("id"), std::string::npos);
}

TEST_F(ScanTest, MissingDataFileIsAClearError) {
  Metadata metadata = MakeMetadata(*schema_);
  auto files = WriteDataFiles(store_, metadata, *Sample());
  ASSERT_TRUE(files.ok());
  ASSERT_TRUE(store_->Delete(files->front().path).ok());
  auto scan = ScanBuilder(store_, metadata, *files).Build();
  ASSERT_TRUE(scan.ok());
  auto table = (*scan)->ToTable();
  ASSERT_FALSE(table.ok());
  EXPECT_NE(table.status().message().find(files->front().path), std::string::npos)
      << table.status();
}

TEST_F(ScanTest, RejectsUnknownColumns) {
  Metadata metadata = MakeMetadata(*schema_);
  EXPECT_FALSE(ScanBuilder(store_, metadata, {}).Select({"nope"}).Build().ok());
  EXPECT_FALSE(ScanBuilder(store_, metadata, {})
                   .Filter(cp::equal(cp::field_ref("nope"), cp::literal(1)))
                   .Build()
                   .ok());
}

}  // namespace
}  // namespace nlk::delta::data
