#include "server/query_server.h"

#include <arrow/compute/api.h>
#include <arrow/table.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string_view>

#include "common/json_writer.h"
#include "common/prometheus.h"
#include "server/api_error.h"
#include "server/audit_log.h"
#include "server/flight_sql_listener.h"
#include "server/http_server.h"
#include "server/path_redaction.h"
#include "server/postgres_listener.h"
#include "server/rest_query.h"
#include "server/result_stream.h"
#include "server/schema_json.h"
#include "server/server_metrics.h"
#include "server/server_table_catalog.h"
#include "server/status_page.h"
#include "server/table_registry.h"
#include "server/tls.h"
#include "sql/sql_engine.h"
#include "sql/table_capture.h"

namespace nlk::server {
namespace {

namespace compute = arrow::compute;
using Clock = std::chrono::steady_clock;

// The status recorded (never sent) for a response the client did not take to its end: it
// closed the connection or stopped reading for longer than write_timeout. nginx's 499.
constexpr int kClientClosedRequest = 499;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What a query endpoint learns about its request for the audit record, filled in on the worker
// running it (RequestFacts::current points at the running request's).
struct RequestFacts {
  std::vector<std::string> tables;
  int64_t rows = 0;
  int64_t bytes = 0;
  std::string error_code;  // the code of the error answered, if any
  std::string statement;   // the SQL, or the path and query of a REST or schema request

  static thread_local RequestFacts* current;
};
thread_local RequestFacts* RequestFacts::current = nullptr;

// Skips the first `offset` rows of a reader (REST offset/page without a sort).
class OffsetReader : public arrow::RecordBatchReader {
 public:
  OffsetReader(std::shared_ptr<arrow::RecordBatchReader> source, int64_t offset)
      : source_(std::move(source)), remaining_(offset) {}
  std::shared_ptr<arrow::Schema> schema() const override { return source_->schema(); }
  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* batch) override {
    while (true) {
      ARROW_RETURN_NOT_OK(source_->ReadNext(batch));
      if (!*batch || remaining_ == 0) return arrow::Status::OK();
      if ((*batch)->num_rows() > remaining_) {
        *batch = (*batch)->Slice(remaining_);
        remaining_ = 0;
        return arrow::Status::OK();
      }
      remaining_ -= (*batch)->num_rows();
    }
  }

 private:
  std::shared_ptr<arrow::RecordBatchReader> source_;
  int64_t remaining_;
};

// Passes a query's rows through, with table locations taken out of its errors.
class RedactingReader : public arrow::RecordBatchReader {
 public:
  RedactingReader(arrow::RecordBatchReader& source, const PathRedactor& redactor)
      : source_(source), redactor_(redactor) {}
  std::shared_ptr<arrow::Schema> schema() const override { return source_.schema(); }
  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* batch) override {
    return redactor_.Redact(source_.ReadNext(batch));
  }

 private:
  arrow::RecordBatchReader& source_;
  const PathRedactor& redactor_;
};

// Reads what a sort needs into memory, within the query's memory budget and deadline. With a
// limit only the best `keep` rows so far are kept (a running top-k), so ORDER BY ... LIMIT over
// a large table holds a few batches, not the table.
arrow::Result<std::shared_ptr<arrow::Table>> CollectForSort(
    arrow::RecordBatchReader& reader, const std::vector<compute::SortKey>& keys,
    std::optional<int64_t> keep, int64_t max_bytes, Clock::time_point deadline) {
  std::vector<std::shared_ptr<arrow::Table>> pending;
  int64_t pending_rows = 0;
  int64_t bytes = 0;
  std::shared_ptr<arrow::RecordBatch> batch;
  while (true) {
    ARROW_RETURN_NOT_OK(reader.ReadNext(&batch));
    if (Clock::now() > deadline) {
      return MakeApiError(408, "query_timeout", "the query ran longer than query_timeout");
    }
    if (batch) {
      for (const auto& column : batch->columns()) {
        for (const auto& buffer : column->data()->buffers) {
          if (buffer) bytes += buffer->size();
        }
      }
      ARROW_ASSIGN_OR_RAISE(auto table, arrow::Table::FromRecordBatches({batch}));
      pending.push_back(std::move(table));
      pending_rows += batch->num_rows();
    }
    bool compact = keep && pending_rows > std::max<int64_t>(4 * *keep, 1 << 16);
    if (compact || (!batch && keep && pending_rows > *keep)) {
      ARROW_ASSIGN_OR_RAISE(auto combined, arrow::ConcatenateTables(pending));
      ARROW_ASSIGN_OR_RAISE(combined, combined->CombineChunks());
      compute::SelectKOptions select(*keep, keys);
      ARROW_ASSIGN_OR_RAISE(auto top, compute::SelectKUnstable(arrow::Datum(combined), select));
      ARROW_ASSIGN_OR_RAISE(auto taken, compute::Take(combined, top));
      pending = {taken.table()};
      pending_rows = taken.table()->num_rows();
      bytes = 0;
    } else if (!keep && bytes > max_bytes) {
      return MakeApiError(413, "result_too_large",
                          "sorting needs more than " + std::to_string(max_bytes) +
                              " bytes of rows (max_query_memory_bytes); add a filter or a limit");
    }
    if (!batch) break;
  }
  if (pending.empty()) return arrow::Table::MakeEmpty(reader.schema());
  return arrow::ConcatenateTables(pending);
}

