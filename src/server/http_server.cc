#include "server/http_server.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <atomic>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "server/api_error.h"
#include "server/tls.h"
#include "server/worker_pool.h"

namespace nlk::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

// Extra time a worker waits for the I/O threads beyond the write timeout itself, so a stopped
// I/O loop cannot block a worker forever.
constexpr std::chrono::seconds kWriteGrace{2};

// Stream bytes a connection holds back to send with the next (see BeginStream).
constexpr size_t kHeldResponseBytes = 64 * 1024;

// `headers`: more header lines, each ending in CRLF (the AccessGate's CORS headers).
std::string ResponseHead(int status, std::string_view content_type, bool keep_alive,
                         std::string_view headers = {}) {
  std::string head = "HTTP/1.1 ";
  head += StatusLine(status);
  head += "\r\nServer: nlk\r\nContent-Type: ";
  head += content_type;
  head += keep_alive ? "\r\nConnection: keep-alive" : "\r\nConnection: close";
  if (status == 503 || status == 429) head += "\r\nRetry-After: 1";
  head += "\r\n";
  head += headers;
  return head;
}

std::string ErrorResponse(int status, const std::string& code, const std::string& message) {
  std::string body = ErrorJson(ApiError{status, code, message});
  return ResponseHead(status, "application/json", false) +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

}  // namespace

class HttpServer::Impl : public std::enable_shared_from_this<HttpServer::Impl> {
 public:
  Impl(const ServerLimits& limits, RequestHandler handler, ImmediateHandler immediate,
       HttpServerObserver observer, std::shared_ptr<const AccessGate> gate,
       std::shared_ptr<TlsContext> tls)
      : limits_(limits),
        handler_(std::move(handler)),
        immediate_(std::move(immediate)),
        observer_(std::move(observer)),
        gate_(std::move(gate)),
        tls_(std::move(tls)),
        io_context_(limits.io_threads),
        work_guard_(net::make_work_guard(io_context_)),
        acceptor_(io_context_),
        retry_timer_(io_context_),
        pool_(WorkerThreads(limits), limits.max_queued_requests, limits.max_waiting_responses) {}

  static int WorkerThreads(const ServerLimits& limits) {
    if (limits.worker_threads > 0) return limits.worker_threads;
    return std::max(kMinWorkerThreads,
                    kWorkerThreadsPerCore * static_cast<int>(std::thread::hardware_concurrency()));
  }

  arrow::Status Listen(const std::string& address) {
    size_t colon = address.rfind(':');
    if (colon == std::string::npos) {
      return arrow::Status::Invalid("address '", address, "' must be HOST:PORT");
    }
    std::string host = address.substr(0, colon);
    if (host == "localhost") host = "127.0.0.1";
    int port = -1;
    std::string_view digits = std::string_view(address).substr(colon + 1);
    auto [end, parse_error] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (parse_error != std::errc() || end != digits.data() + digits.size() || port < 0 ||
        port > 65535) {
      return arrow::Status::Invalid("address '", address, "': '", digits, "' is not a port");
    }
    beast::error_code error;
    auto ip = net::ip::make_address(host, error);
    if (error) return arrow::Status::Invalid("address '", address, "': bad IP address ", host);
    tcp::endpoint endpoint(ip, static_cast<uint16_t>(port));
    acceptor_.open(endpoint.protocol(), error);
    if (!error) acceptor_.set_option(net::socket_base::reuse_address(true), error);
    if (!error) acceptor_.bind(endpoint, error);
    if (!error) acceptor_.listen(net::socket_base::max_listen_connections, error);
    if (error) {
      return arrow::Status::IOError("cannot listen on ", address, ": ", error.message());
    }
    port_ = acceptor_.local_endpoint().port();
    return arrow::Status::OK();
  }

  void Run() {
    Accept();
    for (int i = 0; i < limits_.io_threads; ++i) {
      io_threads_.emplace_back([this] { io_context_.run(); });
    }
  }

