// Writes classic single-file checkpoints (PROTOCOL.md "Checkpoints", "Checkpoint Schema") and
// the _last_checkpoint hint.
//
// The Parquet schema follows the spec's field names with every field nullable, maps as
// map<string,string> and add.stats as a JSON string, so Spark and delta-rs read it. Tables with
// the v2Checkpoint feature may use classic V1-spec checkpoints too, so one format serves all.
// Thread-safe given a thread-safe store; concurrent writers of the same checkpoint write the
// same content, and the last one wins, as the spec allows.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <memory>
#include <string>

#include "delta/log/snapshot.h"
#include "storage/object_store.h"

namespace nlk::delta {

struct CheckpointInfo {
  int64_t version = 0;
  std::string path;
  int64_t num_actions = 0;
  int64_t num_add_files = 0;
  int64_t size_in_bytes = 0;
};

// Writes <version>.checkpoint.parquet for the snapshot (live files, tombstones unexpired at
// `now_ms`, protocol, metadata, app transactions, live domains) and then _last_checkpoint,
// unless that already names a newer checkpoint.
arrow::Result<CheckpointInfo> WriteCheckpoint(storage::ObjectStore& store, const Snapshot& snapshot,
                                              int64_t now_ms);

// The checkpoint of a snapshot as Parquet bytes, for WriteCheckpoint and tests.
arrow::Result<std::shared_ptr<arrow::Buffer>> BuildCheckpointParquet(const Snapshot& snapshot,
                                                                     int64_t now_ms,
                                                                     int64_t* num_actions);

}  // namespace nlk::delta
