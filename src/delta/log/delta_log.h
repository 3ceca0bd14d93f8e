// The entry point to a Delta table's transaction log: snapshots (latest, by version, by
// timestamp, incremental update), history, transactions, checkpoints and log cleanup.
//
// A DeltaLog holds no mutable state beyond its store, so it is thread-safe: many threads may
// read snapshots and run transactions through one instance (each Transaction belongs to the
// thread that uses it).
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "delta/log/actions.h"
#include "delta/log/checkpoint_writer.h"
#include "delta/log/log_files.h"
#include "delta/log/snapshot.h"
#include "storage/object_store.h"

namespace nlk::delta {

class Transaction;

struct DeltaLogOptions {
  // Milliseconds since the Unix epoch; the system clock when empty. Tests inject a fake clock.
  std::function<int64_t()> clock;
};

// One entry of History().
struct CommitRecord {
  int64_t version = 0;
  int64_t timestamp_ms = 0;  // same rules as Snapshot::timestamp_ms
  std::optional<CommitInfo> commit_info;
};

struct LogCleanupResult {
  std::optional<int64_t> cutoff_checkpoint_version;  // nullopt: nothing could be cleaned
  int64_t deleted_files = 0;
};

class DeltaLog : public std::enable_shared_from_this<DeltaLog> {
 public:
  // Never fails for a missing table: a table is created by committing version 0.
  static arrow::Result<std::shared_ptr<DeltaLog>> Open(std::shared_ptr<storage::ObjectStore> store,
                                                       DeltaLogOptions options = {});

  const std::string& table_uri() const { return store_->root_uri(); }
  const std::shared_ptr<storage::ObjectStore>& store() const { return store_; }
  int64_t NowMs() const;

  // The newest version. Uses _last_checkpoint as a hint and falls back to a full listing when it
  // is missing, stale or points at an incomplete checkpoint. A missing table gives kNotATable.
  arrow::Result<std::shared_ptr<const Snapshot>> Latest();
  // Time travel to an exact version (kVersionNotFound when it does not exist or was cleaned up).
  arrow::Result<std::shared_ptr<const Snapshot>> AtVersion(int64_t version);
  // The newest version committed at or before `timestamp_ms` (in-commit timestamps when the
  // table enables them, else commit file modification times made monotonic, as Delta does).
  // kVersionNotFound when the timestamp precedes the earliest reconstructable version.
  arrow::Result<std::shared_ptr<const Snapshot>> AtTimestamp(int64_t timestamp_ms);
  // The newest version, built from `snapshot` by reading only the commits after it. Returns
  // `snapshot` itself when nothing was committed since.
  arrow::Result<std::shared_ptr<const Snapshot>> Update(std::shared_ptr<const Snapshot> snapshot);
  // Like Update, but stops at `version` (>= snapshot->version()).
  arrow::Result<std::shared_ptr<const Snapshot>> UpdateTo(std::shared_ptr<const Snapshot> snapshot,
                                                          int64_t version);
  // Commits newest first, at most `limit` of them.
  arrow::Result<std::vector<CommitRecord>> History(std::optional<int64_t> limit = std::nullopt);
  // False when _delta_log holds no commit or checkpoint.
  arrow::Result<bool> TableExists();

  // A transaction reading `read_snapshot`; nullptr creates the table (version 0).
  std::unique_ptr<Transaction> StartTransaction(std::shared_ptr<const Snapshot> read_snapshot);

  // Writes a classic checkpoint of `snapshot` and updates _last_checkpoint.
  arrow::Result<CheckpointInfo> Checkpoint(const Snapshot& snapshot);

  // Metadata cleanup (PROTOCOL.md "Metadata Cleanup"): deletes commits, checksums, checkpoints
  // and compactions older than the newest checkpoint at or before the last commit older than
  // now - delta.logRetentionDuration (rounded down to midnight UTC), and unreferenced sidecars
  // older than a day. Everything a retained version needs is kept.
  arrow::Result<LogCleanupResult> CleanupExpiredLogs(const Snapshot& latest);

  // The actions of one commit file.
  arrow::Result<std::vector<Action>> ReadCommit(int64_t version);

 private:
  DeltaLog(std::shared_ptr<storage::ObjectStore> store, DeltaLogOptions options)
      : store_(std::move(store)), options_(std::move(options)) {}

  arrow::Result<std::shared_ptr<const Snapshot>> Load(std::optional<int64_t> version);
  arrow::Result<std::shared_ptr<const Snapshot>> LoadSegment(const LogSegment& segment);
  arrow::Result<std::optional<CommitInfo>> ReadCommitInfo(const LogFile& commit);
  // Commit timestamps of the listed commits: modification times made strictly increasing.
  static std::vector<std::pair<int64_t, int64_t>> MonotonicCommitTimestamps(
      const std::vector<LogFile>& files);

  std::shared_ptr<storage::ObjectStore> store_;
  DeltaLogOptions options_;
};

}  // namespace nlk::delta