// GCC 12 misreads the FieldRef variant inside a SortKey as possibly uninitialized when the
// vector moves it (-Wmaybe-uninitialized), however the key is built.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
std::vector<compute::SortKey> SortKeys(const RestQuery& query) {
  std::vector<compute::SortKey> keys;
  for (const RestSortKey& key : query.sort) {
    keys.emplace_back(key.column, key.descending ? compute::SortOrder::Descending
                                                 : compute::SortOrder::Ascending);
  }
  return keys;
}
#pragma GCC diagnostic pop

// Sorts the collected rows, then applies offset, limit and the projection.
arrow::Result<std::shared_ptr<arrow::Table>> SortTable(std::shared_ptr<arrow::Table> table,
                                                       const std::vector<compute::SortKey>& keys,
                                                       const RestQuery& query) {
  ARROW_ASSIGN_OR_RAISE(table, table->CombineChunks());
  ARROW_ASSIGN_OR_RAISE(auto indices,
                        compute::SortIndices(arrow::Datum(table), compute::SortOptions(keys)));
  ARROW_ASSIGN_OR_RAISE(auto sorted, compute::Take(table, indices));
  table = sorted.table();
  int64_t length = query.limit ? *query.limit : table->num_rows();
  table = table->Slice(std::min(query.offset, table->num_rows()), length);
  if (!query.columns.empty()) {
    std::vector<int> indices_of_columns;
    for (const std::string& column : query.columns) {
      indices_of_columns.push_back(table->schema()->GetFieldIndex(column));
    }
    ARROW_ASSIGN_OR_RAISE(table, table->SelectColumns(indices_of_columns));
  }
  return table;
}

}  // namespace

class QueryServer::Impl {
 public:
  explicit Impl(ServerConfig config)
      : config_(WithClientCertificates(std::move(config))), redactor_(config_.tables) {}

  // A verified client certificate is an identity. With tokens too, a client may bring either,
  // so the handshake lets clients without a certificate through and the gate decides per
  // request.
  static ServerConfig WithClientCertificates(ServerConfig config) {
    config.access.client_certificates = config.tls.enabled() && config.tls.verifies_clients();
    config.tls.require_client_certificate = config.access.tokens_file.empty();
    return config;
  }

  arrow::Status Start() {
    if (config_.tls.enabled()) {
      ARROW_ASSIGN_OR_RAISE(tls_, TlsContext::Make(config_.tls));
    }
    ARROW_RETURN_NOT_OK(CheckBinding(config_.access, config_.http_address, "HTTP"));
    if (!config_.postgres_address.empty()) {
      ARROW_RETURN_NOT_OK(CheckBinding(config_.access, config_.postgres_address, "PostgreSQL"));
    }
    if (!config_.flight_sql_address.empty()) {
      ARROW_RETURN_NOT_OK(CheckBinding(config_.access, config_.flight_sql_address, "Flight SQL"));
    }
    ARROW_ASSIGN_OR_RAISE(gate_, AccessGate::Make(config_.access));
    if (!config_.audit.uri.empty()) {
      ARROW_ASSIGN_OR_RAISE(audit_,
                            AuditLog::Start(config_.audit, MakeDeltaAuditSink(config_.audit.uri)));
    }
    registry_ = TableRegistry::Open(
        config_, [this](std::string message) { return redactor_.Redact(message, false); });
    engine_ = std::make_unique<sql::SqlEngine>(std::make_shared<ServerTableCatalog>(*registry_));
    access_rules_ = AccessRulesOf(config_.tables);
    registry_->StartRefreshing();
    HttpServerObserver observer;
    observer.on_rejected = [this](const std::string& reason, int status) {
      metrics_.RecordRejected(reason);
      metrics_.RecordRequest("rejected", status, 0);
    };
    ARROW_ASSIGN_OR_RAISE(
        http_,
        HttpServer::Start(
            config_.http_address, config_.limits,
            [this](const HttpRequest& request, ResponseWriter& writer) { Handle(request, writer); },
            [this](const HttpRequest& request) { return AnswerImmediately(request); },
            std::move(observer), gate_, tls_));
    if (!config_.postgres_address.empty()) {
      ARROW_ASSIGN_OR_RAISE(postgres_,
                            PostgresListener::Start(config_, *registry_, gate_, tls_,
                                                    http_->worker_threads(), audit_.get()));
    }
    if (!config_.flight_sql_address.empty()) {
      ARROW_ASSIGN_OR_RAISE(
          flight_sql_, StartFlightSqlListener(config_, *registry_, gate_, http_->worker_threads(),
                                              audit_.get()));
    }
    return arrow::Status::OK();
  }

