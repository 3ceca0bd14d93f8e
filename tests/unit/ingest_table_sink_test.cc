// TableSink: the commit primitive of exactly-once ingest. A commit from a snapshot that missed
// another writer's commit of the same app id must fail as a conflict (and leave no files
// behind), while commits of other app ids go through.
#include "ingest/table_sink.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <string>

#include "delta/log/log_error.h"

namespace nlk::ingest {
namespace {

std::shared_ptr<arrow::Schema> Schema() {
  return arrow::schema({arrow::field("id", arrow::int64(), false)});
}

std::shared_ptr<arrow::RecordBatch> Rows(std::vector<int64_t> ids,
                                         std::shared_ptr<arrow::Schema> schema = Schema()) {
  arrow::Int64Builder builder;
  EXPECT_TRUE(builder.AppendValues(ids).ok());
  arrow::ArrayVector columns = {builder.Finish().ValueOrDie()};
  for (int extra = 1; extra < schema->num_fields(); ++extra) {
    columns.push_back(
        arrow::MakeArrayOfNull(schema->field(extra)->type(), static_cast<int64_t>(ids.size()))
            .ValueOrDie());
  }
  return arrow::RecordBatch::Make(schema, static_cast<int64_t>(ids.size()), columns);
}

int64_t CountParquetFiles(const std::filesystem::path& directory) {
  int64_t count = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(directory)) {
    if (entry.path().extension() == ".parquet") ++count;
  }
  return count;
}

class TableSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device random;
    directory_ = std::filesystem::temp_directory_path() /
                 ("nlk-table-sink-" + std::to_string(random()) + std::to_string(random()));
  }
  void TearDown() override { std::filesystem::remove_all(directory_); }

  std::unique_ptr<TableSink> Open() {
    auto sink = TableSink::Open(directory_.string(), Schema(), {});
    EXPECT_TRUE(sink.ok()) << sink.status().ToString();
    return sink.ok() ? std::move(*sink) : nullptr;
  }

  std::filesystem::path directory_;
};

TEST_F(TableSinkTest, CreatesTheTableOnDemandAndCommitsRowsWithTheirTransactions) {
  auto sink = Open();
  ASSERT_NE(sink, nullptr);
  EXPECT_EQ(sink->Refresh().ValueOrDie(), nullptr) << "nothing is created before the first commit";
  auto snapshot = sink->EnsureCreated().ValueOrDie();
  auto committed = sink->Commit(snapshot, Rows({1, 2, 3}), {{"app:0", 7, 1}}, false);
  ASSERT_TRUE(committed.ok()) << committed.status().ToString();
  EXPECT_EQ(committed->version, 1);
  EXPECT_EQ(committed->rows, 3);
  EXPECT_GT(committed->bytes, 0);
  EXPECT_EQ(sink->Refresh().ValueOrDie()->AppTransactionVersion("app:0"), 7);

  // Offsets alone (a flush of only dead letters) are a commit too.
  auto offsets_only = sink->Commit(sink->Refresh().ValueOrDie(), nullptr, {{"app:0", 9, 2}}, false);
  ASSERT_TRUE(offsets_only.ok()) << offsets_only.status().ToString();
  EXPECT_EQ(offsets_only->files, 0);
  EXPECT_EQ(sink->Refresh().ValueOrDie()->AppTransactionVersion("app:0"), 9);
}

TEST_F(TableSinkTest, AStaleCommitOfTheSameAppIdConflictsAndLeavesNoFiles) {
  auto winner = Open();
  auto zombie = Open();
  ASSERT_NE(winner, nullptr);
  ASSERT_NE(zombie, nullptr);
  auto created = winner->EnsureCreated().ValueOrDie();
  auto stale = zombie->Refresh().ValueOrDie();
  ASSERT_TRUE(winner->Commit(created, Rows({1}), {{"app:0", 10, 1}}, false).ok());
  const int64_t files_before = CountParquetFiles(directory_);

  auto lost = zombie->Commit(stale, Rows({1}), {{"app:0", 10, 1}}, false);
  ASSERT_FALSE(lost.ok());
  EXPECT_TRUE(delta::IsConcurrentModification(lost.status())) << lost.status().ToString();
  EXPECT_EQ(CountParquetFiles(directory_), files_before) << "the losing commit's files remain";

  // Another partition's commit from the same stale snapshot is a blind append: no conflict.
  auto other = zombie->Commit(stale, Rows({2}), {{"app:1", 4, 1}}, false);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  auto latest = winner->Refresh().ValueOrDie();
  EXPECT_EQ(latest->AppTransactionVersion("app:0"), 10);
  EXPECT_EQ(latest->AppTransactionVersion("app:1"), 4);
  EXPECT_EQ(latest->files().size(), 2u);
}

TEST_F(TableSinkTest, SchemaEvolutionAddsNewColumnsInTheSameCommit) {
  auto sink = Open();
  ASSERT_NE(sink, nullptr);
  auto snapshot = sink->EnsureCreated().ValueOrDie();
  auto wider = arrow::schema(
      {arrow::field("id", arrow::int64(), false), arrow::field("note", arrow::utf8(), true)});
  auto refused = sink->Commit(snapshot, Rows({1}, wider), {}, false);
  EXPECT_FALSE(refused.ok()) << "a new column without schema evolution must be refused";
  auto evolved = sink->Commit(sink->Refresh().ValueOrDie(), Rows({1}, wider), {}, true);
  ASSERT_TRUE(evolved.ok()) << evolved.status().ToString();
  auto schema = sink->Schema().ValueOrDie();
  EXPECT_NE(schema->GetFieldByName("note"), nullptr) << schema->ToString();
}

TEST(TableSinkOpenTest, AMissingTableWithoutACreationSchemaIsRefused) {
  auto sink = TableSink::Open(
      (std::filesystem::temp_directory_path() / "nlk-table-sink-absent-table").string(), nullptr,
      {});
  ASSERT_FALSE(sink.ok());
  EXPECT_NE(sink.status().message().find("does not exist"), std::string::npos);
}

}  // namespace
}  // namespace nlk::ingest
