#include "delta/vacuum.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <string_view>

#include "delta/data/deletion_vector.h"
#include "delta/log/protocol_support.h"
#include "delta/log/transaction.h"

namespace nlk::delta {
namespace {

constexpr int64_t kMillisecondsPerHour = 60LL * 60 * 1000;

std::string FormatHours(int64_t milliseconds) {
  const double hours = static_cast<double>(milliseconds) / kMillisecondsPerHour;
  std::string text = std::to_string(hours);
  // std::to_string gives six decimals; trim them to what the value needs.
  text.erase(text.find_last_not_of('0') + 1);
  if (text.back() == '.') text.pop_back();
  return text;
}

// "file:///t/", "file:/t" and "/t" name the same root; compare them without the decorations.
std::string StripFileScheme(std::string_view uri) {
  for (std::string_view scheme : {"file://", "file:"}) {
    if (uri.starts_with(scheme)) {
      uri.remove_prefix(scheme.size());
      break;
    }
  }
  while (uri.size() > 1 && uri.back() == '/') uri.remove_suffix(1);
  return std::string(uri);
}

// A log path made relative to the table root; nullopt for an absolute path elsewhere, which a
// listing of the root can never return anyway.
std::optional<std::string> PathInTable(const std::string& path, const std::string& root_uri) {
  const bool absolute =
      path.find("://") != std::string::npos || path.starts_with("file:") || path.starts_with("/");
  if (!absolute) return path;
  const std::string root = StripFileScheme(root_uri);
  const std::string stripped = StripFileScheme(path);
  if (stripped.size() > root.size() + 1 && stripped.starts_with(root) &&
      stripped[root.size()] == '/') {
    return stripped.substr(root.size() + 1);
  }
  return std::nullopt;
}

class ReferencedFiles {
 public:
  explicit ReferencedFiles(std::string root_uri) : root_uri_(std::move(root_uri)) {}

  arrow::Status Add(const std::string& path,
                    const std::optional<DeletionVectorDescriptor>& deletion_vector) {
    if (auto relative = PathInTable(path, root_uri_)) paths_.insert(*relative);
    if (deletion_vector && deletion_vector->storage_type != 'i') {
      auto vector_path = data::DeletionVectorPath(*deletion_vector, root_uri_);
      // A vector stored outside the table is not ours to delete nor to keep.
      if (vector_path.status().IsNotImplemented()) return arrow::Status::OK();
      ARROW_RETURN_NOT_OK(vector_path.status());
      paths_.insert(*vector_path);
    }
    return arrow::Status::OK();
  }

  bool Contains(const std::string& path) const { return paths_.count(path) > 0; }

