// Row-level operations on a Delta table: DELETE and UPDATE (PROTOCOL.md "Deletion Vectors",
// "Add File and Remove File"), in two modes:
//  - copy-on-write: every file holding a changed row is rewritten without (or with updated
//    copies of) those rows, and removed;
//  - deletion vectors, when the table enables them (delta.enableDeletionVectors=true and the
//    deletionVectors feature): changed rows are marked deleted in the file's deletion vector
//    (merged with the one it has) and updated rows are written to a new file.
// In both modes a file whose every row goes is removed, files the predicate selects by
// partition values alone are removed without being opened, and files whose statistics rule
// the predicate out are never opened.
//
// The commit records operation DELETE or UPDATE with the predicate and Spark's operation
// metrics, and registers what it read (partitions and files) so that a concurrent commit that
// changed them makes this one fail with a conflict instead of losing rows (conflict_checker.h).
//
// Thread-safety: the functions may run concurrently; each works on its own snapshot.
#pragma once

#include <arrow/compute/expression.h>
#include <arrow/result.h>
#include <arrow/status.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "delta/log/delta_log.h"
#include "storage/object_store.h"

namespace nlk::delta::dml {

// How changed rows leave their files.
enum class RowChangeMode {
  kTableDefault,     // deletion vectors when the table enables them, else copy-on-write
  kCopyOnWrite,      // always rewrite
  kDeletionVectors,  // an error when the table does not support deletion vectors
};

struct DmlOptions {
  RowChangeMode mode = RowChangeMode::kTableDefault;
  // The predicate as the user wrote it, recorded in commitInfo.operationParameters.
  std::string predicate_text;
  int64_t target_file_size_bytes = 128LL * 1024 * 1024;
  // Deletion vectors of at most this many serialized bytes are stored inline in the log.
  int32_t max_inline_deletion_vector_bytes = 64;
  // DELETE only, for erasure (delta/erase.h): also rewrite every file whose deletion vector
  // hides a row matching the predicate, so that no file of the new version holds a matching
  // row, live or deleted. Requires copy-on-write (an error in deletion-vector mode).
  bool purge_deleted_matches = false;
  // Called after the new files are written and before the commit: a caller (or a test) that
  // commits another change there races the operation exactly as a concurrent writer would.
  std::function<void()> before_commit;
};

// `column = value`: `value` is unbound and refers to the table's logical columns; its result
// is cast to the column's type (an error, not a wrap-around, when a value does not fit).
struct Assignment {
  std::string column;
  arrow::compute::Expression value;
};

struct DmlResult {
  // The committed version; when no row matched nothing is committed and this is the version
  // read (committed false).
  int64_t version = -1;
  bool committed = false;
  bool used_deletion_vectors = false;
  int64_t rows_deleted = 0;
  int64_t rows_updated = 0;
  int64_t rows_copied = 0;  // unchanged rows rewritten (copy-on-write)
  int64_t files_total = 0;
  int64_t files_pruned_by_partition = 0;
  int64_t files_skipped_by_stats = 0;
  int64_t files_opened = 0;
  int64_t files_removed_without_reading = 0;  // decided by partition values alone
  int64_t files_removed = 0;
  int64_t files_added = 0;
  int64_t deletion_vectors_added = 0;    // on files that had none
  int64_t deletion_vectors_updated = 0;  // merged into a file's existing vector
  int64_t deletion_vectors_removed = 0;  // files with a vector that were removed or rewritten
  // Files rewritten only because their deletion vector hid matching rows
  // (DmlOptions::purge_deleted_matches).
  int64_t files_purged = 0;
  int64_t bytes_removed = 0;
  int64_t bytes_added = 0;
  // A failed automatic checkpoint or log cleanup after the commit; the commit itself stands.
  arrow::Status maintenance_status;
};

// Deletes the rows for which `predicate` is true (every row when absent).
arrow::Result<DmlResult> DeleteRows(const std::shared_ptr<DeltaLog>& log,
                                    const std::shared_ptr<storage::ObjectStore>& store,
                                    const std::optional<arrow::compute::Expression>& predicate,
                                    const DmlOptions& options = {});

// Sets the assigned columns of the rows for which `predicate` is true (every row when absent),
// each value computed from the row before the update.
arrow::Result<DmlResult> UpdateRows(const std::shared_ptr<DeltaLog>& log,
                                    const std::shared_ptr<storage::ObjectStore>& store,
                                    const std::vector<Assignment>& assignments,
                                    const std::optional<arrow::compute::Expression>& predicate,
                                    const DmlOptions& options = {});

}  // namespace nlk::delta::dml
