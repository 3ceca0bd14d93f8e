// Retention: deletes the partitions of a table whose rows are all older than a period, with one
// Delta commit of remove actions (dataChange true, operation "DELETE" and the predicate in
// operationParameters, as Spark records a delete that covers whole partitions). Readers (ours,
// Spark, delta-rs) stop seeing the rows at that version; the files stay for time travel until
// vacuum deletes them.
//
// The column must be a date or timestamp partition column: a date partition D goes once D + 1
// day <= now - keep, a timestamp partition T once T < now - keep. Null partitions are kept.
// Deleting rows inside partitions is DML's business, not retention's.
#pragma once

#include <arrow/result.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "delta/log/delta_log.h"

namespace nlk::delta {

struct RetentionOptions {
  std::string column;
  std::chrono::days keep{0};
  // Report what would go; commit nothing.
  bool dry_run = false;
  // The current time, milliseconds since the epoch; unset: DeltaLog::NowMs().
  std::optional<int64_t> now_ms;
};

struct RetentionResult {
  int64_t read_version = -1;
  int64_t committed_version = -1;       // -1: nothing committed (nothing expired, or a dry run)
  std::string cutoff;                   // ISO 8601 UTC instant: rows before it are expired
  std::string predicate;                // the SQL predicate of the deleted partitions
  std::vector<std::string> partitions;  // the expired partition values, sorted
  int64_t files_removed = 0;
  int64_t bytes_removed = 0;
  int64_t rows_removed = 0;  // from the files' statistics (files without them count 0)
  bool dry_run = false;
  int64_t duration_ms = 0;
};

// Applies `options` to the latest snapshot of the table behind `log`. Invalid when the column
// is not a partition column of the table, or not a date or timestamp, or keep is not positive.
arrow::Result<RetentionResult> ApplyRetention(DeltaLog& log, const RetentionOptions& options);

}  // namespace nlk::delta
