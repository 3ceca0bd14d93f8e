// The PostgreSQL wire protocol listener of `nlk serve`: accepts connections, frames messages
// (startup packets up to 10000 bytes as PostgreSQL allows, other messages up to
// max_message_bytes), answers GSS encryption requests with 'N' and SSL requests with 'S' (then
// a TLS handshake) when TLS is configured, 'N' otherwise, routes CancelRequest to
// the session holding that process ID and secret, and hands each batch of complete messages to
// a worker that runs it through the connection's Session (session.h).
//
// Connections are read asynchronously on I/O threads, so idle sessions (connection pools, BI
// tools left open) cost a socket, not a thread. Messages run on worker threads and write with a
// time limit, as the HTTP front end does. A message that stops arriving halfway is dropped after
// header_timeout; an idle session between messages is kept as long as the client likes.
//
// Thread-safety: Start/Stop from one thread; connections are served concurrently.
#pragma once

#include <arrow/result.h>
#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "pgwire/session.h"
#include "sql/table_catalog.h"

namespace nlk::pgwire {

struct PgServerOptions {
  std::string address;  // HOST:PORT; port 0 picks a free one
  std::shared_ptr<sql::TableCatalog> tables;
  QueryLimits query_limits;
  int max_connections = 4096;
  int64_t max_message_bytes = 1 << 20;
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds write_timeout{30'000};
  int io_threads = 1;
  // Runs a task on a worker thread; false when it cannot be queued.
  std::function<bool(std::function<void()>)> run_on_worker;
  // Empty: every client is trusted. Otherwise clients must send a password this accepts.
  std::function<bool(const std::string& user, const std::string& password)> password_check;
  // With a password check: the tables a client who logged in with these credentials sees (its
  // grants applied), in place of `tables`. Empty: `tables` for everyone.
  std::function<std::shared_ptr<sql::TableCatalog>(const std::string& user,
                                                   const std::string& password)>
      tables_for_login;
  // Told of every data statement once it has ended (see QueryEvent); empty: nobody.
  QueryObserver query_observer;
  // Asked before each data statement runs; empty: all run.
  QueryAdmission query_admission;
  // Set: TLS. SSLRequest is answered 'S' and the session continues over TLS with the context
  // this returns (called once per such connection); a client that starts without TLS is
  // refused, so passwords and results never cross the network in the clear.
  std::function<std::shared_ptr<boost::asio::ssl::context>()> tls_context;
  // With TLS: the user a connection's verified client certificate stands for ("" for none). A
  // client logging in as that user needs no password; other users need password_check, and
  // without one are refused.
  std::function<std::string(SSL*)> certificate_user;
  // With certificate_user: the tables a client that logged in with its certificate sees (its
  // grants applied), in place of `tables`. Empty: `tables`.
  std::function<std::shared_ptr<sql::TableCatalog>(SSL*)> tables_for_certificate;
};

class PgServer {
 public:
  static arrow::Result<std::unique_ptr<PgServer>> Start(PgServerOptions options);
  ~PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  int port() const;
  // Stops accepting, cancels running queries, closes the connections, waits for their workers
  // to finish (the worker runner must still run tasks meanwhile) and joins the I/O threads.
  void Stop();

  class Impl;

 private:
  explicit PgServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace nlk::pgwire