  void Stop() {
    if (stopped_.exchange(true)) return;
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ignored;
      self->acceptor_.close(ignored);
    });
    // Workers finish their requests while the I/O threads still carry their writes.
    pool_.Stop();
    work_guard_.reset();
    io_context_.stop();
    for (auto& thread : io_threads_) {
      if (thread.joinable()) thread.join();
    }
    io_threads_.clear();
  }

  void Reject(const std::string& reason, int status) {
    if (observer_.on_rejected) observer_.on_rejected(reason, status);
  }

  // Counts a connection from `address`; false when that address already had its limit (the
  // connection counts until it is closed either way).
  bool AddConnectionFrom(const std::string& address) {
    std::lock_guard<std::mutex> lock(addresses_mutex_);
    int count = ++connections_by_address_[address];
    return limits_.max_connections_per_address == 0 || count <= limits_.max_connections_per_address;
  }

  void RemoveConnectionFrom(const std::string& address) {
    std::lock_guard<std::mutex> lock(addresses_mutex_);
    auto found = connections_by_address_.find(address);
    if (found != connections_by_address_.end() && --found->second == 0) {
      connections_by_address_.erase(found);
    }
  }

  void Accept();
  template <class Stream>
  void Serve(tcp::socket socket, std::string address, bool address_within_limit);

  const ServerLimits limits_;
  const RequestHandler handler_;
  const ImmediateHandler immediate_;
  const HttpServerObserver observer_;
  const std::shared_ptr<const AccessGate> gate_;
  const std::shared_ptr<TlsContext> tls_;  // null: plain HTTP
  net::io_context io_context_;
  // Keeps the I/O threads running while no socket operation is pending (between the acceptor
  // closing and the workers' last writes at shutdown), so a worker never waits on a dead loop.
  net::executor_work_guard<net::io_context::executor_type> work_guard_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_timer_;
  WorkerPool pool_;
  std::vector<std::thread> io_threads_;
  std::atomic<int> open_connections_{0};
  std::mutex addresses_mutex_;
  std::unordered_map<std::string, int> connections_by_address_;
  std::atomic<bool> stopped_{false};
  int port_ = 0;
};

namespace {

// One client connection. Reading requests and writing responses happen on the connection's
// strand; a handler on a worker hands its bytes over with Hand() and tells the strand when it
// is done, and the strand sends the bytes in order, reports the outcome and reads the next
// request (or closes). `Stream` is PlainStream or TlsStream.
template <class Stream>
class Connection : public std::enable_shared_from_this<Connection<Stream>>, public ResponseWriter {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  Connection(tcp::socket socket, std::shared_ptr<HttpServer::Impl> server, std::string address)
      : tls_context_(kTls ? server->tls_->Current() : nullptr),
        stream_(MakeStream(std::move(socket), tls_context_)),
        server_(std::move(server)),
        address_(std::move(address)),
        request_timer_(stream_.get_executor()) {
    ++server_->open_connections_;
  }
  ~Connection() override {
    --server_->open_connections_;
    server_->RemoveConnectionFrom(address_);
  }

  void Start() {
    if constexpr (kTls) {
      Handshake();
    } else {
      Begin();
    }
  }

  // Called on the connection's strand when the server refuses it outright (over TLS, once the
  // handshake is done, so the client can read why).
  void RefuseAndClose(int status, const std::string& code, const std::string& message) {
    refusal_ = ErrorResponse(status, code, message);
    Start();
  }

  arrow::Status Send(int status, std::string_view content_type, std::string body) override {
    started_ = true;
    std::string response = ResponseHead(status, content_type, keep_alive_, headers_) +
                           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    response += body;
    completed_ = true;
    return Hand(std::move(response), false);
  }

  // A stream's head and small chunks are held on the worker and handed over together, so a
  // small response leaves in one write (one TLS record, one system call) instead of three.
  arrow::Status BeginStream(int status, std::string_view content_type) override {
    started_ = true;
    held_ = ResponseHead(status, content_type, keep_alive_, headers_) +
            "Transfer-Encoding: chunked\r\n\r\n";
    return arrow::Status::OK();
  }

  arrow::Status SendChunk(std::string data) override {
    if (data.empty()) return arrow::Status::OK();
    char size[32];
    auto [end, error] = std::to_chars(size, size + sizeof size, data.size(), 16);
    (void)error;  // a size_t always fits 32 hex digits
    std::string chunk(size, end);
    chunk += "\r\n";
    chunk += data;
    chunk += "\r\n";
    if (held_.size() + chunk.size() <= kHeldResponseBytes) {
      held_ += chunk;
      return arrow::Status::OK();
    }
    // The held bytes go now; this chunk waits for the next, so the client is at most one
    // chunk behind the handler.
    std::string out = std::exchange(held_, std::move(chunk));
    return out.empty() ? arrow::Status::OK() : Hand(std::move(out), true);
  }

