// The query server's PostgreSQL wire protocol listener (pgwire/pg_server.h) over the same
// tables, SQL engine limits and number of workers as the HTTP API, with a worker pool of its own
// so that long-lived PostgreSQL sessions never take turns with HTTP requests.
//
// Thread-safety: Start/Stop from one thread.
#pragma once

#include <arrow/result.h>

#include <memory>

#include "server/audit_log.h"
#include "server/server_config.h"
#include "server/table_registry.h"

namespace nlk::server {

class TlsContext;

class PostgresListener {
 public:
  // Listens on config.postgres_address; `registry` must outlive the listener. When `gate`
  // authenticates, a client logs in with its token's principal as user name and the token as
  // password. With `tls`, clients must use TLS (sslmode=require or stronger), and one with a
  // verified client certificate logs in as the certificate's principal without a password.
  // With `audit`, every data statement is recorded in it (and refused while a fail-closed audit
  // log cannot be written); it must outlive the listener.
  static arrow::Result<std::unique_ptr<PostgresListener>> Start(
      const ServerConfig& config, const TableRegistry& registry,
      std::shared_ptr<const AccessGate> gate, std::shared_ptr<TlsContext> tls, int worker_threads,
      AuditLog* audit = nullptr);
  ~PostgresListener();
  PostgresListener(const PostgresListener&) = delete;
  PostgresListener& operator=(const PostgresListener&) = delete;

  int port() const;
  // Cancels running queries, closes the sessions and joins every thread.
  void Stop();

  class Impl;

 private:
  explicit PostgresListener(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace nlk::server
