#include "pgwire/pg_server.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "pgwire/sql_state.h"
#include "pgwire/value_format.h"
#include "pgwire/wire_format.h"

namespace nlk::pgwire {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

namespace {

// PostgreSQL's own bound on a startup packet (MAX_STARTUP_PACKET_LENGTH).
constexpr size_t kMaxStartupPacket = 10'000;
// SSL and GSS encryption requests answered before a client must send its startup packet.
constexpr int kMaxEncryptionRequests = 2;
// Extra time a worker waits for the I/O threads beyond the write timeout itself.
constexpr std::chrono::seconds kWriteGrace{2};
constexpr size_t kReadChunk = 64 << 10;
// How long Stop waits for the connections to close (a goodbye written, sockets shut), and how
// often it looks.
constexpr std::chrono::seconds kCloseGrace{5};
constexpr std::chrono::milliseconds kClosePoll{10};

std::string FatalMessage(const std::string& code, const std::string& message) {
  ErrorFields error;
  error.severity = "FATAL";
  error.code = code;
  error.message = message;
  std::string out;
  AppendErrorResponse(error, &out);
  return out;
}

}  // namespace

class Connection;

class PgServer::Impl : public std::enable_shared_from_this<PgServer::Impl> {
 public:
  explicit Impl(PgServerOptions options)
      : options_(std::move(options)),
        io_context_(options_.io_threads),
        work_guard_(net::make_work_guard(io_context_)),
        acceptor_(io_context_),
        retry_timer_(io_context_),
        random_(std::random_device{}()),
        next_process_id_(std::uniform_int_distribution<int32_t>(1000, 1 << 20)(random_)) {}

  arrow::Status Listen() {
    const std::string& address = options_.address;
    size_t colon = address.rfind(':');
    if (colon == std::string::npos) {
      return arrow::Status::Invalid("postgres address '", address, "' must be HOST:PORT");
    }
    std::string host = address.substr(0, colon);
    if (host == "localhost") host = "127.0.0.1";
    int port = -1;
    std::string_view digits = std::string_view(address).substr(colon + 1);
    auto [end, parse_error] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (parse_error != std::errc() || end != digits.data() + digits.size() || port < 0 ||
        port > 65535) {
      return arrow::Status::Invalid("postgres address '", address, "': '", digits,
                                    "' is not a port");
    }
    error_code error;
    auto ip = net::ip::make_address(host, error);
    if (error) {
      return arrow::Status::Invalid("postgres address '", address, "': bad IP address ", host);
    }
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
    for (int i = 0; i < options_.io_threads; ++i) {
      io_threads_.emplace_back([this] { io_context_.run(); });
    }
  }

  void Accept();
  void Stop();

  // A session's key for CancelRequest.
  std::pair<int32_t, int32_t> Register(const std::shared_ptr<Connection>& connection);
  void Forget(int32_t process_id);
  void Cancel(int32_t process_id, int32_t secret_key);

  // Runs `task` on a worker, counted so Stop can wait for it.
  bool Submit(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(jobs_mutex_);
      if (stopped_) return false;
      ++jobs_;
    }
    auto self = shared_from_this();
    bool accepted = options_.run_on_worker([self, task = std::move(task)] {
      task();
      self->JobDone();
    });
    if (!accepted) JobDone();
    return accepted;
  }

  void JobDone() {
    std::lock_guard<std::mutex> lock(jobs_mutex_);
    if (--jobs_ == 0) jobs_done_.notify_all();
  }

  const PgServerOptions options_;
  net::io_context io_context_;
  net::executor_work_guard<net::io_context::executor_type> work_guard_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_timer_;
  std::vector<std::thread> io_threads_;
  std::atomic<int> open_connections_{0};
  bool stopped_ = false;  // guarded by jobs_mutex_
  int port_ = 0;

  std::mutex connections_mutex_;
  std::mt19937 random_;
  int32_t next_process_id_;
  std::map<int32_t, std::pair<int32_t, std::weak_ptr<Connection>>> connections_;

