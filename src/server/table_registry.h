// The tables a server serves, by name, and the background thread that keeps Delta snapshots
// current: every table is refreshed on its own reload interval (default 200 ms), so a commit is
// visible to queries within about one interval plus the time to read the new commit files.
//
// Thread-safety: Find/names/tables may be called concurrently with the refresher; the set of
// tables is fixed after Open.
#pragma once

#include <arrow/result.h>

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "server/served_table.h"
#include "server/server_config.h"

namespace nlk::server {

class TableRegistry {
 public:
  // Opens every configured table; the first that cannot be opened fails the whole call, naming
  // the table.
  static arrow::Result<std::unique_ptr<TableRegistry>> Open(const ServerConfig& config);
  ~TableRegistry();

  // nullptr for an unknown name.
  std::shared_ptr<ServedTable> Find(const std::string& name) const;
  const std::vector<std::shared_ptr<ServedTable>>& tables() const { return tables_; }
  std::vector<std::string> names() const;

  // Starts the refresher thread.
  void StartRefreshing();
  void StopRefreshing();

 private:
  TableRegistry() = default;
  void RefreshLoop();

  std::vector<std::shared_ptr<ServedTable>> tables_;
  std::map<std::string, std::shared_ptr<ServedTable>> by_name_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread refresher_;
};

}  // namespace nlk::server
