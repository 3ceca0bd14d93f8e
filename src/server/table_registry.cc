#include "server/table_registry.h"

#include <chrono>
#include <iostream>

namespace nlk::server {

arrow::Result<std::unique_ptr<TableRegistry>> TableRegistry::Open(const ServerConfig& config) {
  std::unique_ptr<TableRegistry> registry(new TableRegistry());
  for (const TableConfig& table_config : config.tables) {
    auto table = ServedTable::Open(
        table_config, table_config.reload_interval.value_or(config.default_reload_interval));
    if (!table.ok()) {
      return table.status().WithMessage("table '", table_config.name, "' (", table_config.uri,
                                        "): ", table.status().message());
    }
    registry->by_name_[table_config.name] = *table;
    registry->tables_.push_back(*table);
  }
  return registry;
}

TableRegistry::~TableRegistry() { StopRefreshing(); }

std::shared_ptr<ServedTable> TableRegistry::Find(const std::string& name) const {
  auto found = by_name_.find(name);
  return found == by_name_.end() ? nullptr : found->second;
}

std::vector<std::string> TableRegistry::names() const {
  std::vector<std::string> names;
  for (const auto& table : tables_) names.push_back(table->name());
  return names;
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
  using Clock = std::chrono::steady_clock;
  std::vector<Clock::time_point> due(tables_.size(), Clock::now());
  std::vector<bool> failing(tables_.size(), false);
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    Clock::time_point next = Clock::now() + std::chrono::seconds(1);
    for (size_t i = 0; i < tables_.size(); ++i) {
      if (!tables_[i]->is_delta()) continue;
      if (Clock::now() >= due[i]) {
        lock.unlock();
        arrow::Status refreshed = tables_[i]->Refresh();
        lock.lock();
        // Report a failing table once, not every interval; queries keep the last good state.
        if (!refreshed.ok() && !failing[i]) {
          std::cerr << "nlk serve: refreshing table '" << tables_[i]->name()
                    << "' failed (serving the last good version): " << refreshed.ToString()
                    << std::endl;
        }
        failing[i] = !refreshed.ok();
        due[i] = Clock::now() + tables_[i]->reload_interval();
      }
      next = std::min(next, due[i]);
    }
    wake_.wait_until(lock, next, [this] { return stopping_; });
  }
}

}  // namespace nlk::server
