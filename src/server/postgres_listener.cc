#include "server/postgres_listener.h"

#include "pgwire/pg_server.h"
#include "server/server_table_provider.h"
#include "server/tls.h"
#include "server/worker_pool.h"

namespace nlk::server {

class PostgresListener::Impl {
 public:
  std::unique_ptr<WorkerPool> workers;
  std::unique_ptr<pgwire::PgServer> server;
};

PostgresListener::PostgresListener(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

PostgresListener::~PostgresListener() { Stop(); }

arrow::Result<std::unique_ptr<PostgresListener>> PostgresListener::Start(
    const ServerConfig& config, const TableRegistry& registry,
    std::shared_ptr<const AccessGate> gate, std::shared_ptr<TlsContext> tls, int worker_threads) {
  auto impl = std::make_unique<Impl>();
  // Each connection has at most one task queued, so the queue holds one per connection. Results
  // go to the client from the listener's I/O threads, so no task waits outside its place.
  impl->workers = std::make_unique<WorkerPool>(worker_threads, config.limits.max_connections,
                                               /*max_waiting=*/0);
  pgwire::PgServerOptions options;
  options.address = config.postgres_address;
  options.tables = std::make_shared<ServerTableProvider>(registry);
  options.query_limits.max_rows = config.limits.max_result_rows;
  options.query_limits.max_bytes = config.limits.max_result_bytes;
  options.query_limits.timeout = config.limits.query_timeout;
  options.query_limits.max_memory_bytes = config.limits.max_query_memory_bytes;
  options.max_connections = config.limits.max_connections;
  options.max_message_bytes = config.limits.max_body_bytes;
  options.header_timeout = config.limits.header_timeout;
  options.write_timeout = config.limits.write_timeout;
  options.io_threads = config.limits.io_threads;
  WorkerPool* workers = impl->workers.get();
  options.run_on_worker = [workers](std::function<void()> task) {
    return workers->TrySubmit(std::move(task));
  };
  if (gate && gate->authenticates()) {
    options.password_check = [gate](const std::string& user, const std::string& password) {
      std::optional<Identity> identity = gate->Authenticate(password);
      return identity && identity->principal == user;
    };
  }
  if (tls) {
    options.tls_context = [tls] { return tls->Current(); };
    if (tls->config().verifies_clients()) {
      options.certificate_user = [](SSL* ssl) {
        std::optional<Identity> identity = CertificateIdentity(ssl);
        return identity ? identity->principal : std::string();
      };
    }
  }
  ARROW_ASSIGN_OR_RAISE(impl->server, pgwire::PgServer::Start(std::move(options)));
  return std::unique_ptr<PostgresListener>(new PostgresListener(std::move(impl)));
}

int PostgresListener::port() const { return impl_->server ? impl_->server->port() : 0; }

void PostgresListener::Stop() {
  // The listener waits for its sessions' tasks, so the workers stop after it.
  if (impl_->server) impl_->server->Stop();
  if (impl_->workers) impl_->workers->Stop();
}

}  // namespace nlk::server
