// Commits: table creation, commitInfo, the conflict rules under each isolation level, racing
// writers, idempotent app transactions, append-only enforcement and automatic checkpoints.
#include <gtest/gtest.h>

#include <thread>

#include "common/json_value.h"
#include "delta/log/action_json.h"
#include "delta/log/delta_log.h"
#include "delta/log/log_error.h"
#include "delta/log/log_files.h"
#include "delta/log/protocol_support.h"
#include "delta/log/transaction.h"
#include "delta_log_memory_store.h"

namespace nlk::delta {
namespace {

using testing::MemoryStore;

Metadata TableMetadata(StringMap configuration = {}) {
  Metadata metadata;
  metadata.id = "11111111-2222-3333-4444-555555555555";
  metadata.schema_string =
      R"({"type":"struct","fields":[{"name":"p","type":"string","nullable":true,"metadata":{}}]})";
  metadata.partition_columns = {"p"};
  metadata.configuration = std::move(configuration);
  return metadata;
}

AddFile File(const std::string& path, const std::string& partition, bool data_change = true) {
  AddFile add;
  add.path = path;
  add.partition_values = {{"p", partition}};
  add.size = 10;
  add.data_change = data_change;
  return add;
}

struct Table {
  std::shared_ptr<MemoryStore> store = std::make_shared<MemoryStore>();
  std::shared_ptr<DeltaLog> log = *DeltaLog::Open(store);