  std::mutex jobs_mutex_;
  std::condition_variable jobs_done_;
  int jobs_ = 0;
};

class Connection : public std::enable_shared_from_this<Connection>, public Transport {
 public:
  Connection(tcp::socket socket, std::shared_ptr<PgServer::Impl> server)
      : socket_(std::move(socket)),
        server_(std::move(server)),
        read_timer_(socket_.get_executor()),
        write_timer_(socket_.get_executor()) {
    ++server_->open_connections_;
  }
  ~Connection() override { --server_->open_connections_; }

  void Start() {
    auto [process_id, secret_key] = server_->Register(shared_from_this());
    process_id_ = process_id;
    session_ = std::make_unique<Session>(server_->options_.tables, server_->options_.query_limits,
                                         this, process_id, secret_key);
    if (server_->options_.password_check) {
      session_->set_password_check(server_->options_.password_check);
      session_->set_tables_for_login(server_->options_.tables_for_login);
    }
    if (server_->options_.query_observer) {
      boost::system::error_code error;
      auto peer = socket_.remote_endpoint(error);
      if (!error) session_->set_client_address(peer.address().to_string());
      session_->set_query_observer(server_->options_.query_observer);
    }
    if (server_->options_.query_admission) {
      session_->set_query_admission(server_->options_.query_admission);
    }
    ArmReadTimer();
    Read();
  }

  void Refuse(const std::string& code, const std::string& message) {
    WriteAndClose(FatalMessage(code, message));
  }

  // From any thread: stop the running query and end the connection (server shutdown). A session
  // waiting for its next message is told why, as PostgreSQL tells it.
  void Shutdown() {
    if (session_) session_->Cancel();
    net::post(socket_.get_executor(), [self = shared_from_this()] {
      if (self->closed_) return;
      // A worker still on this session (its query cancelled above) may already have sent its
      // last reply; the goodbye follows once it is done.
      if (self->working_) {
        self->shutting_down_ = true;
        return;
      }
      self->SayGoodbye();
    });
  }

  void SayGoodbye() {
    WriteAndClose(FatalMessage(sqlstate::kAdminShutdown,
                               "terminating connection due to administrator command"));
  }

  void CancelQuery() {
    if (session_) session_->Cancel();
  }

  // Transport, on a worker thread: hands the bytes to the I/O thread and waits until they are
  // written, the client fails, or the write timeout passes.
  arrow::Status Write(std::string_view bytes) override {
    if (broken_) return arrow::Status::IOError("connection closed");
    auto data = std::make_shared<std::string>(bytes);
    auto done = std::make_shared<std::promise<error_code>>();
    std::future<error_code> result = done->get_future();
    const auto timeout = server_->options_.write_timeout;
    net::post(socket_.get_executor(), [self = shared_from_this(), data, done, timeout] {
      self->write_timer_.expires_after(timeout);
      self->write_timer_.async_wait([self](error_code error) {
        if (error) return;  // cancelled: the write finished in time
        error_code ignored;
        self->socket_.cancel(ignored);
      });
      self->AsyncWrite(data, [self, data, done](error_code error, size_t) {
        self->write_timer_.cancel();
        done->set_value(error);
      });
    });
    if (result.wait_for(timeout + kWriteGrace) != std::future_status::ready) {
      broken_ = true;
      return arrow::Status::IOError("writing to the client timed out");
    }
    error_code error = result.get();
    if (error) {
      broken_ = true;
      return arrow::Status::IOError("client connection failed: ", error.message());
    }
    return arrow::Status::OK();
  }

 private:
  // Writes all of `data` to the client, through TLS once it is on.
  template <class Handler>
  void AsyncWrite(const std::shared_ptr<std::string>& data, Handler&& handler) {
    if (tls_) {
      net::async_write(*tls_, net::buffer(*data), std::forward<Handler>(handler));
    } else {
      net::async_write(socket_, net::buffer(*data), std::forward<Handler>(handler));
    }
  }

