#include "serve_command.h"

#include <sys/resource.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <future>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/project_catalog.h"
#include "catalog_commands.h"
#include "cli_error.h"
#include "server/catalog_tables.h"
#include "server/query_server.h"
#include "server/server_config.h"
#include "server/status_page.h"

namespace nlk::cli {
namespace {

constexpr std::chrono::seconds kStopGrace{5};

struct ServeArguments {
  std::string config_path;
  std::vector<std::string> tables;
  bool catalog = false;
  std::string catalog_manifest;
  std::string catalog_root;
  std::string address;
  std::string postgres_address;
  std::string flight_sql_address;
  int workers = -1;
  int max_queued = -1;
  int max_connections_per_address = -1;
  int64_t max_result_rows = -1;
  int64_t max_result_bytes = -1;
  int64_t max_body_bytes = -1;
  int64_t max_query_memory_bytes = -1;
  int64_t query_timeout_ms = -1;
  int64_t header_timeout_ms = -1;
  int64_t idle_timeout_ms = -1;
  int64_t reload_interval_ms = -1;
  std::string tokens_file;
  bool insecure_no_auth = false;
  std::vector<std::string> allowed_origins;
  std::vector<std::string> allowed_hosts;
  std::string health_access;
  std::string metrics_access;
  std::vector<std::string> status_sources;
  std::string audit_log;
  bool audit_statements = false;
  bool audit_fail_closed = false;
  int64_t audit_flush_interval_ms = -1;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
  std::string tls_min_version;
};

// Many idle clients each hold a descriptor; the default soft limit (often 1024) would make the
// server refuse connections long before its own max_connections.
void RaiseOpenFileLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

arrow::Result<server::ServerConfig> BuildConfig(const ServeArguments& arguments) {
  server::ServerConfig config;
  if (!arguments.config_path.empty()) {
    ARROW_ASSIGN_OR_RAISE(config, server::LoadServerConfig(arguments.config_path));
  }
  for (const std::string& table : arguments.tables) {
    ARROW_ASSIGN_OR_RAISE(auto parsed, server::ParseTableArgument(table));
    config.tables.push_back(std::move(parsed));
  }
  if (arguments.catalog) {
    server::CatalogTables catalog =
        server::CatalogTableConfigs(catalog::ProjectCatalog(), CatalogRoot(arguments.catalog_root));
    for (const std::string& skipped : catalog.skipped) {
      std::cerr << "nlk serve: skipping " << skipped << std::endl;
    }
    for (server::TableConfig& table : catalog.tables) config.tables.push_back(std::move(table));
  }
  if (!arguments.catalog_manifest.empty()) {
    ARROW_ASSIGN_OR_RAISE(ManifestSelection selection,
                          LoadCatalogManifest(arguments.catalog_manifest, arguments.catalog_root));
    server::CatalogTables catalog =
        server::CatalogTableConfigs(selection.manifest->catalog, selection.root);
    for (const std::string& skipped : catalog.skipped) {
      std::cerr << "nlk serve: skipping " << skipped << std::endl;
    }
    for (server::TableConfig& table : catalog.tables) config.tables.push_back(std::move(table));
  }
  if (config.tables.empty()) {
    return arrow::Status::Invalid(
        "no tables to serve: give -c CONFIG.yml, -t NAME=URI, --catalog or --catalog-manifest");
  }
  for (const std::string& source : arguments.status_sources) {
    ARROW_ASSIGN_OR_RAISE(auto parsed, server::ParseStatusSource(source));
    config.status_sources.push_back(std::move(parsed));
  }
  if (!arguments.address.empty()) config.http_address = arguments.address;
  if (!arguments.postgres_address.empty()) config.postgres_address = arguments.postgres_address;
  if (!arguments.flight_sql_address.empty()) {
    config.flight_sql_address = arguments.flight_sql_address;
  }
  server::ServerLimits& limits = config.limits;
  if (arguments.workers >= 0) limits.worker_threads = arguments.workers;
  if (arguments.max_queued >= 0) limits.max_queued_requests = arguments.max_queued;
  if (arguments.max_connections_per_address >= 0) {
    limits.max_connections_per_address = arguments.max_connections_per_address;
  }
  if (arguments.max_result_rows >= 0) limits.max_result_rows = arguments.max_result_rows;
  if (arguments.max_result_bytes >= 0) limits.max_result_bytes = arguments.max_result_bytes;
  if (arguments.max_body_bytes >= 0) limits.max_body_bytes = arguments.max_body_bytes;
  if (arguments.max_query_memory_bytes >= 0) {
    limits.max_query_memory_bytes = arguments.max_query_memory_bytes;
  }
  if (arguments.query_timeout_ms >= 0) {
    limits.query_timeout = std::chrono::milliseconds(arguments.query_timeout_ms);
  }
  if (arguments.header_timeout_ms >= 0) {
    limits.header_timeout = std::chrono::milliseconds(arguments.header_timeout_ms);
  }
  if (arguments.idle_timeout_ms >= 0) {
    limits.idle_timeout = std::chrono::milliseconds(arguments.idle_timeout_ms);
  }
  if (arguments.reload_interval_ms >= 0) {
    config.default_reload_interval = std::chrono::milliseconds(arguments.reload_interval_ms);
  }
  server::AccessConfig& access = config.access;
  if (!arguments.tokens_file.empty()) access.tokens_file = arguments.tokens_file;
  if (arguments.insecure_no_auth) access.insecure_no_auth = true;
  for (const std::string& origin : arguments.allowed_origins) {
    access.allowed_origins.push_back(origin);
  }
  for (const std::string& host : arguments.allowed_hosts) access.allowed_hosts.push_back(host);
  if (!arguments.health_access.empty()) {
    ARROW_ASSIGN_OR_RAISE(access.health_access,
                          server::ParseEndpointAccess(arguments.health_access, "--health-access"));
  }
  if (!arguments.metrics_access.empty()) {
    ARROW_ASSIGN_OR_RAISE(access.metrics_access, server::ParseEndpointAccess(
                                                     arguments.metrics_access, "--metrics-access"));
  }
  server::AuditOptions& audit = config.audit;
  if (!arguments.audit_log.empty()) audit.uri = arguments.audit_log;
  if (arguments.audit_statements) audit.statements = true;
  if (arguments.audit_fail_closed) audit.fail_closed = true;
  if (arguments.audit_flush_interval_ms >= 0) {
    audit.flush_interval = std::chrono::milliseconds(arguments.audit_flush_interval_ms);
  }
  if (audit.uri.empty() && (arguments.audit_statements || arguments.audit_fail_closed ||
                            arguments.audit_flush_interval_ms >= 0)) {
    return arrow::Status::Invalid(
        "--audit-statements, --audit-fail-closed and --audit-flush-interval-ms need "
        "--audit-log URI (or `audit: {table: URI}` in the config)");
  }
  if (!arguments.tls_cert.empty()) config.tls.cert_file = arguments.tls_cert;
  if (!arguments.tls_key.empty()) config.tls.key_file = arguments.tls_key;
  if (!arguments.tls_client_ca.empty()) config.tls.client_ca_file = arguments.tls_client_ca;
  if (!arguments.tls_min_version.empty()) config.tls.min_version = arguments.tls_min_version;
  return config;
}

int Serve(const ServeArguments& arguments) {
  auto config = BuildConfig(arguments);
  if (!config.ok()) return ReportError(config.status());
  RaiseOpenFileLimit();
  // Block the stop signals before any thread starts, so only sigwait below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A client vanishing mid-write must be an error on that connection, not the process's end.
  std::signal(SIGPIPE, SIG_IGN);
  auto server = server::QueryServer::Start(*config);
  if (!server.ok()) return ReportError(server.status());
  std::string host = config->http_address.substr(0, config->http_address.rfind(':'));
  const bool tls = config->tls.enabled();
  std::cout << "nlk serve: listening on " << (tls ? "https://" : "http://") << host << ":"
            << (*server)->port() << " (" << config->tables.size() << " table"
            << (config->tables.size() == 1 ? "" : "s") << ")" << std::endl;
  if (!config->postgres_address.empty()) {
    std::string postgres_host =
        config->postgres_address.substr(0, config->postgres_address.rfind(':'));
    std::cout << "nlk serve: listening on postgres://" << postgres_host << ":"
              << (*server)->postgres_port() << std::endl;
  }
  const server::AccessConfig& access = config->access;
  if (tls) {
    std::cout << "nlk serve: TLS " << config->tls.min_version << "+ with " << config->tls.cert_file
              << (config->tls.verifies_clients()
                      ? ", client certificates from " + config->tls.client_ca_file
                      : std::string())
              << std::endl;
  }
  if (!access.tokens_file.empty()) {
    std::cout << "nlk serve: clients authenticate with tokens from " << access.tokens_file
              << " (/health " << server::EndpointAccessName(access.health_access) << ", /metrics "
              << server::EndpointAccessName(access.metrics_access) << ")" << std::endl;
  } else if (config->tls.enabled() && config->tls.verifies_clients()) {
    std::cout << "nlk serve: clients authenticate with certificates signed by "
              << config->tls.client_ca_file << std::endl;
  } else if (access.insecure_no_auth) {
    std::cerr << "nlk serve: --insecure-no-auth: every client that reaches the server can read "
                 "every table"
              << std::endl;
  } else {
    std::cout << "nlk serve: no authentication (--tokens FILE): serving this machine's clients "
                 "only"
              << std::endl;
  }
  if (!config->audit.uri.empty()) {
    std::cout << "nlk serve: auditing queries to " << config->audit.uri
              << (config->audit.statements ? " (with statements)" : "")
              << (config->audit.fail_closed ? " (fail closed)" : "") << std::endl;
  }
  if (!config->flight_sql_address.empty()) {
    std::cout << "nlk serve: listening for Flight SQL on " << (tls ? "grpc+tls://" : "grpc://")

              << config->flight_sql_address.substr(0, config->flight_sql_address.rfind(':')) << ":"
              << (*server)->flight_sql_port() << std::endl;
  }
  int received = 0;
  sigwait(&signals, &received);
  std::cout << "nlk serve: stopping" << std::endl;
  // Queries stuck in storage must not keep the process from stopping: give them a grace
  // period, then leave without waiting for them.
  std::shared_ptr<server::QueryServer> running = std::move(*server);
  auto stopped = std::async(std::launch::async, [running] { running->Stop(); });
  if (stopped.wait_for(kStopGrace) != std::future_status::ready) {
    std::cerr << "nlk serve: queries still running after " << kStopGrace.count()
              << " s; exiting without them" << std::endl;
    std::_Exit(0);
  }
  return 0;
}

}  // namespace

void AddServeCommand(CLI::App& app, int& exit_code) {
  auto arguments = std::make_shared<ServeArguments>();
  CLI::App* command = app.add_subcommand(
      "serve",
      "Serve tables over HTTP (SQL and REST, ROAPI-compatible), the PostgreSQL protocol and "
      "Arrow Flight SQL");
  command->add_option("-c,--config", arguments->config_path, "ROAPI-style YAML config file");
  command->add_option("-t,--table", arguments->tables,
                      "NAME=URI[,format=delta|parquet][,use_memory_table=true] (repeatable)");
  CLI::Option* catalog = command->add_flag(
      "--catalog", arguments->catalog,
      "Serve every table of this build's catalog as DATABASE.TABLE (function tables: "
      "their result at startup)");
  CLI::Option* catalog_manifest = command->add_option(
      "--catalog-manifest", arguments->catalog_manifest,
      "Serve every table of this catalog manifest (nlk catalog manifest, or the Python "
      "package) as DATABASE.TABLE; function tables are listed but have no rows");
  command
      ->add_option("--root", arguments->catalog_root,
                   "With --catalog or --catalog-manifest: where relative table URIs point "
                   "(default: the manifest's root, else $NLK_CATALOG_ROOT, else the working "
                   "directory)")
      ->check([catalog, catalog_manifest](const std::string&) -> std::string {
        return catalog->count() + catalog_manifest->count() > 0
                   ? ""
                   : "--root needs --catalog or --catalog-manifest";
      });
  command->add_option("-a,--addr,--addr-http", arguments->address,
                      "HOST:PORT to listen on (default 127.0.0.1:8080; port 0 picks one)");
  // Help texts state the defaults of ServerLimits and ServerConfig themselves.
  const server::ServerLimits limits;
  const server::ServerConfig config;
  auto with_default = [](std::string help, int64_t value, std::string_view unit = "") {
    return help + " (default " + std::to_string(value) + std::string(unit) + ")";
  };
  command->add_option("--tokens", arguments->tokens_file,
                      "Tokens file (`nlk auth token create`): every request then needs "
                      "'Authorization: Bearer TOKEN', and PostgreSQL clients log in with the "
                      "token as password. Without it the server listens on loopback only");
  command->add_flag("--insecure-no-auth", arguments->insecure_no_auth,
                    "Allow listening beyond loopback without --tokens");
  command->add_option("--allow-origin", arguments->allowed_origins,
                      "An origin whose web pages may call the API (CORS), e.g. "
                      "https://grafana.example.org; '*' for any. Repeatable; default none");
  command->add_option("--allow-host", arguments->allowed_hosts,
                      "A host name clients may reach the server by, besides IP addresses and "
                      "localhost. Repeatable");
  command->add_option("--health-access", arguments->health_access,
                      "With --tokens: 'public' (default) or 'token' for /health");
  command->add_option("--metrics-access", arguments->metrics_access,
                      "With --tokens: 'token' (default) or 'public' for /metrics");
  command->add_option(
      "--tls-cert", arguments->tls_cert,
      "PEM certificate (and chain): serve HTTPS, PostgreSQL over TLS and Flight SQL "
      "over grpc+tls. Reloaded when the file changes");
  command->add_option("--tls-key", arguments->tls_key, "PEM private key for --tls-cert");
  command->add_option("--tls-client-ca", arguments->tls_client_ca,
                      "PEM CA bundle: clients may authenticate with a certificate it signed "
                      "(principal: the subject's CN, groups: its OUs); required without --tokens");
  command->add_option("--tls-min-version", arguments->tls_min_version,
                      "Oldest TLS version accepted: 1.2 (default) or 1.3");
  command->add_option("-p,--addr-postgres", arguments->postgres_address,
                      "HOST:PORT for the PostgreSQL wire protocol (off unless given; e.g. "
                      "127.0.0.1:5432)");
  command->add_option("--addr-flight-sql", arguments->flight_sql_address,
                      "HOST:PORT for Arrow Flight SQL over gRPC (off unless given; e.g. "
                      "127.0.0.1:32010)");
  command->add_option(
      "--workers", arguments->workers,
      "Query worker threads (default 0: " + std::to_string(server::kWorkerThreadsPerCore) +
          " per core, at least " + std::to_string(server::kMinWorkerThreads) + ")");
  command->add_option(
      "--max-queued", arguments->max_queued,
      with_default("Requests that may wait for a worker before 503", limits.max_queued_requests));
  command->add_option("--max-connections-per-address", arguments->max_connections_per_address,
                      with_default("Open connections from one client address before 429; 0: "
                                   "no limit (behind a proxy)",
                                   limits.max_connections_per_address));
  command->add_option("--max-result-rows", arguments->max_result_rows,
                      with_default("Largest result in rows", limits.max_result_rows));
  command->add_option("--max-result-bytes", arguments->max_result_bytes,
                      with_default("Largest response body", limits.max_result_bytes, " bytes"));
  command->add_option("--max-body-bytes", arguments->max_body_bytes,
                      with_default("Largest request body", limits.max_body_bytes, " bytes"));
  command->add_option("--max-query-memory-bytes", arguments->max_query_memory_bytes,
                      with_default("Memory one query may hold for sorts, joins, aggregates and "
                                   "windows",
                                   limits.max_query_memory_bytes, " bytes"));
  command->add_option("--query-timeout-ms", arguments->query_timeout_ms,
                      with_default("Per-query time limit", limits.query_timeout.count(), " ms"));
  command->add_option("--header-timeout-ms", arguments->header_timeout_ms,
                      with_default("Time for a request to arrive completely",
                                   limits.header_timeout.count(), " ms"));
  command->add_option("--idle-timeout-ms", arguments->idle_timeout_ms,
                      with_default("Idle time before a kept-alive connection is closed",
                                   limits.idle_timeout.count(), " ms"));
  command->add_option("--reload-interval-ms", arguments->reload_interval_ms,
                      with_default("How often Delta logs are checked for new commits",
                                   config.default_reload_interval.count(), " ms"));
  command->add_option("--status-metrics", arguments->status_sources,
                      "NAME=HOST:PORT of a process whose /metrics the status page shows, e.g. "
                      "ingest=127.0.0.1:9464 (repeatable; fetched by the server at "
                      "/ui/metrics/NAME)");
  command->add_option("--audit-log", arguments->audit_log,
                      "Record every query (who, from where, which tables, rows, bytes, time, "
                      "status, statement hash) in the Delta table at URI, created if absent");
  command->add_flag("--audit-statements", arguments->audit_statements,
                    "With --audit-log: record statement texts too, not only their SHA-256");
  command->add_flag("--audit-fail-closed", arguments->audit_fail_closed,
                    "With --audit-log: refuse queries (503) while the audit table cannot be "
                    "written");
  command->add_option("--audit-flush-interval-ms", arguments->audit_flush_interval_ms,
                      with_default("With --audit-log: how often queued records are written",
                                   server::AuditOptions{}.flush_interval.count(), " ms"));
  command->callback([arguments, &exit_code] { exit_code = Serve(*arguments); });
}

}  // namespace nlk::cli
