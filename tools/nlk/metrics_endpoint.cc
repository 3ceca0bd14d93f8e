#include "metrics_endpoint.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>
#include <utility>

namespace nlk::cli {
namespace {

// How often the serving thread looks at the stop flag while no scraper connects.
constexpr int kAcceptPollMs = 200;
// A scraper that has not sent its request line by then is dropped.
constexpr int kRequestTimeoutMs = 2000;
constexpr size_t kMaxRequestBytes = 8192;

arrow::Status SocketError(const std::string& what, const std::string& address) {
  return arrow::Status::IOError("--metrics-address ", address, ": ", what, ": ",
                                std::strerror(errno));
}

void SendAll(int connection, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t sent = ::send(connection, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent <= 0) return;  // the scraper went away; nothing to report to
    bytes.remove_prefix(static_cast<size_t>(sent));
  }
}

std::string Response(std::string_view status, std::string_view content_type,
                     const std::string& body) {
  std::string response = "HTTP/1.1 ";
  response += status;
  response += "\r\nContent-Type: ";
  response += content_type;
  response +=
      "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  return response + body;
}

}  // namespace

arrow::Result<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(const std::string& address,
                                                                       Render render) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    return arrow::Status::Invalid("--metrics-address '", address,
                                  "' must be HOST:PORT, e.g. 127.0.0.1:9464");
  }
  std::string host = address.substr(0, colon);
  std::string_view digits = std::string_view(address).substr(colon + 1);
  int port = -1;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (error != std::errc() || end != digits.data() + digits.size() || port < 0 || port > 65535) {
    return arrow::Status::Invalid("--metrics-address '", address, "': '", digits,
                                  "' is not a port number (0-65535)");
  }
  sockaddr_in socket_address{};
  socket_address.sin_family = AF_INET;
  socket_address.sin_port = htons(static_cast<uint16_t>(port));
  if (host == "localhost") host = "127.0.0.1";
  if (::inet_pton(AF_INET, host.c_str(), &socket_address.sin_addr) != 1) {
    return arrow::Status::Invalid("--metrics-address '", address, "': '", host,
                                  "' is not an IPv4 address (e.g. 127.0.0.1 or 0.0.0.0)");
  }
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener < 0) return SocketError("socket", address);
  int reuse = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof reuse);
  if (::bind(listener, reinterpret_cast<sockaddr*>(&socket_address), sizeof socket_address) != 0) {
    arrow::Status status = SocketError("cannot listen", address);
    ::close(listener);
    return status;
  }
  if (::listen(listener, 16) != 0) {
    arrow::Status status = SocketError("listen", address);
    ::close(listener);
    return status;
  }
  socklen_t length = sizeof socket_address;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&socket_address), &length);
  std::unique_ptr<MetricsEndpoint> endpoint(
      new MetricsEndpoint(listener, ntohs(socket_address.sin_port), std::move(render)));
  endpoint->thread_ = std::thread([raw = endpoint.get()] { raw->Serve(); });
  return endpoint;
}

MetricsEndpoint::MetricsEndpoint(int listener, int port, Render render)
    : listener_(listener), port_(port), render_(std::move(render)) {}

MetricsEndpoint::~MetricsEndpoint() { Stop(); }

void MetricsEndpoint::Stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  if (listener_ >= 0) {
    ::close(listener_);
    listener_ = -1;
  }
}

void MetricsEndpoint::Serve() {
  while (!stopping_) {
    pollfd waiting{listener_, POLLIN, 0};
    if (::poll(&waiting, 1, kAcceptPollMs) <= 0) continue;
    int connection = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (connection < 0) continue;
    Answer(connection);
    ::close(connection);
  }
}

void MetricsEndpoint::Answer(int connection) {
  std::string request;
  char buffer[1024];
  // Only the request line matters; headers are read until the blank line so the client is not
  // reset while still sending them.
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < kMaxRequestBytes) {
    pollfd readable{connection, POLLIN, 0};
    if (::poll(&readable, 1, kRequestTimeoutMs) <= 0) return;
    ssize_t received = ::recv(connection, buffer, sizeof buffer, 0);
    if (received <= 0) break;
    request.append(buffer, static_cast<size_t>(received));
  }
  std::string_view line(request);
  line = line.substr(0, line.find("\r\n"));
  if (!line.starts_with("GET ") && !line.starts_with("HEAD ")) {
    SendAll(connection, Response("405 Method Not Allowed", "text/plain", "use GET /metrics\n"));
    return;
  }
  std::string_view target = line.substr(line.find(' ') + 1);
  target = target.substr(0, target.find(' '));
  if (target != "/metrics" && !target.starts_with("/metrics?")) {
    SendAll(connection, Response("404 Not Found", "text/plain", "only /metrics is served\n"));
    return;
  }
  std::string response = Response("200 OK", "text/plain; version=0.0.4; charset=utf-8", render_());
  if (line.starts_with("HEAD ")) response.resize(response.find("\r\n\r\n") + 4);
  SendAll(connection, response);
}

}  // namespace nlk::cli