  arrow::Status EndStream() override {
    completed_ = true;
    held_ += "0\r\n\r\n";
    return Hand(std::exchange(held_, std::string()), false);
  }

  void Abort() override {
    aborted_ = true;
    HandHeld();
  }
  bool started() const override { return started_; }
  void OnFinished(std::function<void(ResponseOutcome)> callback) override {
    on_finished_ = std::move(callback);
  }

 private:
  using std::enable_shared_from_this<Connection<Stream>>::shared_from_this;

  static Stream MakeStream(tcp::socket socket, const std::shared_ptr<net::ssl::context>& context) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *context);
    } else {
      return Stream(std::move(socket));
    }
  }

  beast::tcp_stream& tcp_layer() { return beast::get_lowest_layer(stream_); }

  // TLS only: tells a TLS client from one speaking plain HTTP, then shakes hands, all within
  // header_timeout.
  void Handshake() {
    tcp_layer().expires_after(server_->limits_.header_timeout);
    beast::async_detect_ssl(
        tcp_layer(), buffer_, [self = shared_from_this()](beast::error_code error, bool is_tls) {
          if (error) return self->Close();
          if (!is_tls) return self->RefusePlainHttp();
          if constexpr (kTls) {
            self->stream_.async_handshake(
                net::ssl::stream_base::server, self->buffer_.data(),
                [self](beast::error_code error, size_t used) { self->OnHandshake(error, used); });
          }
        });
  }

  void OnHandshake(beast::error_code error, size_t used) {
    if (error) {
      server_->Reject("tls_handshake_failed", 400);
      return Close();
    }
    buffer_.consume(used);
    tcp_layer().expires_never();
    if constexpr (kTls) {
      if (server_->tls_->config().verifies_clients()) {
        certificate_identity_ = CertificateIdentity(stream_.native_handle());
      }
    }
    Begin();
  }

  // Once the connection can carry HTTP: the refusal, if the server refused it, or requests.
  void Begin() {
    if (!refusal_.empty()) return WriteAndClose(std::move(refusal_));
    ReadRequest();
  }

  // A plain HTTP request on the TLS port is told so in plain text, which every client can show.
  void RefusePlainHttp() {
    server_->Reject("plain_http_on_tls_port", 400);
    auto data = std::make_shared<std::string>(
        ErrorResponse(400, "tls_required", "this server speaks HTTPS only: use an https:// URL"));
    tcp_layer().expires_after(std::chrono::seconds(5));
    net::async_write(
        tcp_layer(), net::buffer(*data),
        [self = shared_from_this(), data](beast::error_code, size_t) { self->Close(); });
  }

  void ReadRequest() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(server_->limits_.max_header_bytes));
    parser_->body_limit(static_cast<uint64_t>(server_->limits_.max_body_bytes));
    // Our own timer rather than the stream's expiry: that one closes the socket, and a client
    // whose request is cut off by the timeout should still be told 408.
    timed_out_ = false;
    request_timer_.expires_after(first_request_ ? server_->limits_.header_timeout
                                                : server_->limits_.idle_timeout);
    request_timer_.async_wait([self = shared_from_this()](beast::error_code error) {
      if (error) return;  // cancelled: the request arrived in time
      self->timed_out_ = true;
      beast::error_code ignored;
      self->tcp_layer().socket().cancel(ignored);
    });
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code error, size_t) { self->OnRead(error); });
  }

  void OnRead(beast::error_code error) {
    request_timer_.cancel();
    if (timed_out_) error = beast::error::timeout;
    if (error) {
      if (error == http::error::end_of_stream || error == net::error::eof ||
          error == net::error::connection_reset || error == net::error::operation_aborted ||
          error == net::ssl::error::stream_truncated) {
        return Close();
      }
      if (error == beast::error::timeout) {
        // Silence on an idle kept-alive connection just ends it; a request that started but
        // did not finish in time is told so.
        if (buffer_.size() == 0 && !parser_->got_some()) return Close();
        server_->Reject("request_timeout", 408);
        return WriteAndClose(
            ErrorResponse(408, "request_timeout", "the request did not arrive completely in time"));
      }
      if (error == http::error::body_limit) {
        server_->Reject("body_too_large", 413);
        return WriteAndClose(ErrorResponse(
            413, "payload_too_large",
            "request body exceeds " + std::to_string(server_->limits_.max_body_bytes) + " bytes"));
      }
      if (error == http::error::header_limit) {
        server_->Reject("header_too_large", 431);
        return WriteAndClose(ErrorResponse(431, "header_too_large",
                                           "request headers exceed " +
                                               std::to_string(server_->limits_.max_header_bytes) +
                                               " bytes"));
      }
      server_->Reject("malformed_request", 400);
      return WriteAndClose(
          ErrorResponse(400, "bad_request", "malformed HTTP request: " + error.message()));
    }
    first_request_ = false;
    tcp_layer().expires_never();
    auto& message = parser_->get();
    HttpRequest request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    request.accept = std::string(message[http::field::accept]);
    request.body = std::move(message.body());
    request.client_address = address_;
    keep_alive_ = message.keep_alive();
    started_ = completed_ = aborted_ = false;
    on_finished_ = nullptr;
    headers_.clear();
    if (server_->gate_) {
      std::string_view path = std::string_view(request.target).substr(0, request.target.find('?'));
      auto header = [&message](http::field field) {
        auto value = message[field];
        return std::string_view(value.data(), value.size());
      };
      GateDecision decision =
          server_->gate_->Decide({request.method, path, header(http::field::host),
                                  header(http::field::origin), header(http::field::authorization),
                                  certificate_identity_ ? &*certificate_identity_ : nullptr});
      headers_ = std::move(decision.headers);
      if (decision.status) {
        std::string body;
        if (!decision.error_code.empty()) {
          server_->Reject(decision.error_code, *decision.status);
          body = ErrorJson(ApiError{*decision.status, decision.error_code, decision.message});
        }
        (void)Send(*decision.status, "application/json", std::move(body));
        net::post(stream_.get_executor(), [self = shared_from_this()] { self->HandlerDone(); });
        return;
      }
      request.identity = std::move(decision.identity);
    }
    if (server_->immediate_) {
      if (std::optional<HttpResponse> response = server_->immediate_(request)) {
        (void)Send(response->status, response->content_type, std::move(response->body));
        // Posted after the bytes Send handed over, so they are queued first.
        net::post(stream_.get_executor(), [self = shared_from_this()] { self->HandlerDone(); });
        return;
      }
    }
    auto self = shared_from_this();
    bool accepted = server_->pool_.TrySubmit(
        [self, request = std::move(request)]() mutable { self->Handle(request); });
    if (!accepted) {
      server_->Reject("overloaded", 503);
      WriteAndClose(ErrorResponse(503, "overloaded",
                                  "the server is at its concurrent query limit; retry shortly"));
    }
  }

  // On a worker thread.
  void Handle(const HttpRequest& request) {
    server_->handler_(request, *this);
    HandHeld();  // a handler that returned mid-stream: the client gets what it was sent
    if (!started_ && !ClientGone()) {
      (void)Send(500, "application/json",
                 ErrorJson(ApiError{500, "internal_error", "the request was not answered"}));
    }
    net::post(stream_.get_executor(), [self = shared_from_this()] { self->HandlerDone(); });
  }

  // On the worker: hands over what the stream holds, if anything.
  void HandHeld() {
    if (!held_.empty()) (void)Hand(std::exchange(held_, std::string()), false);
  }

  bool ClientGone() {
    std::lock_guard<std::mutex> lock(mutex_);
    return client_gone_;
  }

  // On a worker (or the strand, for immediate answers): queues `bytes` for the strand to send.
  // With `may_wait`, and more than kMaxUnsentResponseBytes not yet taken by the client, waits
  // until the client takes enough, outside the worker's place in the pool.
  arrow::Status Hand(std::string bytes, bool may_wait) {
    auto data = std::make_shared<std::string>(std::move(bytes));
    bool wait = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (client_gone_) return arrow::Status::IOError("the client connection is closed");
      unsent_ += data->size();
      wait = may_wait && unsent_ > kMaxUnsentResponseBytes;
    }
    net::post(stream_.get_executor(), [self = shared_from_this(), data] { self->Queue(data); });
    if (!wait) return arrow::Status::OK();
    bool taken = false;
    server_->pool_.WaitOutside([&] {
      std::unique_lock<std::mutex> lock(mutex_);
      // A write the client does not take within write_timeout fails and ends the connection;
      // the grace only covers an I/O loop that stopped.
      taken = space_.wait_for(lock, server_->limits_.write_timeout + kWriteGrace, [this] {
        return unsent_ <= kMaxUnsentResponseBytes || client_gone_;
      });
    });
    std::lock_guard<std::mutex> lock(mutex_);
    if (!taken) client_gone_ = true;
    if (client_gone_) return arrow::Status::IOError("the client did not take the response");
    return arrow::Status::OK();
  }

  // On the strand.
  void Queue(std::shared_ptr<std::string> data) {
    if (closed_) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        unsent_ -= data->size();
      }
      space_.notify_all();
      return;
    }
    outgoing_.push_back(std::move(data));
    if (!writing_) WriteNext();
  }

  // On the strand: sends the next queued bytes, or, with none left and the handler done,
  // ends the response.
  void WriteNext() {
    if (outgoing_.empty()) {
      writing_ = false;
      if (handler_done_) FinishResponse();
      return;
    }
    writing_ = true;
    tcp_layer().expires_after(server_->limits_.write_timeout);
    net::async_write(
        stream_, net::buffer(*outgoing_.front()),
        [self = shared_from_this()](beast::error_code error, size_t) { self->OnWritten(error); });
  }

  void OnWritten(beast::error_code error) {
    size_t written = outgoing_.front()->size();
    outgoing_.pop_front();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      unsent_ -= written;
      if (error) client_gone_ = true;
    }
    space_.notify_all();
    if (error) {
      outgoing_.clear();
      Close();
    }
    WriteNext();
  }

  // On the strand, once the handler returned.
  void HandlerDone() {
    handler_done_ = true;
    if (!writing_) FinishResponse();
  }

  void FinishResponse() {
    handler_done_ = false;
    ResponseOutcome outcome = ClientGone()              ? ResponseOutcome::kClientGone
                              : aborted_ || !completed_ ? ResponseOutcome::kAborted
                                                        : ResponseOutcome::kDelivered;
    if (auto callback = std::move(on_finished_)) {
      on_finished_ = nullptr;
      callback(outcome);
    }
    if (outcome != ResponseOutcome::kDelivered || !keep_alive_ || closed_) return Close();
    ReadRequest();
  }

  // On the strand.
  void WriteAndClose(std::string response) {
    auto data = std::make_shared<std::string>(std::move(response));
    tcp_layer().expires_after(std::chrono::seconds(5));
    net::async_write(
        stream_, net::buffer(*data),
        [self = shared_from_this(), data](beast::error_code, size_t) { self->Close(); });
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    // Over TLS without close_notify: the responses are framed by HTTP, so a client cannot
    // mistake a truncation for the end, and a closing handshake would let a client hold the
    // connection open.
    beast::error_code ignored;
    tcp_layer().socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp_layer().close();
  }

  // Declared before stream_, which refers to it.
  std::shared_ptr<net::ssl::context> tls_context_;
  Stream stream_;
  std::optional<Identity> certificate_identity_;  // a verified client certificate's
  std::string refusal_;                           // sent instead of reading requests
  std::shared_ptr<HttpServer::Impl> server_;
  const std::string address_;
  std::string headers_;  // the AccessGate's header lines for the current request's response
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  net::steady_timer request_timer_;
  // Strand only.
  bool timed_out_ = false;
  bool first_request_ = true;
  bool closed_ = false;
  bool writing_ = false;
  bool handler_done_ = false;
  std::deque<std::shared_ptr<std::string>> outgoing_;
  // Per request; written by the strand before the worker starts and by the worker before it
  // tells the strand it is done.
  bool keep_alive_ = false;
  bool started_ = false;
  bool completed_ = false;
  bool aborted_ = false;
  std::string held_;  // the worker's: stream bytes not handed over yet (see BeginStream)
  std::function<void(ResponseOutcome)> on_finished_;
  // Shared by the worker and the strand.
  std::mutex mutex_;
  std::condition_variable space_;  // unsent_ went down, or the client is gone
  size_t unsent_ = 0;              // handed over, not yet written to the socket
  bool client_gone_ = false;
};

}  // namespace

