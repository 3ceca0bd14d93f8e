#include <gtest/gtest.h>

#include "delta/log/data_freshness.h"

namespace nlk::delta {
namespace {

CommitRecord Commit(int64_t version, int64_t timestamp_ms, std::optional<std::string> operation) {
  CommitRecord record;
  record.version = version;
  record.timestamp_ms = timestamp_ms;
  if (operation) {
    record.commit_info = CommitInfo{};
    if (!operation->empty()) record.commit_info->operation = *operation;
  }
  return record;
}

TEST(DataFreshnessTest, MaintenanceBringsNoNewData) {
  for (const char* operation : {"OPTIMIZE", "VACUUM START", "VACUUM END", "SET TBLPROPERTIES",
                                "UNSET TBLPROPERTIES", "UPGRADE PROTOCOL"}) {
    EXPECT_FALSE(MayBringNewData(Commit(0, 0, operation).commit_info)) << operation;
  }
  for (const char* operation : {"WRITE", "STREAMING UPDATE", "CREATE TABLE", "MERGE", "DELETE",
                                "UPDATE", "CREATE OR REPLACE TABLE AS SELECT"}) {
    EXPECT_TRUE(MayBringNewData(Commit(0, 0, operation).commit_info)) << operation;
  }
  // Without commitInfo, or without an operation in it, a commit may have brought anything.
  EXPECT_TRUE(MayBringNewData(std::nullopt));
  EXPECT_TRUE(MayBringNewData(Commit(0, 0, "").commit_info));
}

TEST(DataFreshnessTest, NewestDataCommitSkipsMaintenance) {
  EXPECT_EQ(NewestDataCommitMs({}), std::nullopt);
  // Newest first, as DeltaLog::History returns commits.
  EXPECT_EQ(NewestDataCommitMs({Commit(4, 4000, "VACUUM END"), Commit(3, 3000, "OPTIMIZE"),
                                Commit(2, 2000, "STREAMING UPDATE"), Commit(1, 1000, "WRITE")}),
            2000);
  EXPECT_EQ(NewestDataCommitMs({Commit(4, 4000, "WRITE"), Commit(3, 3000, "OPTIMIZE")}), 4000);
  // Only maintenance in sight: the data is at least as old as the oldest commit seen.
  EXPECT_EQ(NewestDataCommitMs({Commit(9, 9000, "OPTIMIZE"), Commit(8, 8000, "VACUUM END")}), 8000);
}

}  // namespace
}  // namespace nlk::delta
