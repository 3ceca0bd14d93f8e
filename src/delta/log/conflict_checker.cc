#include "delta/log/conflict_checker.h"

#include "delta/log/log_error.h"

namespace nlk::delta {

namespace {

arrow::Status Conflict(LogErrorKind kind, int64_t winning_version, const std::string& what) {
  return LogError(kind,
                  std::string("Transaction conflict (") + LogErrorKindName(kind) +
                      "): the concurrent commit at version " + std::to_string(winning_version) +
                      " " + what + "; re-read the table and retry the operation",
                  winning_version);
}

bool MatchesAnyPredicate(const TransactionFootprint& footprint, const PartitionValues& values) {
  for (const auto& predicate : footprint.read_predicates) {
    if (predicate(values)) return true;
  }
  return false;
}

}  // namespace

const char* IsolationLevelName(IsolationLevel level) {
  switch (level) {
    case IsolationLevel::kSerializable:
      return "Serializable";
    case IsolationLevel::kWriteSerializable:
      return "WriteSerializable";
    case IsolationLevel::kSnapshotIsolation:
      return "SnapshotIsolation";
  }
  return "WriteSerializable";
}

arrow::Status CheckConflicts(const TransactionFootprint& footprint, int64_t winning_version,
                             const std::vector<Action>& winning_actions,
                             const PartitionLookup& read_snapshot_partitions) {
  const Protocol* protocol = nullptr;
  const Metadata* metadata = nullptr;
  const CommitInfo* commit_info = nullptr;
  std::vector<const AddFile*> added;
  std::vector<const RemoveFile*> removed;
  std::vector<const SetTransaction*> transactions;
  std::vector<const DomainMetadata*> domains;
  for (const auto& action : winning_actions) {
    if (const auto* value = std::get_if<Protocol>(&action)) protocol = value;
    if (const auto* value = std::get_if<Metadata>(&action)) metadata = value;
    if (const auto* value = std::get_if<CommitInfo>(&action)) commit_info = value;
    if (const auto* value = std::get_if<AddFile>(&action)) added.push_back(value);
    if (const auto* value = std::get_if<RemoveFile>(&action)) removed.push_back(value);
    if (const auto* value = std::get_if<SetTransaction>(&action)) transactions.push_back(value);
    if (const auto* value = std::get_if<DomainMetadata>(&action)) domains.push_back(value);
  }

  if (footprint.creates_table && (protocol != nullptr || metadata != nullptr)) {
    return Conflict(LogErrorKind::kMetadataChanged, winning_version, "created the table first");
  }
  if (protocol != nullptr && footprint.changes_protocol) {
    return Conflict(LogErrorKind::kProtocolChanged, winning_version, "changed the table protocol");
  }
  if (metadata != nullptr) {
    return Conflict(LogErrorKind::kMetadataChanged, winning_version,
                    "changed the table metadata (schema, partitioning or properties)");
  }

  // Files the winner added that this transaction would have read.
  const IsolationLevel level = footprint.only_rearranges_data ? IsolationLevel::kSnapshotIsolation
                                                              : footprint.isolation_level;
  const bool winner_is_blind_append =
      commit_info != nullptr && commit_info->is_blind_append.value_or(false);
  bool check_added = false;
  switch (level) {
    case IsolationLevel::kSerializable:
      check_added = true;
      break;
    case IsolationLevel::kWriteSerializable:
      check_added = !winner_is_blind_append || footprint.changes_metadata;
      break;
    case IsolationLevel::kSnapshotIsolation:
      check_added = false;
      break;
  }
  if (check_added) {
    for (const AddFile* add : added) {
      // A rearranging add (OPTIMIZE, dataChange=false) holds no new rows; the files it
      // replaced are checked below. delta-spark checks only data-changing adds too.
      if (!add->data_change) continue;
      if (footprint.read_whole_table || MatchesAnyPredicate(footprint, add->partition_values)) {
        return Conflict(LogErrorKind::kConcurrentAppend, winning_version,
                        "added file '" + add->path + "' to data this transaction read");
      }
    }
  }

  // Files this transaction read that the winner removed.
  for (const RemoveFile* remove : removed) {
    bool was_read = footprint.read_whole_table || footprint.read_file_paths.count(remove->path) > 0;
    if (!was_read && !footprint.read_predicates.empty()) {
      const PartitionValues* values =
          read_snapshot_partitions ? read_snapshot_partitions(remove->path) : nullptr;
      // Only files of the read snapshot can have been read.
      was_read = values != nullptr && MatchesAnyPredicate(footprint, *values);
    }
    if (was_read) {
      return Conflict(LogErrorKind::kConcurrentDeleteRead, winning_version,
                      "removed file '" + remove->path + "' that this transaction read");
    }
  }
  for (const RemoveFile* remove : removed) {
    if (footprint.removed_paths.count(remove->path) > 0) {
      return Conflict(LogErrorKind::kConcurrentDeleteDelete, winning_version,
                      "also removed file '" + remove->path + "'");
    }
  }
  for (const SetTransaction* txn : transactions) {
    if (footprint.app_ids.count(txn->app_id) > 0) {
      return Conflict(LogErrorKind::kConcurrentTransaction, winning_version,
                      "recorded application transaction '" + txn->app_id + "' (version " +
                          std::to_string(txn->version) + ") that this transaction depends on");
    }
  }
  for (const DomainMetadata* domain : domains) {
    if (footprint.domains.count(domain->domain) > 0) {
      return Conflict(LogErrorKind::kConcurrentDomainMetadata, winning_version,
                      "changed metadata domain '" + domain->domain + "'");
    }
  }
  return arrow::Status::OK();
}

}  // namespace nlk::delta
