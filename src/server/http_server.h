// The HTTP/1.1 front end: accepts connections, reads requests with header, body-size and idle
// limits, hands each complete request to a bounded worker pool, and lets the handler answer
// with one response or a chunked stream. Protocol problems are answered here (400 malformed,
// 408 too slow, 413 body too large, 431 headers too large, 503 overloaded) and never reach
// the handler.
//
// Connections are served asynchronously on a few I/O threads, so idle or slow clients cost a
// socket and a small buffer, not a thread. Handlers run on worker threads and write through a
// ResponseWriter whose calls block until the client took the bytes or the write timeout
// passed, which bounds how long a slow reader can hold a worker.
//
// Thread-safety: Start/Stop from one thread; the handler is called concurrently from workers.
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "server/server_config.h"

namespace nlk::server {

struct HttpRequest {
  std::string method;
  std::string target;  // path and query, as sent
  std::string accept;
  std::string body;
};

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
};

using RequestHandler = std::function<void(const HttpRequest&, ResponseWriter&)>;

// Events the server reports for metrics: requests refused before a handler ran.
struct HttpServerObserver {
  std::function<void(const std::string& reason, int status)> on_rejected;
};

class HttpServer {
 public:
  // Binds `address` ("HOST:PORT"; port 0 picks a free one) and starts serving.
  static arrow::Result<std::unique_ptr<HttpServer>> Start(const std::string& address,
                                                          const ServerLimits& limits,
                                                          RequestHandler handler,
                                                          HttpServerObserver observer = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const;
  int open_connections() const;
  int queued_requests() const;
  int busy_workers() const;
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
