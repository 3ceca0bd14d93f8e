// Log replay, snapshots, checkpoints (reading and writing), time travel, incremental update and
// log cleanup, against an in-memory store whose log files the tests write by hand.
#include <gtest/gtest.h>

#include "delta/log/action_json.h"
#include "delta/log/checkpoint_writer.h"
#include "delta/log/delta_log.h"
#include "delta/log/log_error.h"
#include "delta/log/log_files.h"
#include "delta_log_memory_store.h"

namespace nlk::delta {
namespace {

using testing::MemoryStore;

constexpr char kSchema[] =
    R"({"type":"struct","fields":[{"name":"p","type":"string","nullable":true,"metadata":{}},)"
    R"({"name":"x","type":"long","nullable":true,"metadata":{}}]})";

Metadata TableMetadata(StringMap configuration = {}) {
  Metadata metadata;
  metadata.id = "0f0e0d0c-aaaa-bbbb-cccc-000000000001";
  metadata.schema_string = kSchema;
  metadata.partition_columns = {"p"};
  metadata.configuration = std::move(configuration);
  metadata.created_time = 1;
  return metadata;
}

AddFile File(const std::string& path, std::optional<std::string> partition, int64_t size = 100) {
  AddFile add;
  add.path = path;
  add.partition_values = {{"p", std::move(partition)}};
  add.size = size;
  add.modification_time = 1000;
  add.stats = R"({"numRecords":10})";
  return add;
}

RemoveFile Remove(const std::string& path, int64_t timestamp,
                  std::optional<DeletionVectorDescriptor> dv = std::nullopt) {
  RemoveFile remove;
  remove.path = path;
  remove.deletion_timestamp = timestamp;
  remove.deletion_vector = std::move(dv);
  return remove;
}

DeletionVectorDescriptor Dv(const std::string& id, int64_t cardinality) {
  return DeletionVectorDescriptor{'u', id, 1, 36, cardinality};
}

void PutCommit(MemoryStore& store, int64_t version, const std::vector<Action>& actions) {
  CommitInfo info;
  info.json = R"({"timestamp":1,"operation":"WRITE"})";
  store.Put(CommitPath(version), SerializeAction(info) + "\n" + SerializeActions(actions));
}

struct Fixture {
  std::shared_ptr<MemoryStore> store = std::make_shared<MemoryStore>();
  std::shared_ptr<DeltaLog> log;
  Fixture() {
    DeltaLogOptions options;
    options.clock = [] { return int64_t{1'700'000'000'000}; };
    log = *DeltaLog::Open(store, options);
  }
  void Create(StringMap configuration = {}, Protocol protocol = {1, 2, {}, {}}) {
    PutCommit(*store, 0, {protocol, TableMetadata(std::move(configuration))});
  }
};

std::vector<std::string> Paths(const Snapshot& snapshot) {
  std::vector<std::string> paths;
  for (const auto& file : snapshot.files()) paths.push_back(file.path);
  return paths;
}

TEST(Snapshot, MissingTableIsNotADeltaTable) {
  Fixture fixture;
  auto latest = fixture.log->Latest();
  ASSERT_FALSE(latest.ok());
  EXPECT_TRUE(IsLogError(latest.status(), LogErrorKind::kNotATable));
  EXPECT_NE(latest.status().message().find("Not a Delta table: memory://table"), std::string::npos);
  EXPECT_FALSE(*fixture.log->TableExists());
}

TEST(Snapshot, ReplaysAddRemoveAndReAdd) {
  Fixture fixture;
  fixture.Create();
  PutCommit(*fixture.store, 1, {File("p=a/1.parquet", "a"), File("p=b/2.parquet", "b")});
  PutCommit(*fixture.store, 2, {Remove("p=a/1.parquet", 5000)});
  PutCommit(*fixture.store, 3,
            {File("p=a/1.parquet", "a", 777), File("p=__null/3.parquet", std::nullopt)});
  // Checksums and log compactions beside the commits are not commits.
  fixture.store->Put("_delta_log/00000000000000000001.crc", "{}");
  fixture.store->Put("_delta_log/00000000000000000001.00000000000000000002.compacted.json", "x");

  auto latest = *fixture.log->Latest();
  EXPECT_EQ(latest->version(), 3);
  EXPECT_EQ(Paths(*latest),
            (std::vector<std::string>{"p=__null/3.parquet", "p=a/1.parquet", "p=b/2.parquet"}));
  EXPECT_EQ(latest->FindFile("p=a/1.parquet")->size, 777);
  EXPECT_FALSE(latest->FindFile("p=__null/3.parquet")->partition_values.at("p"));
  EXPECT_TRUE(latest->all_tombstones().empty());
  EXPECT_EQ(latest->total_file_size(), 977);
  EXPECT_EQ(latest->metadata().partition_columns, std::vector<std::string>{"p"});

  auto version2 = *fixture.log->AtVersion(2);
  EXPECT_EQ(Paths(*version2), std::vector<std::string>{"p=b/2.parquet"});
  ASSERT_EQ(version2->all_tombstones().size(), 1u);
  EXPECT_EQ(version2->all_tombstones()[0].path, "p=a/1.parquet");
  ASSERT_TRUE(version2->commit_info());
  EXPECT_EQ(version2->commit_info()->operation, "WRITE");
}

TEST(Snapshot, ReconcilesByPathAndDeletionVector) {
  Fixture fixture;
  fixture.Create();
  PutCommit(*fixture.store, 1, {File("f.parquet", "a")});
  AddFile with_dv1 = File("f.parquet", "a");
  with_dv1.deletion_vector = Dv("dv1-aaaaaaaaaaaaaaaaaa", 2);
  PutCommit(*fixture.store, 2, {Remove("f.parquet", 10), with_dv1});
  AddFile with_dv2 = File("f.parquet", "a");
  with_dv2.deletion_vector = Dv("dv2-aaaaaaaaaaaaaaaaaa", 5);
  PutCommit(*fixture.store, 3, {with_dv2, Remove("f.parquet", 20, with_dv1.deletion_vector)});

  auto latest = *fixture.log->Latest();
  ASSERT_EQ(latest->files().size(), 1u);
  ASSERT_TRUE(latest->files()[0].deletion_vector);
  EXPECT_EQ(latest->files()[0].deletion_vector->cardinality, 5);
  // Both older logical files of the same data file remain as tombstones.
  EXPECT_EQ(latest->all_tombstones().size(), 2u);
}

TEST(Snapshot, AppTransactionsDomainsAndProperties) {
  Fixture fixture;
  fixture.Create({{"delta.checkpointInterval", "5"}},
                 Protocol{1, 7, std::nullopt, std::vector<std::string>{"domainMetadata"}});
  PutCommit(
      *fixture.store, 1,
      {SetTransaction{"stream-1", 3, 100}, DomainMetadata{"com.example.a", "{\"v\":1}", false},
       DomainMetadata{"com.example.b", "x", false}});
  PutCommit(*fixture.store, 2,
            {SetTransaction{"stream-1", 4, 200}, DomainMetadata{"com.example.b", "x", true}});
  auto latest = *fixture.log->Latest();
  EXPECT_EQ(latest->AppTransactionVersion("stream-1"), 4);
  EXPECT_FALSE(latest->AppTransactionVersion("other"));
  EXPECT_EQ(latest->DomainConfiguration("com.example.a"), "{\"v\":1}");
  EXPECT_FALSE(latest->DomainConfiguration("com.example.b"));
  EXPECT_EQ(*latest->properties().checkpoint_interval(), 5);
}

void ExpectSameState(const Snapshot& left, const Snapshot& right) {
  EXPECT_EQ(left.version(), right.version());
  EXPECT_EQ(SerializeAction(left.protocol()), SerializeAction(right.protocol()));
  EXPECT_EQ(SerializeAction(left.metadata()), SerializeAction(right.metadata()));
  ASSERT_EQ(left.files().size(), right.files().size());
  for (size_t i = 0; i < left.files().size(); ++i) {
    AddFile left_file = left.files()[i];
    AddFile right_file = right.files()[i];
    // Checkpoints re-state files with dataChange=false.
    left_file.data_change = right_file.data_change = false;
    EXPECT_EQ(SerializeAction(left_file), SerializeAction(right_file));
  }
  ASSERT_EQ(left.all_tombstones().size(), right.all_tombstones().size());
  for (size_t i = 0; i < left.all_tombstones().size(); ++i) {
    EXPECT_EQ(left.all_tombstones()[i].path, right.all_tombstones()[i].path);
    EXPECT_EQ(left.all_tombstones()[i].deletion_timestamp,
              right.all_tombstones()[i].deletion_timestamp);
  }
  EXPECT_EQ(left.app_transactions().size(), right.app_transactions().size());
  for (const auto& [app_id, txn] : left.app_transactions()) {
    EXPECT_EQ(right.AppTransactionVersion(app_id), txn.version);
  }
  EXPECT_EQ(left.domain_metadata().size(), right.domain_metadata().size());
  for (const auto& [name, domain] : left.domain_metadata()) {
    EXPECT_EQ(right.DomainConfiguration(name), domain.configuration);
  }
}

// A table whose log exercises every kind of checkpointed state.
void BuildRichTable(Fixture& fixture) {
  fixture.Create({{"delta.deletedFileRetentionDuration", "interval 1000000 days"}},
                 Protocol{3, 7, std::vector<std::string>{"deletionVectors"},
                          std::vector<std::string>{"deletionVectors", "domainMetadata"}});
  AddFile tagged = File("p=a/tagged file%.parquet", "a");
  tagged.tags = StringMap{{"k", "v"}};
  tagged.base_row_id = 10;
  tagged.default_row_commit_version = 1;
  AddFile with_dv = File("p=b/dv.parquet", "b");
  with_dv.deletion_vector = Dv("dvaaaaaaaaaaaaaaaaaaa", 3);
  PutCommit(*fixture.store, 1,
            {tagged, with_dv, File("p=__null/n.parquet", std::nullopt), File("gone.parquet", "c")});
  PutCommit(*fixture.store, 2,
            {Remove("gone.parquet", 1'699'000'000'000), SetTransaction{"app", 7, 1},
             DomainMetadata{"com.x", "conf", false}});
  for (int64_t version = 3; version <= 6; ++version) {
    PutCommit(*fixture.store, version, {File("p=c/" + std::to_string(version) + ".parquet", "c")});
  }
}

TEST(Checkpoint, WriteThenReadGivesTheSameSnapshot) {
  Fixture fixture;
  BuildRichTable(fixture);
  auto at6 = *fixture.log->AtVersion(6);
  auto info = fixture.log->Checkpoint(*at6);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->num_add_files, 7);
  EXPECT_EQ(info->num_actions, 2 + 7 + 1 + 1 + 1);  // protocol, metadata, adds, remove, txn, domain
  EXPECT_TRUE(fixture.store->Exists("_delta_log/00000000000000000006.checkpoint.parquet"));