void HttpServer::Impl::Accept() {
  acceptor_.async_accept(
      net::make_strand(io_context_),
      [self = shared_from_this()](beast::error_code error, tcp::socket socket) {
        if (self->stopped_) return;
        if (error) {
          // Out of file descriptors and the like: back off briefly instead of spinning.
          self->Reject("accept_failed", 503);
          self->retry_timer_.expires_after(std::chrono::milliseconds(50));
          self->retry_timer_.async_wait([self](beast::error_code) { self->Accept(); });
          return;
        }
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        beast::error_code address_error;
        tcp::endpoint remote = socket.remote_endpoint(address_error);
        std::string address = address_error ? std::string() : remote.address().to_string();
        bool address_within_limit = self->AddConnectionFrom(address);
        if (self->tls_) {
          self->Serve<TlsStream>(std::move(socket), std::move(address), address_within_limit);
        } else {
          self->Serve<PlainStream>(std::move(socket), std::move(address), address_within_limit);
        }
        self->Accept();
      });
}

template <class Stream>
void HttpServer::Impl::Serve(tcp::socket socket, std::string address, bool address_within_limit) {
  auto connection =
      std::make_shared<Connection<Stream>>(std::move(socket), shared_from_this(), address);
  if (open_connections_ > limits_.max_connections) {
    Reject("too_many_connections", 503);
    connection->RefuseAndClose(503, "overloaded", "too many open connections");
  } else if (!address_within_limit) {
    Reject("too_many_connections_per_address", 429);
    connection->RefuseAndClose(429, "too_many_connections",
                               "too many open connections from " + address +
                                   " (max_connections_per_address " +
                                   std::to_string(limits_.max_connections_per_address) + ")");
  } else {
    connection->Start();
  }
}