  void Stop() {
    if (flight_sql_) flight_sql_->Stop();
    if (postgres_) postgres_->Stop();
    if (http_) http_->Stop();
    if (registry_) registry_->StopRefreshing();
    // Last, so the records of the queries above are written.
    if (audit_) audit_->Stop();
  }

  int port() const { return http_->port(); }
  int postgres_port() const { return postgres_ ? postgres_->port() : 0; }
  int flight_sql_port() const { return flight_sql_ ? flight_sql_->port() : 0; }

 private:
  static std::string_view PathOf(std::string_view target) {
    return target.substr(0, target.find('?'));
  }

  static double SecondsSince(Clock::time_point started) {
    return std::chrono::duration<double>(Clock::now() - started).count();
  }

  // /health and /metrics, answered on the I/O thread so that they never wait behind queries.
  std::optional<HttpResponse> AnswerImmediately(const HttpRequest& request) {
    Clock::time_point started = Clock::now();
    std::string_view path = PathOf(request.target);
    std::string endpoint;
    if (path == "/health") {
      endpoint = "health";
    } else if (path == "/metrics") {
      endpoint = "metrics";
    } else {
      return std::nullopt;
    }
    HttpResponse response;
    if (request.method != "GET") {
      ApiError error =
          DescribeError(MakeApiError(405, "method_not_allowed", "this endpoint answers GET only"),
                        "method_not_allowed");
      response = {error.http_status, "application/json", ErrorJson(error)};
    } else if (endpoint == "health") {
      response = {200, "text/plain", HealthText()};
    } else {
      response = {200, "text/plain; version=0.0.4", RenderMetrics()};
    }
    metrics_.RecordRequest(endpoint, response.status, SecondsSince(started));
    return response;
  }

  // "OK" when every table is served. Tables not created yet are listed after "OK"; with a
  // table that cannot be read the server is DEGRADED (still 200: the other tables are served).
  std::string HealthText() const {
    std::string unavailable;
    std::string not_created;
    for (const TableHealth& table : registry_->health()) {
      std::string line = "table '" + table.name + "': " + table.reason + "\n";
      if (table.availability == TableAvailability::kUnavailable) unavailable += line;
      if (table.availability == TableAvailability::kNotCreated) not_created += line;
    }
    if (unavailable.empty() && not_created.empty()) return "OK";
    return (unavailable.empty() ? "OK\n" : "DEGRADED\n") + unavailable + not_created;
  }

  void Handle(const HttpRequest& request, ResponseWriter& writer) {
    Clock::time_point started = Clock::now();
    std::string_view target = request.target;
    std::string_view path = PathOf(target);
    std::string_view query =
        path.size() < target.size() ? target.substr(path.size() + 1) : std::string_view();
    std::string endpoint = "other";
    const int64_t started_us = audit_ ? AuditNowMicros() : 0;
    RequestFacts facts;
    RequestFacts::current = &facts;
    int status = Route(request, path, query, writer, endpoint);
    RequestFacts::current = nullptr;
    std::optional<AuditRecord> record;
    if (audit_ && IsQueryEndpoint(endpoint)) {
      record.emplace();
      record->time_us = started_us;
      record->principal = request.identity ? request.identity->principal : kAnonymousPrincipal;
      record->client_address = request.client_address;
      record->protocol = "http";
      record->endpoint = endpoint;
      record->tables = std::move(facts.tables);
      record->rows = facts.rows;
      record->bytes = facts.bytes;
      record->status = std::move(facts.error_code);
      record->statement_sha256 = Sha256Hex(facts.statement);
      if (audit_->records_statements()) record->statement = std::move(facts.statement);
    }
    // Recorded once the last byte left (or the client went away), which may be after this
    // worker moved on.
    writer.OnFinished([this, endpoint, status, started,
                       record = std::move(record)](ResponseOutcome outcome) mutable {
      const int final_status =
          outcome == ResponseOutcome::kClientGone ? kClientClosedRequest : status;
      const double seconds = SecondsSince(started);
      metrics_.RecordRequest(endpoint, final_status, seconds);
      if (record) {
        record->duration_us = static_cast<int64_t>(seconds * 1e6);
        record->http_status = final_status;
        if (outcome == ResponseOutcome::kAborted) {
          // Cut short after the status line was sent: a limit or an error mid-stream.
          if (record->status.empty()) record->status = "aborted";
        } else if (final_status < 400) {
          record->status = "ok";
        } else if (outcome == ResponseOutcome::kClientGone) {
          record->status = "client_closed_request";
        } else if (record->status.empty()) {
          record->status = "http_" + std::to_string(final_status);
        }
        audit_->Record(std::move(*record));
      }
    });
  }

