#include "delta/log/snapshot.h"

#include <algorithm>

#include "delta/log/log_error.h"
#include "delta/log/protocol_support.h"

namespace nlk::delta {

arrow::Result<std::shared_ptr<const Snapshot>> Snapshot::Make(Provenance provenance,
                                                              TableState state) {
  if (!state.protocol() || !state.metadata()) {
    return LogError(LogErrorKind::kCorruptLog,
                    "The Delta log of " + provenance.table_uri + " at version " +
                        std::to_string(provenance.version) + " defines no " +
                        (state.protocol() ? "metaData" : "protocol") +
                        " action; the table is corrupt");
  }
  ARROW_RETURN_NOT_OK(CheckReadSupported(*state.protocol()));

  std::shared_ptr<Snapshot> snapshot(new Snapshot());
  snapshot->provenance_ = std::move(provenance);
  snapshot->protocol_ = *state.protocol();
  snapshot->metadata_ = *state.metadata();
  snapshot->app_transactions_ = state.app_transactions();
  snapshot->domains_ = state.domains();

  auto& files = snapshot->files_;
  files.reserve(state.files().size());
  // Extract node by node so each one is freed as its file moves: the peak holds one copy of
  // the file list, not two (it matters for tables with millions of files).
  auto& state_files = state.mutable_files();
  while (!state_files.empty()) {
    files.push_back(std::move(state_files.extract(state_files.begin()).mapped()));
  }
  std::sort(files.begin(), files.end(),
            [](const AddFile& left, const AddFile& right) { return left.path < right.path; });
  snapshot->file_index_by_path_.reserve(files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    snapshot->file_index_by_path_.emplace(std::string_view(files[i].path), i);
    snapshot->total_file_size_ += files[i].size;
  }
  auto& tombstones = snapshot->tombstones_;
  tombstones.reserve(state.tombstones().size());
  auto& state_tombstones = state.mutable_tombstones();
  while (!state_tombstones.empty()) {
    tombstones.push_back(std::move(state_tombstones.extract(state_tombstones.begin()).mapped()));
  }
  std::sort(tombstones.begin(), tombstones.end(),
            [](const RemoveFile& left, const RemoveFile& right) { return left.path < right.path; });
  return snapshot;
}

const AddFile* Snapshot::FindFile(const std::string& path) const {
  auto it = file_index_by_path_.find(path);
  return it == file_index_by_path_.end() ? nullptr : &files_[it->second];
}

arrow::Result<std::vector<RemoveFile>> Snapshot::UnexpiredTombstones(int64_t now_ms) const {
  ARROW_ASSIGN_OR_RAISE(const int64_t retention,
                        properties().deleted_file_retention_milliseconds());
  const int64_t cutoff = now_ms - retention;
  std::vector<RemoveFile> kept;
  for (const auto& remove : tombstones_) {
    if (remove.deletion_timestamp.value_or(0) > cutoff) kept.push_back(remove);
  }
  return kept;
}

std::optional<int64_t> Snapshot::AppTransactionVersion(const std::string& app_id) const {
  auto it = app_transactions_.find(app_id);
  if (it == app_transactions_.end()) return std::nullopt;
  return it->second.version;
}

std::optional<std::string> Snapshot::DomainConfiguration(const std::string& domain) const {
  auto it = domains_.find(domain);
  if (it == domains_.end()) return std::nullopt;
  return it->second.configuration;
}

bool Snapshot::in_commit_timestamps_enabled() const {
  return InCommitTimestampsEnabled(protocol_, metadata_);
}

TableState Snapshot::ToTableState() const {
  TableState state;
  state.Apply(protocol_);
  state.Apply(metadata_);
  for (const auto& [app_id, txn] : app_transactions_) state.Apply(txn);
  for (const auto& [name, domain] : domains_) state.Apply(domain);
  for (const auto& remove : tombstones_) state.Apply(remove);
  for (const auto& file : files_) state.Apply(file);
  return state;
}

}  // namespace nlk::delta
