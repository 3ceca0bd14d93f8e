// Optimistic concurrency rules: decides whether a transaction that lost the race for a version
// may be rebased on top of the winning commit, following delta-spark's ConflictChecker.
//
// Pure and thread-safe.
#pragma once

#include <arrow/status.h>

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "delta/log/actions.h"

namespace nlk::delta {

enum class IsolationLevel {
  // Any concurrent change to what the transaction read conflicts, appends included.
  kSerializable,
  // The default: concurrent blind appends do not conflict with a transaction that read the
  // files they add, so streaming appends and updates can interleave.
  kWriteSerializable,
  // Only concurrent deletes of files the transaction read or removes conflict.
  kSnapshotIsolation,
};

// "Serializable", "WriteSerializable", "SnapshotIsolation": the commitInfo spelling.
const char* IsolationLevelName(IsolationLevel level);

using PartitionPredicate = std::function<bool(const PartitionValues&)>;

// What the losing transaction depends on and what it changes.
struct TransactionFootprint {
  IsolationLevel isolation_level = IsolationLevel::kWriteSerializable;
  bool read_whole_table = false;
  std::vector<PartitionPredicate> read_predicates;  // partitions read
  std::set<std::string> read_file_paths;            // files read
  std::set<std::string> app_ids;                    // app transaction ids read or written
  std::set<std::string> domains;                    // metadata domains written
  std::set<std::string> removed_paths;
  bool changes_metadata = false;
  bool changes_protocol = false;
  bool creates_table = false;
  // True when every file action has dataChange=false (compaction, stats backfill): such a
  // transaction is checked under snapshot isolation, as delta-spark does.
  bool only_rearranges_data = false;
};

// Partition values of a file of the read snapshot, for removes that do not carry them.
using PartitionLookup = std::function<const PartitionValues*(const std::string& path)>;

// OK when the transaction may commit after `winning_actions` (committed as `winning_version`);
// else a conflict error (IsConcurrentModification) naming the rule, the winning version and an
// example file.
arrow::Status CheckConflicts(const TransactionFootprint& footprint, int64_t winning_version,
                             const std::vector<Action>& winning_actions,
                             const PartitionLookup& read_snapshot_partitions);

}  // namespace nlk::delta