  static bool IsQueryEndpoint(std::string_view endpoint) {
    return endpoint == "sql" || endpoint == "tables" || endpoint == "schema";
  }

  // With a fail-closed audit log that cannot be written: answers 503 and returns true.
  bool RefusedByAudit(ResponseWriter& writer, int& status) {
    if (!audit_ || audit_->accepting()) return false;
    audit_->CountRefused();
    status = Fail(MakeApiError(503, "audit_unavailable",
                               "the audit log cannot be written; queries are refused until it "
                               "recovers"),
                  "audit_unavailable", writer);
    return true;
  }

  int Route(const HttpRequest& request, std::string_view path, std::string_view query,
            ResponseWriter& writer, std::string& endpoint) {
    const bool get = request.method == "GET";
    if (path == "/ui") {
      endpoint = "ui";
      if (!get) return MethodNotAllowed(writer, "GET");
      (void)writer.Send(200, "text/html; charset=utf-8", std::string(StatusPageHtml()));
      return 200;
    }
    if (path.starts_with("/ui/metrics/")) {
      endpoint = "ui";
      if (!get) return MethodNotAllowed(writer, "GET");
      auto text = FetchStatusSource(config_.status_sources,
                                    path.substr(std::string_view("/ui/metrics/").size()));
      if (!text.ok()) return Fail(text.status(), "status_source_unavailable", writer);
      (void)writer.Send(200, "text/plain; version=0.0.4", std::move(*text));
      return 200;
    }
    if (path == "/api/sql") {
      endpoint = "sql";
      if (request.method != "POST") return MethodNotAllowed(writer, "POST");
      if (RequestFacts::current) RequestFacts::current->statement = request.body;
      if (int refused = 0; RefusedByAudit(writer, refused)) return refused;
      return HandleSql(request, writer);
    }
    if (path == "/api/schema" || path.starts_with("/api/schema/")) {
      endpoint = "schema";
      if (!get) return MethodNotAllowed(writer, "GET");
      if (RequestFacts::current) RequestFacts::current->statement = request.target;
      if (int refused = 0; RefusedByAudit(writer, refused)) return refused;
      return HandleSchema(path, PolicyFor(access_rules_, request.identity), writer);
    }
    if (path.starts_with("/api/tables/")) {
      endpoint = "tables";
      if (!get) return MethodNotAllowed(writer, "GET");
      if (RequestFacts::current) RequestFacts::current->statement = request.target;
      if (int refused = 0; RefusedByAudit(writer, refused)) return refused;
      auto name = DecodeUrlComponent(path.substr(std::string_view("/api/tables/").size()), false);
      if (!name.ok()) return Fail(name.status(), "rest_query", writer);
      return HandleTableQuery(*name, query, request, writer);
    }
    return Fail(MakeApiError(404, "not_found",
                             "no endpoint " + std::string(path) +
                                 " (try /api/sql, /api/tables/{table}, /api/schema, "
                                 "/health or /metrics)"),
                "not_found", writer);
  }

  // Answers `status` as an error, with the server's paths taken out of its message.
  int Fail(const arrow::Status& status, std::string_view default_code, ResponseWriter& writer) {
    arrow::Status redacted = redactor_.Redact(status);
    if (RequestFacts::current) {
      RequestFacts::current->error_code = DescribeError(redacted, default_code).code;
    }
    return SendError(redacted, default_code, writer);
  }