arrow::Result<std::unique_ptr<HttpServer>> HttpServer::Start(
    const std::string& address, const ServerLimits& limits, RequestHandler handler,
    ImmediateHandler immediate, HttpServerObserver observer, std::shared_ptr<const AccessGate> gate,
    std::shared_ptr<TlsContext> tls) {
  auto impl = std::make_shared<Impl>(limits, std::move(handler), std::move(immediate),
                                     std::move(observer), std::move(gate), std::move(tls));
  ARROW_RETURN_NOT_OK(impl->Listen(address));
  impl->Run();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::~HttpServer() { Stop(); }

int HttpServer::port() const { return impl_->port_; }
int HttpServer::open_connections() const { return impl_->open_connections_; }
int HttpServer::queued_requests() const { return impl_->pool_.queued(); }
int HttpServer::busy_workers() const { return impl_->pool_.busy(); }
int HttpServer::waiting_responses() const { return impl_->pool_.waiting(); }
int HttpServer::worker_threads() const { return impl_->pool_.threads(); }
void HttpServer::Stop() { impl_->Stop(); }

std::string_view StatusLine(int status) {
  switch (status) {
    case 200:
      return "200 OK";
    case 204:
      return "204 No Content";
    case 400:
      return "400 Bad Request";
    case 401:
      return "401 Unauthorized";
    case 403:
      return "403 Forbidden";
    case 404:
      return "404 Not Found";
    case 405:
      return "405 Method Not Allowed";
    case 406:
      return "406 Not Acceptable";
    case 408:
      return "408 Request Timeout";
    case 413:
      return "413 Payload Too Large";
    case 415:
      return "415 Unsupported Media Type";
    case 429:
      return "429 Too Many Requests";
    case 431:
      return "431 Request Header Fields Too Large";
    case 500:
      return "500 Internal Server Error";
    case 501:
      return "501 Not Implemented";
    case 502:
      return "502 Bad Gateway";
    case 503:
      return "503 Service Unavailable";
    case 504:
      return "504 Gateway Timeout";
    default:
      return "500 Internal Server Error";
  }
}

}  // namespace nlk::server
