#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/io/interfaces.h>
#include <arrow/json/from_string.h>
#include <arrow/util/future.h>
#include <arrow/util/thread_pool.h>
#include <gtest/gtest.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/writer.h>

#include <chrono>

#include "delta/data/column_mapping.h"
#include "delta/data/deletion_vector.h"
#include "delta/data/file_writer.h"
#include "delta/data/scan.h"
#include "delta/data/schema.h"
#include "delta/data/statistics.h"
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

// The writer takes string bounds from the Parquet footer; they must equal computed ones, also
// with nulls, a row group of nulls only, multi-byte characters, and a row group holding a value
// too long for Parquet statistics (measured by the writer itself).
TEST_F(ScanTest, StringBoundsFromTheParquetFooterEqualComputedOnes) {
  auto schema =
      arrow::schema({arrow::field("id", arrow::int64()), arrow::field("name", arrow::utf8()),
                     arrow::field("note", arrow::large_utf8())});
  const std::string long_value =
      "m" + std::string(StatisticsCollector::kParquetBoundLimit + 1, 'q');
  auto table = arrow::Table::Make(
      schema, {Json(arrow::int64(), "[1, 2, 3, 4, 5, 6, 7, 8, 9]"),
               Json(arrow::utf8(), R"(["k", null, "bé", null, null, null, "zz", "a", "c"])"),
               Json(arrow::large_utf8(),
                    R"(["x", "y", "w", null, null, null, ")" + long_value + R"(", "ÿ", "a"])")});
  Metadata metadata = MakeMetadata(*schema);
  for (bool threads : {false, true}) {
    WriteOptions options;
    options.row_group_rows = 3;  // [k, null, bé] [nulls] [zz + long, a, c]
    options.use_threads = threads;
    auto files = WriteDataFiles(store_, metadata, *table, options);
    ASSERT_TRUE(files.ok()) << files.status();
    ASSERT_EQ(files->size(), 1u);
    auto expected = ComputeStatisticsJson(*table, ColumnMappingMode::kNone);
    ASSERT_TRUE(expected.ok()) << expected.status();
    ASSERT_TRUE(files->front().stats.has_value());
    EXPECT_EQ(*files->front().stats, *expected);
    EXPECT_NE(expected->find(R"("name":"a")"), std::string::npos) << *expected;
    EXPECT_NE(expected->find(R"("note":"ÿ")"), std::string::npos) << *expected;
  }
}

// Row `row` of the device column of piece `piece` in the tests below: one value in piece 0,
// two and a null in piece 1, `third` in piece 2, another single value in piece 3.
arrow::Status AppendDevice(arrow::StringBuilder& device, int piece, int row,
                           const std::string& third) {
  if (piece == 1 && row == 2) return device.AppendNull();
  if (piece == 2) return device.Append(third);
  return device.Append(piece == 0 ? "dev-1" : piece == 3 ? "dev-2" : row % 2 == 0 ? "b" : "a");
}

