#include "delta/log/log_cleanup.h"

#include <set>

#include "delta/log/action_json.h"
#include "delta/log/checkpoint_reader.h"
#include "delta/log/log_files.h"

namespace nlk::delta {

namespace {

int64_t FloorToMidnightUtc(int64_t timestamp_ms) {
  int64_t remainder = timestamp_ms % kMillisecondsPerDay;
  if (remainder < 0) remainder += kMillisecondsPerDay;
  return timestamp_ms - remainder;
}

// Names (inside _delta_log/_sidecars/) of the sidecars the given checkpoints reference.
arrow::Result<std::set<std::string>> ReferencedSidecars(storage::ObjectStore& store,
                                                        const std::vector<LogFile>& checkpoints) {
  std::set<std::string> referenced;
  const ActionSink collect = [&](Action action) {
    if (const auto* sidecar = std::get_if<Sidecar>(&action)) {
      referenced.insert(SidecarPath(*sidecar));
    }
    return arrow::Status::OK();
  };
  for (const auto& checkpoint : checkpoints) {
    // Multi-part checkpoints follow the V1 spec and never reference sidecars.
    if (checkpoint.type == LogFileType::kMultiPartCheckpoint) continue;
    if (checkpoint.is_json) {
      ARROW_ASSIGN_OR_RAISE(auto buffer, store.Read(checkpoint.object.path));
      ARROW_ASSIGN_OR_RAISE(auto actions,
                            ParseActionLines(std::string_view(*buffer), checkpoint.object.path));
      for (auto& action : actions) ARROW_RETURN_NOT_OK(collect(std::move(action)));
    } else {
      ARROW_RETURN_NOT_OK(
          ReadCheckpointParquet(store, checkpoint.object.path, {"sidecar"}, collect));
    }
  }
  return referenced;
}

}  // namespace

arrow::Result<LogCleanupResult> CleanupExpiredLogFiles(storage::ObjectStore& store,
                                                       const Snapshot& latest, int64_t now_ms) {
  LogCleanupResult result;
  ARROW_ASSIGN_OR_RAISE(const int64_t retention, latest.properties().log_retention_milliseconds());
  const int64_t cutoff_timestamp = FloorToMidnightUtc(now_ms - retention);

  ARROW_ASSIGN_OR_RAISE(auto files, ListLogFiles(store));
  // The newest commit not newer than the cutoff, using monotonic modification times.
  std::optional<int64_t> cutoff_commit;
  int64_t previous_timestamp = std::numeric_limits<int64_t>::min();
  for (const auto& file : files) {
    if (file.type != LogFileType::kCommit || file.version > latest.version()) continue;
    const int64_t timestamp = std::max(file.object.last_modified_ms, previous_timestamp + 1);
    previous_timestamp = timestamp;
    if (timestamp <= cutoff_timestamp) cutoff_commit = file.version;
  }
  if (!cutoff_commit) return result;

  std::optional<int64_t> cutoff_checkpoint;
  for (const auto& [version, parts] : CompleteCheckpoints(files)) {
    if (version <= *cutoff_commit) cutoff_checkpoint = version;
  }
  if (!cutoff_checkpoint) return result;
  result.cutoff_checkpoint_version = cutoff_checkpoint;

  // Oldest first, so an interrupted cleanup still leaves a contiguous log.
  std::vector<LogFile> retained_checkpoints;
  for (const auto& file : files) {
    bool expired = false;
    switch (file.type) {
      case LogFileType::kCommit:
      case LogFileType::kChecksum:
      case LogFileType::kClassicCheckpoint:
      case LogFileType::kMultiPartCheckpoint:
      case LogFileType::kUuidCheckpoint:
        expired = file.version < *cutoff_checkpoint;
        break;
      case LogFileType::kCompaction:
        expired = file.version <= *cutoff_checkpoint;
        break;
    }
    if (expired) {
      ARROW_RETURN_NOT_OK(store.Delete(file.object.path));
      ++result.deleted_files;
    } else if (file.IsCheckpoint()) {
      retained_checkpoints.push_back(file);
    }
  }

  // Sidecars: keep every one a retained checkpoint references, and any written within the last
  // day, which may belong to a checkpoint still being written.
  ARROW_ASSIGN_OR_RAISE(auto sidecar_objects, store.List(kSidecarDirectory));
  if (sidecar_objects.empty()) return result;
  ARROW_ASSIGN_OR_RAISE(auto referenced, ReferencedSidecars(store, retained_checkpoints));
  const int64_t sidecar_cutoff = FloorToMidnightUtc(now_ms) - kMillisecondsPerDay;
  for (const auto& object : sidecar_objects) {
    if (referenced.count(object.path) > 0 || object.last_modified_ms >= sidecar_cutoff) continue;
    ARROW_RETURN_NOT_OK(store.Delete(object.path));
    ++result.deleted_files;
  }
  return result;
}

}  // namespace nlk::delta