  // Until a message is complete it must arrive within header_timeout: the startup packet, and
  // any message that has begun. Between messages a session may stay idle.
  void ArmReadTimer() {
    read_timer_.expires_after(server_->options_.header_timeout);
    read_timer_.async_wait([self = shared_from_this()](error_code error) {
      if (error) return;  // cancelled: the message arrived
      self->Close();
    });
  }

  void Read() {
    if (closed_) return;
    auto on_read = [self = shared_from_this()](error_code error, size_t length) {
      if (error) return self->Close();
      self->buffer_.append(self->chunk_.data(), length);
      self->Process();
    };
    if (tls_) {
      tls_->async_read_some(net::buffer(chunk_), std::move(on_read));
    } else {
      socket_.async_read_some(net::buffer(chunk_), std::move(on_read));
    }
  }

  // Answers an SSLRequest: 'S' and a TLS handshake when TLS is configured, 'N' otherwise.
  void AnswerSslRequest() {
    if (tls_) return Refuse(sqlstate::kProtocolViolation, "SSL request over TLS");
    const bool tls = static_cast<bool>(server_->options_.tls_context);
    // Bytes sent after the request but before the answer would be taken as if they had come
    // through TLS: a client must wait for the answer.
    if (tls && !buffer_.empty()) {
      return Refuse(sqlstate::kProtocolViolation, "received unencrypted data after SSL request");
    }
    auto reply = std::make_shared<std::string>(tls ? "S" : "N");
    net::async_write(socket_, net::buffer(*reply),
                     [self = shared_from_this(), reply, tls](error_code error, size_t) {
                       if (error) return self->Close();
                       if (!tls) return self->Process();
                       self->StartTls();
                     });
  }

  // The handshake must finish within the startup's header_timeout (the read timer still runs).
  void StartTls() {
    tls_context_ = server_->options_.tls_context();
    tls_ = std::make_unique<net::ssl::stream<tcp::socket&>>(socket_, *tls_context_);
    tls_->async_handshake(
        net::ssl::stream_base::server, [self = shared_from_this()](error_code error) {
          if (error) return self->Close();
          if (self->server_->options_.certificate_user) {
            self->session_->set_certificate_user(
                self->server_->options_.certificate_user(self->tls_->native_handle()));
          }
          if (self->server_->options_.tables_for_certificate) {
            self->session_->set_certificate_tables(
                self->server_->options_.tables_for_certificate(self->tls_->native_handle()));
          }
          self->Process();
        });
  }

  // On the strand: frames what has arrived and hands complete messages to a worker.
  void Process() {
    if (closed_) return;
    if (!started_) return ProcessStartup();
    std::vector<std::pair<char, std::string>> messages;
    size_t position = 0;
    while (buffer_.size() - position >= 5) {
      const char type = buffer_[position];
      const int32_t length = ReadInt32(std::string_view(buffer_).substr(position + 1));
      const int64_t body = static_cast<int64_t>(length) - 4;
      if (length < 4 || body > server_->options_.max_message_bytes) {
        buffer_.clear();
        return Refuse(sqlstate::kProtocolViolation,
                      length < 4
                          ? "invalid message length"
                          : "message of " + std::to_string(body) + " bytes exceeds the limit of " +
                                std::to_string(server_->options_.max_message_bytes) +
                                " bytes (max_body_bytes)");
      }
      if (buffer_.size() - position < static_cast<size_t>(5 + body)) break;
      messages.emplace_back(type, buffer_.substr(position + 5, static_cast<size_t>(body)));
      position += static_cast<size_t>(5 + body);
    }
    buffer_.erase(0, position);
    if (messages.empty()) {
      if (buffer_.empty()) {
        read_timer_.cancel();
      } else if (!message_started_) {
        ArmReadTimer();
      }
      message_started_ = !buffer_.empty();
      return Read();
    }
    read_timer_.cancel();
    message_started_ = false;
    working_ = true;
    auto self = shared_from_this();
    bool accepted = server_->Submit([self, messages = std::move(messages)] {
      bool close = false;
      for (const auto& [type, body] : messages) {
        if (self->session_->HandleMessage(type, body) == Session::Next::kClose) {
          close = true;
          break;
        }
      }
      if (!close && !self->session_->Flush()) close = true;
      net::post(self->socket_.get_executor(), [self, close] {
        self->working_ = false;
        if (close) return self->Close();
        if (self->shutting_down_) return self->SayGoodbye();
        if (!self->buffer_.empty()) self->ArmReadTimer();
        self->message_started_ = !self->buffer_.empty();
        self->Process();
      });
    });
    if (!accepted) Close();
  }

