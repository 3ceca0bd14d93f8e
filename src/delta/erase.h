// Erasure that really erases (consent withdrawal, GDPR): the rows matching a predicate leave the
// table's current version AND every file that stays under the table root, including the log's
// history and statistics. In order:
//  1. DELETE in copy-on-write mode, even on a table that enables deletion vectors, and also
//     rewriting every file whose deletion vector hides a matching row
//     (dml::DmlOptions::purge_deleted_matches): no file of the new version physically holds a
//     matching row, live or deleted. The commit records the predicate as "<erased>", not its
//     values.
//  2. VACUUM (vacuum.h), recorded in the history (VACUUM START / END): with `now`, a retention of
//     0 that overrides the table's (delta.deletedFileRetentionDuration), so the removed files
//     and deletion vector files go at once (and, on a local file system, the directories they
//     leave empty); otherwise the table's retention (or a longer one),
//     and the removed files go on a vacuum after it has passed (EraseResult::deletable_after_ms).
//  3. A checkpoint at the latest version, then every older commit, checkpoint and checksum file
//     is deleted (log_cleanup.h, with every commit counted as expired): the removed files'
//     statistics (min/max of the erased values) and the predicates of older commits leave the
//     log. With `now` the checkpoint carries no tombstones either (their files are gone).
// Time travel to versions before the erasure is lost, and a reader or writer still working on an
// older snapshot may fail (with `now`, a concurrent writer's uncommitted files may be deleted
// too): run it when no other writer is active, as with any short-retention vacuum.
//
// Thread-safety: as the steps it runs; one erasure per table at a time.
#pragma once

#include <arrow/compute/expression.h>
#include <arrow/result.h>

#include <cstdint>
#include <optional>
#include <string>

#include "delta/dml/row_level_operation.h"
#include "delta/table.h"
#include "delta/vacuum.h"

namespace nlk::delta {

struct EraseOptions {
  // Vacuum with a retention of 0 now, overriding the table's retention.
  bool now = false;
  // Otherwise: the vacuum retention, at least the table's (default: the table's).
  std::optional<int64_t> retention_ms;
};

struct EraseResult {
  int64_t read_version = -1;
  dml::DmlResult deleted;  // the DELETE (committed false when no file held a matching row)
  VacuumResult vacuum;
  int64_t checkpoint_version = -1;
  int64_t log_files_deleted = 0;  // by vacuum's log cleanup and the history removal
  // With `now`, on a local file system: directories left empty (removed partitions), whose
  // names hold partition values.
  int64_t directories_removed = 0;
  // Files the DELETE removed that this vacuum could not delete yet (retention), and when a
  // vacuum may delete them (milliseconds since the epoch); 0 and nullopt when none is left.
  int64_t files_pending = 0;
  std::optional<int64_t> deletable_after_ms;
};

// Erases the rows of `table` for which `predicate` (unbound, over logical column names) is
// true. Invalid before anything is changed when the retention is shorter than the table's
// without `now`, or the table cannot be written.
arrow::Result<EraseResult> Erase(Table& table, const arrow::compute::Expression& predicate,
                                 const EraseOptions& options = {});

}  // namespace nlk::delta