// dictionary_strings hands Parquet one dictionary per string column; the files must read back
// as the same strings with the same statistics, whatever the pieces hold: one value, several,
// nulls, empty strings, or (column `uid`) more distinct values than one dictionary pays for.
// Row groups cut the third piece. Pieces of 100 rows are made contiguous before Parquet sees
// them; pieces of 3,000 rows go as they are into a row group of two of them, and are made
// contiguous again in a row group of three.
TEST_F(ScanTest, DictionaryStringsReadBackAsTheSameStrings) {
  auto schema =
      arrow::schema({arrow::field("device", arrow::utf8()), arrow::field("uid", arrow::utf8()),
                     arrow::field("n", arrow::int64())});
  for (auto [piece_rows, row_group_rows] : {std::pair{100, 250}, {3000, 5000}}) {
    SCOPED_TRACE("pieces of " + std::to_string(piece_rows) + " rows");
    // Four pieces: one value, several with a null, empty strings, another value.
    arrow::ArrayVector devices, uids, numbers;
    int64_t n = 0;
    for (int piece = 0; piece < 4; ++piece) {
      arrow::StringBuilder device, uid;
      arrow::Int64Builder number;
      for (int row = 0; row < piece_rows; ++row, ++n) {
        ASSERT_TRUE(AppendDevice(device, piece, row, "").ok());
        ASSERT_TRUE(uid.Append("u" + std::to_string(n)).ok());
        ASSERT_TRUE(number.Append(n).ok());
      }
      devices.push_back(device.Finish().ValueOrDie());
      uids.push_back(uid.Finish().ValueOrDie());
      numbers.push_back(number.Finish().ValueOrDie());
    }
    auto table = arrow::Table::Make(schema, {std::make_shared<arrow::ChunkedArray>(devices),
                                             std::make_shared<arrow::ChunkedArray>(uids),
                                             std::make_shared<arrow::ChunkedArray>(numbers)});
    Metadata metadata = MakeMetadata(*schema);
    for (bool threads : {false, true}) {
      WriteOptions options;
      options.dictionary_strings = true;
      options.use_threads = threads;
      options.row_group_rows = row_group_rows;
      auto files = WriteDataFiles(store_, metadata, *table, options);
      ASSERT_TRUE(files.ok()) << files.status();
      ASSERT_EQ(files->size(), 1u);
      auto expected_stats = ComputeStatisticsJson(*table, ColumnMappingMode::kNone);
      ASSERT_TRUE(expected_stats.ok());
      EXPECT_EQ(files->front().stats.value_or(""), *expected_stats);

      // Plain strings to any Parquet reader (no Arrow schema with dictionary types is stored).
      auto file = store_->OpenForRead(files->front().path).ValueOrDie();
      auto reader = parquet::arrow::OpenFile(file, arrow::default_memory_pool()).ValueOrDie();
      auto read_result = reader->ReadTable();
      ASSERT_TRUE(read_result.ok()) << read_result.status();
      std::shared_ptr<arrow::Table> read = *read_result;
      EXPECT_TRUE(read->schema()->field(0)->type()->Equals(arrow::utf8()));
      auto combined = table->CombineChunks().ValueOrDie();
      EXPECT_TRUE(read->CombineChunks().ValueOrDie()->Equals(*combined))
          << read->ToString() << "\nexpected\n"
          << combined->ToString();
      EXPECT_EQ(reader->parquet_reader()->metadata()->num_row_groups(),
                (4 * piece_rows + row_group_rows - 1) / row_group_rows);
    }
  }
}

