// Retention on real local tables: expired date and timestamp partitions removed in one DELETE
// commit, the others kept, dry runs commit nothing, and non-partition or non-date columns refused.
#include "delta/retention.h"

#include <arrow/api.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "delta/table.h"
#include "test_status.h"

namespace nlk::delta {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kDayMs = 86'400'000LL;
// 2026-04-11T12:00:00Z: "now" in these tests.
constexpr int64_t kNowMs = 1'775'908'800'000LL;
constexpr int32_t kToday = static_cast<int32_t>(kNowMs / kDayMs);  // 2026-04-11

class RetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = fs::temp_directory_path() /
                 ("nlk-retention-" + std::to_string(::getpid()) + "-" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(directory_);
    fs::create_directories(directory_);
    uri_ = (directory_ / "table").string();
  }
  void TearDown() override { fs::remove_all(directory_); }

  // One row per day offset (relative to kToday) with `id` = offset, partitioned by `day`.
  void CreateByDay(const std::vector<int>& offsets) {
    auto schema =
        arrow::schema({arrow::field("id", arrow::int64()), arrow::field("day", arrow::date32())});
    arrow::Int64Builder ids;
    arrow::Date32Builder days;
    for (int offset : offsets) {
      ASSERT_TRUE(ids.Append(offset).ok());
      ASSERT_TRUE(days.Append(kToday + offset).ok());
    }
    auto batch = arrow::RecordBatch::Make(schema, static_cast<int64_t>(offsets.size()),
                                          {ids.Finish().ValueOrDie(), days.Finish().ValueOrDie()});
    CreateOptions options;
    options.partition_columns = {"day"};
    ASSERT_OK_AND_ASSIGN(auto reader, arrow::RecordBatchReader::Make({batch}, schema));
    ASSERT_OK_AND_ASSIGN(auto table, Table::Create(uri_, schema, options, reader));
    (void)table;
  }

