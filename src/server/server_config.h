// What `nlk serve` serves and how: the tables, the listening address, the per-query and
// per-connection limits, and who may connect (AccessConfig). Read from a ROAPI-style YAML file
// and/or `-t` table arguments, so a ROAPI user can point `nlk serve` at the config file they
// already have.
//
// Plain values; no shared state.
#pragma once

#include <arrow/result.h>
#include <arrow/table.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "server/access_control.h"
#include "server/access_policy.h"
#include "server/audit_log.h"

namespace nlk::server {

// kMemory: rows given in `TableConfig::rows` by the program (never read from a config file),
// e.g. a catalog function table called once at startup.
enum class TableFormat { kDelta, kParquet, kMemory };

struct TableConfig {
  std::string name;
  std::string uri;
  TableFormat format = TableFormat::kDelta;
  // Keep the rows in memory (ROAPI's default for Delta and Parquet) instead of reading the data
  // files for each query. Delta memory tables still follow the log: new files are loaded and
  // removed files dropped as commits land.
  bool use_memory_table = false;
  // ROAPI's partition_columns (names only; Delta tables carry their own and ignore these).
  std::vector<std::string> partition_columns;
  // How often the table's log is checked for new commits.
  std::optional<std::chrono::milliseconds> reload_interval;
  // kMemory only: the rows served, fixed for the life of the server.
  std::shared_ptr<arrow::Table> rows;
  // The catalog's freshness objective (catalog::Freshness::slo_seconds); 0: none.
  int64_t freshness_slo_seconds = 0;
  // A catalog table's grants, masks and row filters; none for tables from -t or a config file.
  std::optional<TableAccessRules> access;
};

// The rules of every table that has them, by name.
std::shared_ptr<const AccessRules> AccessRulesOf(const std::vector<TableConfig>& tables);

// Query workers when ServerLimits::worker_threads is 0: this many per core, at least the minimum.
inline constexpr int kWorkerThreadsPerCore = 2;
inline constexpr int kMinWorkerThreads = 4;

struct ServerLimits {
  int worker_threads = 0;  // 0: kWorkerThreadsPerCore per core, at least kMinWorkerThreads
  int io_threads = 1;
  // Requests waiting for a worker beyond this are answered 503 at once (load shedding).
  int max_queued_requests = 64;
  int max_connections = 4096;
  // Open connections from one client address; beyond: 429 and close. 0: no per-address limit
  // (for a server behind a proxy, whose connections all come from the proxy's address).
  int max_connections_per_address = 128;
  // Responses that may wait for a slow client without holding a worker (each holds its query
  // and up to kMaxUnsentResponseBytes, http_server.h); beyond, a waiting response keeps its
  // worker.
  int max_waiting_responses = 256;
  int64_t max_body_bytes = 1 << 20;
  int64_t max_header_bytes = 16 << 10;
  std::chrono::milliseconds header_timeout{10'000};  // for a request to arrive completely
  std::chrono::milliseconds idle_timeout{30'000};    // between requests on a kept-alive connection
  std::chrono::milliseconds write_timeout{30'000};   // for a client to take each chunk
  std::chrono::milliseconds query_timeout{30'000};
  int64_t max_result_rows = 10'000'000;
  int64_t max_result_bytes = 1LL << 30;
  // Rows a query may hold in memory at once (sorts, memory-table results of SQL).
  int64_t max_query_memory_bytes = 2LL << 30;
};

// Another process whose Prometheus /metrics the status page shows (`nlk ingest`'s): the server
// fetches it when the page asks /ui/metrics/{name}, so the browser needs to reach only the
// server (status_page.h).
struct StatusSource {
  std::string name;
  std::string host;
  std::string port;
};

// TLS for the HTTP and PostgreSQL listeners and Flight SQL (tls.h).
struct TlsConfig {
  std::string cert_file;  // PEM certificate, followed by its chain; empty: no TLS
  std::string key_file;   // PEM private key (unencrypted)
  // PEM bundle of the CAs whose client certificates are accepted; empty: no client certificates.
  std::string client_ca_file;
  std::string min_version = "1.2";  // "1.2" or "1.3"
  // With client_ca_file: refuse clients without a certificate during the handshake. When bearer
  // tokens are accepted too, the server sets this false and lets the AccessGate decide per request.
  bool require_client_certificate = true;

  bool enabled() const { return !cert_file.empty(); }
  bool verifies_clients() const { return !client_ca_file.empty(); }
};

struct ServerConfig {
  std::string http_address = "127.0.0.1:8080";
  // The PostgreSQL wire protocol listener (pgwire/pg_server.h); empty: none.
  std::string postgres_address;
  // The Arrow Flight SQL listener (flightsql/flight_sql_server.h); empty: none.
  std::string flight_sql_address;
  std::vector<TableConfig> tables;
  std::chrono::milliseconds default_reload_interval{200};
  ServerLimits limits;
  AccessConfig access;
  TlsConfig tls;
  std::vector<StatusSource> status_sources;
  // The query audit log (server/audit_log.h); no uri: none.
  AuditOptions audit;
};

// Parses ROAPI's table argument: "[NAME=]URI[,format=delta|parquet][,use_memory_table=BOOL]".
// Without NAME the table is named after the last path element of URI (its stem for files).
arrow::Result<TableConfig> ParseTableArgument(const std::string& argument);

// Reads a ROAPI YAML config: `addr` (a string, or a map with `http`, `postgres` and
// `flight_sql`), `reload_interval`, and `tables` entries with
// `name`, `uri`, `option` (`format`, `use_memory_table`), `partition_columns` and
// `reload_interval`. Our own `limits` map sets ServerLimits by field name; `auth` (`tokens`: the
// tokens file, `health` and `metrics`: public or token), `cors` (`allowed_origins`: a list) and
// `allowed_hosts` (a list) set AccessConfig; `audit` (`table`, `statements`, `fail_closed`,
// `flush_interval_ms`, `max_batch`, `max_queue`) sets AuditOptions; `tls` (`cert`, `key`,
// `client_ca`, `min_version`) sets TlsConfig. Errors name the file and the entry.
arrow::Result<ServerConfig> LoadServerConfig(const std::string& path);

// Checks names are unique and non-empty and limits are positive.
arrow::Status ValidateServerConfig(const ServerConfig& config);

}  // namespace nlk::server
