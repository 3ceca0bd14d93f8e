// The tables a server serves, by name, and the background thread that keeps them current:
// every served Delta table is refreshed on its own reload interval (by default
// ServerConfig::default_reload_interval), so a commit is visible to queries within about one
// interval plus the time to read the new commit files.
//
// A configured table that cannot be opened does not stop the server. One that does not exist
// yet (a Delta table without a commit, a Parquet path with nothing there: say the dead-letter
// table only ingest creates) is "not created"; one that exists but cannot be read (a corrupt
// log, unreadable storage) is "unavailable". Both are reported once on stderr, answered with a
// clear error, shown on /health and /metrics, and opened again by the refresher until they can
// be served: not-created tables every reload interval (at least kReopenInterval), unavailable
// ones with a back-off up to kMaxReopenInterval.
//
// Thread-safety: every method may be called concurrently with the refresher; the set of
// configured names is fixed after Open.
#pragma once

#include <arrow/result.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "server/served_table.h"
#include "server/server_config.h"

namespace nlk::server {

inline constexpr std::chrono::milliseconds kReopenInterval{1000};
inline constexpr std::chrono::milliseconds kMaxReopenInterval{30'000};

enum class TableAvailability { kServing, kNotCreated, kUnavailable };

// One configured table as /health and /metrics report it.
struct TableHealth {
  std::string name;
  TableAvailability availability = TableAvailability::kServing;
  std::string reason;  // why it is not served, for clients (no server paths)
};

class TableRegistry {
 public:
  // Opens every configured table; those that cannot be opened are registered as not created
  // or unavailable (see above), with one line on stderr each. `redact` takes the table
  // locations out of the reasons clients see (server/path_redaction.h).
  static std::unique_ptr<TableRegistry> Open(const ServerConfig& config,
                                             std::function<std::string(std::string)> redact);
  ~TableRegistry();

  // The served table `name`. Errors carry their HTTP answer: KeyError for a name that is not
  // configured, 404 `table_not_created`, 503 `table_unavailable`; their message is the reason
  // alone ("not created yet; ..."), for the caller to say which table.
  arrow::Result<std::shared_ptr<ServedTable>> Lookup(const std::string& name) const;
  // The tables served now, in configuration order.
  std::vector<std::shared_ptr<ServedTable>> tables() const;
  // Every configured name, served or not.
  std::vector<std::string> names() const;
  std::vector<TableHealth> health() const;

  // Starts the refresher thread.
  void StartRefreshing();
  void StopRefreshing();

 private:
  struct Entry {
    TableConfig config;
    std::chrono::milliseconds reload_interval{0};
    std::shared_ptr<ServedTable> table;  // null until it could be opened
    TableAvailability availability = TableAvailability::kServing;
    std::string reason;  // redacted
    std::chrono::milliseconds reopen_interval{0};
    bool refresh_failing = false;  // refresher thread only
  };

  TableRegistry() = default;
  // Tries to open entry `index` (without the lock held); reports state changes on stderr.
  void Reopen(size_t index, bool at_start);
  void RefreshLoop();

  std::function<std::string(std::string)> redact_;
  std::map<std::string, size_t> by_name_;  // fixed after Open
  mutable std::mutex mutex_;               // guards entries_' table, availability and reason
  std::vector<Entry> entries_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread refresher_;
};

}  // namespace nlk::server
