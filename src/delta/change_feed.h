// Reading a table's change data feed (PROTOCOL.md "Add CDC File", "Change Data Files"): the rows
// each commit of a version range inserted, deleted or updated, with the columns
//   _change_type        insert, delete, update_preimage or update_postimage
//   _commit_version     the version of the commit
//   _commit_timestamp   its timestamp (the in-commit timestamp when the table has them, else the
//                       commit file's time), UTC
// after the table's own columns (as of the last version read).
//
// A commit with cdc actions is read from its change data files only. A commit without them is
// read from its add and remove actions that change data: the added files' rows are inserts, the
// removed files' rows (less those their deletion vector already hid) are deletes, and a file
// removed and re-added with a different deletion vector contributes the rows the vectors differ
// by (as delta-spark's DELETE with deletion vectors records it). Commits that
// only rearrange data (OPTIMIZE, dataChange=false) contribute nothing.
//
// Errors, before any row is returned: a range outside the table's versions, a version whose
// commit file is gone (log cleanup) or whose metadata did not enable delta.enableChangeDataFeed
// (its changes were never recorded), a removed file without partition values in a partitioned
// table. A data or change data file missing from storage (vacuumed) fails the read naming it.
//
// Thread-safety: each call plans independently; the reader returned is not thread-safe.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "delta/log/delta_log.h"
#include "storage/object_store.h"

namespace nlk::delta {

inline constexpr char kChangeTypeColumn[] = "_change_type";
inline constexpr char kCommitVersionColumn[] = "_commit_version";
inline constexpr char kCommitTimestampColumn[] = "_commit_timestamp";

struct ChangeFeedOptions {
  int64_t from_version = 0;
  std::optional<int64_t> to_version;  // the latest version when absent
};

// What one version contributes, as planned.
struct ChangeFeedCommit {
  int64_t version = 0;
  int64_t timestamp_ms = 0;
  bool from_change_data_files = false;
  std::vector<AddFile> change_data_files;  // cdc actions
  std::vector<AddFile> added;              // add actions with dataChange
  std::vector<AddFile> removed;            // remove actions with dataChange, as the files were
  // A file removed and added again in one commit with another deletion vector (a DELETE,
  // UPDATE or MERGE in deletion-vector mode): rows the new vector hides and the old did not are
  // deletes; rows the old hid and the new does not, inserts. {as removed, as added}.
  std::vector<std::pair<AddFile, AddFile>> vector_changes;
};

struct ChangeFeedPlan {
  int64_t from_version = 0;
  int64_t to_version = 0;
  Metadata metadata;  // as of to_version: the schema the rows are read with
  std::vector<ChangeFeedCommit> commits;
};

// The metadata change data files are written and read with: the table's, with `_change_type`
// (string) after its columns, named so in every column mapping mode (the files name the data
// columns physically and are matched by name).
arrow::Result<Metadata> ChangeDataFileMetadata(const Metadata& table);

// A table with delta.enableChangeDataFeed=true.
bool RecordsChangeDataFeed(const Metadata& metadata);

arrow::Result<ChangeFeedPlan> PlanChangeFeed(DeltaLog& log, const ChangeFeedOptions& options);

// The rows of `plan`, version by version.
arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> ReadChangeFeed(
    std::shared_ptr<storage::ObjectStore> store, ChangeFeedPlan plan);

}  // namespace nlk::delta
