// Reads checkpoints (PROTOCOL.md "Checkpoints"): classic and multi-part Parquet files, V2
// UUID-named checkpoints in JSON or Parquet, and the sidecar files V2 checkpoints reference.
//
// Parquet is read column-selectively: only the action columns replay needs, never
// add.stats_parsed or add.partitionValues_parsed (their string forms are always used).
// Functions are thread-safe given a thread-safe store.
#pragma once

#include <arrow/status.h>

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "delta/log/actions.h"
#include "delta/log/log_files.h"
#include "storage/object_store.h"

namespace nlk::delta {

using ActionSink = std::function<arrow::Status(Action)>;

// Every action of a checkpoint: all parts, then the sidecars they reference.
arrow::Status ReadCheckpoint(storage::ObjectStore& store, const std::vector<LogFile>& parts,
                             const ActionSink& sink);

// The actions stored in the given top-level columns ("add", "remove", "metaData", "protocol",
// "txn", "domainMetadata", "checkpointMetadata", "sidecar") of one checkpoint-schema Parquet
// file. Columns the file lacks are treated as null, as the spec requires.
arrow::Status ReadCheckpointParquet(storage::ObjectStore& store, const std::string& path,
                                    const std::set<std::string>& columns, const ActionSink& sink);

// The path (relative to the table root) of a sidecar named by a sidecar action.
std::string SidecarPath(const Sidecar& sidecar);

}  // namespace nlk::delta
