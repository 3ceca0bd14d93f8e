// Action reconciliation (PROTOCOL.md "Action Reconciliation"): folds actions, oldest first, into
// the state of a table at one version.
//
// Not thread-safe: one replay builds one state, which then becomes an immutable Snapshot.
#pragma once

#include <arrow/status.h>

#include <map>
#include <optional>
#include <string>
#include <unordered_map>

#include "delta/log/actions.h"

namespace nlk::delta {

class TableState {
 public:
  // Applies one action. Within a commit the order does not matter: a valid commit never holds
  // two file actions with the same logical file key.
  void Apply(Action action);

  const std::optional<Protocol>& protocol() const { return protocol_; }
  const std::optional<Metadata>& metadata() const { return metadata_; }
  // Keyed by LogicalFileKey(path, deletion vector).
  const std::unordered_map<std::string, AddFile>& files() const { return files_; }
  const std::unordered_map<std::string, RemoveFile>& tombstones() const { return tombstones_; }
  const std::map<std::string, SetTransaction>& app_transactions() const {
    return app_transactions_;
  }
  // Live domains only: a removed=true action deletes its domain.
  const std::map<std::string, DomainMetadata>& domains() const { return domains_; }

  std::unordered_map<std::string, AddFile>& mutable_files() { return files_; }
  std::unordered_map<std::string, RemoveFile>& mutable_tombstones() { return tombstones_; }

 private:
  std::optional<Protocol> protocol_;
  std::optional<Metadata> metadata_;
  std::unordered_map<std::string, AddFile> files_;
  std::unordered_map<std::string, RemoveFile> tombstones_;
  std::map<std::string, SetTransaction> app_transactions_;
  std::map<std::string, DomainMetadata> domains_;
};

}  // namespace nlk::delta
