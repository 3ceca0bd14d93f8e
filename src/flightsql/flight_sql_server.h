// The Arrow Flight SQL listener of `nlk serve`: SQL over the served tables through Arrow
// Flight's gRPC service, results streamed as the engine's own record batches.
//
//   GetFlightInfo / GetSchema / DoGet   CommandStatementQuery (ticket: TicketStatementQuery),
//                                       CommandPreparedStatementQuery, CommandGetCatalogs,
//                                       CommandGetDbSchemas, CommandGetTables (include_schema),
//                                       CommandGetTableTypes, CommandGetSqlInfo
//   DoAction                            CreatePreparedStatement, ClosePreparedStatement
//   DoPut                               CommandPreparedStatementQuery: binds parameters ($1, ...)
//
// A statement's GetFlightInfo starts the query to learn its columns and keeps it for DoGet,
// whose ticket names it and carries the SQL (run again if the started query was let go: past
// its timeout, or its slot needed by another query). A prepared statement lives on the server
// until closed (or dropped as the least recently used when max_prepared_statements are open),
// with the parameters last bound to it; several parameter rows run the statement once per row,
// their results one after another.
//
// Limits, as for HTTP and PostgreSQL: result rows and bytes (the Arrow IPC size of the batches
// sent), the query timeout and memory budget; at most max_running_queries run at once and
// max_waiting_queries wait for a turn, beyond which a call fails UNAVAILABLE, as does a call
// beyond max_calls in flight (gRPC multiplexes calls on connections, so calls are what is
// counted).
//
// Errors carry gRPC status codes: INVALID_ARGUMENT for bad SQL or parameters and past the row,
// byte and memory limits (Flight's transport has no RESOURCE_EXHAUSTED; the remedy is a
// narrower query), NOT_FOUND for an unknown table or statement handle, UNIMPLEMENTED for
// commands a read-only server does not serve, UNAVAILABLE when overloaded, DEADLINE_EXCEEDED
// past the query timeout.
//
// Thread-safety: Start/Stop from one thread; calls are served concurrently.
#pragma once

#include <arrow/result.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "sql/query_event.h"
#include "sql/table_catalog.h"

namespace nlk::flightsql {

struct FlightSqlServerOptions {
  std::string address;  // HOST:PORT; port 0 picks a free one
  std::shared_ptr<sql::TableCatalog> tables;
  int64_t max_rows = 10'000'000;
  int64_t max_bytes = 1LL << 30;
  std::chrono::milliseconds timeout{30'000};
  int64_t max_memory_bytes = 2LL << 30;
  int max_calls = 4096;
  int max_running_queries = 4;
  int max_waiting_queries = 64;
  // Open prepared statements; creating one more drops the one used least recently.
  int max_prepared_statements = 4096;
  // Bytes of parameters bound to one prepared statement.
  int64_t max_parameter_bytes = 1 << 20;
  // Empty: every call is accepted. Otherwise a call must carry the header
  // "authorization: Bearer TOKEN" with a token this accepts (UNAUTHENTICATED otherwise).
  std::function<bool(std::string_view token)> authenticate;
  // With `authenticate`: the tables a call with this (accepted) token sees, its grants applied,
  // in place of `tables`. Empty: `tables` for every call.
  std::function<std::shared_ptr<sql::TableCatalog>(std::string_view token)> tables_for_token;
  // The principal a token stands for, reported in QueryEvents; empty, or "" returned: anonymous.
  std::function<std::string(std::string_view token)> principal_of;
  // Told of every statement query (plain or prepared) once its stream has ended.
  sql::QueryObserver query_observer;
  // Asked before each statement query starts; an error refuses it (UNAVAILABLE).
  sql::QueryAdmission query_admission;
  // PEM certificate chain and key: serve over TLS (grpc+tls) instead of plain gRPC.
  std::string tls_certificate;
  std::string tls_key;
  // PEM CA bundle: with TLS, every client must present a certificate these CAs signed.
  std::string tls_client_ca;
};

class FlightSqlServer {
 public:
  static arrow::Result<std::unique_ptr<FlightSqlServer>> Start(FlightSqlServerOptions options);
  ~FlightSqlServer();
  FlightSqlServer(const FlightSqlServer&) = delete;
  FlightSqlServer& operator=(const FlightSqlServer&) = delete;

  int port() const;
  // Stops accepting calls, cancels the running ones after a short grace and waits for them.
  void Stop();

  class Impl;

 private:
  explicit FlightSqlServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  bool stopped_ = false;
};

}  // namespace nlk::flightsql