  std::vector<int64_t> Ids() {
    auto table = Table::Open(uri_).ValueOrDie();
    auto rows = table->Read({}).ValueOrDie()->ToTable().ValueOrDie();
    std::vector<int64_t> ids;
    auto column = rows->GetColumnByName("id");
    for (const auto& chunk : column->chunks()) {
      auto values = std::static_pointer_cast<arrow::Int64Array>(chunk);
      for (int64_t i = 0; i < values->length(); ++i) ids.push_back(values->Value(i));
    }
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  fs::path directory_;
  std::string uri_;
};

TEST_F(RetentionTest, DeletesWholeDaysOlderThanKeep) {
  CreateByDay({-40, -31, -30, -29, -1, 0});
  ASSERT_OK_AND_ASSIGN(auto table, Table::Open(uri_));
  RetentionOptions options;
  options.column = "day";
  options.keep = std::chrono::days{30};
  options.now_ms = kNowMs;
  ASSERT_OK_AND_ASSIGN(RetentionResult result, ApplyRetention(*table->log(), options));
  // Cutoff 2026-03-12T12:00Z: days that end by then go (-40, -31); 2026-03-12 (-30) still holds
  // rows within 30 days and stays.
  EXPECT_EQ(result.cutoff, "2026-03-12T12:00:00Z");
  EXPECT_EQ(result.predicate, "day < '2026-03-12'");
  EXPECT_EQ(result.partitions, (std::vector<std::string>{"2026-03-02", "2026-03-11"}));
  EXPECT_EQ(result.files_removed, 2);
  EXPECT_EQ(result.rows_removed, 2);
  EXPECT_EQ(result.committed_version, 1);
  EXPECT_EQ(Ids(), (std::vector<int64_t>{-30, -29, -1, 0}));

  ASSERT_OK_AND_ASSIGN(auto snapshot, table->log()->Latest());
  EXPECT_EQ(snapshot->version(), 1);
  // A second pass finds nothing and commits nothing.
  ASSERT_OK_AND_ASSIGN(RetentionResult again, ApplyRetention(*table->log(), options));
  EXPECT_TRUE(again.partitions.empty());
  EXPECT_EQ(again.committed_version, -1);
  ASSERT_OK_AND_ASSIGN(snapshot, table->log()->Latest());
  EXPECT_EQ(snapshot->version(), 1);
}

TEST_F(RetentionTest, CommitIsADeleteWithItsPredicate) {
  CreateByDay({-100, 0});
  ASSERT_OK_AND_ASSIGN(auto table, Table::Open(uri_));
  RetentionOptions options{.column = "day", .keep = std::chrono::days{90}, .now_ms = kNowMs};
  ASSERT_OK_AND_ASSIGN(RetentionResult result, ApplyRetention(*table->log(), options));
  ASSERT_EQ(result.committed_version, 1);
  std::ifstream commit(directory_ / "table" / "_delta_log" / "00000000000000000001.json");
  std::string text((std::istreambuf_iterator<char>(commit)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("\"operation\":\"DELETE\""), std::string::npos) << text;
  EXPECT_NE(text.find("day < '2026-01-11'"), std::string::npos) << text;
  EXPECT_NE(text.find("\"remove\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"dataChange\":true"), std::string::npos) << text;
  EXPECT_NE(text.find("\"userName\""), std::string::npos) << text;
}

TEST_F(RetentionTest, DryRunCommitsNothing) {
  CreateByDay({-100, -50, 0});
  ASSERT_OK_AND_ASSIGN(auto table, Table::Open(uri_));
  RetentionOptions options{
      .column = "day", .keep = std::chrono::days{30}, .dry_run = true, .now_ms = kNowMs};
  ASSERT_OK_AND_ASSIGN(RetentionResult result, ApplyRetention(*table->log(), options));
  EXPECT_EQ(result.partitions.size(), 2u);
  EXPECT_EQ(result.committed_version, -1);
  EXPECT_TRUE(result.dry_run);
  EXPECT_EQ(Ids(), (std::vector<int64_t>{-100, -50, 0}));
}

TEST_F(RetentionTest, RefusesColumnsThatAreNotDatePartitions) {
  CreateByDay({-100, 0});
  ASSERT_OK_AND_ASSIGN(auto table, Table::Open(uri_));
  RetentionOptions options{.column = "id", .keep = std::chrono::days{30}, .now_ms = kNowMs};
  auto refused = ApplyRetention(*table->log(), options);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("not a partition column"), std::string::npos)
      << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("partition columns: day"), std::string::npos);
  options.column = "day";
  options.keep = std::chrono::days{0};
  EXPECT_FALSE(ApplyRetention(*table->log(), options).ok());
  EXPECT_EQ(Ids(), (std::vector<int64_t>{-100, 0}));
}

TEST_F(RetentionTest, TimestampPartitions) {
  auto schema = arrow::schema({arrow::field("id", arrow::int64()),
                               arrow::field("hour", arrow::timestamp(arrow::TimeUnit::MICRO))});
  arrow::Int64Builder ids;
  arrow::TimestampBuilder hours(arrow::timestamp(arrow::TimeUnit::MICRO),
                                arrow::default_memory_pool());
  // 49 hours, 47 hours and 1 hour before now.
  for (int64_t before : {49, 47, 1}) {
    ASSERT_TRUE(ids.Append(before).ok());
    ASSERT_TRUE(hours.Append((kNowMs - before * 3'600'000LL) * 1000).ok());
  }
  auto batch =
      arrow::RecordBatch::Make(schema, 3, {ids.Finish().ValueOrDie(), hours.Finish().ValueOrDie()});
  CreateOptions create;
  create.partition_columns = {"hour"};
  ASSERT_OK_AND_ASSIGN(auto reader, arrow::RecordBatchReader::Make({batch}, schema));
  ASSERT_OK_AND_ASSIGN(auto table, Table::Create(uri_, schema, create, reader));
  RetentionOptions options{.column = "hour", .keep = std::chrono::days{2}, .now_ms = kNowMs};
  ASSERT_OK_AND_ASSIGN(RetentionResult result, ApplyRetention(*table->log(), options));
  EXPECT_EQ(result.partitions.size(), 1u);
  EXPECT_EQ(Ids(), (std::vector<int64_t>{1, 47}));
}

}  // namespace
}  // namespace nlk::delta