// A stream's messages may carry string columns dictionary-encoded (dictionary<int32, string>),
// each piece with its own dictionary, mixed with pieces of plain strings. The files must be the
// same strings with the same statistics as the plain table gives: for one-value dictionaries
// (used as they are), several values (renumbered), a null index, a column with more distinct
// values than one dictionary pays for (`uid`), a value longer than Parquet's bounds keep
// (measured instead), a dictionary-encoded partition column, and without dictionary_strings
// (decoded on arrival).
TEST_F(ScanTest, DictionaryEncodedPiecesWriteTheSameFiles) {
  auto schema =
      arrow::schema({arrow::field("device", arrow::utf8()), arrow::field("uid", arrow::utf8()),
                     arrow::field("n", arrow::int64()), arrow::field("site", arrow::utf8())});
  const std::string long_value(StatisticsCollector::kParquetBoundLimit + 10, 'z');
  std::vector<std::shared_ptr<arrow::RecordBatch>> plain;
  int64_t n = 0;
  for (int piece = 0; piece < 4; ++piece) {
    arrow::StringBuilder device, uid, site;
    arrow::Int64Builder number;
    for (int row = 0; row < 100; ++row, ++n) {
      ASSERT_TRUE(AppendDevice(device, piece, row, row == 5 ? long_value : "dev-3").ok());
      ASSERT_TRUE(uid.Append("u" + std::to_string(n)).ok());
      ASSERT_TRUE(number.Append(n).ok());
      ASSERT_TRUE(site.Append(piece < 2 ? "north" : "south").ok());
    }
    plain.push_back(
        arrow::RecordBatch::Make(schema, 100,
                                 {device.Finish().ValueOrDie(), uid.Finish().ValueOrDie(),
                                  number.Finish().ValueOrDie(), site.Finish().ValueOrDie()}));
  }
  // Pieces 0, 1 and 2 carry `device`, piece 1 `uid` and pieces 0 and 3 `site` as dictionaries.
  auto encode = [](const std::shared_ptr<arrow::RecordBatch>& batch, std::vector<int> columns) {
    auto result = batch;
    for (int column : columns) {
      auto encoded = arrow::compute::DictionaryEncode(batch->column(column)).ValueOrDie();
      auto field = batch->schema()->field(column)->WithType(encoded.type());
      result = result->SetColumn(column, field, encoded.make_array()).ValueOrDie();
    }
    return result;
  };
  std::vector<std::shared_ptr<arrow::RecordBatch>> mixed = {
      encode(plain[0], {0, 3}), encode(plain[1], {0, 1}), encode(plain[2], {0}),
      encode(plain[3], {3})};
  ASSERT_TRUE(
      mixed[1]->column(0)->type()->Equals(arrow::dictionary(arrow::int32(), arrow::utf8())));
  auto table = arrow::Table::FromRecordBatches(plain).ValueOrDie();

  // Row groups of 130 rows cut pieces, one-value dictionaries among them, at an offset.
  for (auto [partitioned, row_group_rows] : {std::pair{false, int64_t{1} << 20},
                                             {true, int64_t{1} << 20},
                                             {false, int64_t{130}},
                                             {true, int64_t{130}}}) {
    for (bool dictionary_strings : {true, false}) {
      SCOPED_TRACE(std::string(partitioned ? "partitioned" : "unpartitioned") +
                   (dictionary_strings ? ", dictionary strings" : ", plain strings") +
                   ", row groups of " + std::to_string(row_group_rows));
      Metadata metadata = partitioned ? MakeMetadata(*schema, {"site"}) : MakeMetadata(*schema);
      WriteOptions options;
      options.dictionary_strings = dictionary_strings;
      options.use_threads = true;
      options.row_group_rows = row_group_rows;
      auto writer = DataFileWriter::Make(store_, metadata, options).ValueOrDie();
      for (const auto& piece : mixed) ASSERT_TRUE(writer->Write(*piece).ok());
      auto files = writer->Finish();
      ASSERT_TRUE(files.ok()) << files.status();
      ASSERT_EQ(files->size(), partitioned ? 2u : 1u);
      for (size_t i = 0; i < files->size(); ++i) {
        const AddFile& add = (*files)[i];
        std::shared_ptr<arrow::Table> expected = table;
        if (partitioned) {
          // Files come in partition order: north (pieces 0, 1), then south (2, 3).
          EXPECT_EQ(add.partition_values.at("site"), i == 0 ? "north" : "south");
          expected = table->Slice(i == 0 ? 0 : 200, 200)->RemoveColumn(3).ValueOrDie();
        }
        auto expected_stats = ComputeStatisticsJson(*expected, ColumnMappingMode::kNone);
        ASSERT_TRUE(expected_stats.ok());
        EXPECT_EQ(add.stats.value_or(""), *expected_stats);
        auto file = store_->OpenForRead(add.path).ValueOrDie();
        auto reader = parquet::arrow::OpenFile(file, arrow::default_memory_pool()).ValueOrDie();
        // Strings handed over as dictionaries carry no Parquet statistics (their bounds above
        // were measured from the dictionaries, or for `uid`'s many values from the rows).
        auto footer = reader->parquet_reader()->metadata();
        for (int column = 0; column < footer->num_columns(); ++column) {
          const bool handed_over =
              dictionary_strings &&
              footer->schema()->Column(column)->physical_type() == parquet::Type::BYTE_ARRAY;
          for (int group = 0; group < footer->num_row_groups(); ++group) {
            EXPECT_EQ(footer->RowGroup(group)->ColumnChunk(column)->is_stats_set(), !handed_over)
                << "column " << column << ", row group " << group;
          }
        }
        std::shared_ptr<arrow::Table> read = reader->ReadTable().ValueOrDie();
        EXPECT_TRUE(read->schema()->field(0)->type()->Equals(arrow::utf8()));
        EXPECT_TRUE(
            read->CombineChunks().ValueOrDie()->Equals(*expected->CombineChunks().ValueOrDie()))
            << read->ToString();
      }
    }
  }
}

