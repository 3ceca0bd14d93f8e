// delta::WriteBuilder: the one write path of the table API (Table::Append/Overwrite and ingest
// use it). Commits on a caller's snapshot with app transactions, schema evolution, overwrite of
// selected partitions, the file layout and commitInfo's operation.
#include <arrow/api.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <string>

#include "delta/log/log_error.h"
#include "delta/table.h"

namespace nlk::delta {
namespace {

std::shared_ptr<arrow::Schema> Schema() {
  return arrow::schema(
      {arrow::field("p", arrow::utf8(), true), arrow::field("id", arrow::int64(), false)});
}

std::shared_ptr<arrow::RecordBatch> Rows(const std::string& partition, std::vector<int64_t> ids) {
  arrow::Int64Builder id_builder;
  EXPECT_TRUE(id_builder.AppendValues(ids).ok());
  arrow::StringBuilder p_builder;
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_TRUE(p_builder.Append(partition).ok());
  return arrow::RecordBatch::Make(
      Schema(), static_cast<int64_t>(ids.size()),
      {p_builder.Finish().ValueOrDie(), id_builder.Finish().ValueOrDie()});
}

std::shared_ptr<arrow::RecordBatchReader> Reader(std::shared_ptr<arrow::RecordBatch> batch) {
  return arrow::RecordBatchReader::Make({batch}, batch->schema()).ValueOrDie();
}

int64_t CountRows(Table& table) {
  auto reader = table.Read({}).ValueOrDie();
  int64_t rows = 0;
  std::shared_ptr<arrow::RecordBatch> batch;
  while (reader->ReadNext(&batch).ok() && batch) rows += batch->num_rows();
  return rows;
}

class WriteBuilderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device random;
    directory_ = std::filesystem::temp_directory_path() /
                 ("nlk-write-builder-" + std::to_string(random()) + std::to_string(random()));
    CreateOptions options;
    options.partition_columns = {"p"};
    auto created = Table::Create(directory_.string(), Schema(), options);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    table_ = *created;
  }
  void TearDown() override { std::filesystem::remove_all(directory_); }

  std::filesystem::path directory_;
  std::shared_ptr<Table> table_;
};

TEST_F(WriteBuilderTest, BatchesAreCommittedWithTheirTransactionsAndOperation) {
  auto written = table_->NewWrite()
                     .Data({Rows("a", {1, 2}), Rows("b", {3})})
                     .AppTransactions({{"stream:0", 41, 7}})
                     .Operation("STREAMING UPDATE", {{"outputMode", "\"Append\""}})
                     .Commit();
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_EQ(written->version, 1);
  EXPECT_EQ(written->rows_written, 3);
  EXPECT_EQ(written->files_added, 2);  // one per partition
  EXPECT_GT(written->bytes_written, 0);
  auto snapshot = table_->log()->Latest().ValueOrDie();
  EXPECT_EQ(snapshot->AppTransactionVersion("stream:0"), 41);
  EXPECT_EQ(snapshot->app_transactions().at("stream:0").last_updated, 7);
  auto actions = table_->log()->ReadCommit(1);
  ASSERT_TRUE(actions.ok()) << actions.status().ToString();
  const CommitInfo* info = nullptr;
  for (const Action& action : *actions) {
    if (auto* found = std::get_if<CommitInfo>(&action)) info = found;
  }
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->operation, "STREAMING UPDATE");
  EXPECT_NE(info->json.find(R"("outputMode":"\"Append\"")"), std::string::npos) << info->json;
  EXPECT_EQ(CountRows(*table_), 3);

  // The same transactions again: already applied, nothing is written.
  auto again = table_->NewWrite().Data({Rows("a", {9})}).AppTransactions({{"stream:0", 41, 8}});
  auto skipped = again.Commit();
  ASSERT_TRUE(skipped.ok()) << skipped.status().ToString();
  EXPECT_EQ(skipped->version, -1);
  EXPECT_EQ(CountRows(*table_), 3);
  EXPECT_FALSE(again.Commit().ok()) << "a write commits once";
}