  explicit Table(StringMap configuration = {},
                 Protocol protocol = Protocol{
                     1, 7, std::nullopt,
                     std::vector<std::string>{"domainMetadata", "appendOnly"}}) {
    auto create = log->StartTransaction(nullptr);
    create->UpdateProtocol(protocol);
    create->UpdateMetadata(TableMetadata(std::move(configuration)));
    create->SetOperation("CREATE TABLE");
    EXPECT_TRUE(create->Commit().ok());
    // Version 1: one file in each of two partitions.
    auto seed = log->StartTransaction(*log->Latest());
    seed->AddFile(File("p=1/f1.parquet", "1"));
    seed->AddFile(File("p=2/f2.parquet", "2"));
    EXPECT_TRUE(seed->Commit().ok());
  }
  std::shared_ptr<const Snapshot> Latest() { return *log->Latest(); }
};

TEST(Transaction, CreatesTableWithCommitInfoFirst) {
  Table table;
  auto contents = *table.store->Read(CommitPath(0));
  auto actions = *ParseActionLines(std::string_view(*contents), "v0");
  ASSERT_GE(actions.size(), 3u);
  const auto& info = std::get<CommitInfo>(actions[0]);
  auto json = *ParseJson(info.json);
  EXPECT_EQ(json.Find("operation")->string(), "CREATE TABLE");
  EXPECT_EQ(json.Find("engineInfo")->string(), "neuralake/0.1.0");
  EXPECT_EQ(json.Find("isolationLevel")->string(), "WriteSerializable");
  EXPECT_TRUE(json.Find("isBlindAppend")->boolean());
  EXPECT_EQ(json.Find("readVersion"), nullptr);
  EXPECT_TRUE(std::holds_alternative<Protocol>(actions[1]));
  EXPECT_TRUE(std::holds_alternative<Metadata>(actions[2]));

  auto version1 = *ParseActionLines(std::string_view(**table.store->Read(CommitPath(1))), "v1");
  auto json1 = *ParseJson(std::get<CommitInfo>(version1[0]).json);
  EXPECT_EQ(json1.Find("readVersion")->integer(), 0);
  EXPECT_EQ(table.Latest()->files().size(), 2u);
}

TEST(Transaction, CreatingWithoutMetadataIsRefused) {
  auto store = std::make_shared<MemoryStore>();
  auto log = *DeltaLog::Open(store);
  auto create = log->StartTransaction(nullptr);
  create->AddFile(File("a", "1"));
  EXPECT_FALSE(create->Commit().ok());
}

TEST(Transaction, ConcurrentCreationLosesWithMetadataChanged) {
  auto store = std::make_shared<MemoryStore>();
  auto log = *DeltaLog::Open(store);
  auto first = log->StartTransaction(nullptr);
  auto second = log->StartTransaction(nullptr);
  first->UpdateMetadata(TableMetadata());
  second->UpdateMetadata(TableMetadata());
  ASSERT_TRUE(first->Commit().ok());
  auto lost = second->Commit();
  ASSERT_FALSE(lost.ok());
  EXPECT_TRUE(IsLogError(lost.status(), LogErrorKind::kMetadataChanged));
}

// One row of the conflict table: the winner commits between the loser's read and commit.
struct ConflictCase {
  std::string name;
  std::function<void(Transaction&)> winner;
  std::function<void(Transaction&)> loser;
  std::optional<LogErrorKind> expected;  // nullopt: the loser commits as version 3
};

void ReadPartition1(Transaction& txn) {
  txn.ReadPartitions([](const PartitionValues& values) {
    auto it = values.find("p");
    return it != values.end() && it->second == "1";
  });
}

std::vector<ConflictCase> ConflictCases() {
  const auto blind_append_p1 = [](Transaction& txn) { txn.AddFile(File("p=1/new.parquet", "1")); };
  const auto read_p1_and_append_p1 = [](Transaction& txn) {
    ReadPartition1(txn);
    txn.AddFile(File("p=1/new.parquet", "1"));
  };
  const auto read_p1_and_write = [](Transaction& txn) {
    ReadPartition1(txn);
    txn.AddFile(File("p=1/mine.parquet", "1"));
  };
  const auto remove_f1 = [](Transaction& txn) {
    txn.RemoveFile(MakeRemoveFile(File("p=1/f1.parquet", "1"), 5));
  };
  return {
      {"blind append vs read of same partition (WriteSerializable)", blind_append_p1,
       read_p1_and_write, std::nullopt},
      {"blind append vs read of same partition (Serializable)", blind_append_p1,
       [&](Transaction& txn) {
         read_p1_and_write(txn);
         txn.SetIsolationLevel(IsolationLevel::kSerializable);
       },
       LogErrorKind::kConcurrentAppend},
      {"non-blind append into partition read", read_p1_and_append_p1, read_p1_and_write,
       LogErrorKind::kConcurrentAppend},
      {"non-blind append into another partition",
       [](Transaction& txn) {
         txn.ReadWholeTable();
         txn.AddFile(File("p=2/new.parquet", "2"));
       },
       read_p1_and_write, std::nullopt},
      {"whole-table read vs non-blind append",
       [](Transaction& txn) {
         txn.ReadFile("p=2/f2.parquet");
         txn.AddFile(File("p=2/new.parquet", "2"));
       },
       [](Transaction& txn) {
         txn.ReadWholeTable();
         txn.AddFile(File("p=3/x.parquet", "3"));
       },
       LogErrorKind::kConcurrentAppend},
      {"delete of a file in a partition read", remove_f1, read_p1_and_write,
       LogErrorKind::kConcurrentDeleteRead},
      {"delete of a file read explicitly", remove_f1,
       [](Transaction& txn) {
         txn.ReadFile("p=1/f1.parquet");
         txn.AddFile(File("p=3/x.parquet", "3"));
       },
       LogErrorKind::kConcurrentDeleteRead},
      {"delete in a partition not read",
       [](Transaction& txn) { txn.RemoveFile(MakeRemoveFile(File("p=2/f2.parquet", "2"), 5)); },
       read_p1_and_write, std::nullopt},
      {"both delete the same file", remove_f1, remove_f1, LogErrorKind::kConcurrentDeleteDelete},
      {"metadata change",
       [](Transaction& txn) {
         txn.UpdateMetadata(TableMetadata({{"a", "b"}}));
       },
       blind_append_p1, LogErrorKind::kMetadataChanged},
      {"both change the protocol",
       [](Transaction& txn) {
         txn.UpdateProtocol(
             Protocol{1, 7, std::nullopt,
                      std::vector<std::string>{"domainMetadata", "appendOnly", "timestampNtz"}});
       },
       [](Transaction& txn) {
         txn.UpdateProtocol(
             Protocol{1, 7, std::nullopt,
                      std::vector<std::string>{"domainMetadata", "appendOnly", "changeDataFeed"}});
       },
       LogErrorKind::kProtocolChanged},
      {"same application transaction",
       [](Transaction& txn) {
         txn.SetAppTransaction({"stream", 1, std::nullopt});
       },
       [](Transaction& txn) {
         txn.SetAppTransaction({"stream", 2, std::nullopt});
         txn.AddFile(File("p=1/x.parquet", "1"));
       },
       LogErrorKind::kConcurrentTransaction},
      {"different application transactions",
       [](Transaction& txn) {
         txn.SetAppTransaction({"stream-a", 1, std::nullopt});
       },
       [](Transaction& txn) {
         txn.SetAppTransaction({"stream-b", 1, std::nullopt});
       },
       std::nullopt},
      {"same metadata domain",
       [](Transaction& txn) {
         txn.SetDomainMetadata({"com.example", "1", false});
       },
       [](Transaction& txn) {
         txn.SetDomainMetadata({"com.example", "2", false});
       },
       LogErrorKind::kConcurrentDomainMetadata},
      {"compaction (dataChange=false) vs append into its partition", read_p1_and_append_p1,
       [](Transaction& txn) {
         ReadPartition1(txn);
         txn.RemoveFile(MakeRemoveFile(File("p=1/f1.parquet", "1"), 5, /*data_change=*/false));
         txn.AddFile(File("p=1/compacted.parquet", "1", /*data_change=*/false));
       },
       std::nullopt},
  };
}

TEST(Transaction, ConflictRules) {
  for (const auto& test_case : ConflictCases()) {
    SCOPED_TRACE(test_case.name);
    Table table;
    auto read = table.Latest();
    auto loser = table.log->StartTransaction(read);
    test_case.loser(*loser);
    auto winner = table.log->StartTransaction(read);
    test_case.winner(*winner);
    auto won = winner->Commit();
    ASSERT_TRUE(won.ok()) << won.status().ToString();
    ASSERT_EQ(won->version, 2);

    auto result = loser->Commit();
    if (!test_case.expected) {
      ASSERT_TRUE(result.ok()) << result.status().ToString();
      EXPECT_EQ(result->version, 3);
      EXPECT_EQ(result->attempts, 2);
      continue;
    }
    ASSERT_FALSE(result.ok());
    EXPECT_TRUE(IsLogError(result.status(), *test_case.expected)) << result.status().ToString();
    EXPECT_TRUE(IsConcurrentModification(result.status()));
    EXPECT_NE(result.status().message().find(LogErrorKindName(*test_case.expected)),
              std::string::npos);
    EXPECT_NE(result.status().message().find("version 2"), std::string::npos)
        << result.status().ToString();
    EXPECT_EQ(GetLogErrorDetail(result.status())->version(), 2);
    EXPECT_FALSE(table.store->Exists(CommitPath(3)));
  }
}

TEST(Transaction, RacingWritersAllCommitContiguousVersions) {
  Table table;
  constexpr int kThreads = 6;
  constexpr int kCommitsPerThread = 4;
  std::vector<std::thread> threads;
  std::vector<std::vector<int64_t>> versions(kThreads);
  std::atomic<int> failures{0};
  for (int thread = 0; thread < kThreads; ++thread) {
    threads.emplace_back([&, thread] {
      for (int commit = 0; commit < kCommitsPerThread; ++commit) {
        auto txn = table.log->StartTransaction(*table.log->Latest());
        txn->AddFile(File(
            "p=1/t" + std::to_string(thread) + "-" + std::to_string(commit) + ".parquet", "1"));
        CommitOptions options;
        options.post_commit_maintenance = false;
        txn->SetCommitOptions(options);
        auto result = txn->Commit();
        if (!result.ok()) {
          ++failures;
          continue;
        }
        versions[thread].push_back(result->version);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures, 0);
  std::set<int64_t> all;
  for (const auto& list : versions) all.insert(list.begin(), list.end());
  EXPECT_EQ(all.size(), size_t{kThreads * kCommitsPerThread});
  auto latest = table.Latest();
  EXPECT_EQ(latest->version(), 1 + kThreads * kCommitsPerThread);
  EXPECT_EQ(latest->files().size(), size_t{2 + kThreads * kCommitsPerThread});
}

TEST(Transaction, IdempotentWritesThroughAppTransactions) {
  Table table;
  auto txn = table.log->StartTransaction(table.Latest());
  EXPECT_FALSE(txn->AppTransactionVersion("ingest-0"));
  txn->SetAppTransaction({"ingest-0", 41, 1});
  txn->AddFile(File("p=1/batch41.parquet", "1"));
  ASSERT_TRUE(txn->Commit().ok());
  auto retry = table.log->StartTransaction(table.Latest());
  EXPECT_EQ(retry->AppTransactionVersion("ingest-0"), 41);
}

TEST(Transaction, AppendOnlyTablesRefuseDeletes) {
  Table table(StringMap{{"delta.appendOnly", "true"}});
  auto txn = table.log->StartTransaction(table.Latest());
  txn->RemoveFile(MakeRemoveFile(File("p=1/f1.parquet", "1"), 5));
  auto result = txn->Commit();
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("append-only"), std::string::npos);
  // Rearranging data is still allowed.
  auto compaction = table.log->StartTransaction(table.Latest());
  compaction->RemoveFile(MakeRemoveFile(File("p=1/f1.parquet", "1"), 5, false));
  compaction->AddFile(File("p=1/c.parquet", "1", false));
  EXPECT_TRUE(compaction->Commit().ok());
}

// A table another engine owns (neuralake.writer): as delta-spark would write its first commit.
std::shared_ptr<DeltaLog> TableWrittenBy(const std::string& engine) {
  auto store = std::make_shared<MemoryStore>();
  store->Put(CommitPath(0), SerializeActions({Protocol{1, 2, std::nullopt, std::nullopt},
                                              TableMetadata({{"neuralake.writer", engine}}),
                                              File("p=1/f1.parquet", "1")}));
  return *DeltaLog::Open(store);
}

TEST(Transaction, RefusesTablesAnotherEngineWrites) {
  auto log = TableWrittenBy("spark");
  for (bool data_change : {true, false}) {
    auto txn = log->StartTransaction(*log->Latest());
    txn->AddFile(File("p=1/f2.parquet", "1", data_change));
    auto result = txn->Commit();
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.status().message().find("written by 'spark'"), std::string::npos)
        << result.status().ToString();
  }
  EXPECT_EQ((*log->Latest())->version(), 0);
  // Handed over to nlk, the same table takes commits.
  auto handed_over = TableWrittenBy("nlk");
  auto txn = handed_over->StartTransaction(*handed_over->Latest());
  txn->AddFile(File("p=1/f2.parquet", "1"));
  EXPECT_TRUE(txn->Commit().ok());
}

TEST(Transaction, RefusesCreatingATableForAnotherEngine) {
  auto store = std::make_shared<MemoryStore>();
  auto log = *DeltaLog::Open(store);
  auto create = log->StartTransaction(nullptr);
  create->UpdateMetadata(TableMetadata({{"neuralake.writer", "spark"}}));
  EXPECT_FALSE(create->Commit().ok());
  EXPECT_FALSE(*log->TableExists());
}

TEST(Transaction, RefusesPartitionValuesThatDoNotMatchTheTable) {
  Table table;
  auto txn = table.log->StartTransaction(table.Latest());
  AddFile file = File("x.parquet", "1");
  file.partition_values = {{"q", "1"}};
  txn->AddFile(file);
  EXPECT_FALSE(txn->Commit().ok());
}

TEST(Transaction, RefusesTablesWithUnsupportedWriterFeatures) {
  auto store = std::make_shared<MemoryStore>();
  auto log = *DeltaLog::Open(store);
  auto create = log->StartTransaction(nullptr);
  create->UpdateProtocol(
      Protocol{1, 7, std::nullopt, std::vector<std::string>{"rowTracking", "domainMetadata"}});
  create->UpdateMetadata(TableMetadata());
  auto result = create->Commit();
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(IsLogError(result.status(), LogErrorKind::kUnsupportedFeature));
  EXPECT_NE(result.status().message().find("rowTracking"), std::string::npos);
  EXPECT_FALSE(store->Exists(CommitPath(0)));
}

TEST(Transaction, PartitionValuesAreKeyedByPhysicalNamesUnderColumnMapping) {
  auto store = std::make_shared<MemoryStore>();
  auto log = *DeltaLog::Open(store);
  Metadata metadata = TableMetadata(
      {{"delta.columnMapping.mode", "name"}, {"delta.columnMapping.maxColumnId", "2"}});
  metadata.schema_string =
      R"({"type":"struct","fields":[)"
      R"({"name":"p","type":"string","nullable":true,"metadata":{)"
      R"("delta.columnMapping.id":1,"delta.columnMapping.physicalName":"col-p"}},)"
      R"({"name":"v","type":"long","nullable":true,"metadata":{)"
      R"("delta.columnMapping.id":2,"delta.columnMapping.physicalName":"col-v"}}]})";
  auto create = log->StartTransaction(nullptr);
  create->UpdateProtocol(Protocol{2, 5});
  create->UpdateMetadata(metadata);
  ASSERT_TRUE(create->Commit().ok());

  // The logical name is not what readers look up: refused.
  auto logical = log->StartTransaction(*log->Latest());
  logical->AddFile(File("p=1/a.parquet", "1"));
  auto refused = logical->Commit();
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("partition values"), std::string::npos);

  auto physical = log->StartTransaction(*log->Latest());
  AddFile file = File("col-p=1/a.parquet", "1");
  file.partition_values = {{"col-p", "1"}};
  physical->AddFile(file);
  auto committed = physical->Commit();
  ASSERT_TRUE(committed.ok()) << committed.status().ToString();
  EXPECT_EQ(committed->version, 1);

  // A mapped partition column without a physical name is a corrupt schema, named as such.
  metadata.schema_string =
      R"({"type":"struct","fields":[{"name":"p","type":"string","nullable":true,"metadata":{}}]})";
  auto keys = PartitionValueKeys(metadata);
  ASSERT_FALSE(keys.ok());
  EXPECT_NE(keys.status().message().find("physicalName"), std::string::npos);
}

TEST(Transaction, CheckpointsAutomaticallyAtTheInterval) {
  Table table(StringMap{{"delta.checkpointInterval", "3"}});
  std::optional<CommitResult> last;
  for (int i = 0; i < 4; ++i) {
    auto txn = table.log->StartTransaction(table.Latest());
    txn->AddFile(File("p=1/a" + std::to_string(i) + ".parquet", "1"));
    auto result = txn->Commit();
    ASSERT_TRUE(result.ok());
    EXPECT_TRUE(result->post_commit_status.ok()) << result->post_commit_status.ToString();
    if (result->version == 3) {
      ASSERT_TRUE(result->checkpoint);
      EXPECT_EQ(result->checkpoint->version, 3);
    } else {
      EXPECT_FALSE(result->checkpoint);
    }
  }
  EXPECT_TRUE(table.store->Exists(ClassicCheckpointPath(3)));
  auto hint = *table.store->Read(kLastCheckpointPath);
  EXPECT_NE(std::string_view(*hint).find("\"version\":3"), std::string_view::npos);
  auto latest = table.Latest();
  EXPECT_EQ(latest->version(), 5);
  EXPECT_EQ(latest->checkpoint_version(), 3);
  EXPECT_EQ(latest->files().size(), 6u);
}

TEST(Transaction, InCommitTimestampsIncreaseAndAreRecorded) {
  Table table(StringMap{{"delta.enableInCommitTimestamps", "true"}},
              Protocol{1, 7, std::nullopt, std::vector<std::string>{"inCommitTimestamp"}});
  auto first = table.Latest();
  auto txn = table.log->StartTransaction(first);
  txn->AddFile(File("p=1/x.parquet", "1"));
  ASSERT_TRUE(txn->Commit().ok());
  auto second = table.Latest();
  ASSERT_TRUE(second->commit_info());
  ASSERT_TRUE(second->commit_info()->in_commit_timestamp);
  EXPECT_EQ(second->timestamp_ms(), *second->commit_info()->in_commit_timestamp);
  EXPECT_GT(second->timestamp_ms(), first->timestamp_ms());
}

}  // namespace
}  // namespace nlk::delta