// A streaming writer's settings: integers, dates and timestamps in plain pages instead of
// dictionaries, LZ4 (LZ4_RAW in the file, named as Spark names it) instead of snappy; the rows
// and statistics read back the same.
TEST_F(ScanTest, PlainIntegersUnderLz4ReadBackTheSame) {
  auto schema = arrow::schema({arrow::field("n", arrow::int64()), arrow::field("c", arrow::int32()),
                               arrow::field("day", arrow::date32()),
                               arrow::field("ts", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")),
                               arrow::field("v", arrow::float32())});
  arrow::Int64Builder n;
  arrow::Int32Builder c;
  arrow::Date32Builder day;
  arrow::TimestampBuilder ts(schema->field(3)->type(), arrow::default_memory_pool());
  arrow::FloatBuilder v;
  for (int row = 0; row < 1000; ++row) {
    ASSERT_TRUE(n.Append(row).ok());
    ASSERT_TRUE(row % 7 == 3 ? c.AppendNull().ok() : c.Append(row % 32).ok());
    ASSERT_TRUE(day.Append(20000 + row / 500).ok());
    ASSERT_TRUE(ts.Append(int64_t{1'700'000'000'000'000} + row * 1000).ok());
    ASSERT_TRUE(v.Append(static_cast<float>(row) / 3).ok());
  }
  auto table = arrow::Table::Make(
      schema, {n.Finish().ValueOrDie(), c.Finish().ValueOrDie(), day.Finish().ValueOrDie(),
               ts.Finish().ValueOrDie(), v.Finish().ValueOrDie()});
  Metadata metadata = MakeMetadata(*schema);
  for (bool streaming : {false, true}) {
    SCOPED_TRACE(streaming ? "streaming" : "defaults");
    WriteOptions options;
    if (streaming) {
      options.dictionary_for_integers = false;
      options.compression = parquet::Compression::LZ4;
    }
    auto files = WriteDataFiles(store_, metadata, *table, options);
    ASSERT_TRUE(files.ok()) << files.status();
    ASSERT_EQ(files->size(), 1u);
    const AddFile& add = files->front();
    EXPECT_TRUE(add.path.ends_with(streaming ? ".c000.lz4raw.parquet" : ".c000.snappy.parquet"))
        << add.path;
    EXPECT_EQ(add.stats.value_or(""), *ComputeStatisticsJson(*table, ColumnMappingMode::kNone));
    auto file = store_->OpenForRead(add.path).ValueOrDie();
    auto reader = parquet::arrow::OpenFile(file, arrow::default_memory_pool()).ValueOrDie();
    auto footer = reader->parquet_reader()->metadata();
    for (int column = 0; column < 4; ++column) {
      auto chunk = footer->RowGroup(0)->ColumnChunk(column);
      EXPECT_EQ(chunk->compression(),
                streaming ? parquet::Compression::LZ4 : parquet::Compression::SNAPPY);
      EXPECT_EQ(chunk->has_dictionary_page(), !streaming) << "column " << column;
      EXPECT_TRUE(chunk->is_stats_set());
    }
    std::shared_ptr<arrow::Table> read = reader->ReadTable().ValueOrDie();
    EXPECT_TRUE(read->Equals(*table)) << read->ToString();
  }
}

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

  // Row groups whose bounds lie wholly inside the filter are read without evaluating it.
  auto upper =
      Read(metadata, *files, cp::greater_equal(cp::field_ref("id"), cp::literal(47)), &metrics);
  EXPECT_EQ(upper->num_rows(), 13);
  EXPECT_EQ(metrics.row_groups_pruned, 1);      // 40-44
  EXPECT_EQ(metrics.row_groups_unfiltered, 2);  // 50-54, 55-59; 45-49 is filtered
  auto range = Read(metadata, *files,
                    cp::and_(cp::greater_equal(cp::field_ref("id"), cp::literal(45)),
                             cp::less(cp::field_ref("value"), cp::literal(100.0))),
                    &metrics);
  EXPECT_EQ(range->num_rows(), 15);
  // value is a double: NaN is outside any bounds, so its comparison is always evaluated.
  EXPECT_EQ(metrics.row_groups_unfiltered, 0);

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

// Also as a streaming writer writes (strings handed over as dictionaries, their bounds measured
// under their physical names).
TEST_F(ScanTest, ColumnMappingWritesPhysicalNamesAndSurvivesRenames) {
  for (auto [mode, dictionary_strings] :
       {std::pair{"name", false}, {"id", false}, {"name", true}}) {
    SCOPED_TRACE(std::string(mode) + (dictionary_strings ? ", dictionary strings" : ""));
    int64_t max_id = 0;
    auto mapped = AssignColumnMapping(*schema_, &max_id).ValueOrDie();
    Metadata metadata = MakeMetadata(*mapped, {}, {{"delta.columnMapping.mode", mode}});
    WriteOptions options;
    options.dictionary_strings = dictionary_strings;
    auto files = WriteDataFiles(store_, metadata, *Sample(), options);
    ASSERT_TRUE(files.ok()) << files.status();
    std::string physical_region = *PhysicalName(*mapped->field(2), ColumnMappingMode::kName);
    EXPECT_NE(files->front().stats->find("\"" + physical_region + "\":\"eu\""), std::string::npos)
        << *files->front().stats;
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

// Acero consumes a scan's reader from a task on Arrow's I/O pool. Read-ahead (and Parquet's
// pre-buffered reads) queued on that same pool used to deadlock once every I/O thread waited:
// with one I/O thread, the first multi-file scan hung.
TEST_F(ScanTest, ReaderConsumedOnTheIoPoolDoesNotDeadlock) {
  Metadata metadata = MakeMetadata(*schema_, {"region"});
  auto files = WriteDataFiles(store_, metadata, *Sample());
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_EQ(files->size(), 3u);
  const int saved_capacity = arrow::io::GetIOThreadPoolCapacity();
  ASSERT_TRUE(arrow::io::SetIOThreadPoolCapacity(1).ok());
  auto store = store_;
  auto read_on_io_pool = arrow::DeferNotOk(arrow::io::default_io_context().executor()->Submit(
      [store, metadata, files = *files]() -> arrow::Result<int64_t> {
        ARROW_ASSIGN_OR_RAISE(auto scan,
                              ScanBuilder(store, metadata, files).Parallelism(4).Build());
        ARROW_ASSIGN_OR_RAISE(auto table, scan->ToTable());
        return table->num_rows();
      }));
  const bool finished = read_on_io_pool.Wait(30.0);
  EXPECT_TRUE(finished) << "scan consumed on a one-thread I/O pool did not finish in 30 s";
  if (finished) {
    ASSERT_TRUE(read_on_io_pool.result().ok()) << read_on_io_pool.result().status();
    EXPECT_EQ(*read_on_io_pool.result(), 60);
  }
  EXPECT_TRUE(arrow::io::SetIOThreadPoolCapacity(saved_capacity).ok());
}

TEST_F(ScanTest, CachesFootersAndStatisticsAcrossScans) {
  Metadata metadata = MakeMetadata(*schema_, {"region"});
  WriteOptions options;
  options.row_group_rows = 5;
  auto files = WriteDataFiles(store_, metadata, *Sample(), options);
  ASSERT_TRUE(files.ok()) << files.status();
  auto cache = std::make_shared<ScanCache>();
  auto read = [&](const cp::Expression& filter) {
    auto scan = ScanBuilder(store_, metadata, *files).Filter(filter).Cache(cache).Build();
    EXPECT_TRUE(scan.ok()) << scan.status();
    auto table = (*scan)->ToTable();
    EXPECT_TRUE(table.ok()) << table.status();
    return std::make_pair(table.ValueOr(nullptr), (*scan)->metrics());
  };
  auto high = cp::greater_equal(cp::field_ref("id"), cp::literal(57));
  auto [first, first_metrics] = read(high);
  ScanCache::Counts counts = cache->counts();
  EXPECT_EQ(counts.statistics.entries, 3);
  EXPECT_EQ(counts.statistics.misses, 3);
  EXPECT_EQ(counts.footers.entries, 1);  // stats skip the other two files
  EXPECT_EQ(counts.footers.misses, 1);

  auto [second, second_metrics] = read(high);
  counts = cache->counts();
  EXPECT_EQ(counts.statistics.hits, 3);
  EXPECT_EQ(counts.footers.hits, 1);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_TRUE(first->Equals(*second));
  EXPECT_EQ(second->num_rows(), 3);
  EXPECT_EQ(second_metrics.files_skipped_by_stats, 2);
  EXPECT_EQ(second_metrics.row_groups_pruned, first_metrics.row_groups_pruned);

  // A cache too small for any entry keeps nothing and changes no result.
  cache->SetCapacity({.footer_bytes = 1, .statistics_bytes = 1});
  EXPECT_EQ(cache->counts().statistics.entries, 0);
  auto [third, third_metrics] = read(high);
  ASSERT_NE(third, nullptr);
  EXPECT_TRUE(third->Equals(*first));
  EXPECT_EQ(cache->counts().footers.entries, 0);

  // Without a cache.
  auto scan = ScanBuilder(store_, metadata, *files).Filter(high).Cache(nullptr).Build();
  ASSERT_TRUE(scan.ok());
  auto uncached = (*scan)->ToTable();
  ASSERT_TRUE(uncached.ok());
  EXPECT_TRUE((*uncached)->Equals(*first));
}

TEST(LruCacheTest, EvictsLeastRecentlyUsedWithinItsBytes) {
  LruCache<std::shared_ptr<int>> cache(30);
  cache.Insert("a", std::make_shared<int>(1), 9);  // 10 bytes with the key
  cache.Insert("b", std::make_shared<int>(2), 9);
  cache.Insert("c", std::make_shared<int>(3), 9);
  ASSERT_NE(cache.Find("a"), nullptr);  // a is now the most recent
  cache.Insert("d", std::make_shared<int>(4), 9);
  EXPECT_EQ(cache.Find("b"), nullptr);
  EXPECT_EQ(*cache.Find("a"), 1);
  EXPECT_EQ(*cache.Find("d"), 4);
  cache.Insert("big", std::make_shared<int>(5), 100);
  EXPECT_EQ(cache.Find("big"), nullptr);
  EXPECT_EQ(cache.counts().entries, 3);
  EXPECT_EQ(cache.counts().bytes, 30);
}

// A file of 1,000 rows sorted by ts in pages of 50 rows, with the page index Arrow writes, and
// columns of every type the page-level reader decodes (with nulls in the optional ones).
class PageIndexScanTest : public ScanTest {
 protected:
  void SetUp() override {
    table_schema_ = arrow::schema(
        {arrow::field("ts", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"), false),
         arrow::field("device", arrow::utf8(), false), arrow::field("channel", arrow::int32()),
         arrow::field("day", arrow::date32()), arrow::field("value", arrow::float64()),
         arrow::field("reading", arrow::float32()), arrow::field("flag", arrow::boolean()),
         arrow::field("note", arrow::utf8()), arrow::field("payload", arrow::binary())});
    arrow::TimestampBuilder ts(arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"),
                               arrow::default_memory_pool());
    arrow::StringBuilder device, note;
    arrow::Int32Builder channel;
    arrow::Date32Builder day;
    arrow::DoubleBuilder value;
    arrow::FloatBuilder reading;
    arrow::BooleanBuilder flag;
    arrow::BinaryBuilder payload;
    for (int64_t row = 0; row < kRows; ++row) {
      ASSERT_TRUE(ts.Append(1'000'000 * row).ok());
      ASSERT_TRUE(device.Append("device-" + std::to_string(row % 4)).ok());
      ASSERT_TRUE((row % 7 == 0 ? channel.AppendNull() : channel.Append(row % 32)).ok());
      ASSERT_TRUE(day.Append(static_cast<int32_t>(row / 100)).ok());
      ASSERT_TRUE((row % 11 == 0 ? value.AppendNull() : value.Append(row * 0.5)).ok());
      ASSERT_TRUE(reading.Append(static_cast<float>(row % 50)).ok());
      ASSERT_TRUE((row % 3 == 0 ? flag.AppendNull() : flag.Append(row % 2 == 0)).ok());
      // Rows 600-699 hold only nulls here, a page of nulls.
      ASSERT_TRUE(
          (row >= 600 && row < 700 ? note.AppendNull() : note.Append("note " + std::to_string(row)))
              .ok());
      ASSERT_TRUE(payload.Append(std::string(1 + row % 5, static_cast<char>(row % 256))).ok());
    }
    table_ = arrow::Table::Make(
        table_schema_,
        {ts.Finish().ValueOrDie(), device.Finish().ValueOrDie(), channel.Finish().ValueOrDie(),
         day.Finish().ValueOrDie(), value.Finish().ValueOrDie(), reading.Finish().ValueOrDie(),
         flag.Finish().ValueOrDie(), note.Finish().ValueOrDie(), payload.Finish().ValueOrDie()});
    auto properties = parquet::WriterProperties::Builder()
                          .max_rows_per_page(50)
                          ->write_batch_size(50)
                          ->enable_write_page_index()
                          ->build();
    auto stream = store_->OpenForWrite("part-0.parquet").ValueOrDie();
    ASSERT_TRUE(
        parquet::arrow::WriteTable(*table_, arrow::default_memory_pool(), stream, kRows, properties)
            .ok());
    ASSERT_TRUE(stream->Close().ok());
    AddFile add;
    add.path = "part-0.parquet";
    add.size = store_->Head(add.path).ValueOrDie().size;
    files_ = {add};
    metadata_ = MakeMetadata(*table_schema_);
  }

  // The scan's rows for `filter`, checked against filtering the whole table in memory.
  void ExpectSameRowsAsFullFilter(const cp::Expression& filter, int64_t expected_skipped_at_least) {
    SCOPED_TRACE(filter.ToString());
    auto scan = ScanBuilder(store_, metadata_, files_).Filter(filter).BatchSize(64).Build();
    ASSERT_TRUE(scan.ok()) << scan.status();
    auto read = (*scan)->ToTable();
    ASSERT_TRUE(read.ok()) << read.status();
    auto bound = filter.Bind(*table_schema_).ValueOrDie();
    auto mask = cp::ExecuteScalarExpression(
                    bound, cp::ExecBatch(*table_->CombineChunksToBatch().ValueOrDie()))
                    .ValueOrDie();
    auto expected = cp::Filter(table_, mask).ValueOrDie().table();
    ASSERT_TRUE((*read)->schema()->Equals(*table_schema_));
    EXPECT_EQ((*read)->num_rows(), expected->num_rows());
    EXPECT_TRUE(
        (*read)->CombineChunks().ValueOrDie()->Equals(*expected->CombineChunks().ValueOrDie()))
        << (*read)->ToString() << "\nexpected\n"
        << expected->ToString();
    EXPECT_GE((*scan)->metrics().rows_skipped_by_page_index, expected_skipped_at_least);
  }

  static constexpr int64_t kRows = 1000;
  std::shared_ptr<arrow::Schema> table_schema_;
  std::shared_ptr<arrow::Table> table_;
  std::vector<AddFile> files_;
  Metadata metadata_;
};

TEST_F(PageIndexScanTest, ReadsOnlyThePagesThatMayMatch) {
  auto ts = [](int64_t second) {
    return cp::literal(std::make_shared<arrow::TimestampScalar>(
        1'000'000 * second, arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")));
  };
  // A point: one page of 50 rows is read.
  ExpectSameRowsAsFullFilter(cp::equal(cp::field_ref("ts"), ts(437)), kRows - 50);
  ExpectSameRowsAsFullFilter(cp::and_(cp::equal(cp::field_ref("ts"), ts(437)),
                                      cp::equal(cp::field_ref("device"), cp::literal("device-1"))),
                             kRows - 50);
  // A range across page boundaries, and two ranges.
  ExpectSameRowsAsFullFilter(cp::and_(cp::greater_equal(cp::field_ref("ts"), ts(120)),
                                      cp::less(cp::field_ref("ts"), ts(260))),
                             kRows - 200);
  ExpectSameRowsAsFullFilter(
      cp::or_(cp::less(cp::field_ref("ts"), ts(30)), cp::greater(cp::field_ref("ts"), ts(980))),
      kRows - 100);
  // Row-group statistics keep the row group, but no page matches both conditions.
  ExpectSameRowsAsFullFilter(
      cp::and_(cp::less(cp::field_ref("ts"), ts(100)),
               cp::equal(cp::field_ref("day"), cp::literal(arrow::Date32Scalar(5)))),
      kRows);
  // Nulls: the all-null page of `note`, and pages without nulls.
  ExpectSameRowsAsFullFilter(cp::is_null(cp::field_ref("note")), kRows - 100);
  ExpectSameRowsAsFullFilter(
      cp::and_(cp::is_valid(cp::field_ref("note")), cp::less(cp::field_ref("ts"), ts(80))),
      kRows - 100);
  // Other column types as the filter, and as outputs with nulls.
  ExpectSameRowsAsFullFilter(cp::equal(cp::field_ref("day"), cp::literal(arrow::Date32Scalar(3))),
                             kRows - 100);
  ExpectSameRowsAsFullFilter(cp::greater(cp::field_ref("value"), cp::literal(480.0)), kRows - 50);
  ExpectSameRowsAsFullFilter(cp::and_(cp::equal(cp::field_ref("channel"), cp::literal(5)),
                                      cp::less(cp::field_ref("ts"), ts(200))),
                             kRows - 200);
  // No page can be ruled out: the whole row group is read the usual way.
  ExpectSameRowsAsFullFilter(cp::equal(cp::field_ref("device"), cp::literal("device-2")), 0);
}

}  // namespace
}  // namespace nlk::delta::data