  // The served table `name`, or the error to answer: unknown, not created yet, unavailable. A
  // table the caller may not read is unknown to them.
  arrow::Result<std::shared_ptr<ServedTable>> LookupTable(const std::string& name,
                                                          const AccessPolicy* policy) const {
    if (policy != nullptr && !policy->CanRead(name)) return UnknownTable(name, policy);
    auto table = registry_->Lookup(name);
    if (table.ok()) return table;
    if (table.status().IsKeyError()) return UnknownTable(name, policy);
    return table.status().WithMessage("table '", name, "': ", table.status().message());
  }

  int MethodNotAllowed(ResponseWriter& writer, std::string_view allowed) {
    return Fail(MakeApiError(405, "method_not_allowed",
                             "this endpoint answers " + std::string(allowed) + " only"),
                "method_not_allowed", writer);
  }

  arrow::Status UnknownTable(const std::string& name, const AccessPolicy* policy) const {
    std::string names;
    std::vector<std::string> known_names =
        policy != nullptr ? policy->Readable(registry_->names()) : registry_->names();
    for (const std::string& known : known_names) {
      names += (names.empty() ? "" : ", ") + known;
    }
    return MakeApiError(404, "invalid_table",
                        "Failed to load table " + name + ": no table named '" + name +
                            "' (tables: " + (names.empty() ? "none" : names) + ")");
  }

  int HandleSchema(std::string_view path, const std::shared_ptr<const AccessPolicy>& policy,
                   ResponseWriter& writer) {
    if (path == "/api/schema" || path == "/api/schema/") {
      JsonWriter json;
      json.BeginObject();
      for (const auto& table : registry_->tables()) {
        if (policy != nullptr && !policy->CanRead(table->name())) continue;
        json.Key(table->name());
        json.Raw(SchemaJson(*table->schema()));
        if (RequestFacts::current) RequestFacts::current->tables.push_back(table->name());
      }
      json.EndObject();
      std::string body = json.Take();
      if (RequestFacts::current) RequestFacts::current->bytes = static_cast<int64_t>(body.size());
      (void)writer.Send(200, "application/json", std::move(body));
      return 200;
    }
    auto name = DecodeUrlComponent(path.substr(std::string_view("/api/schema/").size()), false);
    if (!name.ok()) return Fail(name.status(), "invalid_table", writer);
    auto table = LookupTable(*name, policy.get());
    if (!table.ok()) return Fail(table.status(), "invalid_table", writer);
    std::string body = SchemaJson(*(*table)->schema());
    if (RequestFacts::current) {
      RequestFacts::current->tables.push_back((*table)->name());
      RequestFacts::current->bytes = static_cast<int64_t>(body.size());
    }
    (void)writer.Send(200, "application/json", std::move(body));
    return 200;
  }

  ResultLimits LimitsFromNow() const {
    ResultLimits limits;
    limits.max_rows = config_.limits.max_result_rows;
    limits.max_bytes = config_.limits.max_result_bytes;
    limits.timeout = config_.limits.query_timeout;
    limits.deadline = Clock::now() + config_.limits.query_timeout;
    return limits;
  }

  arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> PlanTableQuery(
      ServedTable& table, const RestQuery& query, const ResultLimits& limits,
      std::function<delta::data::ScanMetrics()>& scan_metrics) {
    std::shared_ptr<arrow::Schema> schema = table.schema();
    if (!query.at.latest()) {
      ARROW_ASSIGN_OR_RAISE(auto snapshot, table.SnapshotFor(query.at));
      (void)snapshot;
    }
    ARROW_ASSIGN_OR_RAISE(auto filter, RestFilterExpression(query.filters, *schema));
    for (const std::string& column : query.columns) {
      if (schema->GetFieldIndex(column) < 0) {
        return MakeApiError(
            400, "invalid_projection",
            "Failed to apply projection operator: no column named '" + column + "'");
      }
    }
    for (const RestSortKey& key : query.sort) {
      if (schema->GetFieldIndex(key.column) < 0) {
        return MakeApiError(400, "invalid_sort",
                            "Failed to apply sort operator: no column named '" + key.column + "'");
      }
    }
    TableScanRequest scan_request;
    scan_request.filter = std::move(filter);
    scan_request.at = query.at;
    scan_request.cancellation = [limits] {
      if (Clock::now() <= limits.deadline) return arrow::Status::OK();
      return MakeApiError(408, "query_timeout",
                          "the query ran longer than " + std::to_string(limits.timeout.count()) +
                              " ms (query_timeout)");
    };
    if (query.sort.empty()) {
      scan_request.columns = query.columns;
      if (query.limit) scan_request.limit = query.offset + *query.limit;
      ARROW_ASSIGN_OR_RAISE(TableScan scan, table.Scan(scan_request));
      scan_metrics = scan.metrics;
      if (query.offset == 0) return scan.reader;
      return std::make_shared<OffsetReader>(scan.reader, query.offset);
    }
    if (!query.columns.empty()) {
      scan_request.columns = query.columns;
      for (const RestSortKey& key : query.sort) {
        if (std::find(scan_request.columns.begin(), scan_request.columns.end(), key.column) ==
            scan_request.columns.end()) {
          scan_request.columns.push_back(key.column);
        }
      }
    }
    ARROW_ASSIGN_OR_RAISE(TableScan scan, table.Scan(scan_request));
    scan_metrics = scan.metrics;
    std::vector<compute::SortKey> keys = SortKeys(query);
    std::optional<int64_t> keep;
    if (query.limit) keep = query.offset + *query.limit;
    ARROW_ASSIGN_OR_RAISE(auto collected,
                          CollectForSort(*scan.reader, keys, keep,
                                         config_.limits.max_query_memory_bytes, limits.deadline));
    ARROW_ASSIGN_OR_RAISE(auto sorted, SortTable(std::move(collected), keys, query));
    return std::make_shared<arrow::TableBatchReader>(sorted);
  }