TEST_F(WriteBuilderTest, ACommitOnAStaleSnapshotOfTheSameAppIdConflicts) {
  auto stale = table_->log()->Latest().ValueOrDie();
  ASSERT_TRUE(table_->NewWrite()
                  .OnSnapshot(stale)
                  .Data({Rows("a", {1})})
                  .AppTransactions({{"stream:0", 1, std::nullopt}})
                  .Commit()
                  .ok());
  auto lost = table_->NewWrite()
                  .OnSnapshot(stale)
                  .Data({Rows("a", {1})})
                  .AppTransactions({{"stream:0", 1, std::nullopt}})
                  .Commit();
  ASSERT_FALSE(lost.ok());
  EXPECT_TRUE(IsConcurrentModification(lost.status())) << lost.status().ToString();
  // A blind append of another app id on the same stale snapshot is rebased and lands.
  auto other = table_->NewWrite()
                   .OnSnapshot(stale)
                   .Data({Rows("b", {2})})
                   .AppTransactions({{"stream:1", 5, std::nullopt}})
                   .Commit();
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_EQ(other->version, 2);
  EXPECT_EQ(CountRows(*table_), 2);
  // The commit time stands in for a transaction without lastUpdated.
  auto snapshot = table_->log()->Latest().ValueOrDie();
  EXPECT_GT(snapshot->app_transactions().at("stream:1").last_updated.value_or(0), 0);
}

TEST_F(WriteBuilderTest, OverwriteOfAPartitionKeepsTheOthers) {
  ASSERT_TRUE(table_->NewWrite().Data({Rows("a", {1, 2}), Rows("b", {3})}).Commit().ok());
  auto replaced = table_->NewWrite().Data(Reader(Rows("a", {7}))).Overwrite("p = 'a'").Commit();
  ASSERT_TRUE(replaced.ok()) << replaced.status().ToString();
  EXPECT_EQ(replaced->files_removed, 1);
  EXPECT_EQ(CountRows(*table_), 2);
  auto outside = table_->NewWrite().Data(Reader(Rows("b", {8}))).Overwrite("p = 'a'").Commit();
  ASSERT_FALSE(outside.ok());
  EXPECT_NE(outside.status().message().find("outside --where"), std::string::npos);
  EXPECT_EQ(CountRows(*table_), 2);
}

TEST_F(WriteBuilderTest, SchemaEvolutionAddsColumnsOnlyWhenAsked) {
  auto wider_schema = Schema()->AddField(2, arrow::field("note", arrow::utf8(), true)).ValueOrDie();
  auto base = Rows("a", {1});
  auto note = arrow::MakeArrayOfNull(arrow::utf8(), 1).ValueOrDie();
  auto wider = arrow::RecordBatch::Make(wider_schema, 1, {base->column(0), base->column(1), note});
  auto refused = table_->NewWrite().Data({wider}).Commit();
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("--schema-evolution"), std::string::npos)
      << refused.status().message();
  auto evolved = table_->NewWrite().Data({wider}).SchemaEvolution().Commit();
  ASSERT_TRUE(evolved.ok()) << evolved.status().ToString();
  auto snapshot = table_->log()->Latest().ValueOrDie();
  EXPECT_NE(snapshot->metadata().schema_string.find("\"note\""), std::string::npos);
}

TEST_F(WriteBuilderTest, TargetFileSizeSplitsFilesAndNoRowsStillCommitsTransactions) {
  std::vector<int64_t> ids(20000);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int64_t>(i * 7919);
  data::WriteOptions layout;
  layout.row_group_rows = 2000;
  auto written = table_->NewWrite()
                     .Data(Reader(Rows("a", ids)))
                     .TargetFileSize(1)
                     .FileOptions(layout)
                     .Commit();
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_EQ(written->files_added, 10) << "a file closes after each row group once over the target";

  auto offsets_only = table_->NewWrite().AppTransactions({{"stream:0", 3, std::nullopt}}).Commit();
  ASSERT_TRUE(offsets_only.ok()) << offsets_only.status().ToString();
  EXPECT_EQ(offsets_only->files_added, 0);
  EXPECT_EQ(table_->log()->Latest().ValueOrDie()->AppTransactionVersion("stream:0"), 3);
}

}  // namespace
}  // namespace nlk::delta
