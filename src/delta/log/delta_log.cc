#include "delta/log/delta_log.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <map>

#include "delta/log/action_json.h"
#include "delta/log/checkpoint_reader.h"
#include "delta/log/last_checkpoint.h"
#include "delta/log/log_cleanup.h"
#include "delta/log/log_error.h"
#include "delta/log/protocol_support.h"
#include "delta/log/transaction.h"

namespace nlk::delta {

namespace {

std::optional<CommitInfo> FindCommitInfo(const std::vector<Action>& actions) {
  for (const auto& action : actions) {
    if (const auto* info = std::get_if<CommitInfo>(&action)) return *info;
  }
  return std::nullopt;
}

}  // namespace

arrow::Result<std::shared_ptr<DeltaLog>> DeltaLog::Open(std::shared_ptr<storage::ObjectStore> store,
                                                        DeltaLogOptions options) {
  if (store == nullptr) return arrow::Status::Invalid("DeltaLog::Open needs an object store");
  return std::shared_ptr<DeltaLog>(new DeltaLog(std::move(store), std::move(options)));
}

int64_t DeltaLog::NowMs() const {
  if (options_.clock) return options_.clock();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

arrow::Result<std::vector<Action>> DeltaLog::ReadCommit(int64_t version) {
  const std::string path = CommitPath(version);
  ARROW_ASSIGN_OR_RAISE(auto buffer, store_->Read(path));
  return ParseActionLines(std::string_view(*buffer), path);
}

arrow::Result<std::optional<CommitInfo>> DeltaLog::ReadCommitInfo(const LogFile& commit) {
  ARROW_ASSIGN_OR_RAISE(auto buffer, store_->Read(commit.object.path));
  const std::string_view contents(*buffer);
  // commitInfo is usually the first line (always, with in-commit timestamps): stop there
  // instead of parsing a possibly huge commit.
  int64_t line_number = 0;
  size_t start = 0;
  while (start < contents.size()) {
    size_t end = contents.find('\n', start);
    if (end == std::string_view::npos) end = contents.size();
    ++line_number;
    ARROW_ASSIGN_OR_RAISE(auto action, ParseActionLine(contents.substr(start, end - start),
                                                       commit.object.path, line_number));
    if (action) {
      if (auto* info = std::get_if<CommitInfo>(&*action)) return std::move(*info);
    }
    start = end + 1;
  }
  return std::nullopt;
}

arrow::Result<std::shared_ptr<const Snapshot>> DeltaLog::LoadSegment(const LogSegment& segment) {
  TableState state;
  if (!segment.checkpoint_files.empty()) {
    ARROW_RETURN_NOT_OK(ReadCheckpoint(*store_, segment.checkpoint_files, [&](Action action) {
      state.Apply(std::move(action));
      return arrow::Status::OK();
    }));
  }
  std::optional<CommitInfo> commit_info;
  for (const auto& commit : segment.commits) {
    ARROW_ASSIGN_OR_RAISE(auto buffer, store_->Read(commit.object.path));
    ARROW_ASSIGN_OR_RAISE(auto actions,
                          ParseActionLines(std::string_view(*buffer), commit.object.path));
    if (commit.version == segment.version) commit_info = FindCommitInfo(actions);
    for (auto& action : actions) state.Apply(std::move(action));
  }
  if (segment.commits.empty() && segment.commit_at_version) {
    ARROW_ASSIGN_OR_RAISE(commit_info, ReadCommitInfo(*segment.commit_at_version));
  }

  Snapshot::Provenance provenance;
  provenance.table_uri = table_uri();
  provenance.version = segment.version;
  provenance.checkpoint_version = segment.checkpoint_version;
  if (segment.commit_at_version) {
    provenance.timestamp_ms = segment.commit_at_version->object.last_modified_ms;
  } else if (!segment.checkpoint_files.empty()) {
    provenance.timestamp_ms = segment.checkpoint_files.front().object.last_modified_ms;
  }
  if (state.protocol() && state.metadata() &&
      InCommitTimestampsEnabled(*state.protocol(), *state.metadata()) && commit_info &&
      commit_info->in_commit_timestamp) {
    provenance.timestamp_ms = *commit_info->in_commit_timestamp;
  }
  provenance.commit_info = std::move(commit_info);
  return Snapshot::Make(std::move(provenance), std::move(state));
}

arrow::Result<std::shared_ptr<const Snapshot>> DeltaLog::Load(std::optional<int64_t> version) {
  // The hint saves listing the whole log; any problem with it just means a full listing.
  auto hint_buffer = store_->Read(kLastCheckpointPath);
  if (hint_buffer.ok()) {
    auto hint = ParseLastCheckpoint(std::string_view(**hint_buffer));
    if (hint.ok() && (!version || hint->version <= *version)) {
      // A bare version prefix sorts before every file of that version, so the listing starts
      // with the hinted checkpoint itself.
      auto files = ListLogFiles(*store_, std::string(kLogDirectory) + PaddedVersion(hint->version));
      if (files.ok()) {
        auto segment = BuildLogSegment(*files, version, table_uri());
        if (segment.ok() && segment->checkpoint_version) return LoadSegment(*segment);
      }
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto files, ListLogFiles(*store_));
  ARROW_ASSIGN_OR_RAISE(auto segment, BuildLogSegment(files, version, table_uri()));
  return LoadSegment(segment);
}

arrow::Result<std::shared_ptr<const Snapshot>> DeltaLog::Latest() { return Load(std::nullopt); }

arrow::Result<std::shared_ptr<const Snapshot>> DeltaLog::AtVersion(int64_t version) {
  if (version < 0) {
    return LogError(LogErrorKind::kVersionNotFound,
                    "Version " + std::to_string(version) + " is invalid: versions start at 0",
                    version);
  }
  return Load(version);
}

arrow::Result<std::shared_ptr<const Snapshot>> DeltaLog::Update(
    std::shared_ptr<const Snapshot> snapshot) {
  return UpdateTo(std::move(snapshot), std::numeric_limits<int64_t>::max());
}

arrow::Result<std::shared_ptr<const Snapshot>> DeltaLog::UpdateTo(
    std::shared_ptr<const Snapshot> snapshot, int64_t version) {
  if (snapshot == nullptr) {
    return version == std::numeric_limits<int64_t>::max() ? Latest() : AtVersion(version);
  }
  ARROW_ASSIGN_OR_RAISE(auto files, ListLogFiles(*store_, CommitPath(snapshot->version())));
  std::vector<const LogFile*> commits;
  int64_t expected = snapshot->version() + 1;
  for (const auto& file : files) {
    if (file.type != LogFileType::kCommit || file.version > version) continue;
    if (file.version != expected) {
      // Commits after the snapshot were cleaned up (or are missing): replay from scratch, which
      // reports the problem precisely if the log is really broken.
      return version == std::numeric_limits<int64_t>::max() ? Latest() : AtVersion(version);
    }
    commits.push_back(&file);
    ++expected;
  }
  if (commits.empty()) {
    if (version != std::numeric_limits<int64_t>::max() && version != snapshot->version()) {
      return AtVersion(version);
    }
    return snapshot;
  }
  TableState state = snapshot->ToTableState();
  std::optional<CommitInfo> commit_info;
  for (const LogFile* commit : commits) {
    ARROW_ASSIGN_OR_RAISE(auto buffer, store_->Read(commit->object.path));
    ARROW_ASSIGN_OR_RAISE(auto actions,
                          ParseActionLines(std::string_view(*buffer), commit->object.path));
    if (commit == commits.back()) commit_info = FindCommitInfo(actions);
    for (auto& action : actions) state.Apply(std::move(action));
  }
  Snapshot::Provenance provenance;
  provenance.table_uri = table_uri();
  provenance.version = commits.back()->version;
  provenance.checkpoint_version = snapshot->checkpoint_version();
  provenance.timestamp_ms = commits.back()->object.last_modified_ms;
  if (state.protocol() && state.metadata() &&
      InCommitTimestampsEnabled(*state.protocol(), *state.metadata()) && commit_info &&
      commit_info->in_commit_timestamp) {
    provenance.timestamp_ms = *commit_info->in_commit_timestamp;
  }
  provenance.commit_info = std::move(commit_info);
  return Snapshot::Make(std::move(provenance), std::move(state));
}

std::vector<std::pair<int64_t, int64_t>> DeltaLog::MonotonicCommitTimestamps(
    const std::vector<LogFile>& files) {
  // Delta's rule for file-time travel: clocks and copies can make modification times go
  // backwards, so each commit counts as at least 1 ms after the previous one.
  std::vector<std::pair<int64_t, int64_t>> timestamps;
  for (const auto& file : files) {
    if (file.type != LogFileType::kCommit) continue;
    int64_t timestamp = file.object.last_modified_ms;
    if (!timestamps.empty() && timestamp <= timestamps.back().second) {
      timestamp = timestamps.back().second + 1;
    }
    timestamps.emplace_back(file.version, timestamp);
  }
  return timestamps;
}

arrow::Result<std::shared_ptr<const Snapshot>> DeltaLog::AtTimestamp(int64_t timestamp_ms) {
  ARROW_ASSIGN_OR_RAISE(auto latest, Latest());
  ARROW_ASSIGN_OR_RAISE(auto files, ListLogFiles(*store_));

  // The earliest version that can be rebuilt: 0 with a full log, else the oldest checkpoint.
  int64_t earliest = latest->version();
  bool has_commit_zero = std::any_of(files.begin(), files.end(), [](const LogFile& file) {
    return file.type == LogFileType::kCommit && file.version == 0;
  });
  if (has_commit_zero) {
    earliest = 0;
  } else {
    const auto checkpoints = CompleteCheckpoints(files);
    if (!checkpoints.empty()) earliest = std::min(earliest, checkpoints.front().first);
  }

  std::vector<std::pair<int64_t, int64_t>> candidates;  // (version, timestamp), ascending
  for (const auto& entry : MonotonicCommitTimestamps(files)) {
    if (entry.first >= earliest && entry.first <= latest->version()) candidates.push_back(entry);
  }
  const TableProperties properties = latest->properties();
  if (latest->in_commit_timestamps_enabled()) {
    const int64_t enablement_version =
        properties.in_commit_timestamp_enablement_version().value_or(earliest);
    const auto enablement_timestamp = properties.in_commit_timestamp_enablement_timestamp();
    if (!enablement_timestamp || timestamp_ms >= *enablement_timestamp) {
      // In-commit timestamps increase with the version: binary search, reading O(log n)
      // commitInfo actions.
      std::vector<const LogFile*> ict_commits;
      for (const auto& file : files) {
        if (file.type == LogFileType::kCommit && file.version >= enablement_version &&
            file.version >= earliest && file.version <= latest->version()) {
          ict_commits.push_back(&file);
        }
      }
      size_t low = 0;
      size_t high = ict_commits.size();  // first commit with timestamp > target
      std::optional<int64_t> first_timestamp;
      while (low < high) {
        const size_t middle = low + (high - low) / 2;
        ARROW_ASSIGN_OR_RAISE(auto info, ReadCommitInfo(*ict_commits[middle]));
        if (!info || !info->in_commit_timestamp) {
          return LogError(LogErrorKind::kCorruptLog,
                          "Commit " + ict_commits[middle]->object.path +
                              " has no commitInfo.inCommitTimestamp although in-commit "
                              "timestamps are enabled");
        }
        if (middle == 0) first_timestamp = *info->in_commit_timestamp;
        if (*info->in_commit_timestamp <= timestamp_ms) {
          low = middle + 1;
        } else {
          high = middle;
        }
      }
      if (low > 0) return AtVersion(ict_commits[low - 1]->version);
      if (enablement_version > earliest) {
        // Before the first in-commit timestamp: the file-time rules below apply.
        candidates.erase(
            std::remove_if(candidates.begin(), candidates.end(),
                           [&](const auto& entry) { return entry.first >= enablement_version; }),
            candidates.end());
      } else {
        return LogError(
            LogErrorKind::kVersionNotFound,
            "Timestamp " + std::to_string(timestamp_ms) +
                " is before the earliest "
                "available version " +
                std::to_string(earliest) + " of " + table_uri() +
                (first_timestamp ? " (committed at " + std::to_string(*first_timestamp) + ")"
                                 : std::string()));
      }
    } else {
      candidates.erase(
          std::remove_if(candidates.begin(), candidates.end(),
                         [&](const auto& entry) { return entry.first >= enablement_version; }),
          candidates.end());
    }
  }
  std::optional<int64_t> found;
  for (const auto& [version, timestamp] : candidates) {
    if (timestamp <= timestamp_ms) found = version;
  }
  if (!found) {
    return LogError(LogErrorKind::kVersionNotFound,
                    "Timestamp " + std::to_string(timestamp_ms) +
                        " is before the earliest "
                        "available version " +
                        std::to_string(earliest) + " of " + table_uri() +
                        (candidates.empty() ? std::string()
                                            : " (committed at " +
                                                  std::to_string(candidates.front().second) + ")"));
  }
  return AtVersion(*found);
}

arrow::Result<std::vector<CommitRecord>> DeltaLog::History(std::optional<int64_t> limit) {
  ARROW_ASSIGN_OR_RAISE(auto latest, Latest());
  ARROW_ASSIGN_OR_RAISE(auto files, ListLogFiles(*store_));
  const auto timestamps = MonotonicCommitTimestamps(files);
  std::map<int64_t, const LogFile*> commits;
  for (const auto& file : files) {
    if (file.type == LogFileType::kCommit) commits[file.version] = &file;
  }
  const bool ict_enabled = latest->in_commit_timestamps_enabled();
  const int64_t ict_enablement_version =
      latest->properties().in_commit_timestamp_enablement_version().value_or(0);
  std::vector<CommitRecord> history;
  for (auto it = timestamps.rbegin(); it != timestamps.rend(); ++it) {
    if (limit && static_cast<int64_t>(history.size()) >= *limit) break;
    CommitRecord record;
    record.version = it->first;
    record.timestamp_ms = it->second;
    ARROW_ASSIGN_OR_RAISE(record.commit_info, ReadCommitInfo(*commits.at(it->first)));
    if (ict_enabled && record.version >= ict_enablement_version && record.commit_info &&
        record.commit_info->in_commit_timestamp) {
      record.timestamp_ms = *record.commit_info->in_commit_timestamp;
    }
    history.push_back(std::move(record));
  }
  return history;
}

arrow::Result<bool> DeltaLog::TableExists() {
  ARROW_ASSIGN_OR_RAISE(auto files, ListLogFiles(*store_));
  return std::any_of(files.begin(), files.end(), [](const LogFile& file) {
    return file.type == LogFileType::kCommit || file.IsCheckpoint();
  });
}

std::unique_ptr<Transaction> DeltaLog::StartTransaction(
    std::shared_ptr<const Snapshot> read_snapshot) {
  return std::make_unique<Transaction>(shared_from_this(), std::move(read_snapshot));
}

arrow::Result<CheckpointInfo> DeltaLog::Checkpoint(const Snapshot& snapshot) {
  return WriteCheckpoint(*store_, snapshot, NowMs());
}

arrow::Result<LogCleanupResult> DeltaLog::CleanupExpiredLogs(const Snapshot& latest) {
  return CleanupExpiredLogFiles(*store_, latest, NowMs());
}

}  // namespace nlk::delta
