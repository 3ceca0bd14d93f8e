// The state of a Delta table at one version: protocol, metadata, live files, tombstones,
// application transaction versions and metadata domains.
//
// Immutable and thread-safe; shared as std::shared_ptr<const Snapshot>.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "delta/log/actions.h"
#include "delta/log/table_properties.h"
#include "delta/log/table_state.h"

namespace nlk::delta {

class Snapshot {
 public:
  struct Provenance {
    std::string table_uri;
    int64_t version = 0;
    // The commit timestamp of `version`: its inCommitTimestamp when in-commit timestamps are
    // enabled, else the modification time of its commit file.
    int64_t timestamp_ms = 0;
    std::optional<CommitInfo> commit_info;      // of the commit at `version`, when readable
    std::optional<int64_t> checkpoint_version;  // the checkpoint this state was built from
  };

  // Freezes a replayed state. Fails when the log defines no protocol or metadata, or when the
  // protocol needs reader features we lack.
  static arrow::Result<std::shared_ptr<const Snapshot>> Make(Provenance provenance,
                                                             TableState state);

  const std::string& table_uri() const { return provenance_.table_uri; }
  int64_t version() const { return provenance_.version; }
  int64_t timestamp_ms() const { return provenance_.timestamp_ms; }
  const std::optional<CommitInfo>& commit_info() const { return provenance_.commit_info; }
  const std::optional<int64_t>& checkpoint_version() const {
    return provenance_.checkpoint_version;
  }
  const Protocol& protocol() const { return protocol_; }
  const Metadata& metadata() const { return metadata_; }
  TableProperties properties() const { return TableProperties(metadata_.configuration); }

  // Active logical files, sorted by path.
  const std::vector<AddFile>& files() const { return files_; }
  // The active file with this (decoded) path, or nullptr.
  const AddFile* FindFile(const std::string& path) const;
  int64_t total_file_size() const { return total_file_size_; }

  // All reconciled remove actions, sorted by path.
  const std::vector<RemoveFile>& all_tombstones() const { return tombstones_; }
  // Tombstones still within delta.deletedFileRetentionDuration of `now_ms` (what a checkpoint
  // keeps and VACUUM must respect). As in Spark, a remove without deletionTimestamp counts as
  // deleted at time 0, i.e. already expired.
  arrow::Result<std::vector<RemoveFile>> UnexpiredTombstones(int64_t now_ms) const;

  // The latest version recorded by the application, for idempotent writes.
  std::optional<int64_t> AppTransactionVersion(const std::string& app_id) const;
  const std::map<std::string, SetTransaction>& app_transactions() const {
    return app_transactions_;
  }
  const std::map<std::string, DomainMetadata>& domain_metadata() const { return domains_; }
  std::optional<std::string> DomainConfiguration(const std::string& domain) const;

  bool in_commit_timestamps_enabled() const;

  // Rebuilds a mutable replay state, for applying newer commits on top of this snapshot.
  TableState ToTableState() const;

 private:
  Snapshot() = default;
  // The path index views strings inside files_, so a copy would dangle.
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  Provenance provenance_;
  Protocol protocol_;
  Metadata metadata_;
  std::vector<AddFile> files_;
  // Keys view the paths inside files_, which never reallocates after construction.
  std::unordered_map<std::string_view, size_t> file_index_by_path_;
  int64_t total_file_size_ = 0;
  std::vector<RemoveFile> tombstones_;
  std::map<std::string, SetTransaction> app_transactions_;
  std::map<std::string, DomainMetadata> domains_;
};

}  // namespace nlk::delta
