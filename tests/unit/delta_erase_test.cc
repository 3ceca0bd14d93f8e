// Erasure on a real local table with deletion vectors: the erased value is gone from the rows
// of every remaining data file (also rows a deletion vector had hidden), the log starts at the
// new checkpoint, other rows stay; refused requests change nothing.
#include "delta/erase.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/arrow_runtime.h"
#include "delta/data/schema.h"
#include "delta/dml/target_files.h"
#include "delta/predicate.h"
#include "delta/table.h"
#include "test_status.h"

namespace nlk::delta {
namespace {

std::shared_ptr<arrow::Schema> SampleSchema() {
  return arrow::schema(
      {arrow::field("id", arrow::int64()), arrow::field("subject_id", arrow::utf8())});
}

// Ids [first, first + count), subject "S-<id % 5>".
std::shared_ptr<arrow::RecordBatchReader> Rows(int64_t first, int64_t count) {
  arrow::Int64Builder ids;
  arrow::StringBuilder subjects;
  for (int64_t id = first; id < first + count; ++id) {
    EXPECT_TRUE(ids.Append(id).ok());
    EXPECT_TRUE(subjects.Append("S-" + std::to_string(id % 5)).ok());
  }
  auto batch = arrow::RecordBatch::Make(
      SampleSchema(), count, {ids.Finish().ValueOrDie(), subjects.Finish().ValueOrDie()});
  return arrow::RecordBatchReader::Make({batch}, SampleSchema()).ValueOrDie();
}

class EraseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(InitializeArrowCompute());
    root_ = std::filesystem::temp_directory_path() /
            ("nlk-erase-" + std::to_string(std::random_device{}()));
    CreateOptions options;
    options.properties["delta.enableDeletionVectors"] = "true";
    ASSERT_OK_AND_ASSIGN(table_, Table::Create(root_.string(), SampleSchema(), options));
    ASSERT_OK(table_->Append(Rows(0, 100)).status());
    ASSERT_OK(table_->Append(Rows(100, 100)).status());
    // The first file's S-3 rows, hidden by a deletion vector but still in the file.
    ASSERT_OK_AND_ASSIGN(auto hidden, Predicate("subject_id = 'S-3' AND id < 100"));
    ASSERT_OK_AND_ASSIGN(auto deleted, table_->Delete(hidden));
    ASSERT_TRUE(deleted.used_deletion_vectors);
    ASSERT_EQ(deleted.rows_deleted, 20);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  arrow::Result<arrow::compute::Expression> Predicate(const std::string& text) {
    return ParsePredicate(text, *SampleSchema());
  }

  int64_t Version() { return table_->SnapshotFor({}).ValueOrDie()->version(); }

  // Every subject physically in the live files, deletion vectors not applied.
  std::vector<std::string> PhysicalSubjects() {
    auto snapshot = table_->SnapshotFor({}).ValueOrDie();
    std::vector<std::string> subjects;
    for (const AddFile& file : snapshot->files()) {
      auto rows = dml::ReadFileRows(table_->store(), snapshot->metadata(), file, {}).ValueOrDie();
      auto column = rows.rows->GetColumnByName("subject_id");
      for (const auto& chunk : column->chunks()) {
        const auto& strings = static_cast<const arrow::StringArray&>(*chunk);
        for (int64_t i = 0; i < strings.length(); ++i) subjects.push_back(strings.GetString(i));
      }
    }
    return subjects;
  }

  std::filesystem::path root_;
  std::shared_ptr<Table> table_;
};

TEST_F(EraseTest, RemovesLiveAndHiddenRowsFilesAndHistory) {
  ASSERT_OK_AND_ASSIGN(auto predicate, Predicate("subject_id = 'S-3'"));
  EraseOptions options;
  options.now = true;
  ASSERT_OK_AND_ASSIGN(EraseResult result, Erase(*table_, predicate, options));
  EXPECT_TRUE(result.deleted.committed);
  EXPECT_FALSE(result.deleted.used_deletion_vectors);
  EXPECT_EQ(result.deleted.rows_deleted, 20);  // the second file's; the first's were hidden
  EXPECT_EQ(result.deleted.files_removed, 2);
  EXPECT_EQ(result.deleted.files_purged, 1);
  EXPECT_EQ(result.vacuum.retention_ms, 0);
  EXPECT_GE(result.vacuum.files_deleted, 2);
  EXPECT_EQ(result.files_pending, 0);

  auto subjects = PhysicalSubjects();
  EXPECT_EQ(subjects.size(), 160u);
  EXPECT_EQ(std::count(subjects.begin(), subjects.end(), "S-3"), 0);

  // The log starts at the checkpoint; nothing below it, and no older checkpoint.
  int64_t oldest = std::numeric_limits<int64_t>::max();
  for (const auto& entry : std::filesystem::directory_iterator(root_ / "_delta_log")) {
    std::string name = entry.path().filename().string();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    oldest = std::min<int64_t>(oldest, std::stoll(name.substr(0, 20)));
  }
  EXPECT_EQ(oldest, result.checkpoint_version);
  EXPECT_EQ(Version(), result.checkpoint_version);
  // No file under the root names the value in plain bytes (JSON, statistics, footers).
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root_)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(bytes.find("S-3"), std::string::npos) << entry.path();
  }
}

TEST_F(EraseTest, WithTheTableRetentionTheOldFilesWait) {
  ASSERT_OK_AND_ASSIGN(auto predicate, Predicate("subject_id = 'S-3'"));
  ASSERT_OK_AND_ASSIGN(EraseResult result, Erase(*table_, predicate));
  EXPECT_EQ(result.deleted.rows_deleted, 20);
  EXPECT_EQ(result.vacuum.files_deleted, 0);
  EXPECT_GE(result.files_pending, 2);
  ASSERT_TRUE(result.deletable_after_ms.has_value());
  EXPECT_GE(*result.deletable_after_ms, result.vacuum.cutoff_ms + result.vacuum.retention_ms);
  auto subjects = PhysicalSubjects();
  EXPECT_EQ(std::count(subjects.begin(), subjects.end(), "S-3"), 0);
}

TEST_F(EraseTest, RefusedRequestsChangeNothing) {
  const int64_t version = Version();
  ASSERT_OK_AND_ASSIGN(auto predicate, Predicate("subject_id = 'S-3'"));
  EraseOptions short_retention;
  short_retention.retention_ms = 3600 * 1000;
  auto refused = Erase(*table_, predicate, short_retention);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("shorter than the table's"), std::string::npos)
      << refused.status().message();
  EXPECT_EQ(Version(), version);

  // Purging needs copy-on-write.
  dml::DmlOptions options;
  options.mode = dml::RowChangeMode::kDeletionVectors;
  options.purge_deleted_matches = true;
  auto purge = table_->Delete(predicate, options);
  ASSERT_FALSE(purge.ok());
  EXPECT_NE(purge.status().message().find("copy-on-write"), std::string::npos);
  EXPECT_EQ(Version(), version);
}

}  // namespace
}  // namespace nlk::delta
