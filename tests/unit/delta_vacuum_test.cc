// VACUUM on real local tables: the retention guard, dry runs, orphans and tombstones judged
// against the retention (file ages set with utimes, the vacuum clock moved forward through
// DeltaLogOptions), hidden paths left alone, and deletion vector files of live files kept.
#include "delta/vacuum.h"

#include <arrow/api.h>
#include <gtest/gtest.h>
#include <sys/time.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/arrow_runtime.h"
#include "delta/data/deletion_vector.h"
#include "delta/data/uuid.h"
#include "delta/log/transaction.h"
#include "delta/table.h"
#include "storage/object_store.h"
#include "test_status.h"

namespace nlk::delta {
namespace {

constexpr int64_t kHour = 60LL * 60 * 1000;
constexpr int64_t kDay = 24 * kHour;

int64_t RealNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::shared_ptr<arrow::Schema> SampleSchema() {
  return arrow::schema({arrow::field("id", arrow::int64()), arrow::field("device", arrow::utf8())});
}

std::shared_ptr<arrow::RecordBatchReader> Rows(int64_t first_id, int64_t count) {
  arrow::Int64Builder ids;
  arrow::StringBuilder devices;
  for (int64_t i = 0; i < count; ++i) {
    EXPECT_TRUE(ids.Append(first_id + i).ok());
    EXPECT_TRUE(devices.Append("a").ok());
  }
  auto batch = arrow::RecordBatch::Make(SampleSchema(), count,
                                        {ids.Finish().ValueOrDie(), devices.Finish().ValueOrDie()});
  return arrow::RecordBatchReader::Make({batch}, SampleSchema()).ValueOrDie();
}

std::vector<std::string> Paths(const VacuumResult& result) {
  std::vector<std::string> paths;
  for (const auto& object : result.deletable) paths.push_back(object.path);
  return paths;
}

class VacuumTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(InitializeArrowCompute());
    root_ = std::filesystem::temp_directory_path() /
            ("nlk-vacuum-" + std::to_string(std::random_device{}()));
    std::filesystem::remove_all(root_);
    uri_ = root_.string();
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  std::shared_ptr<Table> CreateTable(std::map<std::string, std::string> properties = {}) {
    CreateOptions options;
    options.partition_columns = {"device"};
    options.properties = std::move(properties);
    return Table::Create(uri_, SampleSchema(), options).ValueOrDie();
  }

  // A log whose clock runs `offset_ms` ahead of the real one.
  std::shared_ptr<DeltaLog> LogWithClockAhead(int64_t offset_ms) {
    DeltaLogOptions options;
    options.clock = [offset_ms] { return RealNowMs() + offset_ms; };
    return DeltaLog::Open(storage::OpenObjectStore(uri_).ValueOrDie(), options).ValueOrDie();
  }

  void WriteFile(const std::string& relative, const std::string& content = "x") {
    std::filesystem::create_directories((root_ / relative).parent_path());
    std::ofstream(root_ / relative) << content;
  }
  // Sets the modification time to `age_ms` before now.
  void Age(const std::string& relative, int64_t age_ms) {
    const int64_t when = RealNowMs() - age_ms;
    struct timeval times[2];
    for (auto& time : times) {
      time.tv_sec = when / 1000;
      time.tv_usec = (when % 1000) * 1000;
    }
    ASSERT_EQ(utimes((root_ / relative).c_str(), times), 0) << relative;
  }
  bool Exists(const std::string& relative) { return std::filesystem::exists(root_ / relative); }

