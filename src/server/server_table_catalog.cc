#include "server/server_table_catalog.h"

#include <charconv>

#include "server/rest_query.h"
#include "sql/delta_table_provider.h"
#include "sql/memory_table_provider.h"
#include "sql/table_capture.h"

namespace nlk::server {
namespace {

// "v12" -> version 12; anything else is a timestamp.
arrow::Result<TableVersionRequest> ParseVersionSuffix(const std::string& name,
                                                      const std::string& suffix) {
  TableVersionRequest at;
  if (suffix.size() > 1 && suffix[0] == 'v') {
    int64_t version = -1;
    auto [end, error] = std::from_chars(suffix.data() + 1, suffix.data() + suffix.size(), version);
    if (error == std::errc() && end == suffix.data() + suffix.size() && version >= 0) {
      at.version = version;
      return at;
    }
  }
  auto timestamp = ParseTimestampMs(suffix);
  if (!timestamp.ok()) {
    return arrow::Status::Invalid("table \"", name, "\": '@", suffix,
                                  "' is neither a version (@v3) nor a timestamp "
                                  "(@2026-01-01T00:00:00Z)");
  }
  at.timestamp_ms = *timestamp;
  return at;
}

}  // namespace

std::vector<std::string> ServerTableCatalog::TableNames() const {
  return policy_ ? policy_->Readable(registry_.names()) : registry_.names();
}

arrow::Result<std::shared_ptr<ServedTable>> ServerTableCatalog::Lookup(
    const std::string& name) const {
  if (policy_ && !policy_->CanRead(name)) {
    return arrow::Status::KeyError("no table named '", name, "'");
  }
  return registry_.Lookup(name);
}

arrow::Result<sql::ResolvedTable> ServerTableCatalog::Resolve(const std::string& name) {
  std::string base = name;
  TableVersionRequest at;
  size_t at_sign = name.rfind('@');
  if (at_sign != std::string::npos && !Lookup(name).status().IsKeyError()) {
    at_sign = std::string::npos;  // a configured name that contains '@'
  }
  if (at_sign != std::string::npos) {
    base = name.substr(0, at_sign);
    ARROW_ASSIGN_OR_RAISE(at, ParseVersionSuffix(name, name.substr(at_sign + 1)));
  }
  auto found = Lookup(base);
  if (!found.ok()) {
    if (found.status().IsKeyError()) {
      return arrow::Status::KeyError("table \"", base, "\" does not exist");
    }
    return found.status();
  }
  const std::shared_ptr<ServedTable>& table = *found;
  sql::TableCapture::Note(base);
  sql::ResolvedTable resolved;
  ARROW_ASSIGN_OR_RAISE(resolved.table, ResolveServed(*table, base, at));
  if (policy_) resolved.restriction = policy_->RestrictionFor(base);
  return resolved;
}

arrow::Result<std::shared_ptr<sql::TableProvider>> ServerTableCatalog::ResolveServed(
    ServedTable& served, const std::string& base, const TableVersionRequest& at) {
  ServedTable* table = &served;
  if (!table->is_delta()) {
    bool parquet = table->config().format == TableFormat::kParquet;
    if (!at.latest()) {
      return arrow::Status::Invalid("table \"", base, "\" is a ", parquet ? "Parquet" : "memory",
                                    " table; versions need a Delta table");
    }
    return std::make_shared<sql::MemoryTableProvider>(
        table->MemoryTable(), (parquet ? "parquet table " : "memory table ") + base);
  }
  if (at.latest() && table->config().use_memory_table) {
    auto [rows, version] = table->MemoryTableAndVersion();
    return std::make_shared<sql::MemoryTableProvider>(
        std::move(rows), "delta memory table " + base + " @ v" + std::to_string(version));
  }
  ARROW_ASSIGN_OR_RAISE(auto snapshot, table->SnapshotFor(at));
  std::string description = "delta table " + base + " @ v" + std::to_string(snapshot->version());
  return sql::DeltaTableProvider::Make(table->delta_table(), std::move(snapshot),
                                       std::move(description));
}

}  // namespace nlk::server
