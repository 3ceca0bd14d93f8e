// MERGE INTO a Delta table from a source of rows, as Spark runs it:
//
//   MERGE INTO target USING source ON <on>
//     WHEN MATCHED [AND <cond>] THEN UPDATE SET ... | UPDATE SET * | DELETE
//     WHEN NOT MATCHED [BY TARGET] [AND <cond>] THEN INSERT (cols) VALUES (...) | INSERT *
//     WHEN NOT MATCHED BY SOURCE [AND <cond>] THEN UPDATE SET ... | DELETE
//
// Expressions (the ON condition, clause conditions, assigned values) are unbound Arrow compute
// expressions over one joined row whose fields are named "target.<column>" for the target
// table's logical columns and "source.<column>" for the source's columns (TargetField and
// SourceField below build the names). In a NOT MATCHED row the target fields are null;
// in a NOT MATCHED BY SOURCE row the source fields are null.
//
// Join: the ON condition must contain at least one equality conjunct between an expression of
// target fields only and one of source fields only; those are the hash join's keys (a null key
// never matches). The whole ON condition is then evaluated on each candidate pair. An ON
// without such an equality is refused.
//
// Clauses of each kind are tried in the order given; the first whose condition holds acts on
// the row, and a row no clause takes is left as it is. A target row that two source rows match
// is an error (nothing is committed) unless the MATCHED clauses are one unconditional DELETE.
//
// Files: the source's key values (their minimum and maximum, per key on a target column) and
// the ON condition's conjuncts over target columns only prune target files by partition values
// and statistics (DmlResult::files_pruned_by_partition, files_skipped_by_stats), so files they
// rule out are never opened; with a NOT MATCHED BY SOURCE clause every file is read. Only
// files in which a row is updated or deleted are rewritten (copy-on-write) or given a deletion
// vector; a merge that only inserts appends new files and touches no existing one. Updated and
// inserted rows go to new files.
//
// The commit records operation MERGE with Spark's operationParameters (predicate,
// matchedPredicates, notMatchedPredicates, notMatchedBySourcePredicates) and metrics, and
// registers the partitions and files read for conflict detection, as DELETE and UPDATE do.
//
// Thread-safety: MergeRows may run concurrently; each call works on its own snapshot.
#pragma once

#include <arrow/compute/expression.h>
#include <arrow/record_batch.h>
#include <arrow/result.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "delta/dml/row_level_operation.h"
#include "delta/log/delta_log.h"
#include "storage/object_store.h"

namespace nlk::delta::dml {

// "target.<column>" and "source.<column>": the joined row's field names.
std::string TargetField(const std::string& column);
std::string SourceField(const std::string& column);

enum class MergeClauseKind { kMatched, kNotMatched, kNotMatchedBySource };
enum class MergeAction { kUpdate, kDelete, kInsert };

struct MergeClause {
  MergeClauseKind kind = MergeClauseKind::kMatched;
  MergeAction action = MergeAction::kUpdate;
  // Over the joined row; absent means always.
  std::optional<arrow::compute::Expression> condition;
  // As the user wrote it, for commitInfo.
  std::string condition_text;
  // UPDATE SET * / INSERT *: every target column from the source column of the same name.
  bool all_columns = false;
  // UPDATE SET column = value / INSERT (column, ...) VALUES (value, ...); values are over the
  // joined row and cast to the column's type. Columns an INSERT leaves out are null.
  std::vector<Assignment> assignments;
};

struct MergeSpec {
  arrow::compute::Expression on;
  std::string on_text;  // for commitInfo
  std::vector<MergeClause> clauses;
};

struct MergeResult : DmlResult {
  int64_t source_rows = 0;
  int64_t rows_inserted = 0;
  int64_t rows_matched_updated = 0;
  int64_t rows_matched_deleted = 0;
  int64_t rows_not_matched_by_source_updated = 0;
  int64_t rows_not_matched_by_source_deleted = 0;
};

// Merges `source` into the table. DmlOptions::predicate_text is not used (MergeSpec carries
// the texts).
arrow::Result<MergeResult> MergeRows(const std::shared_ptr<DeltaLog>& log,
                                     const std::shared_ptr<storage::ObjectStore>& store,
                                     const std::shared_ptr<arrow::RecordBatchReader>& source,
                                     const MergeSpec& spec, const DmlOptions& options = {});

}  // namespace nlk::delta::dml
