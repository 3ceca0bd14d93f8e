#include "server/table_registry.h"

#include <arrow/filesystem/api.h>

#include <algorithm>
#include <iostream>

#include "delta/table.h"
#include "server/api_error.h"

namespace nlk::server {
namespace {

using Clock = std::chrono::steady_clock;

// Whether anything is at the table's location, so a table not created yet is told apart from
// one that cannot be read.
arrow::Result<bool> TableExists(const TableConfig& config) {
  switch (config.format) {
    case TableFormat::kDelta:
      return delta::Table::Exists(config.uri);
    case TableFormat::kParquet: {
      std::string path;
      ARROW_ASSIGN_OR_RAISE(auto file_system,
                            arrow::fs::FileSystemFromUriOrPath(config.uri, &path));
      ARROW_ASSIGN_OR_RAISE(auto info, file_system->GetFileInfo(path));
      return info.type() != arrow::fs::FileType::NotFound;
    }
    case TableFormat::kMemory:
      return true;
  }
  return true;
}

constexpr std::string_view kNotCreatedReason = "not created yet; it is served once it exists";

}  // namespace

std::unique_ptr<TableRegistry> TableRegistry::Open(const ServerConfig& config,
                                                   std::function<std::string(std::string)> redact) {
  std::unique_ptr<TableRegistry> registry(new TableRegistry());
  registry->redact_ = std::move(redact);
  for (const TableConfig& table_config : config.tables) {
    Entry entry;
    entry.config = table_config;
    entry.reload_interval = table_config.reload_interval.value_or(config.default_reload_interval);
    registry->by_name_[table_config.name] = registry->entries_.size();
    registry->entries_.push_back(std::move(entry));
  }
  for (size_t index = 0; index < registry->entries_.size(); ++index) {
    registry->Reopen(index, /*at_start=*/true);
  }
  return registry;
}

TableRegistry::~TableRegistry() { StopRefreshing(); }

void TableRegistry::Reopen(size_t index, bool at_start) {
  const TableConfig& config = entries_[index].config;  // fixed after Open
  const std::chrono::milliseconds reload = entries_[index].reload_interval;
  TableAvailability availability = TableAvailability::kServing;
  arrow::Status problem;
  std::shared_ptr<ServedTable> table;
  auto exists = TableExists(config);
  if (exists.ok() && !*exists) {
    availability = TableAvailability::kNotCreated;
  } else if (!exists.ok()) {
    availability = TableAvailability::kUnavailable;
    problem = exists.status();
  } else {
    auto opened = ServedTable::Open(config, reload);
    if (opened.ok()) {
      table = *std::move(opened);
    } else {
      availability = TableAvailability::kUnavailable;
      problem = opened.status();
    }
  }
  TableAvailability before;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    Entry& entry = entries_[index];
    before = entry.availability;
    entry.availability = availability;
    entry.table = table;
    switch (availability) {
      case TableAvailability::kServing:
        entry.reason.clear();
        break;
      case TableAvailability::kNotCreated:
        entry.reason = kNotCreatedReason;
        entry.reopen_interval = std::max(reload, kReopenInterval);
        break;
      case TableAvailability::kUnavailable:
        entry.reason = "unavailable: " + redact_(problem.message()) + "; retrying";
        entry.reopen_interval = before == TableAvailability::kUnavailable && !at_start
                                    ? std::min(2 * entry.reopen_interval, kMaxReopenInterval)
                                    : std::max(reload, kReopenInterval);
        break;
    }
  }
  // One line per change of state (operators see the full paths).
  if (!at_start && availability == before) return;
  const std::string label = "nlk serve: table '" + config.name + "' (" + config.uri + ")";
  switch (availability) {
    case TableAvailability::kServing:
      if (!at_start) std::cerr << label << " is served now" << std::endl;
      break;
    case TableAvailability::kNotCreated:
      std::cerr << label << " is not created yet; serving the other tables, and this one once "
                << "it exists" << std::endl;
      break;
    case TableAvailability::kUnavailable:
      std::cerr << label
                << " cannot be read; serving the other tables and retrying: " << problem.ToString()
                << std::endl;
      break;
  }
}

arrow::Result<std::shared_ptr<ServedTable>> TableRegistry::Lookup(const std::string& name) const {
  auto found = by_name_.find(name);
  if (found == by_name_.end()) return arrow::Status::KeyError("no table named '", name, "'");
  std::lock_guard<std::mutex> lock(mutex_);
  const Entry& entry = entries_[found->second];
  switch (entry.availability) {
    case TableAvailability::kServing:
      return entry.table;
    case TableAvailability::kNotCreated:
      return MakeApiError(404, "table_not_created", entry.reason);
    case TableAvailability::kUnavailable:
      return MakeApiError(503, "table_unavailable", entry.reason);
  }
  return entry.table;
}

std::vector<std::shared_ptr<ServedTable>> TableRegistry::tables() const {
  std::vector<std::shared_ptr<ServedTable>> served;
  std::lock_guard<std::mutex> lock(mutex_);
  for (const Entry& entry : entries_) {
    if (entry.table) served.push_back(entry.table);
  }
  return served;
}

std::vector<std::string> TableRegistry::names() const {
  std::vector<std::string> names;
  for (const Entry& entry : entries_) names.push_back(entry.config.name);
  return names;
}

std::vector<TableHealth> TableRegistry::health() const {
  std::vector<TableHealth> health;
  std::lock_guard<std::mutex> lock(mutex_);
  for (const Entry& entry : entries_) {
    health.push_back({entry.config.name, entry.availability, entry.reason});
  }
  return health;
}

void TableRegistry::StartRefreshing() {
  refresher_ = std::thread([this] { RefreshLoop(); });
}

void TableRegistry::StopRefreshing() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (refresher_.joinable()) refresher_.join();
}

void TableRegistry::RefreshLoop() {
  std::vector<Clock::time_point> due(entries_.size(), Clock::now());
  std::unique_lock<std::mutex> lock(mutex_);
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (!entries_[i].table) due[i] = Clock::now() + entries_[i].reopen_interval;
  }
  while (!stopping_) {
    Clock::time_point next = Clock::now() + std::chrono::seconds(1);
    for (size_t i = 0; i < entries_.size(); ++i) {
      Entry& entry = entries_[i];
      std::shared_ptr<ServedTable> table = entry.table;
      if (table && !table->is_delta()) continue;
      if (Clock::now() >= due[i]) {
        lock.unlock();
        if (!table) {
          Reopen(i, /*at_start=*/false);
          lock.lock();
          due[i] = Clock::now() + (entry.table ? entry.reload_interval : entry.reopen_interval);
        } else {
          arrow::Status refreshed = table->Refresh();
          lock.lock();
          // Report a failing table once, not every interval; queries keep the last good state.
          if (!refreshed.ok() && !entry.refresh_failing) {
            std::cerr << "nlk serve: refreshing table '" << entry.config.name
                      << "' failed (serving the last good version): " << refreshed.ToString()
                      << std::endl;
          }
          entry.refresh_failing = !refreshed.ok();
          due[i] = Clock::now() + entry.reload_interval;
        }
      }
      next = std::min(next, due[i]);
    }
    wake_.wait_until(lock, next, [this] { return stopping_; });
  }
}

}  // namespace nlk::server
