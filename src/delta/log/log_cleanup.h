// Metadata cleanup (PROTOCOL.md "Metadata Cleanup"): deletes log files no retained version needs.
//
// Thread-safe given a thread-safe store. Racing with a concurrent cleanup is harmless (deleting
// an absent object is not an error); racing with a checkpoint writer is safe because only files
// older than an existing complete checkpoint are deleted.
#pragma once

#include <arrow/result.h>

#include <cstdint>

#include "delta/log/delta_log.h"
#include "delta/log/snapshot.h"
#include "storage/object_store.h"

namespace nlk::delta {

// `latest` supplies delta.logRetentionDuration; `now_ms` the current time.
arrow::Result<LogCleanupResult> CleanupExpiredLogFiles(storage::ObjectStore& store,
                                                       const Snapshot& latest, int64_t now_ms);

}  // namespace nlk::delta
