// The HTTP/1.1 front end: accepts connections, reads requests with header, body-size and idle
// limits, hands each complete request to a bounded worker pool, and lets the handler answer
// with one response or a chunked stream. Protocol problems are answered here (400 malformed,
// 408 too slow, 413 body too large, 431 headers too large, 429 too many connections from one
// address, 503 overloaded) and never reach the handler; so are requests the AccessGate refuses
// (a Host or Origin not allowed, a missing or bad token) and CORS preflights.
//
// Connections are served asynchronously on a few I/O threads, so idle or slow clients cost a
// socket and a small buffer, not a thread. Requests an immediate handler answers (health checks,
// metrics) are answered on the I/O thread and never queue behind queries. Handlers run on worker
// threads and write through a ResponseWriter that hands the bytes to the I/O threads without
// waiting for the client, up to kMaxUnsentResponseBytes per response; past that, the worker
// waits for the client with its place in the pool given up (WorkerPool::WaitOutside), so a
// client that does not read holds a socket and its query's memory, never a worker.
//
// With a TlsContext every connection speaks TLS: the handshake must finish within header_timeout,
// a client that sends plain HTTP is answered 400 in plain text and closed, and a verified
// client certificate is offered to the AccessGate as the caller's identity (tls.h).
//
// Thread-safety: Start/Stop from one thread; the handler is called concurrently from workers.
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "server/access_control.h"
#include "server/server_config.h"

namespace nlk::server {

// Unsent bytes one response may hold before its worker waits for the client.
inline constexpr size_t kMaxUnsentResponseBytes = 1 << 20;

struct HttpRequest {
  std::string method;
  std::string target;  // path and query, as sent
  std::string accept;
  std::string body;
  std::string client_address;  // the peer's IP address
  // The caller, when the server authenticates and the request carried a valid token.
  std::optional<Identity> identity;
};

struct HttpResponse {
  int status = 200;
  std::string content_type;
  std::string body;
};

// How a response ended, reported once it has: every byte handed to the client's socket, the
// client gone or too slow to take it (write_timeout), or cut short by the handler (Abort).
enum class ResponseOutcome { kDelivered, kClientGone, kAborted };

// How a handler answers one request. Not thread-safe: it belongs to the worker running the
// handler. Failed calls mean the client is gone or too slow; the connection is then closed.
class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;
  // A complete response with Content-Length.
  virtual arrow::Status Send(int status, std::string_view content_type, std::string body) = 0;
  // Starts a chunked response; follow with SendChunk calls and EndStream.
  virtual arrow::Status BeginStream(int status, std::string_view content_type) = 0;
  virtual arrow::Status SendChunk(std::string data) = 0;
  virtual arrow::Status EndStream() = 0;
  // Ends a started stream without its terminating chunk, so the client sees the response is
  // incomplete (a limit or an error struck after the status line was sent).
  virtual void Abort() = 0;
  virtual bool started() const = 0;
  // Called once, on an I/O thread, when the response has ended (see ResponseOutcome); the
  // handler may return before that.
  virtual void OnFinished(std::function<void(ResponseOutcome)> callback) = 0;
};

using RequestHandler = std::function<void(const HttpRequest&, ResponseWriter&)>;
// Answers a request at once on the I/O thread, or returns nullopt to leave it to the workers.
// Must be quick and must not block: it runs between the reads and writes of other connections.
using ImmediateHandler = std::function<std::optional<HttpResponse>(const HttpRequest&)>;

// Events the server reports for metrics: requests refused before a handler ran.
struct HttpServerObserver {
  std::function<void(const std::string& reason, int status)> on_rejected;
};

class TlsContext;

class HttpServer {
 public:
  // Binds `address` ("HOST:PORT"; port 0 picks a free one) and starts serving; over TLS when
  // `tls` is given.
  static arrow::Result<std::unique_ptr<HttpServer>> Start(
      const std::string& address, const ServerLimits& limits, RequestHandler handler,
      ImmediateHandler immediate = {}, HttpServerObserver observer = {},
      std::shared_ptr<const AccessGate> gate = {}, std::shared_ptr<TlsContext> tls = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const;
  int open_connections() const;
  int queued_requests() const;
  int busy_workers() const;
  // Responses waiting for slow clients outside the workers' places.
  int waiting_responses() const;
  int worker_threads() const;
  // Stops accepting, closes connections and joins all threads.
  void Stop();

  class Impl;

 private:
  explicit HttpServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

// "200 OK", "404 Not Found", ...
std::string_view StatusLine(int status);

}  // namespace nlk::server
