// Pieces of DELETE and UPDATE (row_level_operation.cc) that MERGE (merge.cc) shares: opening
// the target with its write checks and mode, registering what was read, and committing the
// writer's actions. Internal to delta/dml.
#pragma once

#include <arrow/compute/expression.h>
#include <arrow/result.h>
#include <arrow/status.h>
#include <arrow/type.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "delta/dml/row_change_writer.h"
#include "delta/dml/row_level_operation.h"
#include "delta/dml/target_files.h"
#include "delta/log/delta_log.h"
#include "delta/log/transaction.h"
#include "storage/object_store.h"

namespace nlk::delta::dml::internal {

// The table as the operation reads it, and how rows leave their files.
struct Target {
  std::shared_ptr<const Snapshot> snapshot;
  std::shared_ptr<arrow::Schema> schema;  // logical
  bool deletion_vectors = false;
};

int64_t NowMillis();
int64_t MillisSince(std::chrono::steady_clock::time_point start);

// The latest snapshot, refused when nlk may not write it or it only allows appends; the mode
// resolved against the table's properties.
arrow::Result<Target> OpenTarget(DeltaLog& log, const DmlOptions& options,
                                 const std::string& operation);

// The writer's file, byte and deletion vector counts copied into `result`.
void CopyWriterCounts(const RowChangeWriter& writer, DmlResult* result);

// Registers the partitions `predicate` may touch (the whole table when absent) and every file
// of `plan` as read, for conflict detection.
arrow::Status RegisterReads(Transaction& transaction, const Metadata& metadata,
                            const std::optional<arrow::compute::Expression>& predicate,
                            const TargetFiles& plan);

// Commits `actions`; when the commit definitely failed, deletes the files the writer wrote.
arrow::Status CommitChanges(Transaction& transaction, RowChangeWriter& writer,
                            std::vector<Action> actions, storage::ObjectStore& store,
                            const DmlOptions& options, DmlResult* result);

}  // namespace nlk::delta::dml::internal