  // Without the commits the checkpoint alone must rebuild the state.
  for (int64_t version = 0; version < 6; ++version) {
    ASSERT_TRUE(fixture.store->Delete(CommitPath(version)).ok());
  }
  auto reread = fixture.log->Latest();
  ASSERT_TRUE(reread.ok()) << reread.status().ToString();
  EXPECT_EQ((*reread)->checkpoint_version(), 6);
  ExpectSameState(*at6, **reread);
  EXPECT_EQ((*reread)->FindFile("p=a/tagged file%.parquet")->base_row_id, 10);
}

TEST(Checkpoint, LatestReadsOnlyHintCheckpointAndNewerCommits) {
  Fixture fixture;
  BuildRichTable(fixture);
  ASSERT_TRUE(fixture.log->Checkpoint(**fixture.log->AtVersion(4)).ok());
  fixture.store->ResetCounters();
  auto latest = *fixture.log->Latest();
  EXPECT_EQ(latest->version(), 6);
  EXPECT_EQ(latest->checkpoint_version(), 4);
  EXPECT_EQ(fixture.store->lists, 1);
  // _last_checkpoint, the checkpoint, commits 5 and 6.
  EXPECT_EQ(fixture.store->reads, 4);
}

TEST(Checkpoint, LastCheckpointMissingStaleOrBrokenIsTolerated) {
  Fixture fixture;
  BuildRichTable(fixture);
  auto expected = *fixture.log->Latest();
  ASSERT_TRUE(fixture.log->Checkpoint(**fixture.log->AtVersion(2)).ok());
  ASSERT_TRUE(fixture.log->Checkpoint(**fixture.log->AtVersion(5)).ok());

  // Stale: the hint names an older checkpoint; the listing finds the newer one.
  fixture.store->Put(kLastCheckpointPath, R"({"version":2,"size":1})");
  auto stale = *fixture.log->Latest();
  EXPECT_EQ(stale->checkpoint_version(), 5);
  ExpectSameState(*expected, *stale);

  // Points at a checkpoint that does not exist.
  fixture.store->Put(kLastCheckpointPath, R"({"version":3,"size":1})");
  auto dangling = *fixture.log->Latest();
  EXPECT_EQ(dangling->checkpoint_version(), 5);

  fixture.store->Put(kLastCheckpointPath, "{not json");
  EXPECT_EQ((*fixture.log->Latest())->checkpoint_version(), 5);

  ASSERT_TRUE(fixture.store->Delete(kLastCheckpointPath).ok());
  auto missing = *fixture.log->Latest();
  EXPECT_EQ(missing->checkpoint_version(), 5);
  ExpectSameState(*expected, *missing);
}

TEST(Checkpoint, IncompleteMultiPartCheckpointIsIgnored) {
  Fixture fixture;
  BuildRichTable(fixture);
  auto expected = *fixture.log->Latest();
  ASSERT_TRUE(fixture.log->Checkpoint(**fixture.log->AtVersion(2)).ok());
  int64_t num_actions = 0;
  auto part = *BuildCheckpointParquet(**fixture.log->AtVersion(5), 0, &num_actions);
  const std::string part1 =
      "_delta_log/00000000000000000005.checkpoint.0000000001.0000000002.parquet";
  const std::string part2 =
      "_delta_log/00000000000000000005.checkpoint.0000000002.0000000002.parquet";
  ASSERT_TRUE(fixture.store->Write(part1, part).ok());
  auto incomplete = *fixture.log->Latest();
  EXPECT_EQ(incomplete->checkpoint_version(), 2);
  ExpectSameState(*expected, *incomplete);

  // With every part present the multi-part checkpoint is used (each part here holds the whole
  // state, which replays to the same result).
  ASSERT_TRUE(fixture.store->Write(part2, part).ok());
  auto complete = *fixture.log->Latest();
  EXPECT_EQ(complete->checkpoint_version(), 5);
  ExpectSameState(*expected, *complete);
}

TEST(Checkpoint, ReadsV2JsonCheckpointWithSidecars) {
  Fixture fixture;
  BuildRichTable(fixture);
  auto at6 = *fixture.log->AtVersion(6);
  int64_t num_actions = 0;
  // A sidecar holds add and remove actions; readers take only those columns from it.
  auto sidecar_bytes = *BuildCheckpointParquet(*at6, 0, &num_actions);
  const std::string sidecar_name = "3a0d65cd-4056-49b8-937b-95f9e3ee90e5.parquet";
  ASSERT_TRUE(fixture.store->Write("_delta_log/_sidecars/" + sidecar_name, sidecar_bytes).ok());
  std::vector<Action> checkpoint = {CheckpointMetadata{6, StringMap{}},
                                    at6->protocol(),
                                    at6->metadata(),
                                    SetTransaction{"app", 7, 1},
                                    DomainMetadata{"com.x", "conf", false},
                                    Sidecar{sidecar_name, sidecar_bytes->size(), 1, std::nullopt}};
  fixture.store->Put(
      "_delta_log/00000000000000000006.checkpoint.80a083e8-7026-4e79-81be-64bd76c43a11.json",
      SerializeActions(checkpoint));
  for (int64_t version = 0; version < 6; ++version) {
    ASSERT_TRUE(fixture.store->Delete(CommitPath(version)).ok());
  }
  auto latest = fixture.log->Latest();
  ASSERT_TRUE(latest.ok()) << latest.status().ToString();
  EXPECT_EQ((*latest)->checkpoint_version(), 6);
  ExpectSameState(*at6, **latest);
}

TEST(Snapshot, CorruptCommitNamesFileAndLine) {
  Fixture fixture;
  fixture.Create();
  fixture.store->Put(CommitPath(1), "{\"commitInfo\":{}}\n{\"add\":{\"path\":\"a\",\"si");
  auto latest = fixture.log->Latest();
  ASSERT_FALSE(latest.ok());
  EXPECT_TRUE(IsLogError(latest.status(), LogErrorKind::kCorruptLog));
  EXPECT_NE(latest.status().message().find("_delta_log/00000000000000000001.json line 2"),
            std::string::npos)
      << latest.status().ToString();
}

TEST(Snapshot, MissingCommitIsCorruption) {
  Fixture fixture;
  fixture.Create();
  PutCommit(*fixture.store, 1, {File("a", "a")});
  PutCommit(*fixture.store, 3, {File("b", "b")});
  auto latest = fixture.log->Latest();
  ASSERT_FALSE(latest.ok());
  EXPECT_TRUE(IsLogError(latest.status(), LogErrorKind::kCorruptLog));
  EXPECT_NE(latest.status().message().find("00000000000000000002.json"), std::string::npos);
  // Versions before the gap are still readable.
  EXPECT_TRUE(fixture.log->AtVersion(1).ok());
}

TEST(Snapshot, UnknownReaderFeatureIsRefusedByName) {
  Fixture fixture;
  fixture.Create({}, Protocol{3, 7, std::vector<std::string>{"futureMagic"},
                              std::vector<std::string>{"futureMagic"}});
  auto latest = fixture.log->Latest();
  ASSERT_FALSE(latest.ok());
  EXPECT_TRUE(IsLogError(latest.status(), LogErrorKind::kUnsupportedFeature));
  EXPECT_NE(latest.status().message().find("futureMagic"), std::string::npos);
}

TEST(TimeTravel, ByVersion) {
  Fixture fixture;
  fixture.Create();
  PutCommit(*fixture.store, 1, {File("a", "a")});
  EXPECT_EQ((*fixture.log->AtVersion(0))->files().size(), 0u);
  EXPECT_EQ((*fixture.log->AtVersion(1))->files().size(), 1u);
  auto beyond = fixture.log->AtVersion(2);
  ASSERT_FALSE(beyond.ok());
  EXPECT_TRUE(IsLogError(beyond.status(), LogErrorKind::kVersionNotFound));
  EXPECT_NE(beyond.status().message().find("latest version is 1"), std::string::npos);
  EXPECT_FALSE(fixture.log->AtVersion(-1).ok());
}

TEST(TimeTravel, ByFileModificationTime) {
  Fixture fixture;
  fixture.Create();
  PutCommit(*fixture.store, 1, {File("a", "a")});
  PutCommit(*fixture.store, 2, {File("b", "b")});
  const int64_t base = 1'600'000'000'000;
  fixture.store->SetModified(CommitPath(0), base);
  fixture.store->SetModified(CommitPath(1), base + 10'000);
  // A clock going backwards: version 2 counts as 1 ms after version 1.
  fixture.store->SetModified(CommitPath(2), base + 5'000);

  EXPECT_EQ((*fixture.log->AtTimestamp(base))->version(), 0);
  EXPECT_EQ((*fixture.log->AtTimestamp(base + 9'999))->version(), 0);
  EXPECT_EQ((*fixture.log->AtTimestamp(base + 10'000))->version(), 1);
  EXPECT_EQ((*fixture.log->AtTimestamp(base + 10'001))->version(), 2);
  EXPECT_EQ((*fixture.log->AtTimestamp(base + 99'000))->version(), 2);
  auto before = fixture.log->AtTimestamp(base - 1);
  ASSERT_FALSE(before.ok());
  EXPECT_TRUE(IsLogError(before.status(), LogErrorKind::kVersionNotFound));

  auto history = *fixture.log->History();
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[0].version, 2);
  EXPECT_EQ(history[0].timestamp_ms, base + 10'001);
  ASSERT_TRUE(history[0].commit_info);
  EXPECT_EQ(history[0].commit_info->operation, "WRITE");
  EXPECT_EQ((*fixture.log->History(1)).size(), 1u);
}

TEST(TimeTravel, ByInCommitTimestamp) {
  Fixture fixture;
  Protocol protocol{1, 7, std::nullopt, std::vector<std::string>{"inCommitTimestamp"}};
  const int64_t base = 1'650'000'000'000;
  auto commit = [&](int64_t version, int64_t ict, std::vector<Action> actions) {
    CommitInfo info;
    info.json = "{\"inCommitTimestamp\":" + std::to_string(ict) + "}";
    fixture.store->Put(CommitPath(version),
                       SerializeAction(info) + "\n" + SerializeActions(actions));
    // File times disagree with the in-commit timestamps, which must win.
    fixture.store->SetModified(CommitPath(version), base + 1'000'000 - version);
  };
  commit(0, base, {protocol, TableMetadata({{"delta.enableInCommitTimestamps", "true"}})});
  commit(1, base + 100, {File("a", "a")});
  commit(2, base + 200, {File("b", "b")});
  commit(3, base + 300, {File("c", "c")});
  EXPECT_EQ((*fixture.log->Latest())->timestamp_ms(), base + 300);
  EXPECT_EQ((*fixture.log->AtTimestamp(base + 150))->version(), 1);
  EXPECT_EQ((*fixture.log->AtTimestamp(base + 200))->version(), 2);
  EXPECT_EQ((*fixture.log->AtTimestamp(base + 5000))->version(), 3);
  EXPECT_FALSE(fixture.log->AtTimestamp(base - 1).ok());
  EXPECT_EQ((*fixture.log->History())[1].timestamp_ms, base + 200);
}

TEST(Update, ReadsOnlyNewCommits) {
  Fixture fixture;
  fixture.Create();
  PutCommit(*fixture.store, 1, {File("a", "a")});
  auto snapshot = *fixture.log->Latest();
  PutCommit(*fixture.store, 2, {File("b", "b")});
  PutCommit(*fixture.store, 3, {Remove("a", 5)});

  fixture.store->ResetCounters();
  auto updated = fixture.log->Update(snapshot);
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_EQ((*updated)->version(), 3);
  EXPECT_EQ(Paths(**updated), std::vector<std::string>{"b"});
  EXPECT_EQ(fixture.store->lists, 1);
  EXPECT_EQ(fixture.store->reads, 2);
  ExpectSameState(**updated, **fixture.log->Latest());

  fixture.store->ResetCounters();
  auto unchanged = *fixture.log->Update(*updated);
  EXPECT_EQ(unchanged.get(), updated->get());
  EXPECT_EQ(fixture.store->reads, 0);

  auto partial = *fixture.log->UpdateTo(snapshot, 2);
  EXPECT_EQ(partial->version(), 2);
  EXPECT_EQ(Paths(*partial), (std::vector<std::string>{"a", "b"}));
}

TEST(LogCleanup, DeletesOnlyWhatNoRetainedVersionNeeds) {
  Fixture fixture;
  fixture.Create({{"delta.logRetentionDuration", "interval 2 days"}});
  for (int64_t version = 1; version <= 9; ++version) {
    PutCommit(*fixture.store, version, {File(std::to_string(version), "a")});
  }
  ASSERT_TRUE(fixture.log->Checkpoint(**fixture.log->AtVersion(3)).ok());
  ASSERT_TRUE(fixture.log->Checkpoint(**fixture.log->AtVersion(5)).ok());
  fixture.store->Put("_delta_log/00000000000000000002.crc", "{}");
  fixture.store->Put("_delta_log/_sidecars/orphan.parquet", "x");

  const int64_t now = 1'700'000'000'000;  // the fixture's clock
  const int64_t old_time = now - 10 * kMillisecondsPerDay;
  for (int64_t version = 0; version <= 6; ++version) {
    fixture.store->SetModified(CommitPath(version), old_time + version);
  }
  fixture.store->SetModified("_delta_log/_sidecars/orphan.parquet", old_time);
  for (int64_t version = 7; version <= 9; ++version) {
    fixture.store->SetModified(CommitPath(version), now - 1000 + version);
  }
  auto expected = *fixture.log->Latest();
  auto result = fixture.log->CleanupExpiredLogs(*expected);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  // The newest commit older than the cutoff is 6; the newest checkpoint not after it is 5.
  EXPECT_EQ(result->cutoff_checkpoint_version, 5);
  for (int64_t version = 0; version < 5; ++version) {
    EXPECT_FALSE(fixture.store->Exists(CommitPath(version))) << version;
  }
  EXPECT_FALSE(fixture.store->Exists(ClassicCheckpointPath(3)));
  EXPECT_FALSE(fixture.store->Exists("_delta_log/00000000000000000002.crc"));
  EXPECT_FALSE(fixture.store->Exists("_delta_log/_sidecars/orphan.parquet"));
  EXPECT_TRUE(fixture.store->Exists(CommitPath(5)));
  EXPECT_TRUE(fixture.store->Exists(ClassicCheckpointPath(5)));

  fixture.store->Put(kLastCheckpointPath, R"({"version":3,"size":1})");
  ExpectSameState(*expected, **fixture.log->Latest());
  EXPECT_EQ((*fixture.log->AtVersion(5))->version(), 5);
  auto cleaned = fixture.log->AtVersion(4);
  ASSERT_FALSE(cleaned.ok());
  EXPECT_TRUE(IsLogError(cleaned.status(), LogErrorKind::kVersionNotFound));
}

TEST(LogCleanup, NothingToDeleteWithoutOldCheckpoint) {
  Fixture fixture;
  fixture.Create({{"delta.logRetentionDuration", "interval 2 days"}});
  PutCommit(*fixture.store, 1, {File("a", "a")});
  const int64_t old_time = 1'700'000'000'000 - 10 * kMillisecondsPerDay;
  fixture.store->SetModified(CommitPath(0), old_time);
  fixture.store->SetModified(CommitPath(1), old_time + 1);
  auto result = *fixture.log->CleanupExpiredLogs(**fixture.log->Latest());
  EXPECT_FALSE(result.cutoff_checkpoint_version);
  EXPECT_EQ(result.deleted_files, 0);
  EXPECT_TRUE(fixture.store->Exists(CommitPath(0)));
}

}  // namespace
}  // namespace nlk::delta