  int HandleTableQuery(const std::string& name, std::string_view query_string,
                       const HttpRequest& request, ResponseWriter& writer) {
    std::shared_ptr<const AccessPolicy> policy = PolicyFor(access_rules_, request.identity);
    auto table = LookupTable(name, policy.get());
    if (!table.ok()) return Fail(table.status(), "invalid_table", writer);
    if (RequestFacts::current) RequestFacts::current->tables.push_back((*table)->name());
    auto parameters = ParseQueryString(query_string);
    if (!parameters.ok()) return Fail(parameters.status(), "rest_query", writer);
    auto query = ParseRestQuery(*parameters);
    if (!query.ok()) return Fail(query.status(), "rest_query", writer);
    if (policy != nullptr && !policy->RestrictionFor(name).empty()) {
      // Row filters and masks are the binder's: the query runs as SQL, so the caller's filters
      // and sort see the masked values, never the real ones.
      auto schema = (*table)->schema();
      auto filter = RestFilterExpression(query->filters, *schema);
      if (!filter.ok()) return Fail(filter.status(), "query_execution", writer);
      auto sql = RestQueryAsSql(name, *query, *schema);
      if (!sql.ok()) return Fail(sql.status(), "rest_query", writer);
      return RunSql(*sql, policy, request, writer);
    }
    ResultLimits limits = LimitsFromNow();
    std::function<delta::data::ScanMetrics()> scan_metrics;
    auto reader = PlanTableQuery(**table, *query, limits, scan_metrics);
    if (!reader.ok()) return Fail(reader.status(), "query_execution", writer);
    auto [format, content_type] = NegotiateFormat(request.accept);
    RedactingReader redacting(**reader, redactor_);
    StreamedResult result =
        StreamResult(redacting, format, content_type, limits, "query_execution", writer);
    if (scan_metrics) metrics_.RecordScan(scan_metrics());
    metrics_.RecordResultRows(result.rows, result.bytes);
    if (RequestFacts::current) {
      RequestFacts::current->rows = result.rows;
      RequestFacts::current->bytes = result.bytes;
    }
    return result.status;
  }

  int HandleSql(const HttpRequest& request, ResponseWriter& writer) {
    if (request.body.find_first_not_of(" \t\r\n") == std::string::npos) {
      return Fail(MakeApiError(400, "plan_sql", "the request body holds no SQL statement"),
                  "plan_sql", writer);
    }
    return RunSql(request.body, PolicyFor(access_rules_, request.identity), request, writer);
  }

