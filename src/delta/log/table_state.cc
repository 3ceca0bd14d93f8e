#include "delta/log/table_state.h"

namespace nlk::delta {

namespace {

struct StateApplier {
  TableState& state;
  std::optional<Protocol>& protocol;
  std::optional<Metadata>& metadata;
  std::map<std::string, SetTransaction>& app_transactions;
  std::map<std::string, DomainMetadata>& domains;

  void operator()(AddFile& add) {
    std::string key = LogicalFileKey(add.path, add.deletion_vector);
    state.mutable_tombstones().erase(key);
    state.mutable_files().insert_or_assign(std::move(key), std::move(add));
  }
  void operator()(RemoveFile& remove) {
    std::string key = LogicalFileKey(remove.path, remove.deletion_vector);
    state.mutable_files().erase(key);
    state.mutable_tombstones().insert_or_assign(std::move(key), std::move(remove));
  }
  void operator()(Protocol& value) { protocol = std::move(value); }
  void operator()(Metadata& value) { metadata = std::move(value); }
  void operator()(SetTransaction& txn) {
    app_transactions.insert_or_assign(txn.app_id, std::move(txn));
  }
  void operator()(DomainMetadata& domain) {
    if (domain.removed) {
      domains.erase(domain.domain);
    } else {
      domains.insert_or_assign(domain.domain, std::move(domain));
    }
  }
  // Change data, provenance and V2 checkpoint bookkeeping do not take part in reconciliation.
  void operator()(AddCdcFile&) {}
  void operator()(CommitInfo&) {}
  void operator()(CheckpointMetadata&) {}
  void operator()(Sidecar&) {}
};

}  // namespace

void TableState::Apply(Action action) {
  std::visit(StateApplier{*this, protocol_, metadata_, app_transactions_, domains_}, action);
}

}  // namespace nlk::delta
