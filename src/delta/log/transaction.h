// One optimistic write to a Delta table: collects actions and what was read, then commits them
// as the next version with put-if-absent, rebasing over concurrent commits that do not conflict.
//
// Not thread-safe: a Transaction belongs to one thread. Many transactions, in any number of
// threads or processes, may race on one table; the log decides the winner of each version.
#pragma once

#include <arrow/result.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "delta/log/actions.h"
#include "delta/log/checkpoint_writer.h"
#include "delta/log/conflict_checker.h"
#include "delta/log/snapshot.h"

namespace nlk::delta {

class DeltaLog;

inline constexpr char kEngineInfo[] = "neuralake/0.1.0";

// Who this process commits as, recorded in every commitInfo as userId and userName (as Spark
// records its user): $NLK_PRINCIPAL when set (a service's identity, or the principal a request
// came from), else the operating-system user running the process.
const std::string& CommitPrincipal();

struct CommitOptions {
  // Put-if-absent attempts before giving up with kTooManyCommitAttempts.
  int max_attempts = 50;
  // Sleep after a lost race: doubles per attempt up to the maximum, with random jitter so
  // racing writers spread out.
  std::chrono::milliseconds initial_backoff{2};
  std::chrono::milliseconds max_backoff{500};
  // Checkpoint when the version is a multiple of delta.checkpointInterval, then clean up
  // expired log files (unless delta.enableExpiredLogCleanup=false).
  bool post_commit_maintenance = true;
};

struct CommitResult {
  int64_t version = 0;
  int attempts = 0;
  std::optional<CheckpointInfo> checkpoint;
  // A failed checkpoint or cleanup; the commit itself is durable regardless.
  arrow::Status post_commit_status;
};

class Transaction {
 public:
  // Prefer DeltaLog::StartTransaction. `read_snapshot` nullptr creates the table.
  Transaction(std::shared_ptr<DeltaLog> log, std::shared_ptr<const Snapshot> read_snapshot);

  const std::shared_ptr<const Snapshot>& read_snapshot() const { return read_snapshot_; }
  // -1 when creating the table.
  int64_t read_version() const;

  void AddFile(nlk::delta::AddFile file);
  void RemoveFile(nlk::delta::RemoveFile file);
  void AddCdcFile(nlk::delta::AddCdcFile file);
  void UpdateMetadata(Metadata metadata);
  void UpdateProtocol(Protocol protocol);
  void SetAppTransaction(SetTransaction txn);
  void SetDomainMetadata(DomainMetadata domain);
  // Any action but CommitInfo, CheckpointMetadata and Sidecar (rejected at Commit()).
  void AddAction(Action action);

  // What the transaction's result depends on, for conflict detection.
  void ReadWholeTable();
  void ReadPartitions(PartitionPredicate predicate);
  void ReadFile(const std::string& path);
  // The application's last committed version in the read snapshot; also makes a concurrent
  // commit of the same app id a conflict.
  std::optional<int64_t> AppTransactionVersion(const std::string& app_id);

  void SetIsolationLevel(IsolationLevel level) { isolation_level_ = level; }
  // commitInfo.operation (e.g. "WRITE", "DELETE", "OPTIMIZE") and operationParameters.
  void SetOperation(std::string operation, StringMap parameters = {});
  // commitInfo.operationMetrics (e.g. numDeletedRows), string values as Spark records them.
  void SetOperationMetrics(StringMap metrics) { operation_metrics_ = std::move(metrics); }
  void SetCommitOptions(CommitOptions options) { options_ = options; }

  // Commits once; a Transaction cannot be committed twice.
  arrow::Result<CommitResult> Commit();

 private:
  arrow::Status Validate() const;
  TransactionFootprint Footprint() const;
  bool IsBlindAppend() const;
  std::string CommitInfoJson(int64_t timestamp_ms, std::optional<int64_t> in_commit_timestamp,
                             const std::string& transaction_id) const;
  arrow::Status PostCommit(int64_t version, CommitResult* result);

  std::shared_ptr<DeltaLog> log_;
  std::shared_ptr<const Snapshot> read_snapshot_;
  std::vector<Action> actions_;
  bool read_whole_table_ = false;
  std::vector<PartitionPredicate> read_predicates_;
  std::set<std::string> read_file_paths_;
  std::set<std::string> read_app_ids_;
  IsolationLevel isolation_level_ = IsolationLevel::kWriteSerializable;
  std::string operation_ = "WRITE";
  StringMap operation_parameters_;
  StringMap operation_metrics_;
  CommitOptions options_;
  bool committed_ = false;
};

}  // namespace nlk::delta