  // Runs `sql` as the caller `policy` describes (null: unrestricted).
  int RunSql(const std::string& sql, const std::shared_ptr<const AccessPolicy>& policy,
             const HttpRequest& request, ResponseWriter& writer) {
    ResultLimits limits = LimitsFromNow();
    sql::QueryOptions options;
    options.max_rows = config_.limits.max_result_rows;
    options.timeout = config_.limits.query_timeout;
    options.max_memory_bytes = config_.limits.max_query_memory_bytes;
    arrow::Result<sql::QueryResult> result;
    {
      sql::TableCapture capture;
      if (policy == nullptr) {
        result = engine_->Execute(sql, options);
      } else {
        sql::SqlEngine engine(std::make_shared<ServerTableCatalog>(*registry_, policy));
        result = engine.Execute(sql, options);
      }
      if (RequestFacts::current) RequestFacts::current->tables = capture.Take();
    }
    if (!result.ok()) {
      // An unknown table is the caller's mistake, reported like the REST endpoint does.
      if (result.status().IsKeyError()) {
        return Fail(WithApiError(result.status(), 404, "invalid_table"), "plan_sql", writer);
      }
      return Fail(result.status(), "plan_sql", writer);
    }
    auto [format, content_type] = NegotiateFormat(request.accept);
    RedactingReader redacting(*result->reader, redactor_);
    StreamedResult streamed =
        StreamResult(redacting, format, content_type, limits, "query_execution", writer);
    sql::QueryMetrics figures = result->metrics();
    delta::data::ScanMetrics scan;
    scan.rows_read = figures.rows_scanned;
    scan.bytes_read = figures.bytes_scanned;
    scan.files_read = figures.files_read;
    scan.files_pruned_by_partition = figures.files_pruned_by_partition;
    scan.files_skipped_by_stats = figures.files_skipped_by_stats;
    scan.row_groups_pruned = figures.row_groups_pruned;
    metrics_.RecordScan(scan);
    metrics_.RecordResultRows(streamed.rows, streamed.bytes);
    if (RequestFacts::current) {
      RequestFacts::current->rows = streamed.rows;
      RequestFacts::current->bytes = streamed.bytes;
    }
    return streamed.status;
  }

  std::string RenderMetrics() const {
    std::string out = metrics_.Render();
    if (audit_) out += audit_->RenderMetrics();
    out +=
        "# HELP nlk_http_connections_open Client connections currently open.\n"
        "# TYPE nlk_http_connections_open gauge\nnlk_http_connections_open " +
        std::to_string(http_->open_connections()) + "\n";
    out +=
        "# HELP nlk_worker_queue_depth Requests waiting for a worker.\n"
        "# TYPE nlk_worker_queue_depth gauge\nnlk_worker_queue_depth " +
        std::to_string(http_->queued_requests()) + "\n";
    out +=
        "# HELP nlk_workers_busy Workers running a request.\n"
        "# TYPE nlk_workers_busy gauge\nnlk_workers_busy " +
        std::to_string(http_->busy_workers()) + "\n";
    out +=
        "# HELP nlk_responses_waiting_for_clients Responses waiting for a slow client to take "
        "them, without holding a worker.\n"
        "# TYPE nlk_responses_waiting_for_clients gauge\nnlk_responses_waiting_for_clients " +
        std::to_string(http_->waiting_responses()) + "\n";
    std::string states;
    for (const TableHealth& table : registry_->health()) {
      const std::string label =
          "nlk_table_state{table=\"" + PrometheusLabelValue(table.name) + "\",state=\"";
      for (auto [state, state_name] : {std::pair{TableAvailability::kServing, "serving"},
                                       std::pair{TableAvailability::kNotCreated, "not_created"},
                                       std::pair{TableAvailability::kUnavailable, "unavailable"}}) {
        states += label + state_name + "\"} " + (table.availability == state ? "1" : "0") + "\n";
      }
    }
    out +=
        "# HELP nlk_table_state Each configured table's state: served, not created yet, or "
        "unavailable (cannot be read); 1 for the current one.\n"
        "# TYPE nlk_table_state gauge\n" +
        states;
    const int64_t now_ms = NowMs();
    std::string version, checked_age, commit_age, files, memory, failures, data_age, slo, slo_met;
    for (const auto& table : registry_->tables()) {
      TableStatus status = table->status();
      const std::string label = "{table=\"" + PrometheusLabelValue(table->name()) + "\"} ";
      version += "nlk_table_snapshot_version" + label + std::to_string(status.version) + "\n";
      checked_age += "nlk_table_snapshot_age_seconds" + label +
                     std::to_string((now_ms - status.checked_at_ms) / 1000.0) + "\n";
      if (status.version >= 0) {
        commit_age += "nlk_table_commit_age_seconds" + label +
                      std::to_string((now_ms - status.commit_timestamp_ms) / 1000.0) + "\n";
        const double age_seconds = (now_ms - status.data_timestamp_ms) / 1000.0;
        data_age += "nlk_table_data_age_seconds" + label + std::to_string(age_seconds) + "\n";
        if (const int64_t objective = table->config().freshness_slo_seconds; objective > 0) {
          slo += "nlk_table_freshness_slo_seconds" + label + std::to_string(objective) + "\n";
          slo_met += "nlk_table_freshness_slo_met" + label +
                     (age_seconds <= static_cast<double>(objective) ? "1" : "0") + "\n";
        }
      }
      files += "nlk_table_files" + label + std::to_string(status.files) + "\n";
      memory += "nlk_table_memory_bytes" + label + std::to_string(status.memory_bytes) + "\n";
      failures += "nlk_table_refresh_failures_total" + label +
                  std::to_string(status.refresh_failures) + "\n";
    }
    out +=
        "# HELP nlk_table_snapshot_version The Delta version queries read (-1: Parquet).\n"
        "# TYPE nlk_table_snapshot_version gauge\n" +
        version;
    out +=
        "# HELP nlk_table_snapshot_age_seconds Time since the snapshot was last confirmed "
        "current by a log refresh.\n# TYPE nlk_table_snapshot_age_seconds gauge\n" +
        checked_age;
    out +=
        "# HELP nlk_table_commit_age_seconds Time since the served version was committed.\n"
        "# TYPE nlk_table_commit_age_seconds gauge\n" +
        commit_age;
    out +=
        "# HELP nlk_table_data_age_seconds Time since the newest commit that may have brought "
        "data (maintenance commits such as OPTIMIZE and VACUUM do not count).\n"
        "# TYPE nlk_table_data_age_seconds gauge\n" +
        data_age;
    if (!slo.empty()) {
      out +=
          "# HELP nlk_table_freshness_slo_seconds The catalog's freshness objective: new data at "
          "least this often.\n# TYPE nlk_table_freshness_slo_seconds gauge\n" +
          slo;
      out +=
          "# HELP nlk_table_freshness_slo_met 1 while nlk_table_data_age_seconds is within the "
          "objective.\n# TYPE nlk_table_freshness_slo_met gauge\n" +
          slo_met;
    }
    out += "# HELP nlk_table_files Live data files.\n# TYPE nlk_table_files gauge\n" + files;
    out +=
        "# HELP nlk_table_memory_bytes Bytes held by memory tables.\n"
        "# TYPE nlk_table_memory_bytes gauge\n" +
        memory;
    out +=
        "# HELP nlk_serve_freshness_seconds Time from a Delta commit to the refresh that made it "
        "queryable.\n# TYPE nlk_serve_freshness_seconds histogram\n";
    for (const auto& table : registry_->tables()) {
      if (table->is_delta()) {
        out += table->freshness().Render("nlk_serve_freshness_seconds", table->name());
      }
    }
    out +=
        "# HELP nlk_table_refresh_failures_total Failed log refreshes.\n"
        "# TYPE nlk_table_refresh_failures_total counter\n" +
        failures;
    if (tls_) {
      out +=
          "# HELP nlk_tls_reloads_total Certificate reloads after a change of the files.\n"
          "# TYPE nlk_tls_reloads_total counter\nnlk_tls_reloads_total " +
          std::to_string(tls_->reloads()) +
          "\n# HELP nlk_tls_reload_failures_total Changed certificate files that did not load "
          "(the previous pair stays in use).\n"
          "# TYPE nlk_tls_reload_failures_total counter\nnlk_tls_reload_failures_total " +
          std::to_string(tls_->reload_failures()) +
          "\n# HELP nlk_tls_reload_error 1 while the newest certificate files failed to load.\n"
          "# TYPE nlk_tls_reload_error gauge\nnlk_tls_reload_error " +
          (tls_->reload_error().empty() ? "0" : "1") + "\n";
    }
    return out;
  }