  void ProcessStartup() {
    if (buffer_.size() < 4) return Read();
    const int32_t length = ReadInt32(buffer_);
    if (length < 8 || static_cast<size_t>(length) > kMaxStartupPacket) {
      buffer_.clear();
      return Refuse(sqlstate::kProtocolViolation, "invalid length of startup packet");
    }
    if (buffer_.size() < static_cast<size_t>(length)) return Read();
    std::string packet = buffer_.substr(4, static_cast<size_t>(length) - 4);
    buffer_.erase(0, static_cast<size_t>(length));
    const int32_t code = ReadInt32(packet);
    if (code == kSslRequestCode || code == kGssEncryptionRequestCode) {
      if (++encryption_requests_ > kMaxEncryptionRequests) {
        return Refuse(sqlstate::kProtocolViolation, "too many encryption requests");
      }
      if (code == kSslRequestCode) return AnswerSslRequest();
      // No GSS encryption: 'N' tells the client to go on (with an SSLRequest, if it wants TLS).
      auto reply = std::make_shared<std::string>("N");
      AsyncWrite(reply, [self = shared_from_this(), reply](error_code error, size_t) {
        if (error) return self->Close();
        self->Process();
      });
      return;
    }
    if (code == kCancelRequestCode) {
      if (packet.size() == 12) {
        server_->Cancel(ReadInt32(std::string_view(packet).substr(4)),
                        ReadInt32(std::string_view(packet).substr(8)));
      }
      return Close();
    }
    if (server_->options_.tls_context && !tls_) {
      return Refuse(sqlstate::kInvalidAuthorization,
                    "this server requires TLS: connect with sslmode=require or stronger");
    }
    started_ = true;
    read_timer_.cancel();
    working_ = true;
    auto self = shared_from_this();
    bool accepted = server_->Submit([self, packet = std::move(packet)] {
      bool close = self->session_->HandleStartup(packet) == Session::Next::kClose;
      net::post(self->socket_.get_executor(), [self, close] {
        self->working_ = false;
        if (close) return self->Close();
        if (self->shutting_down_) return self->SayGoodbye();
        self->Process();
      });
    });
    if (!accepted) Close();
  }

  void WriteAndClose(std::string bytes) {
    auto data = std::make_shared<std::string>(std::move(bytes));
    write_timer_.expires_after(std::chrono::seconds(5));
    write_timer_.async_wait([self = shared_from_this()](error_code error) {
      if (!error) self->Close();
    });
    AsyncWrite(data, [self = shared_from_this(), data](error_code, size_t) { self->Close(); });
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    broken_ = true;
    read_timer_.cancel();
    write_timer_.cancel();
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    server_->Forget(process_id_);
  }

  tcp::socket socket_;
  // Once the client asked for TLS and the handshake began: the context it uses, and the TLS
  // stream over socket_ that every read and write then goes through.
  std::shared_ptr<net::ssl::context> tls_context_;
  std::unique_ptr<net::ssl::stream<tcp::socket&>> tls_;
  std::shared_ptr<PgServer::Impl> server_;
  std::unique_ptr<Session> session_;
  int32_t process_id_ = 0;
  std::array<char, kReadChunk> chunk_{};
  std::string buffer_;
  net::steady_timer read_timer_;
  net::steady_timer write_timer_;
  bool started_ = false;
  bool message_started_ = false;
  bool working_ = false;        // a worker is running this session's messages (strand only)
  bool shutting_down_ = false;  // the server stops: say goodbye once the worker is done
  bool closed_ = false;
  int encryption_requests_ = 0;
  std::atomic<bool> broken_{false};
};

