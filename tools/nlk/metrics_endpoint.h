// A minimal HTTP/1.1 endpoint for Prometheus scrapes: GET /metrics answers with whatever the
// render function returns (text format 0.0.4), anything else with 404 or 405. One connection at a
// time, closed after each response: a scraper needs no more, and the writer's loop is untouched.
//
// Thread-safety: Start() and Stop() are called from one thread; the render function is called
// from the endpoint's own thread and must be thread-safe.
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace nlk::cli {

class MetricsEndpoint {
 public:
  using Render = std::function<std::string()>;

  // Listens on `address` ("HOST:PORT", an IPv4 host such as 127.0.0.1; port 0 picks a free one)
  // and serves from a background thread until Stop() or destruction.
  static arrow::Result<std::unique_ptr<MetricsEndpoint>> Start(const std::string& address,
                                                               Render render);
  ~MetricsEndpoint();
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  // The port actually bound.
  int port() const { return port_; }
  void Stop();

 private:
  MetricsEndpoint(int listener, int port, Render render);
  void Serve();
  void Answer(int connection);

  int listener_;
  int port_;
  Render render_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace nlk::cli