  const ServerConfig config_;
  const PathRedactor redactor_;
  ServerMetrics metrics_;
  std::unique_ptr<TableRegistry> registry_;
  std::unique_ptr<sql::SqlEngine> engine_;
  std::shared_ptr<const AccessRules> access_rules_;
  std::shared_ptr<const AccessGate> gate_;
  std::unique_ptr<AuditLog> audit_;
  std::shared_ptr<TlsContext> tls_;  // null without TLS
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<PostgresListener> postgres_;
  std::unique_ptr<flightsql::FlightSqlServer> flight_sql_;
};

QueryServer::QueryServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
QueryServer::~QueryServer() { impl_->Stop(); }

arrow::Result<std::unique_ptr<QueryServer>> QueryServer::Start(const ServerConfig& config) {
  ARROW_RETURN_NOT_OK(ValidateServerConfig(config));
  auto impl = std::make_unique<Impl>(config);
  ARROW_RETURN_NOT_OK(impl->Start());
  return std::unique_ptr<QueryServer>(new QueryServer(std::move(impl)));
}

int QueryServer::port() const { return impl_->port(); }
int QueryServer::postgres_port() const { return impl_->postgres_port(); }
int QueryServer::flight_sql_port() const { return impl_->flight_sql_port(); }
void QueryServer::Stop() { impl_->Stop(); }

}  // namespace nlk::server