  std::filesystem::path root_;
  std::string uri_;
};

int64_t CountRows(Table& table, std::optional<int64_t> version = {}) {
  ReadOptions options;
  options.version = version;
  auto reader = table.Read(options);
  if (!reader.ok()) return -1;
  auto rows = arrow::Table::FromRecordBatchReader(reader->get());
  return rows.ok() ? (*rows)->num_rows() : -1;
}

TEST(VacuumablePathTest, SkipsHiddenPathsButNotChangeDataNorUnderscorePartitions) {
  const std::vector<std::string> partitions = {"_bucket", "device"};
  EXPECT_TRUE(IsVacuumablePath("part-0.parquet", partitions));
  EXPECT_TRUE(IsVacuumablePath("device=a/part-0.parquet", partitions));
  EXPECT_TRUE(IsVacuumablePath("deletion_vector_0c6c.bin", partitions));
  EXPECT_TRUE(IsVacuumablePath("ab/deletion_vector_0c6c.bin", partitions));
  EXPECT_TRUE(IsVacuumablePath("_change_data/cdc-0.parquet", partitions));
  EXPECT_TRUE(IsVacuumablePath("_bucket=3/part-0.parquet", partitions));
  EXPECT_FALSE(IsVacuumablePath("_delta_log/00000000000000000000.json", partitions));
  EXPECT_FALSE(IsVacuumablePath("_delta_log/_sidecars/x.parquet", partitions));
  EXPECT_FALSE(IsVacuumablePath("_other=3/part-0.parquet", partitions));
  EXPECT_FALSE(IsVacuumablePath("device=a/_SUCCESS", partitions));
  EXPECT_FALSE(IsVacuumablePath("device=a/.part-0.parquet.crc", partitions));
  EXPECT_FALSE(IsVacuumablePath(".hidden/part-0.parquet", partitions));
}

TEST_F(VacuumTest, RefusesAShortRetentionUnlessAllowed) {
  auto table = CreateTable();
  ASSERT_OK(table->Append(Rows(0, 3)).status());
  VacuumOptions options;
  options.retention_ms = kHour;
  auto refused = Vacuum(*table->log(), options);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(refused.status().IsInvalid());
  EXPECT_NE(refused.status().message().find("shorter than the table's "
                                            "delta.deletedFileRetentionDuration (168 hours)"),
            std::string::npos)
      << refused.status().message();
  EXPECT_NE(refused.status().message().find("--allow-short-retention"), std::string::npos);

  options.allow_short_retention = true;
  ASSERT_OK(Vacuum(*table->log(), options).status());

  options.retention_ms = -1;
  EXPECT_TRUE(Vacuum(*table->log(), options).status().IsInvalid());
}

TEST_F(VacuumTest, TheTablesOwnRetentionIsTheDefaultAndNeedsNoOverride) {
  auto table = CreateTable({{"delta.deletedFileRetentionDuration", "interval 1 hours"}});
  VacuumOptions options;
  ASSERT_OK_AND_ASSIGN(VacuumResult result, Vacuum(*table->log(), options));
  EXPECT_EQ(result.retention_ms, kHour);
  options.retention_ms = kHour;
  ASSERT_OK(Vacuum(*table->log(), options).status());
}

TEST_F(VacuumTest, DryRunListsWhatWouldGoAndDeletesNothing) {
  auto table = CreateTable();
  ASSERT_OK(table->Append(Rows(0, 3)).status());
  ASSERT_OK_AND_ASSIGN(auto snapshot, table->log()->Latest());
  const std::string replaced = snapshot->files().at(0).path;
  ASSERT_OK(table->Overwrite(Rows(10, 3), std::nullopt).status());
  WriteFile("device=a/orphan.parquet");
  Age("device=a/orphan.parquet", 8 * kDay);

  VacuumOptions options;
  options.dry_run = true;
  ASSERT_OK_AND_ASSIGN(VacuumResult result, Vacuum(*table->log(), options));
  EXPECT_EQ(Paths(result), std::vector<std::string>{"device=a/orphan.parquet"});
  EXPECT_EQ(result.files_deleted, 0);

  options.retention_ms = 0;
  options.allow_short_retention = true;
  ASSERT_OK_AND_ASSIGN(result, Vacuum(*table->log(), options));
  // Sorted by path.
  EXPECT_EQ(Paths(result), (std::vector<std::string>{"device=a/orphan.parquet", replaced}));
  EXPECT_TRUE(Exists(replaced));
  EXPECT_TRUE(Exists("device=a/orphan.parquet"));
}

TEST_F(VacuumTest, DeletesOnlyWhatNoRetainedVersionNeeds) {
  auto table = CreateTable();
  ASSERT_OK(table->Append(Rows(0, 4)).status());  // version 1
  ASSERT_OK_AND_ASSIGN(auto snapshot, table->log()->Latest());
  const std::string replaced = snapshot->files().at(0).path;
  ASSERT_OK(table->Overwrite(Rows(100, 2), std::nullopt).status());  // version 2
  WriteFile("device=a/old-orphan.parquet");
  Age("device=a/old-orphan.parquet", 8 * kDay);
  WriteFile("device=a/young-orphan.parquet");

  // Default retention, real clock: only the week-old orphan goes.
  ASSERT_OK_AND_ASSIGN(VacuumResult result, Vacuum(*table->log(), {}));
  EXPECT_EQ(Paths(result), std::vector<std::string>{"device=a/old-orphan.parquet"});
  EXPECT_FALSE(Exists("device=a/old-orphan.parquet"));
  EXPECT_TRUE(Exists("device=a/young-orphan.parquet"));
  EXPECT_TRUE(Exists(replaced));

  // A one-hour retention: the replaced file is old on disk, but its tombstone is minutes old,
  // so time travel to version 1 must keep working.
  Age(replaced, 3 * kHour);
  VacuumOptions short_retention;
  short_retention.retention_ms = kHour;
  short_retention.allow_short_retention = true;
  ASSERT_OK_AND_ASSIGN(result, Vacuum(*table->log(), short_retention));
  EXPECT_TRUE(result.deletable.empty()) << Paths(result).front();
  EXPECT_EQ(CountRows(*table, 1), 4);

  // Two hours later the tombstone has expired: the replaced file and the (no longer young)
  // orphan go; the live file stays and the latest version still reads.
  auto later = LogWithClockAhead(2 * kHour);
  ASSERT_OK_AND_ASSIGN(result, Vacuum(*later, short_retention));
  EXPECT_EQ(Paths(result), (std::vector<std::string>{replaced, "device=a/young-orphan.parquet"}));
  EXPECT_FALSE(Exists(replaced));
  EXPECT_EQ(CountRows(*table), 2);
  EXPECT_EQ(CountRows(*table, 1), -1);  // beyond the retention, as the user allowed
}

TEST_F(VacuumTest, KeepsHiddenFilesAndDeletionVectorsOfLiveFiles) {
  auto table = CreateTable({{"delta.enableDeletionVectors", "true"}});
  ASSERT_OK(table->Append(Rows(0, 5)).status());
  ASSERT_OK_AND_ASSIGN(auto snapshot, table->log()->Latest());
  const AddFile original = snapshot->files().at(0);

  // Delete row 2 with a deletion vector in its own file, as a DELETE would.
  auto vector = data::DeletionVector::FromRows({2});
  std::vector<int32_t> offsets;
  const std::string serialized = vector.Serialize();
  const std::string file_bytes = data::EncodeDeletionVectorFile({serialized}, &offsets);
  ASSERT_OK_AND_ASSIGN(auto descriptor,
                       data::RelativePathDescriptor(data::RandomUuid(), "", offsets[0],
                                                    static_cast<int32_t>(serialized.size()), 1));
  ASSERT_OK_AND_ASSIGN(std::string vector_path, data::DeletionVectorPath(descriptor, uri_));
  WriteFile(vector_path, file_bytes);
  auto transaction = table->log()->StartTransaction(snapshot);
  transaction->RemoveFile(MakeRemoveFile(original, RealNowMs()));
  AddFile with_vector = original;
  with_vector.deletion_vector = descriptor;
  transaction->AddFile(with_vector);
  transaction->SetOperation("DELETE");
  ASSERT_OK(transaction->Commit().status());
  ASSERT_EQ(CountRows(*table), 4);

  const std::vector<std::string> hidden = {"_tmp/part-0.parquet", ".staging/part-0.parquet",
                                           "device=a/_SUCCESS", "device=a/.part-0.parquet.crc",
                                           "_delta_log/_staged_commits/x.json"};
  for (const std::string& path : hidden) WriteFile(path);
  WriteFile("_change_data/cdc-00000.parquet");
  WriteFile("deletion_vector_00000000-0000-4000-8000-000000000000.bin");
  for (const std::string& path :
       {original.path, vector_path, std::string("_change_data/cdc-00000.parquet"),
        std::string("deletion_vector_00000000-0000-4000-8000-000000000000.bin")}) {
    Age(path, 30 * kDay);
  }
  for (const std::string& path : hidden) Age(path, 30 * kDay);

  ASSERT_OK_AND_ASSIGN(VacuumResult result, Vacuum(*table->log(), {}));
  EXPECT_EQ(Paths(result),
            (std::vector<std::string>{"_change_data/cdc-00000.parquet",
                                      "deletion_vector_00000000-0000-4000-8000-000000000000.bin"}));
  for (const std::string& path : hidden) EXPECT_TRUE(Exists(path)) << path;
  EXPECT_TRUE(Exists(vector_path));
  EXPECT_TRUE(Exists(original.path));
  EXPECT_EQ(CountRows(*table), 4);
}

TEST_F(VacuumTest, DeletesWritesAKilledProcessLeftUnfinishedOnceOlderThanRetention) {
  auto table = CreateTable();
  ASSERT_OK(table->Append(Rows(0, 5)).status());
  // What a process killed between creating and publishing a file leaves in a local table.
  const std::string old_data = "device=a/.nlk-tmp-123-0-part-00000-x.parquet";
  const std::string old_commit = "_delta_log/.nlk-tmp-123-1-00000000000000000001.json";
  const std::string recent = "device=a/.nlk-tmp-456-0-part-00001-y.parquet";
  for (const std::string& path : {old_data, old_commit, recent}) WriteFile(path);
  Age(old_data, 8 * kDay);
  Age(old_commit, 8 * kDay);

  ASSERT_OK_AND_ASSIGN(auto listed, table->log()->store()->ListUnfinishedWrites(""));
  EXPECT_EQ(listed.size(), 3u);
  ASSERT_OK_AND_ASSIGN(auto objects, table->log()->store()->List(""));
  for (const auto& object : objects) EXPECT_EQ(object.path.find(".nlk-tmp-"), std::string::npos);

  VacuumOptions dry_run;
  dry_run.dry_run = true;
  ASSERT_OK_AND_ASSIGN(VacuumResult preview, Vacuum(*table->log(), dry_run));
  EXPECT_EQ(Paths(preview), (std::vector<std::string>{old_commit, old_data}));
  EXPECT_TRUE(Exists(old_data));

  ASSERT_OK_AND_ASSIGN(VacuumResult result, Vacuum(*table->log(), {}));
  EXPECT_EQ(result.files_deleted, 2);
  EXPECT_FALSE(Exists(old_data));
  EXPECT_FALSE(Exists(old_commit));
  EXPECT_TRUE(Exists(recent));
  EXPECT_EQ(CountRows(*table), 5);
}

TEST_F(VacuumTest, RecordsStartAndEndInTheHistoryWhenAsked) {
  auto table = CreateTable();
  VacuumOptions options;
  options.record_in_history = true;
  ASSERT_OK(Vacuum(*table->log(), options).status());
  ASSERT_OK_AND_ASSIGN(auto history, table->log()->History(2));
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].commit_info->operation, "VACUUM END");
  EXPECT_EQ(history[1].commit_info->operation, "VACUUM START");
}

}  // namespace
}  // namespace nlk::delta
