#include "delta/erase.h"

#include <arrow/filesystem/filesystem.h>

#include <algorithm>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "delta/log/checkpoint_writer.h"
#include "delta/log/log_cleanup.h"
#include "delta/log/protocol_support.h"

namespace nlk::delta {
namespace {

// A time after which every commit counts as expired and every tombstone as past its retention.
constexpr int64_t kEndOfTime = std::numeric_limits<int64_t>::max() / 4;

// On a file system (not an object store, which has no directories) vacuum leaves the
// directories of removed partitions behind, empty, and their names hold partition values:
// removes every empty directory under the root outside the log.
arrow::Result<int64_t> RemoveEmptyDirectories(storage::ObjectStore& store) {
  auto filesystem = store.arrow_filesystem();
  if (filesystem == nullptr || filesystem->type_name() != "local") return 0;
  std::string root = store.arrow_path("");
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  arrow::fs::FileSelector everything;
  everything.base_dir = root;
  everything.recursive = true;
  ARROW_ASSIGN_OR_RAISE(auto entries, filesystem->GetFileInfo(everything));
  std::vector<std::string> directories;
  for (const auto& entry : entries) {
    if (entry.type() != arrow::fs::FileType::Directory) continue;
    std::string relative = entry.path().substr(root.size());
    if (relative.rfind("/_delta_log", 0) == 0) continue;
    directories.push_back(entry.path());
  }
  // Deepest first, so a parent emptied by its children goes too.
  std::sort(directories.begin(), directories.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  int64_t removed = 0;
  for (const std::string& directory : directories) {
    arrow::fs::FileSelector children;
    children.base_dir = directory;
    ARROW_ASSIGN_OR_RAISE(auto inside, filesystem->GetFileInfo(children));
    if (!inside.empty()) continue;
    ARROW_RETURN_NOT_OK(filesystem->DeleteDir(directory));
    ++removed;
  }
  return removed;
}

// A checkpoint at the latest version, then every log file before it: returns the checkpoint's
// version and the number of files deleted.
arrow::Result<std::pair<int64_t, int64_t>> RemoveHistory(DeltaLog& log, storage::ObjectStore& store,
                                                         bool now) {
  ARROW_ASSIGN_OR_RAISE(auto latest, log.Latest());
  CheckpointInfo checkpoint;
  if (now) {
    // Vacuum deleted every file the tombstones name: the checkpoint drops them all.
    ARROW_ASSIGN_OR_RAISE(checkpoint, WriteCheckpoint(store, *latest, kEndOfTime));
  } else {
    ARROW_ASSIGN_OR_RAISE(checkpoint, log.Checkpoint(*latest));
  }
  ARROW_ASSIGN_OR_RAISE(auto cleaned, CleanupExpiredLogFiles(store, *latest, kEndOfTime));
  return std::make_pair(checkpoint.version, cleaned.deleted_files);
}

}  // namespace

arrow::Result<EraseResult> Erase(Table& table, const arrow::compute::Expression& predicate,
                                 const EraseOptions& options) {
  DeltaLog& log = *table.log();
  storage::ObjectStore& store = *table.store();
  EraseResult result;
  ARROW_ASSIGN_OR_RAISE(auto before, log.Latest());
  result.read_version = before->version();
  ARROW_RETURN_NOT_OK(CheckWriteSupported(before->protocol(), before->metadata()));
  ARROW_ASSIGN_OR_RAISE(const int64_t table_retention,
                        before->properties().deleted_file_retention_milliseconds());
  VacuumOptions vacuum;
  vacuum.record_in_history = true;
  if (options.now) {
    vacuum.retention_ms = 0;
    vacuum.allow_short_retention = true;
  } else if (options.retention_ms) {
    if (*options.retention_ms < table_retention) {
      return arrow::Status::Invalid(
          "erase: a retention of ", *options.retention_ms / 3600000.0,
          " hours is shorter than the table's delta.deletedFileRetentionDuration (",
          table_retention / 3600000.0,
          " hours); give at least that, or --now to delete the files at once; nothing was "
          "changed");
    }
    vacuum.retention_ms = options.retention_ms;
  }

  // 1. The rows, and every file that physically holds one.
  dml::DmlOptions delete_options;
  delete_options.mode = dml::RowChangeMode::kCopyOnWrite;
  delete_options.purge_deleted_matches = true;
  delete_options.predicate_text = "<erased>";
  ARROW_ASSIGN_OR_RAISE(result.deleted, table.Delete(predicate, delete_options));

  // Past this point the rows are gone from the current version; a failure leaves old files or
  // history behind, which running the erasure again removes.
  auto unfinished = [&result](const arrow::Status& status) {
    return status.WithMessage(
        "erase: ",
        result.deleted.committed
            ? "the rows were deleted as version " + std::to_string(result.deleted.version)
            : std::string("no live file held the rows"),
        ", but cleaning up failed (run the erasure again): ", status.message());
  };

  // 2. The files that held them.
  auto vacuumed = Vacuum(log, vacuum);
  if (!vacuumed.ok()) return unfinished(vacuumed.status());
  result.vacuum = std::move(*vacuumed);
  result.log_files_deleted += result.vacuum.log_files_deleted;

  if (options.now) {
    auto removed = RemoveEmptyDirectories(store);
    if (!removed.ok()) return unfinished(removed.status());
    result.directories_removed = *removed;
  }

  // 3. The history that names them.
  auto history = RemoveHistory(log, store, options.now);
  if (!history.ok()) return unfinished(history.status());
  result.checkpoint_version = history->first;
  result.log_files_deleted += history->second;

  // What is left for a later vacuum: files removed within the retention (this erasure's, and
  // any removed shortly before it, which may hold the rows too).
  if (!options.now) {
    ARROW_ASSIGN_OR_RAISE(auto latest, log.AtVersion(result.checkpoint_version));
    for (const RemoveFile& tombstone : latest->all_tombstones()) {
      const int64_t removed_at = tombstone.deletion_timestamp.value_or(0);
      if (removed_at <= result.vacuum.cutoff_ms) continue;
      ++result.files_pending;
      const int64_t due = removed_at + result.vacuum.retention_ms;
      if (!result.deletable_after_ms || due > *result.deletable_after_ms) {
        result.deletable_after_ms = due;
      }
    }
  }
  return result;
}

}  // namespace nlk::delta
