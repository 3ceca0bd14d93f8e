#include "delta/log/log_files.h"

#include <algorithm>
#include <map>
#include <set>

#include "delta/log/log_error.h"

namespace nlk::delta {

namespace {

bool AllDigits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<int64_t> ParseVersionDigits(std::string_view text, size_t width) {
  if (text.size() != width || !AllDigits(text)) return std::nullopt;
  int64_t value = 0;
  for (char c : text) {
    if (value > (INT64_MAX - (c - '0')) / 10) return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

bool LooksLikeUuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

// The preference among complete checkpoints of one version: single files first, since they are
// written atomically.
int CheckpointPreference(LogFileType type) {
  switch (type) {
    case LogFileType::kClassicCheckpoint:
      return 0;
    case LogFileType::kUuidCheckpoint:
      return 1;
    default:
      return 2;
  }
}

}  // namespace

std::string PaddedVersion(int64_t version) {
  std::string digits = std::to_string(version);
  if (digits.size() < 20) digits.insert(0, 20 - digits.size(), '0');
  return digits;
}

std::string CommitPath(int64_t version) {
  return std::string(kLogDirectory) + PaddedVersion(version) + ".json";
}

std::string ClassicCheckpointPath(int64_t version) {
  return std::string(kLogDirectory) + PaddedVersion(version) + ".checkpoint.parquet";
}

std::optional<LogFile> ParseLogFile(const storage::ObjectInfo& object) {
  std::string_view path = object.path;
  const std::string_view prefix = kLogDirectory;
  if (path.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string_view name = path.substr(prefix.size());
  if (name.find('/') != std::string_view::npos || name.size() < 21 || name[20] != '.') {
    return std::nullopt;
  }
  const auto version = ParseVersionDigits(name.substr(0, 20), 20);
  if (!version) return std::nullopt;
  const std::string_view rest = name.substr(21);

  LogFile file;
  file.object = object;
  file.version = *version;
  if (rest == "json") {
    file.type = LogFileType::kCommit;
    return file;
  }
  if (rest == "crc") {
    file.type = LogFileType::kChecksum;
    return file;
  }
  if (rest == "checkpoint.parquet") {
    file.type = LogFileType::kClassicCheckpoint;
    return file;
  }
  const std::string_view checkpoint_prefix = "checkpoint.";
  if (rest.substr(0, checkpoint_prefix.size()) == checkpoint_prefix) {
    const std::string_view detail = rest.substr(checkpoint_prefix.size());
    // <part:10>.<parts:10>.parquet
    if (detail.size() == 10 + 1 + 10 + 8 && detail[10] == '.' && detail.substr(21) == ".parquet") {
      const auto part = ParseVersionDigits(detail.substr(0, 10), 10);
      const auto parts = ParseVersionDigits(detail.substr(11, 10), 10);
      if (!part || !parts || *part < 1 || *part > *parts || *parts > INT32_MAX) {
        return std::nullopt;
      }
      file.type = LogFileType::kMultiPartCheckpoint;
      file.part = static_cast<int32_t>(*part);
      file.num_parts = static_cast<int32_t>(*parts);
      return file;
    }
    const size_t dot = detail.rfind('.');
    if (dot == std::string_view::npos || !LooksLikeUuid(detail.substr(0, dot))) {
      return std::nullopt;
    }
    const std::string_view extension = detail.substr(dot + 1);
    if (extension != "json" && extension != "parquet") return std::nullopt;
    file.type = LogFileType::kUuidCheckpoint;
    file.is_json = extension == "json";
    return file;
  }
  // <start>.<end>.compacted.json
  if (rest.size() == 20 + std::string_view(".compacted.json").size() &&
      rest.substr(20) == ".compacted.json") {
    const auto end_version = ParseVersionDigits(rest.substr(0, 20), 20);
    if (!end_version) return std::nullopt;
    file.type = LogFileType::kCompaction;
    file.end_version = *end_version;
    return file;
  }
  return std::nullopt;
}

arrow::Result<std::vector<LogFile>> ListLogFiles(storage::ObjectStore& store,
                                                 const std::string& start_after) {
  ARROW_ASSIGN_OR_RAISE(auto objects, store.List(kLogDirectory, start_after));
  std::vector<LogFile> files;
  files.reserve(objects.size());
  for (const auto& object : objects) {
    if (auto file = ParseLogFile(object)) files.push_back(std::move(*file));
  }
  // Listings are in byte order, which is version order thanks to the zero padding; sort anyway
  // so a store that lists in another order cannot break replay.
  std::stable_sort(files.begin(), files.end(), [](const LogFile& left, const LogFile& right) {
    return left.version < right.version;
  });
  return files;
}

std::vector<std::pair<int64_t, std::vector<LogFile>>> CompleteCheckpoints(
    const std::vector<LogFile>& files) {
  // version -> candidates; multi-part candidates are grouped by their part count.
  struct Candidates {
    std::vector<LogFile> single_files;
    std::map<int32_t, std::map<int32_t, LogFile>> multi_part;  // parts -> part -> file
  };
  std::map<int64_t, Candidates> by_version;
  for (const auto& file : files) {
    if (!file.IsCheckpoint()) continue;
    auto& candidates = by_version[file.version];
    if (file.type == LogFileType::kMultiPartCheckpoint) {
      candidates.multi_part[file.num_parts].emplace(file.part, file);
    } else {
      candidates.single_files.push_back(file);
    }
  }
  std::vector<std::pair<int64_t, std::vector<LogFile>>> complete;
  for (auto& [version, candidates] : by_version) {
    if (!candidates.single_files.empty()) {
      auto best = std::min_element(candidates.single_files.begin(), candidates.single_files.end(),
                                   [](const LogFile& left, const LogFile& right) {
                                     return CheckpointPreference(left.type) <
                                            CheckpointPreference(right.type);
                                   });
      complete.emplace_back(version, std::vector<LogFile>{*best});
      continue;
    }
    for (auto& [parts, by_part] : candidates.multi_part) {
      if (static_cast<int32_t>(by_part.size()) != parts) continue;
      std::vector<LogFile> ordered;
      for (auto& [part, file] : by_part) ordered.push_back(file);
      complete.emplace_back(version, std::move(ordered));
      break;
    }
  }
  return complete;
}

arrow::Result<LogSegment> BuildLogSegment(const std::vector<LogFile>& files,
                                          std::optional<int64_t> version,
                                          const std::string& table_uri) {
  std::map<int64_t, const LogFile*> commits;
  for (const auto& file : files) {
    if (file.type == LogFileType::kCommit) commits[file.version] = &file;
  }
  const auto checkpoints = CompleteCheckpoints(files);
  if (commits.empty() && checkpoints.empty()) {
    return LogError(LogErrorKind::kNotATable,
                    "Not a Delta table: " + table_uri +
                        " (no commits in _delta_log); check the path, or create the table first");
  }
  int64_t latest = -1;
  if (!commits.empty()) latest = commits.rbegin()->first;
  if (!checkpoints.empty()) latest = std::max(latest, checkpoints.back().first);
  const int64_t target = version.value_or(latest);
  if (target < 0 || target > latest) {
    return LogError(LogErrorKind::kVersionNotFound,
                    "Version " + std::to_string(target) + " of " + table_uri +
                        " does not exist; the latest version is " + std::to_string(latest),
                    target);
  }

  LogSegment segment;
  segment.version = target;
  for (auto it = checkpoints.rbegin(); it != checkpoints.rend(); ++it) {
    if (it->first <= target) {
      segment.checkpoint_version = it->first;
      segment.checkpoint_files = it->second;
      break;
    }
  }
  const int64_t first_commit = segment.checkpoint_version ? *segment.checkpoint_version + 1 : 0;
  for (int64_t commit_version = first_commit; commit_version <= target; ++commit_version) {
    auto it = commits.find(commit_version);
    if (it != commits.end()) {
      segment.commits.push_back(*it->second);
      continue;
    }
    const bool cleaned_up = !commits.empty() && commit_version < commits.begin()->first;
    if (!segment.checkpoint_version && cleaned_up) {
      std::string earliest = checkpoints.empty() ? std::to_string(commits.begin()->first)
                                                 : std::to_string(checkpoints.front().first);
      return LogError(LogErrorKind::kVersionNotFound,
                      "Cannot reconstruct version " + std::to_string(target) + " of " + table_uri +
                          ": its log entries were cleaned up and no checkpoint "
                          "covers it; the earliest available version is " +
                          earliest,
                      target);
    }
    return LogError(
        LogErrorKind::kCorruptLog,
        "The Delta log of " + table_uri + " is missing commit " + CommitPath(commit_version) +
            " needed for version " + std::to_string(target) +
            (segment.checkpoint_version ? " (replaying from the checkpoint at version " +
                                              std::to_string(*segment.checkpoint_version) + ")"
                                        : std::string()));
  }
  if (auto it = commits.find(target); it != commits.end()) segment.commit_at_version = *it->second;
  return segment;
}

}  // namespace nlk::delta
