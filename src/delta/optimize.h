// OPTIMIZE: bin-packing compaction of small data files.
//
// Streaming writers commit many small files; reads pay per file. Optimize groups the small files
// of each partition into bins near a target size, rewrites each bin as few large files (deletion
// vectors applied, optionally sorted by a column so min/max statistics prune better) and commits
// each bin on its own as remove + add actions with dataChange=false.
//
// It never blocks or fails a concurrent writer: a bin commit only rearranges data, so the log
// checks it under snapshot isolation and rebases it over concurrent appends. A bin whose input
// files someone else removed (an overwrite, a delete, another optimize) is a real conflict: that
// bin alone is abandoned, its new files are deleted and the conflict is reported in the metrics.
//
//   ARROW_ASSIGN_OR_RAISE(OptimizeMetrics metrics, Optimize(*table->log(), {}));
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "delta/log/actions.h"
#include "delta/log/delta_log.h"

namespace nlk::delta {

inline constexpr int64_t kDefaultOptimizeTargetFileSize = int64_t{128} << 20;

struct OptimizeOptions {
  // Files at least this large are left alone; bins are filled up to about this size.
  int64_t target_file_size = kDefaultOptimizeTargetFileSize;
  // A bin with fewer files would rewrite data without reducing the file count.
  int64_t min_files_per_bin = 2;
  // Only partitions matching this predicate over partition columns (delta/predicate.h language).
  std::optional<std::string> where;
  // Rows of each rewritten bin are ordered by this column (ascending, nulls last).
  std::optional<std::string> sort_by;
  // Polled between bins: when it returns true, Optimize stops early (metrics.stopped) and the
  // bins already committed stay committed. Lets a daemon exit promptly on SIGTERM.
  std::function<bool()> stop_requested;
};

// A bin given up because a concurrent commit removed one of its input files.
struct AbandonedBin {
  PartitionValues partition_values;
  int64_t input_files = 0;
  std::string reason;  // the conflict as the log reported it
};

struct OptimizeMetrics {
  int64_t read_version = -1;  // the snapshot the bins were planned from
  // Files below the target size, in the partitions the pass covers, when it planned its bins:
  // the compaction backlog (lone small files of a partition included). A daemon whose passes
  // find it ever larger is falling behind its writers.
  int64_t small_files = 0;
  int64_t partitions_optimized = 0;
  int64_t bins_planned = 0;
  int64_t bins_committed = 0;
  int64_t files_removed = 0;
  int64_t files_added = 0;
  int64_t bytes_removed = 0;
  int64_t bytes_added = 0;
  int64_t rows_rewritten = 0;
  std::vector<int64_t> committed_versions;
  std::vector<AbandonedBin> abandoned_bins;
  bool stopped = false;  // stop_requested ended the run before every bin was tried
  int64_t duration_ms = 0;
};

// One bin: files of one partition to rewrite together.
struct CompactionBin {
  PartitionValues partition_values;
  std::vector<AddFile> files;
  int64_t total_size = 0;
};

// The bins for `files` (a snapshot's live files): per partition, the files smaller than the
// target, in modification-time order (streaming appends arrive in time order, so a bin covers a
// contiguous time range and its statistics stay narrow), packed greedily into bins of at most
// target_file_size bytes; bins with fewer than min_files_per_bin files are dropped. Pure.
std::vector<CompactionBin> PlanCompactionBins(const std::vector<AddFile>& files,
                                              const OptimizeOptions& options);

// Runs one optimize pass over the latest snapshot of the table behind `log`. Fails on bad
// options, on tables we cannot write, and on I/O errors; conflicts only abandon bins.
arrow::Result<OptimizeMetrics> Optimize(DeltaLog& log, const OptimizeOptions& options);

}  // namespace nlk::delta
