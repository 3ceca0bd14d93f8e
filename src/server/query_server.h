// `nlk serve` as a library: the ROAPI-compatible HTTP API over the configured tables.
//
//   POST /api/sql                 SQL in the body (once the SQL engine is linked in)
//   GET  /api/tables/{table}      ROAPI REST query (server/rest_query.h) + version/timestamp
//   GET  /api/schema[/{table}]    schemas in ROAPI's JSON shape
//   GET  /health                  "OK"
//   GET  /metrics                 Prometheus text format
//
// and, when config.postgres_address is set, the PostgreSQL wire protocol (pgwire/pg_server.h),
// and when config.flight_sql_address is set, Arrow Flight SQL (flightsql/flight_sql_server.h),
// over the same tables and SQL engine.
//
// Thread-safety: Start/Stop from one thread; requests are served concurrently.
#pragma once

#include <arrow/result.h>

#include <memory>

#include "server/server_config.h"

namespace nlk::server {

class QueryServer {
 public:
  // Opens the tables, starts following their logs and listens on config.http_address.
  static arrow::Result<std::unique_ptr<QueryServer>> Start(const ServerConfig& config);
  ~QueryServer();
  QueryServer(const QueryServer&) = delete;
  QueryServer& operator=(const QueryServer&) = delete;

  int port() const;
  // The PostgreSQL listener's port; 0 when there is none.
  int postgres_port() const;
  // The Flight SQL listener's port; 0 when there is none.
  int flight_sql_port() const;
  void Stop();

  class Impl;

 private:
  explicit QueryServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace nlk::server
