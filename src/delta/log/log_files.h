// Names of the files in _delta_log (PROTOCOL.md "File Types") and the choice of which of them
// reconstruct a version: the newest complete checkpoint not after it plus the commits after that.
//
// Pure functions over listings; thread-safe.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/object_store.h"

namespace nlk::delta {

inline constexpr char kLogDirectory[] = "_delta_log/";
inline constexpr char kLastCheckpointPath[] = "_delta_log/_last_checkpoint";
inline constexpr char kSidecarDirectory[] = "_delta_log/_sidecars/";

enum class LogFileType {
  kCommit,               // <v>.json
  kClassicCheckpoint,    // <v>.checkpoint.parquet
  kMultiPartCheckpoint,  // <v>.checkpoint.<part>.<parts>.parquet
  kUuidCheckpoint,       // <v>.checkpoint.<uuid>.json|parquet (V2 spec)
  kChecksum,             // <v>.crc
  kCompaction,           // <v>.<end>.compacted.json
};

struct LogFile {
  storage::ObjectInfo object;  // path relative to the table root
  LogFileType type = LogFileType::kCommit;
  int64_t version = 0;                 // for compactions: the start version
  std::optional<int64_t> end_version;  // compactions only
  int32_t part = 0;                    // multi-part checkpoints: 1-based part ...
  int32_t num_parts = 0;               // ... of this many
  bool is_json = false;                // UUID-named checkpoints: JSON rather than Parquet

  bool IsCheckpoint() const {
    return type == LogFileType::kClassicCheckpoint || type == LogFileType::kMultiPartCheckpoint ||
           type == LogFileType::kUuidCheckpoint;
  }
};

// "00000000000000000042"
std::string PaddedVersion(int64_t version);
// "_delta_log/00000000000000000042.json"
std::string CommitPath(int64_t version);
// "_delta_log/00000000000000000042.checkpoint.parquet"
std::string ClassicCheckpointPath(int64_t version);

// Recognizes a direct child of _delta_log; nullopt for anything else (_last_checkpoint,
// sidecars, staged commits, temporary files).
std::optional<LogFile> ParseLogFile(const storage::ObjectInfo& object);

// Lists _delta_log, keeping recognized files in listing (= version) order.
arrow::Result<std::vector<LogFile>> ListLogFiles(storage::ObjectStore& store,
                                                 const std::string& start_after = "");

// The files that reconstruct one version.
struct LogSegment {
  int64_t version = -1;
  std::optional<int64_t> checkpoint_version;
  std::vector<LogFile> checkpoint_files;     // all parts of the chosen checkpoint
  std::vector<LogFile> commits;              // checkpoint_version+1 .. version, ascending
  std::optional<LogFile> commit_at_version;  // the commit file of `version`, when it exists
};

// Chooses the segment for `version` (the latest when nullopt) from a listing. Multi-part
// checkpoints with missing parts are ignored. Errors: kNotATable when the listing holds no
// commit or checkpoint, kVersionNotFound outside the reconstructable range, kCorruptLog when a
// commit is missing between the checkpoint and the version.
arrow::Result<LogSegment> BuildLogSegment(const std::vector<LogFile>& files,
                                          std::optional<int64_t> version,
                                          const std::string& table_uri);

// Complete checkpoints in the listing: version -> the files of the preferred one.
std::vector<std::pair<int64_t, std::vector<LogFile>>> CompleteCheckpoints(
    const std::vector<LogFile>& files);

}  // namespace nlk::delta
