// VACUUM: physically deletes data files that no version within the retention window can read.
//
// PROTOCOL.md: a remove action stays as a tombstone until "current time exceeds the expiration
// threshold added to the remove action timestamp"; until then its file may still be read by time
// travel or by a reader of an older snapshot. Vacuum therefore keeps
//   - every file (and deletion vector file) of the latest snapshot,
//   - every file (and deletion vector file) of a tombstone younger than the retention,
//   - every file modified within the retention, referenced or not: a concurrent writer's data
//     file exists before the commit that references it, and a fresh file is young, so it lives,
// and deletes the rest of what it lists under the table root: expired tombstoned files and
// orphans (e.g. from a crashed writer or an abandoned commit) older than the retention.
//
// What is listed follows the protocol's layout: data files live in the root or in non-hidden
// directories, so names starting with '_' or '.' are skipped (the log, checkpoints, _SUCCESS,
// .crc files, temporary files), except partition directories of a partition column starting
// with '_' and the _change_data directory, whose change data files expire like orphans (as in
// delta-spark). Deletion vector files sit in the root or a random-prefix directory and are
// vacuumed like data files.
//
// Before deleting anything vacuum checks that we support the table's writer features, as the
// "VACUUM Protocol Check" feature requires of every vacuum.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "delta/log/delta_log.h"
#include "storage/object_store.h"

namespace nlk::delta {

struct VacuumOptions {
  // Files younger than this, and tombstones younger than this, are kept. Default: the table's
  // delta.deletedFileRetentionDuration ("interval 1 week" unless the table sets it).
  std::optional<int64_t> retention_ms;
  // A retention shorter than the table's is refused unless this is set: readers of versions
  // older than the retention, and writers whose commits take longer, may lose files.
  bool allow_short_retention = false;
  // List what would be deleted; delete nothing.
  bool dry_run = false;
  // Afterwards, delete log files older than delta.logRetentionDuration (not on a dry run).
  bool clean_expired_logs = true;
  // Record "VACUUM START" and "VACUUM END" commits (no file actions) in the table history, as
  // delta-spark does when delta.vacuum.logging.enabled. Off by default: a vacuum daemon would
  // otherwise add two versions per pass.
  bool record_in_history = false;
  // Polled between deletions; when it returns true vacuum stops (result.stopped).
  std::function<bool()> stop_requested;
};

struct VacuumResult {
  int64_t snapshot_version = -1;
  int64_t retention_ms = 0;
  // Files last modified before this time (milliseconds since the epoch) may be deleted.
  int64_t cutoff_ms = 0;
  int64_t files_listed = 0;      // vacuumable files found under the root
  int64_t files_referenced = 0;  // of those, kept because a retained version needs them
  // Deleted files, or those that would be deleted on a dry run, sorted by path.
  std::vector<storage::ObjectInfo> deletable;
  int64_t files_deleted = 0;
  int64_t bytes_deleted = 0;
  int64_t log_files_deleted = 0;
  bool dry_run = false;
  bool stopped = false;
  int64_t duration_ms = 0;
};

// True when `path` (relative to the table root) is in vacuum's scope: not under a hidden
// directory nor a hidden file, per the rules above. Pure.
bool IsVacuumablePath(const std::string& path, const std::vector<std::string>& partition_columns);

// Vacuums the latest snapshot of the table behind `log`, using `log.NowMs()` as the current time.
arrow::Result<VacuumResult> Vacuum(DeltaLog& log, const VacuumOptions& options);

}  // namespace nlk::delta
