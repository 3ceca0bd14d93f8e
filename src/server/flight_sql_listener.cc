#include "server/flight_sql_listener.h"

#include <fstream>
#include <sstream>

#include "server/server_table_catalog.h"

namespace nlk::server {

namespace {

arrow::Result<std::string> ReadPemFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  if (!file) return arrow::Status::IOError("cannot read ", path, " for Flight SQL TLS");
  return text.str();
}

}  // namespace

arrow::Result<std::unique_ptr<flightsql::FlightSqlServer>> StartFlightSqlListener(
    const ServerConfig& config, const TableRegistry& registry,
    std::shared_ptr<const AccessGate> gate, int worker_threads, AuditLog* audit) {
  flightsql::FlightSqlServerOptions options;
  options.address = config.flight_sql_address;
  options.tables = std::make_shared<ServerTableCatalog>(registry);
  options.max_rows = config.limits.max_result_rows;
  options.max_bytes = config.limits.max_result_bytes;
  options.timeout = config.limits.query_timeout;
  options.max_memory_bytes = config.limits.max_query_memory_bytes;
  options.max_calls = config.limits.max_connections;
  options.max_running_queries = worker_threads;
  options.max_waiting_queries = config.limits.max_queued_requests;
  options.max_parameter_bytes = config.limits.max_body_bytes;
  if (gate && gate->authenticates()) {
    options.authenticate = [gate](std::string_view token) {
      std::string_view trimmed = token;
      while (!trimmed.empty() && trimmed.front() == ' ') trimmed.remove_prefix(1);
      return gate->Authenticate(trimmed).has_value();
    };
    // Each call sees the tables its token's grants allow, with its masks and row filters.
    std::shared_ptr<const AccessRules> rules = AccessRulesOf(config.tables);
    const TableRegistry* served = &registry;
    options.tables_for_token =
        [gate, rules, served](std::string_view token) -> std::shared_ptr<sql::TableCatalog> {
      while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
      std::optional<Identity> identity = gate->Authenticate(token);
      if (!identity) return nullptr;
      return std::make_shared<ServerTableCatalog>(*served, PolicyFor(rules, identity));
    };
  }
  if (audit != nullptr) {
    if (gate && gate->authenticates()) {
      options.principal_of = [gate](std::string_view token) {
        while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
        std::optional<Identity> identity = gate->Authenticate(token);
        return identity ? identity->principal : std::string();
      };
    }
    options.query_observer = [audit](sql::QueryEvent event) {
      std::string principal = event.user;
      audit->Record(AuditRecordOf(std::move(event), "flight_sql", std::move(principal)));
    };
    options.query_admission = [audit]() -> arrow::Status {
      if (audit->accepting()) return arrow::Status::OK();
      audit->CountRefused();
      return arrow::Status::IOError(
          "the audit log cannot be written; queries are refused until it recovers");
    };
  }
  if (config.tls.enabled()) {
    // gRPC keeps the pair it started with: a new certificate takes a restart here.
    ARROW_ASSIGN_OR_RAISE(options.tls_certificate, ReadPemFile(config.tls.cert_file));
    ARROW_ASSIGN_OR_RAISE(options.tls_key, ReadPemFile(config.tls.key_file));
    if (config.tls.verifies_clients() && config.access.tokens_file.empty()) {
      // Without tokens the certificate is the only credential, so it is required. With tokens,
      // calls carry a token (gRPC does not show the certificate's subject to the server).
      ARROW_ASSIGN_OR_RAISE(options.tls_client_ca, ReadPemFile(config.tls.client_ca_file));
      // The certificate admits the client but does not say who it is here, so the calls get no
      // grant: the catalog's tables are hidden from them as from an unknown principal, and only
      // tables without access rules (-t, a config file) are served.
      options.tables = std::make_shared<ServerTableCatalog>(
          registry, PolicyFor(AccessRulesOf(config.tables), Identity{}));
    }
  }
  return flightsql::FlightSqlServer::Start(std::move(options));
}

}  // namespace nlk::server
