// How old a table's newest data is, as far as its log tells: the time of the newest commit that
// may have brought new rows. Maintenance commits (compaction, vacuum, property changes) rewrite
// or describe what is there and do not count, so a table that is only compacted grows stale.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "delta/log/actions.h"
#include "delta/log/delta_log.h"

namespace nlk::delta {

// False for the operations that bring no new data: OPTIMIZE, VACUUM START, VACUUM END,
// SET TBLPROPERTIES, UNSET TBLPROPERTIES, UPGRADE PROTOCOL. A commit without commitInfo or
// without an operation may have brought data.
bool MayBringNewData(const std::optional<CommitInfo>& commit_info);

// The timestamp of the newest commit in `history` (newest first, as DeltaLog::History returns
// it) that may have brought new data. When none in it did, the oldest commit's timestamp: the
// data is at least that old. Nullopt for an empty history.
std::optional<int64_t> NewestDataCommitMs(const std::vector<CommitRecord>& history);

}  // namespace nlk::delta
