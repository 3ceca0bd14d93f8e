#include "delta/log/transaction.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <thread>
#include <vector>

#include "common/json_writer.h"
#include "delta/log/action_json.h"
#include "delta/log/delta_log.h"
#include "delta/log/log_error.h"
#include "delta/log/log_files.h"
#include "delta/log/protocol_support.h"

namespace nlk::delta {

namespace {

std::string RandomUuid(std::mt19937_64& random) {
  const uint64_t high = (random() & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;
  const uint64_t low = (random() & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;
  char text[37];
  std::snprintf(text, sizeof(text), "%08x-%04x-%04x-%04x-%012llx",
                static_cast<unsigned>(high >> 32), static_cast<unsigned>((high >> 16) & 0xFFFF),
                static_cast<unsigned>(high & 0xFFFF), static_cast<unsigned>(low >> 48),
                static_cast<unsigned long long>(low & 0xFFFFFFFFFFFFULL));
  return text;
}

bool IsFileAction(const Action& action) {
  return std::holds_alternative<AddFile>(action) || std::holds_alternative<RemoveFile>(action);
}

bool DataChange(const Action& action) {
  if (const auto* add = std::get_if<AddFile>(&action)) return add->data_change;
  if (const auto* remove = std::get_if<RemoveFile>(&action)) return remove->data_change;
  return false;
}

// The order actions are written in: protocol and metadata first, as readers expect.
int WriteOrder(const Action& action) {
  if (std::holds_alternative<Protocol>(action)) return 0;
  if (std::holds_alternative<Metadata>(action)) return 1;
  return 2;
}

}  // namespace

Transaction::Transaction(std::shared_ptr<DeltaLog> log,
                         std::shared_ptr<const Snapshot> read_snapshot)
    : log_(std::move(log)), read_snapshot_(std::move(read_snapshot)) {}

int64_t Transaction::read_version() const {
  return read_snapshot_ ? read_snapshot_->version() : -1;
}

void Transaction::AddFile(nlk::delta::AddFile file) { actions_.emplace_back(std::move(file)); }
void Transaction::RemoveFile(nlk::delta::RemoveFile file) {
  actions_.emplace_back(std::move(file));
}
void Transaction::AddCdcFile(nlk::delta::AddCdcFile file) {
  actions_.emplace_back(std::move(file));
}
void Transaction::UpdateMetadata(Metadata metadata) { actions_.emplace_back(std::move(metadata)); }
void Transaction::UpdateProtocol(Protocol protocol) { actions_.emplace_back(std::move(protocol)); }
void Transaction::SetAppTransaction(SetTransaction txn) { actions_.emplace_back(std::move(txn)); }
void Transaction::SetDomainMetadata(DomainMetadata domain) {
  actions_.emplace_back(std::move(domain));
}
void Transaction::AddAction(Action action) { actions_.push_back(std::move(action)); }

void Transaction::ReadWholeTable() { read_whole_table_ = true; }
void Transaction::ReadPartitions(PartitionPredicate predicate) {
  read_predicates_.push_back(std::move(predicate));
}
void Transaction::ReadFile(const std::string& path) { read_file_paths_.insert(path); }

std::optional<int64_t> Transaction::AppTransactionVersion(const std::string& app_id) {
  read_app_ids_.insert(app_id);
  return read_snapshot_ ? read_snapshot_->AppTransactionVersion(app_id) : std::nullopt;
}

void Transaction::SetOperation(std::string operation, StringMap parameters) {
  operation_ = std::move(operation);
  operation_parameters_ = std::move(parameters);
}

arrow::Status Transaction::Validate() const {
  const Protocol* new_protocol = nullptr;
  const Metadata* new_metadata = nullptr;
  std::set<std::string> add_keys;
  std::set<std::string> remove_keys;
  std::set<std::string> app_ids;
  std::set<std::string> domains;
  bool has_cdc = false;
  bool removes_data = false;
  for (const auto& action : actions_) {
    if (std::holds_alternative<CommitInfo>(action) ||
        std::holds_alternative<CheckpointMetadata>(action) ||
        std::holds_alternative<Sidecar>(action)) {
      return arrow::Status::Invalid(
          "A transaction may not contain commitInfo, checkpointMetadata or sidecar actions: "
          "commitInfo is written by Commit() and the others belong in checkpoints only");
    }
    if (const auto* protocol = std::get_if<Protocol>(&action)) {
      if (new_protocol != nullptr) {
        return arrow::Status::Invalid("A commit may hold at most one protocol action");
      }
      new_protocol = protocol;
    } else if (const auto* metadata = std::get_if<Metadata>(&action)) {
      if (new_metadata != nullptr) {
        return arrow::Status::Invalid("A commit may hold at most one metaData action");
      }
      new_metadata = metadata;
    } else if (const auto* add = std::get_if<nlk::delta::AddFile>(&action)) {
      if (!add_keys.insert(LogicalFileKey(add->path, add->deletion_vector)).second) {
        return arrow::Status::Invalid("The file '", add->path, "' is added twice in one commit");
      }
    } else if (const auto* remove = std::get_if<nlk::delta::RemoveFile>(&action)) {
      if (!remove_keys.insert(LogicalFileKey(remove->path, remove->deletion_vector)).second) {
        return arrow::Status::Invalid("The file '", remove->path,
                                      "' is removed twice in one commit");
      }
      removes_data = removes_data || remove->data_change;
    } else if (const auto* txn = std::get_if<SetTransaction>(&action)) {
      if (!app_ids.insert(txn->app_id).second) {
        return arrow::Status::Invalid("Application transaction '", txn->app_id,
                                      "' is set twice in one commit");
      }
    } else if (const auto* domain = std::get_if<DomainMetadata>(&action)) {
      if (!domains.insert(domain->domain).second) {
        return arrow::Status::Invalid("Metadata domain '", domain->domain,
                                      "' is set twice in one commit");
      }
      if (domain->domain.rfind("delta.", 0) == 0) {
        return arrow::Status::Invalid("Metadata domain '", domain->domain,
                                      "' is reserved for the Delta protocol (prefix 'delta.')");
      }
    } else if (std::holds_alternative<nlk::delta::AddCdcFile>(action)) {
      has_cdc = true;
    }
  }

  if (!read_snapshot_ && new_metadata == nullptr) {
    return arrow::Status::Invalid("Creating a Delta table needs a metaData action (the schema)");
  }
  Protocol protocol = new_protocol     ? *new_protocol
                      : read_snapshot_ ? read_snapshot_->protocol()
                                       : Protocol{};
  const Metadata& metadata = new_metadata ? *new_metadata : read_snapshot_->metadata();
  if (new_protocol && read_snapshot_ &&
      (new_protocol->min_reader_version < read_snapshot_->protocol().min_reader_version ||
       new_protocol->min_writer_version < read_snapshot_->protocol().min_writer_version)) {
    return arrow::Status::Invalid("Protocol downgrades are not allowed (from reader/writer ",
                                  read_snapshot_->protocol().min_reader_version, "/",
                                  read_snapshot_->protocol().min_writer_version, " to ",
                                  new_protocol->min_reader_version, "/",
                                  new_protocol->min_writer_version, ")");
  }
  ARROW_RETURN_NOT_OK(CheckWriteSupported(protocol, metadata));

  ARROW_ASSIGN_OR_RAISE(auto partition_keys, PartitionValueKeys(metadata));
  const std::set<std::string> partition_columns(partition_keys.begin(), partition_keys.end());
  for (const auto& action : actions_) {
    const auto* add = std::get_if<nlk::delta::AddFile>(&action);
    if (add == nullptr) continue;
    std::set<std::string> keys;
    for (const auto& [key, value] : add->partition_values) keys.insert(key);
    if (keys != partition_columns) {
      return arrow::Status::Invalid("The file '", add->path,
                                    "' has partition values for columns that do not match the "
                                    "table's partition columns");
    }
  }
  const TableProperties properties(metadata.configuration);
  if (removes_data && ProtocolSupportsFeature(protocol, "appendOnly") && properties.append_only()) {
    return arrow::Status::Invalid("The table ", log_->table_uri(),
                                  " is append-only (delta.appendOnly=true): data cannot be "
                                  "deleted or updated; unset the property to allow it");
  }
  if (removes_data && !has_cdc && ProtocolSupportsFeature(protocol, "changeDataFeed") &&
      properties.change_data_feed_enabled()) {
    return LogError(LogErrorKind::kUnsupportedFeature,
                    "The table " + log_->table_uri() +
                        " enables the change data feed, and this commit removes data without "
                        "change data files: change data readers would misread it");
  }
  if (!domains.empty() && !ProtocolSupportsFeature(protocol, "domainMetadata")) {
    return arrow::Status::Invalid(
        "Metadata domains need the 'domainMetadata' writer feature in "
        "the table protocol");
  }
  return arrow::Status::OK();
}

TransactionFootprint Transaction::Footprint() const {
  TransactionFootprint footprint;
  footprint.isolation_level = isolation_level_;
  footprint.read_whole_table = read_whole_table_;
  footprint.read_predicates = read_predicates_;
  footprint.read_file_paths = read_file_paths_;
  footprint.app_ids = read_app_ids_;
  footprint.creates_table = read_snapshot_ == nullptr;
  bool has_file_action = false;
  bool any_data_change = false;
  for (const auto& action : actions_) {
    if (IsFileAction(action)) {
      has_file_action = true;
      any_data_change = any_data_change || DataChange(action);
    }
    if (const auto* remove = std::get_if<nlk::delta::RemoveFile>(&action)) {
      footprint.removed_paths.insert(remove->path);
    } else if (const auto* txn = std::get_if<SetTransaction>(&action)) {
      footprint.app_ids.insert(txn->app_id);
    } else if (const auto* domain = std::get_if<DomainMetadata>(&action)) {
      footprint.domains.insert(domain->domain);
    } else if (std::holds_alternative<Metadata>(action)) {
      footprint.changes_metadata = true;
    } else if (std::holds_alternative<Protocol>(action)) {
      footprint.changes_protocol = true;
    }
  }
  footprint.only_rearranges_data = has_file_action && !any_data_change;
  return footprint;
}

bool Transaction::IsBlindAppend() const {
  if (read_whole_table_ || !read_predicates_.empty() || !read_file_paths_.empty()) return false;
  return std::none_of(actions_.begin(), actions_.end(), [](const Action& action) {
    return std::holds_alternative<nlk::delta::RemoveFile>(action);
  });
}

const std::string& CommitPrincipal() {
  static const std::string principal = [] {
    const char* configured = std::getenv("NLK_PRINCIPAL");
    if (configured != nullptr && *configured != '\0') return std::string(configured);
    uid_t uid = ::geteuid();
    passwd entry{};
    passwd* found = nullptr;
    std::vector<char> buffer(16384);
    if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr) {
      return std::string(found->pw_name);
    }
    return "uid:" + std::to_string(uid);
  }();
  return principal;
}

std::string Transaction::CommitInfoJson(int64_t timestamp_ms,
                                        std::optional<int64_t> in_commit_timestamp,
                                        const std::string& transaction_id) const {
  JsonWriter writer;
  writer.BeginObject();
  if (in_commit_timestamp) {
    writer.Key("inCommitTimestamp");
    writer.Int(*in_commit_timestamp);
  }
  writer.Key("timestamp");
  writer.Int(timestamp_ms);
  writer.Key("operation");
  writer.String(operation_);
  writer.Key("operationParameters");
  writer.BeginObject();
  for (const auto& [key, value] : operation_parameters_) {
    writer.Key(key);
    writer.String(value);
  }
  writer.EndObject();
  if (read_snapshot_) {
    writer.Key("readVersion");
    writer.Int(read_snapshot_->version());
  }
  writer.Key("isolationLevel");
  writer.String(IsolationLevelName(isolation_level_));
  writer.Key("isBlindAppend");
  writer.Bool(IsBlindAppend());
  if (!operation_metrics_.empty()) {
    writer.Key("operationMetrics");
    writer.BeginObject();
    for (const auto& [key, value] : operation_metrics_) {
      writer.Key(key);
      writer.String(value);
    }
    writer.EndObject();
  }
  writer.Key("engineInfo");
  writer.String(kEngineInfo);
  writer.Key("userId");
  writer.String(CommitPrincipal());
  writer.Key("userName");
  writer.String(CommitPrincipal());
  writer.Key("txnId");
  writer.String(transaction_id);
  writer.EndObject();
  return writer.Take();
}

arrow::Result<CommitResult> Transaction::Commit() {
  if (committed_) return arrow::Status::Invalid("This transaction was already committed");
  ARROW_RETURN_NOT_OK(Validate());

  std::vector<Action> actions = actions_;
  std::stable_sort(actions.begin(), actions.end(), [](const Action& left, const Action& right) {
    return WriteOrder(left) < WriteOrder(right);
  });
  if (!read_snapshot_ && std::none_of(actions.begin(), actions.end(), [](const Action& action) {
        return std::holds_alternative<Protocol>(action);
      })) {
    // The most widely readable protocol: no table features.
    actions.insert(actions.begin(), Protocol{1, 2, std::nullopt, std::nullopt});
  }
  Protocol protocol = read_snapshot_ ? read_snapshot_->protocol() : Protocol{};
  Metadata* metadata_action = nullptr;
  for (auto& action : actions) {
    if (auto* value = std::get_if<Protocol>(&action)) protocol = *value;
    if (auto* value = std::get_if<Metadata>(&action)) metadata_action = value;
  }
  const Metadata& metadata = metadata_action ? *metadata_action : read_snapshot_->metadata();
  const bool in_commit_timestamps = InCommitTimestampsEnabled(protocol, metadata);
  // Turning in-commit timestamps on for a table with history must record where they start.
  const bool enables_in_commit_timestamps =
      in_commit_timestamps && read_snapshot_ && !read_snapshot_->in_commit_timestamps_enabled();

  const TransactionFootprint footprint = Footprint();
  const PartitionLookup lookup = [this](const std::string& path) -> const PartitionValues* {
    if (!read_snapshot_) return nullptr;
    const nlk::delta::AddFile* file = read_snapshot_->FindFile(path);
    return file ? &file->partition_values : nullptr;
  };

  std::mt19937_64 random(std::random_device{}());
  const std::string transaction_id = RandomUuid(random);
  int64_t version = read_version() + 1;
  // The timestamp the next commit must exceed (in-commit timestamps are strictly increasing).
  int64_t previous_timestamp = read_snapshot_ ? read_snapshot_->timestamp_ms() : -1;
  auto backoff = options_.initial_backoff;
  storage::ObjectStore& store = *log_->store();

  for (int attempt = 1;; ++attempt) {
    const int64_t now = log_->NowMs();
    std::optional<int64_t> in_commit_timestamp;
    if (in_commit_timestamps) in_commit_timestamp = std::max(now, previous_timestamp + 1);
    if (enables_in_commit_timestamps) {
      metadata_action->configuration["delta.inCommitTimestampEnablementVersion"] =
          std::to_string(version);
      metadata_action->configuration["delta.inCommitTimestampEnablementTimestamp"] =
          std::to_string(*in_commit_timestamp);
    }
    CommitInfo info;
    info.json = CommitInfoJson(now, in_commit_timestamp, transaction_id);
    std::string contents = SerializeAction(info) + "\n" + SerializeActions(actions);
    ARROW_ASSIGN_OR_RAISE(
        bool won,
        store.PutIfAbsent(CommitPath(version), arrow::Buffer::FromString(std::move(contents))));
    if (won) {
      committed_ = true;
      CommitResult result;
      result.version = version;
      result.attempts = attempt;
      result.post_commit_status = PostCommit(version, &result);
      return result;
    }
    if (attempt >= options_.max_attempts) {
      return LogError(LogErrorKind::kTooManyCommitAttempts,
                      "Gave up committing to " + log_->table_uri() + " after " +
                          std::to_string(attempt) +
                          " attempts: other writers kept winning the next version (last tried "
                          "version " +
                          std::to_string(version) + ")",
                      version);
    }

    // Rebase over every commit that won since: each must be compatible with this transaction.
    const std::string start_after = version == 0 ? std::string() : CommitPath(version - 1);
    ARROW_ASSIGN_OR_RAISE(auto files, ListLogFiles(store, start_after));
    for (const auto& file : files) {
      if (file.type != LogFileType::kCommit || file.version != version) continue;
      ARROW_ASSIGN_OR_RAISE(auto buffer, store.Read(file.object.path));
      ARROW_ASSIGN_OR_RAISE(auto winner,
                            ParseActionLines(std::string_view(*buffer), file.object.path));
      ARROW_RETURN_NOT_OK(CheckConflicts(footprint, file.version, winner, lookup));
      previous_timestamp = std::max(previous_timestamp, file.object.last_modified_ms);
      for (const auto& action : winner) {
        if (const auto* winner_protocol = std::get_if<Protocol>(&action)) {
          // A protocol upgrade we cannot honour must stop us even without a conflict.
          ARROW_RETURN_NOT_OK(CheckWriteSupported(*winner_protocol, metadata));
        }
        if (const auto* winner_info = std::get_if<CommitInfo>(&action)) {
          if (winner_info->in_commit_timestamp) {
            previous_timestamp = *winner_info->in_commit_timestamp;
          }
        }
      }
      ++version;
    }

    std::uniform_int_distribution<int64_t> jitter(0, backoff.count());
    std::this_thread::sleep_for(std::chrono::milliseconds(backoff.count() / 2 + jitter(random)));
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

arrow::Status Transaction::PostCommit(int64_t version, CommitResult* result) {
  if (!options_.post_commit_maintenance || version == 0) return arrow::Status::OK();
  const Metadata* metadata = read_snapshot_ ? &read_snapshot_->metadata() : nullptr;
  for (const auto& action : actions_) {
    if (const auto* value = std::get_if<Metadata>(&action)) metadata = value;
  }
  ARROW_ASSIGN_OR_RAISE(const int64_t interval,
                        TableProperties(metadata->configuration).checkpoint_interval());
  if (version % interval != 0) return arrow::Status::OK();
  ARROW_ASSIGN_OR_RAISE(auto snapshot, log_->UpdateTo(read_snapshot_, version));
  ARROW_ASSIGN_OR_RAISE(result->checkpoint, log_->Checkpoint(*snapshot));
  if (snapshot->properties().expired_log_cleanup_enabled()) {
    ARROW_RETURN_NOT_OK(log_->CleanupExpiredLogs(*snapshot).status());
  }
  return arrow::Status::OK();
}

}  // namespace nlk::delta