 private:
  std::string root_uri_;
  std::set<std::string> paths_;
};

bool IsHiddenName(std::string_view name, const std::vector<std::string>& partition_columns) {
  if (!name.starts_with('_') && !name.starts_with('.')) return false;
  if (name == "_change_data") return false;
  for (const std::string& column : partition_columns) {
    if (name.size() > column.size() && name.starts_with(column) && name[column.size()] == '=') {
      return false;
    }
  }
  return true;
}

arrow::Result<int64_t> ChooseRetention(const Snapshot& snapshot, const VacuumOptions& options) {
  ARROW_ASSIGN_OR_RAISE(const int64_t table_retention,
                        snapshot.properties().deleted_file_retention_milliseconds());
  if (!options.retention_ms) return table_retention;
  const int64_t retention = *options.retention_ms;
  if (retention < 0) {
    return arrow::Status::Invalid("vacuum: the retention must not be negative (got ",
                                  FormatHours(retention), " hours)");
  }
  if (retention < table_retention && !options.allow_short_retention) {
    return arrow::Status::Invalid(
        "vacuum: a retention of ", FormatHours(retention),
        " hours is shorter than the table's delta.deletedFileRetentionDuration (",
        FormatHours(table_retention),
        " hours); files that time travel, readers of older snapshots or writers still "
        "committing need could be deleted. Pass --allow-short-retention to do it anyway, or "
        "give at least --retention-hours ",
        FormatHours(table_retention));
  }
  return retention;
}

// A commit holding only commitInfo, the way delta-spark records vacuum runs in the history.
arrow::Status RecordInHistory(DeltaLog& log, const std::shared_ptr<const Snapshot>& snapshot,
                              const std::string& operation, StringMap parameters) {
  auto transaction = log.StartTransaction(snapshot);
  transaction->SetIsolationLevel(IsolationLevel::kSnapshotIsolation);
  transaction->SetOperation(operation, std::move(parameters));
  return transaction->Commit().status();
}

int64_t ElapsedMs(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

}  // namespace

bool IsVacuumablePath(const std::string& path, const std::vector<std::string>& partition_columns) {
  size_t begin = 0;
  while (begin <= path.size()) {
    size_t end = path.find('/', begin);
    if (end == std::string::npos) end = path.size();
    if (IsHiddenName(std::string_view(path).substr(begin, end - begin), partition_columns)) {
      return false;
    }
    begin = end + 1;
  }
  return true;
}

arrow::Result<VacuumResult> Vacuum(DeltaLog& log, const VacuumOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  ARROW_ASSIGN_OR_RAISE(auto snapshot, log.Latest());
  ARROW_RETURN_NOT_OK(CheckWriteSupported(snapshot->protocol(), snapshot->metadata()));
  VacuumResult result;
  result.dry_run = options.dry_run;
  result.snapshot_version = snapshot->version();
  ARROW_ASSIGN_OR_RAISE(result.retention_ms, ChooseRetention(*snapshot, options));
  const int64_t now = log.NowMs();
  result.cutoff_ms = now - result.retention_ms;

  // The snapshot is read before listing: a file committed after it is not referenced here, but
  // it was written after the snapshot was read, so its modification time keeps it.
  storage::ObjectStore& store = *log.store();
  ReferencedFiles referenced(store.root_uri());
  for (const AddFile& file : snapshot->files()) {
    ARROW_RETURN_NOT_OK(referenced.Add(file.path, file.deletion_vector));
  }
  for (const RemoveFile& tombstone : snapshot->all_tombstones()) {
    // Spark's rule: a remove without a timestamp counts as deleted at time 0.
    if (tombstone.deletion_timestamp.value_or(0) > result.cutoff_ms) {
      ARROW_RETURN_NOT_OK(referenced.Add(tombstone.path, tombstone.deletion_vector));
    }
  }

  ARROW_ASSIGN_OR_RAISE(std::vector<storage::ObjectInfo> listed, store.List(""));
  const std::vector<std::string>& partition_columns = snapshot->metadata().partition_columns;
  for (storage::ObjectInfo& object : listed) {
    if (!IsVacuumablePath(object.path, partition_columns)) continue;
    ++result.files_listed;
    if (referenced.Contains(object.path)) {
      ++result.files_referenced;
      continue;
    }
    if (object.last_modified_ms < result.cutoff_ms) result.deletable.push_back(std::move(object));
  }
  // Files a killed writer left half-written (local directories stage writes in them) are never
  // referenced; like orphans they go once older than the retention window.
  ARROW_ASSIGN_OR_RAISE(std::vector<storage::ObjectInfo> unfinished,
                        store.ListUnfinishedWrites(""));
  for (storage::ObjectInfo& object : unfinished) {
    ++result.files_listed;
    if (object.last_modified_ms < result.cutoff_ms) result.deletable.push_back(std::move(object));
  }
  if (options.dry_run) {
    result.duration_ms = ElapsedMs(start);
    return result;
  }

  if (options.record_in_history) {
    int64_t bytes = 0;
    for (const auto& object : result.deletable) bytes += object.size;
    ARROW_RETURN_NOT_OK(RecordInHistory(
        log, snapshot, "VACUUM START",
        {{"retentionCheckEnabled", options.allow_short_retention ? "false" : "true"},
         {"specifiedRetentionMillis", std::to_string(result.retention_ms)},
         {"numFilesToDelete", std::to_string(result.deletable.size())},
         {"sizeOfDataToDelete", std::to_string(bytes)}}));
  }
  for (const storage::ObjectInfo& object : result.deletable) {
    if (options.stop_requested && options.stop_requested()) {
      result.stopped = true;
      break;
    }
    ARROW_RETURN_NOT_OK(store.Delete(object.path));
    ++result.files_deleted;
    result.bytes_deleted += object.size;
  }
  if (options.record_in_history) {
    ARROW_ASSIGN_OR_RAISE(auto latest, log.Latest());
    ARROW_RETURN_NOT_OK(
        RecordInHistory(log, latest, "VACUUM END",
                        {{"status", result.stopped ? "STOPPED" : "COMPLETED"},
                         {"numDeletedFiles", std::to_string(result.files_deleted)}}));
  }
  if (options.clean_expired_logs && !result.stopped) {
    ARROW_ASSIGN_OR_RAISE(auto latest, log.Latest());
    ARROW_ASSIGN_OR_RAISE(LogCleanupResult cleanup, log.CleanupExpiredLogs(*latest));
    result.log_files_deleted = cleanup.deleted_files;
  }
  result.duration_ms = ElapsedMs(start);
  return result;
}

}  // namespace nlk::delta