std::pair<int32_t, int32_t> PgServer::Impl::Register(
    const std::shared_ptr<Connection>& connection) {
  std::lock_guard<std::mutex> lock(connections_mutex_);
  int32_t process_id = next_process_id_++;
  if (next_process_id_ <= 0) next_process_id_ = 1;
  // The secret is what keeps other clients from cancelling this session's queries.
  std::random_device entropy;
  auto secret = static_cast<int32_t>(entropy());
  connections_[process_id] = {secret, connection};
  return {process_id, secret};
}

void PgServer::Impl::Forget(int32_t process_id) {
  std::lock_guard<std::mutex> lock(connections_mutex_);
  connections_.erase(process_id);
}

void PgServer::Impl::Cancel(int32_t process_id, int32_t secret_key) {
  std::shared_ptr<Connection> connection;
  {
    std::lock_guard<std::mutex> lock(connections_mutex_);
    auto found = connections_.find(process_id);
    if (found == connections_.end() || found->second.first != secret_key) return;
    connection = found->second.second.lock();
  }
  if (connection) connection->CancelQuery();
}

void PgServer::Impl::Accept() {
  acceptor_.async_accept(net::make_strand(io_context_), [self = shared_from_this()](
                                                            error_code error, tcp::socket socket) {
    {
      std::lock_guard<std::mutex> lock(self->jobs_mutex_);
      if (self->stopped_) return;
    }
    if (error) {
      // Out of file descriptors and the like: back off briefly instead of spinning.
      self->retry_timer_.expires_after(std::chrono::milliseconds(50));
      self->retry_timer_.async_wait([self](error_code) { self->Accept(); });
      return;
    }
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto connection = std::make_shared<Connection>(std::move(socket), self);
    if (self->open_connections_ > self->options_.max_connections) {
      connection->Refuse(sqlstate::kTooManyConnections, "sorry, too many clients already");
    } else {
      connection->Start();
    }
    self->Accept();
  });
}

void PgServer::Impl::Stop() {
  {
    std::lock_guard<std::mutex> lock(jobs_mutex_);
    if (stopped_) return;
    stopped_ = true;
  }
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    error_code ignored;
    self->acceptor_.close(ignored);
    self->retry_timer_.cancel();
  });
  std::vector<std::shared_ptr<Connection>> open;
  {
    std::lock_guard<std::mutex> lock(connections_mutex_);
    for (auto& [process_id, entry] : connections_) {
      if (auto connection = entry.second.lock()) open.push_back(std::move(connection));
    }
  }
  for (const auto& connection : open) connection->Shutdown();
  open.clear();
  // Workers finish their messages (their queries are cancelled, their sockets closed) while
  // the I/O threads still carry their writes.
  {
    std::unique_lock<std::mutex> lock(jobs_mutex_);
    jobs_done_.wait(lock, [this] { return jobs_ == 0; });
  }
  // The I/O threads deliver the goodbyes to idle sessions and close every socket; each
  // connection ends once its last handler has run.
  const auto deadline = std::chrono::steady_clock::now() + kCloseGrace;
  while (open_connections_ > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(kClosePoll);
  }
  work_guard_.reset();
  io_context_.stop();
  for (auto& thread : io_threads_) {
    if (thread.joinable()) thread.join();
  }
  io_threads_.clear();
}

arrow::Result<std::unique_ptr<PgServer>> PgServer::Start(PgServerOptions options) {
  if (!options.run_on_worker) return arrow::Status::Invalid("a postgres listener needs workers");
  auto impl = std::make_shared<Impl>(std::move(options));
  ARROW_RETURN_NOT_OK(impl->Listen());
  impl->Run();
  return std::unique_ptr<PgServer>(new PgServer(std::move(impl)));
}

PgServer::~PgServer() { Stop(); }

int PgServer::port() const { return impl_->port_; }
void PgServer::Stop() { impl_->Stop(); }

}  // namespace nlk::pgwire
