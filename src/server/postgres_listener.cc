#include "server/postgres_listener.h"

#include "pgwire/pg_server.h"
#include "pgwire/sql_state.h"
#include "server/server_table_catalog.h"
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
    std::shared_ptr<const AccessGate> gate, std::shared_ptr<TlsContext> tls, int worker_threads,
    AuditLog* audit) {
  auto impl = std::make_unique<Impl>();
  // Each connection has at most one task queued, so the queue holds one per connection. Results
  // go to the client from the listener's I/O threads, so no task waits outside its place.
  impl->workers = std::make_unique<WorkerPool>(worker_threads, config.limits.max_connections,
                                               /*max_waiting=*/0);
  pgwire::PgServerOptions options;
  options.address = config.postgres_address;
  options.tables = std::make_shared<ServerTableCatalog>(registry);
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
    // Each login sees the tables its token's grants allow, with its masks and row filters.
    std::shared_ptr<const AccessRules> rules = AccessRulesOf(config.tables);
    const TableRegistry* served = &registry;
    options.tables_for_login =
        [gate, rules, served](const std::string& user,
                              const std::string& password) -> std::shared_ptr<sql::TableCatalog> {
      std::optional<Identity> identity = gate->Authenticate(password);
      if (!identity || identity->principal != user) return nullptr;
      return std::make_shared<ServerTableCatalog>(*served, PolicyFor(rules, identity));
    };
  }
  if (audit != nullptr) {
    // Without tokens the user name is whatever the client sent: recorded as anonymous.
    const bool authenticated = gate && gate->authenticates();
    options.query_observer = [audit, authenticated](pgwire::QueryEvent event) {
      std::string principal = authenticated ? event.user : std::string();
      audit->Record(AuditRecordOf(std::move(event), "postgres", std::move(principal)));
    };
    options.query_admission = [audit]() -> arrow::Status {
      if (audit->accepting()) return arrow::Status::OK();
      audit->CountRefused();
      // 57P03 cannot_connect_now: the server is up but not taking queries now.
      return pgwire::SqlStateError("57P03",
                                   "the audit log cannot be written; queries are refused until "
                                   "it recovers");
    };
  }
  if (tls) {
    options.tls_context = [tls] { return tls->Current(); };
    if (tls->config().verifies_clients()) {
      options.certificate_user = [](SSL* ssl) {
        std::optional<Identity> identity = CertificateIdentity(ssl);
        return identity ? identity->principal : std::string();
      };
      // A certificate login sees what the certificate's principal and groups may read, as a
      // token login does.
      std::shared_ptr<const AccessRules> rules = AccessRulesOf(config.tables);
      const TableRegistry* served = &registry;
      options.tables_for_certificate = [rules,
                                        served](SSL* ssl) -> std::shared_ptr<sql::TableCatalog> {
        std::optional<Identity> identity = CertificateIdentity(ssl);
        if (!identity) return nullptr;
        return std::make_shared<ServerTableCatalog>(*served, PolicyFor(rules, identity));
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
