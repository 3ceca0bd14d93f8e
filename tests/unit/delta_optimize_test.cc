// OPTIMIZE on real local tables: compaction keeps every row, commits dataChange=false actions
// with statistics, rebases over concurrent appends and abandons only bins whose inputs a
// concurrent overwrite removed.
#include "delta/optimize.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/arrow_runtime.h"
#include "delta/log/transaction.h"
#include "delta/table.h"
#include "storage/object_store.h"
#include "test_status.h"

namespace nlk::delta {
namespace {

std::shared_ptr<arrow::Schema> SampleSchema() {
  return arrow::schema({arrow::field("id", arrow::int64()),
                        arrow::field("ts", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")),
                        arrow::field("device", arrow::utf8()),
                        arrow::field("value", arrow::float64())});
}

// `count` rows with ids from `first_id`, timestamps in a scrambled order, on `device`.
std::shared_ptr<arrow::RecordBatchReader> Rows(int64_t first_id, int64_t count,
                                               const std::string& device) {
  arrow::Int64Builder ids;
  arrow::TimestampBuilder timestamps(arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"),
                                     arrow::default_memory_pool());
  arrow::StringBuilder devices;
  arrow::DoubleBuilder values;
  for (int64_t i = 0; i < count; ++i) {
    const int64_t id = first_id + i;
    EXPECT_TRUE(ids.Append(id).ok());
    EXPECT_TRUE(timestamps.Append((id * 7919) % 100003 * 1000).ok());
    EXPECT_TRUE(devices.Append(device).ok());
    EXPECT_TRUE(values.Append(static_cast<double>(id) / 4).ok());
  }
  auto batch =
      arrow::RecordBatch::Make(SampleSchema(), count,
                               {ids.Finish().ValueOrDie(), timestamps.Finish().ValueOrDie(),
                                devices.Finish().ValueOrDie(), values.Finish().ValueOrDie()});
  return arrow::RecordBatchReader::Make({batch}, SampleSchema()).ValueOrDie();
}

// All rows of a snapshot, sorted by id, for order-independent comparison.
std::shared_ptr<arrow::Table> SortedRows(Table& table, std::optional<int64_t> version = {}) {
  ReadOptions options;
  options.version = version;
  auto reader = table.Read(options).ValueOrDie();
  auto rows = arrow::Table::FromRecordBatchReader(reader.get()).ValueOrDie();
  arrow::compute::SortOptions sort({arrow::compute::SortKey("id")});
  auto indices = arrow::compute::SortIndices(arrow::Datum(rows), sort).ValueOrDie();
  return arrow::compute::Take(arrow::Datum(rows), indices)
      .ValueOrDie()
      .table()
      ->CombineChunks()
      .ValueOrDie();
}

std::vector<int64_t> Ids(const arrow::Table& rows) {
  std::vector<int64_t> ids;
  auto column = rows.GetColumnByName("id");
  for (const auto& chunk : column->chunks()) {
    const auto& array = static_cast<const arrow::Int64Array&>(*chunk);
    for (int64_t i = 0; i < array.length(); ++i) ids.push_back(array.Value(i));
  }
  return ids;
}

class OptimizeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(InitializeArrowCompute());
    root_ = std::filesystem::temp_directory_path() /
            ("nlk-optimize-" + std::to_string(std::random_device{}()));
    std::filesystem::remove_all(root_);
    uri_ = root_.string();
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  // A table partitioned by device with `appends` small appends of 10 rows alternating a/b.
  std::shared_ptr<Table> SmallFilesTable(int appends) {
    CreateOptions options;
    options.partition_columns = {"device"};
    auto table = Table::Create(uri_, SampleSchema(), options).ValueOrDie();
    for (int i = 0; i < appends; ++i) {
      EXPECT_TRUE(table->Append(Rows(i * 10, 10, i % 2 ? "a" : "b")).ok());
    }
    return table;
  }

  std::filesystem::path root_;
  std::string uri_;
};

TEST(PlanCompactionBinsTest, PacksSmallFilesPerPartitionAndSkipsLoneAndLargeFiles) {
  auto file = [](std::string path, std::string device, int64_t size, int64_t time) {
    AddFile add;
    add.path = std::move(path);
    add.partition_values = {{"device", std::move(device)}};
    add.size = size;
    add.modification_time = time;
    return add;
  };
  OptimizeOptions options;
  options.target_file_size = 100;
  std::vector<AddFile> files = {
      file("a1", "a", 40, 3), file("a2", "a", 40, 1),
      file("a3", "a", 40, 2), file("a4", "a", 150, 4),  // already large enough
      file("b1", "b", 30, 1),  // alone in its partition: nothing to merge with
  };
  std::vector<CompactionBin> bins = PlanCompactionBins(files, options);
  // a2, a3 (80 bytes) fill one bin by time order; a1 alone would be a one-file bin.
  ASSERT_EQ(bins.size(), 1u);
  ASSERT_EQ(bins[0].files.size(), 2u);
  EXPECT_EQ(bins[0].files[0].path, "a2");
  EXPECT_EQ(bins[0].files[1].path, "a3");
  EXPECT_EQ(bins[0].total_size, 80);

  options.min_files_per_bin = 1;
  EXPECT_EQ(PlanCompactionBins(files, options).size(), 3u);
}

TEST_F(OptimizeTest, CompactsSmallFilesKeepingEveryRow) {
  auto table = SmallFilesTable(12);
  auto before = SortedRows(*table);
  ASSERT_OK_AND_ASSIGN(auto snapshot, table->log()->Latest());
  ASSERT_EQ(snapshot->files().size(), 12u);

  ASSERT_OK_AND_ASSIGN(OptimizeMetrics metrics, Optimize(*table->log(), {}));
  EXPECT_EQ(metrics.small_files, 12);
  EXPECT_EQ(metrics.bins_planned, 2);
  EXPECT_EQ(metrics.bins_committed, 2);
  EXPECT_EQ(metrics.files_removed, 12);
  EXPECT_EQ(metrics.files_added, 2);
  EXPECT_EQ(metrics.rows_rewritten, 120);
  EXPECT_EQ(metrics.partitions_optimized, 2);
  EXPECT_TRUE(metrics.abandoned_bins.empty());

  ASSERT_OK_AND_ASSIGN(snapshot, table->log()->Latest());
  EXPECT_EQ(snapshot->files().size(), 2u);
  EXPECT_TRUE(SortedRows(*table)->Equals(*before));

  // Each bin commit only rearranges data, and the new files carry statistics.
  for (int64_t version : metrics.committed_versions) {
    ASSERT_OK_AND_ASSIGN(auto actions, table->log()->ReadCommit(version));
    int adds = 0;
    int removes = 0;
    for (const Action& action : actions) {
      if (const auto* add = std::get_if<AddFile>(&action)) {
        ++adds;
        EXPECT_FALSE(add->data_change);
        ASSERT_TRUE(add->stats.has_value());
        EXPECT_NE(add->stats->find("\"numRecords\":60"), std::string::npos) << *add->stats;
      } else if (const auto* remove = std::get_if<RemoveFile>(&action)) {
        ++removes;
        EXPECT_FALSE(remove->data_change);
      } else if (const auto* info = std::get_if<CommitInfo>(&action)) {
        EXPECT_EQ(info->operation, "OPTIMIZE");
      }
    }
    EXPECT_EQ(adds, 1);
    EXPECT_EQ(removes, 6);
  }

  // A second pass finds nothing left to do.
  ASSERT_OK_AND_ASSIGN(metrics, Optimize(*table->log(), {}));
  EXPECT_EQ(metrics.bins_planned, 0);
  // Its two files are still small, but each is alone in its partition.
  EXPECT_EQ(metrics.small_files, 2);
  // Time travel to before the compaction still reads the small files.
  EXPECT_TRUE(SortedRows(*table, 12)->Equals(*before));
}

TEST_F(OptimizeTest, SortsEachBinByTheRequestedColumn) {
  auto table = SmallFilesTable(6);
  OptimizeOptions options;
  options.sort_by = "ts";
  ASSERT_OK_AND_ASSIGN(OptimizeMetrics metrics, Optimize(*table->log(), options));
  ASSERT_EQ(metrics.files_added, 2);
  auto reader = table->Read({}).ValueOrDie();
  auto rows = arrow::Table::FromRecordBatchReader(reader.get()).ValueOrDie();
  // Files are read one after another, so each partition's timestamps come out ascending.
  auto timestamps = rows->GetColumnByName("ts")->chunks();
  auto devices = rows->GetColumnByName("device")->chunks();
  auto combined_ts = arrow::Concatenate(timestamps).ValueOrDie();
  auto combined_devices = arrow::Concatenate(devices).ValueOrDie();
  const auto& ts = static_cast<const arrow::TimestampArray&>(*combined_ts);
  const auto& device = static_cast<const arrow::StringArray&>(*combined_devices);
  for (int64_t i = 1; i < ts.length(); ++i) {
    if (device.GetView(i) == device.GetView(i - 1)) {
      EXPECT_LE(ts.Value(i - 1), ts.Value(i)) << "row " << i;
    }
  }

  options.sort_by = "no_such_column";
  auto missing = Optimize(*table->log(), options);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("no_such_column"), std::string::npos);
}

TEST_F(OptimizeTest, WhereLimitsTheRewriteToMatchingPartitions) {
  auto table = SmallFilesTable(8);
  OptimizeOptions options;
  options.where = "device = 'a'";
  ASSERT_OK_AND_ASSIGN(OptimizeMetrics metrics, Optimize(*table->log(), options));
  EXPECT_EQ(metrics.bins_committed, 1);
  EXPECT_EQ(metrics.small_files, 4) << "the backlog counts the partitions the pass covers";
  ASSERT_OK_AND_ASSIGN(auto snapshot, table->log()->Latest());
  int a_files = 0;
  int b_files = 0;
  for (const AddFile& file : snapshot->files()) {
    (file.partition_values.at("device") == "a" ? a_files : b_files)++;
  }
  EXPECT_EQ(a_files, 1);
  EXPECT_EQ(b_files, 4);
  ASSERT_OK_AND_ASSIGN(auto actions, table->log()->ReadCommit(snapshot->version()));
  const auto& info = std::get<CommitInfo>(actions.front());
  EXPECT_NE(info.json.find(R"("predicate":"[\"device = 'a'\"]")"), std::string::npos) << info.json;

  options.where = "value > 3";
  auto not_partition = Optimize(*table->log(), options);
  ASSERT_FALSE(not_partition.ok());
  EXPECT_NE(not_partition.status().message().find("partition columns (device)"), std::string::npos)
      << not_partition.status().message();
}

TEST_F(OptimizeTest, ConcurrentAppendsAreRebasedAndBothSucceed) {
  auto table = SmallFilesTable(20);
  constexpr int kAppends = 15;
  std::atomic<bool> append_failed{false};
  std::thread appender([&] {
    auto writer = Table::Open(uri_).ValueOrDie();
    for (int i = 0; i < kAppends; ++i) {
      if (!writer->Append(Rows(1000 + i * 10, 10, i % 2 ? "a" : "b")).ok()) append_failed = true;
    }
  });
  OptimizeOptions options;
  options.min_files_per_bin = 2;
  arrow::Result<OptimizeMetrics> metrics = Optimize(*table->log(), options);
  appender.join();
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_FALSE(append_failed);
  EXPECT_TRUE(metrics->abandoned_bins.empty());
  EXPECT_EQ(metrics->bins_committed, metrics->bins_planned);

  std::vector<int64_t> ids = Ids(*SortedRows(*table));
  std::vector<int64_t> expected;
  for (int64_t id = 0; id < 200; ++id) expected.push_back(id);
  for (int64_t id = 1000; id < 1000 + kAppends * 10; ++id) expected.push_back(id);
  EXPECT_EQ(ids, expected);
}

// Forwards to a real store; runs a hook once, just before the first commit file is written, to
// make another writer win that version deterministically.
class RacingStore : public storage::ObjectStore {
 public:
  RacingStore(std::shared_ptr<storage::ObjectStore> inner, std::function<void()> hook)
      : inner_(std::move(inner)), hook_(std::move(hook)) {}

  const std::string& root_uri() const override { return inner_->root_uri(); }
  arrow::Result<std::shared_ptr<arrow::Buffer>> Read(const std::string& path) override {
    return inner_->Read(path);
  }
  arrow::Result<std::shared_ptr<arrow::Buffer>> ReadRange(const std::string& path, int64_t offset,
                                                          int64_t length) override {
    return inner_->ReadRange(path, offset, length);
  }
  arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenForRead(
      const std::string& path) override {
    return inner_->OpenForRead(path);
  }
  arrow::Result<storage::ObjectInfo> Head(const std::string& path) override {
    return inner_->Head(path);
  }
  arrow::Result<std::vector<storage::ObjectInfo>> List(const std::string& prefix,
                                                       const std::string& start_after) override {
    return inner_->List(prefix, start_after);
  }
  arrow::Status Write(const std::string& path, std::shared_ptr<arrow::Buffer> data) override {
    return inner_->Write(path, std::move(data));
  }
  arrow::Result<std::shared_ptr<arrow::io::OutputStream>> OpenForWrite(
      const std::string& path) override {
    return inner_->OpenForWrite(path);
  }
  arrow::Result<bool> PutIfAbsent(const std::string& path,
                                  std::shared_ptr<arrow::Buffer> data) override {
    if (path.starts_with("_delta_log/") && path.ends_with(".json") && hook_) {
      auto hook = std::move(hook_);
      hook_ = nullptr;
      hook();
    }
    return inner_->PutIfAbsent(path, std::move(data));
  }
  arrow::Status Delete(const std::string& path) override { return inner_->Delete(path); }
  std::shared_ptr<arrow::fs::FileSystem> arrow_filesystem() const override {
    return inner_->arrow_filesystem();
  }
  std::string arrow_path(const std::string& path) const override {
    return inner_->arrow_path(path);
  }

 private:
  std::shared_ptr<storage::ObjectStore> inner_;
  std::function<void()> hook_;
};

TEST_F(OptimizeTest, OverwriteOfTheInputsAbandonsOnlyThatBin) {
  auto table = SmallFilesTable(8);
  // Just before optimize commits its first bin (partition a), another writer replaces
  // partition a: the bin's inputs are gone, so committing it would resurrect deleted rows.
  arrow::Status overwrite_status;
  auto racing = std::make_shared<RacingStore>(storage::OpenObjectStore(uri_).ValueOrDie(), [&] {
    auto writer = Table::Open(uri_).ValueOrDie();
    overwrite_status = writer->Overwrite(Rows(5000, 3, "a"), std::string("device = 'a'")).status();
  });
  ASSERT_OK_AND_ASSIGN(auto log, DeltaLog::Open(racing));
  ASSERT_OK_AND_ASSIGN(OptimizeMetrics metrics, Optimize(*log, {}));
  ASSERT_OK(overwrite_status);

  ASSERT_EQ(metrics.abandoned_bins.size(), 1u);
  EXPECT_EQ(metrics.abandoned_bins[0].partition_values.at("device"), "a");
  EXPECT_NE(metrics.abandoned_bins[0].reason.find("removed file"), std::string::npos)
      << metrics.abandoned_bins[0].reason;
  EXPECT_EQ(metrics.bins_committed, 1);  // partition b

  // Partition a holds exactly the overwrite's rows; partition b all of its original rows.
  std::vector<int64_t> expected = {5000, 5001, 5002};
  for (int i = 0; i < 8; i += 2) {
    for (int64_t id = i * 10; id < i * 10 + 10; ++id) expected.push_back(id);
  }
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(Ids(*SortedRows(*table)), expected);

  // The abandoned bin's rewritten file was deleted: every data file on disk is either live or
  // an input tombstoned by the overwrite or the committed bin.
  ASSERT_OK_AND_ASSIGN(auto snapshot, table->log()->Latest());
  std::set<std::string> known;
  for (const AddFile& file : snapshot->files()) known.insert(file.path);
  for (const RemoveFile& file : snapshot->all_tombstones()) known.insert(file.path);
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root_)) {
    if (!entry.is_regular_file()) continue;
    std::string relative = std::filesystem::relative(entry.path(), root_).string();
    if (relative.starts_with("_delta_log")) continue;
    EXPECT_TRUE(known.count(relative)) << "orphan left behind: " << relative;
  }
}

TEST_F(OptimizeTest, AnAppendWinningTheVersionIsRebasedOver) {
  auto table = SmallFilesTable(8);
  arrow::Result<WriteResult> appended = arrow::Status::UnknownError("the hook did not run");
  auto racing = std::make_shared<RacingStore>(storage::OpenObjectStore(uri_).ValueOrDie(), [&] {
    auto writer = Table::Open(uri_).ValueOrDie();
    appended = writer->Append(Rows(7000, 5, "a"));
  });
  ASSERT_OK_AND_ASSIGN(auto log, DeltaLog::Open(racing));
  ASSERT_OK_AND_ASSIGN(OptimizeMetrics metrics, Optimize(*log, {}));
  ASSERT_TRUE(appended.ok()) << appended.status();
  EXPECT_TRUE(metrics.abandoned_bins.empty());
  EXPECT_EQ(metrics.bins_committed, 2);
  // The append took the version the first bin wanted; the bin landed right after it.
  EXPECT_EQ(appended->version, metrics.read_version + 1);
  EXPECT_EQ(metrics.committed_versions.front(), metrics.read_version + 2);
  std::vector<int64_t> expected;
  for (int64_t id = 0; id < 80; ++id) expected.push_back(id);
  for (int64_t id = 7000; id < 7005; ++id) expected.push_back(id);
  EXPECT_EQ(Ids(*SortedRows(*table)), expected);
}

TEST_F(OptimizeTest, StopRequestEndsThePassBetweenBins) {
  auto table = SmallFilesTable(8);
  OptimizeOptions options;
  int polls = 0;
  options.stop_requested = [&] { return ++polls > 1; };
  ASSERT_OK_AND_ASSIGN(OptimizeMetrics metrics, Optimize(*table->log(), options));
  EXPECT_TRUE(metrics.stopped);
  EXPECT_EQ(metrics.bins_planned, 2);
  EXPECT_EQ(metrics.bins_committed, 1);
}

}  // namespace
}  // namespace nlk::delta
