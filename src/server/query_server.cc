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
#include "server/http_server.h"
#include "server/postgres_listener.h"
#include "server/rest_query.h"
#include "server/result_stream.h"
#include "server/schema_json.h"
#include "server/server_metrics.h"
#include "server/server_table_provider.h"
#include "server/table_registry.h"
#include "sql/sql_engine.h"

namespace nlk::server {
namespace {

namespace compute = arrow::compute;
using Clock = std::chrono::steady_clock;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

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

std::vector<compute::SortKey> SortKeys(const RestQuery& query) {
  std::vector<compute::SortKey> keys;
  for (const RestSortKey& key : query.sort) {
    // Built by name through a named FieldRef: GCC 12 misreads the temporary's variant as
    // possibly uninitialized when this is inlined (-Wmaybe-uninitialized).
    arrow::FieldRef field(key.column);
    keys.push_back(compute::SortKey(std::move(field), key.descending
                                                          ? compute::SortOrder::Descending
                                                          : compute::SortOrder::Ascending));
  }
  return keys;
}

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
  explicit Impl(ServerConfig config) : config_(std::move(config)) {}

  arrow::Status Start() {
    ARROW_ASSIGN_OR_RAISE(registry_, TableRegistry::Open(config_));
    engine_ = std::make_unique<sql::SqlEngine>(std::make_shared<ServerTableProvider>(*registry_));
    registry_->StartRefreshing();
    HttpServerObserver observer;
    observer.on_rejected = [this](const std::string& reason, int status) {
      metrics_.RecordRejected(reason);
      metrics_.RecordRequest("rejected", status, 0);
    };
    ARROW_ASSIGN_OR_RAISE(http_, HttpServer::Start(
                                     config_.http_address, config_.limits,
                                     [this](const HttpRequest& request, ResponseWriter& writer) {
                                       Handle(request, writer);
                                     },
                                     std::move(observer)));
    if (!config_.postgres_address.empty()) {
      ARROW_ASSIGN_OR_RAISE(postgres_,
                            PostgresListener::Start(config_, *registry_, http_->worker_threads()));
    }
    return arrow::Status::OK();
  }

  void Stop() {
    if (postgres_) postgres_->Stop();
    if (http_) http_->Stop();
    if (registry_) registry_->StopRefreshing();
  }

  int port() const { return http_->port(); }
  int postgres_port() const { return postgres_ ? postgres_->port() : 0; }

 private:
  void Handle(const HttpRequest& request, ResponseWriter& writer) {
    Clock::time_point started = Clock::now();
    std::string_view target = request.target;
    size_t question = target.find('?');
    std::string_view path = target.substr(0, question);
    std::string_view query =
        question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
    std::string endpoint = "other";
    int status = Route(request, path, query, writer, endpoint);
    metrics_.RecordRequest(endpoint, status,
                           std::chrono::duration<double>(Clock::now() - started).count());
  }

  int Route(const HttpRequest& request, std::string_view path, std::string_view query,
            ResponseWriter& writer, std::string& endpoint) {
    const bool get = request.method == "GET";
    if (path == "/health") {
      endpoint = "health";
      if (!get) return MethodNotAllowed(writer, "GET");
      (void)writer.Send(200, "text/plain", "OK");
      return 200;
    }
    if (path == "/metrics") {
      endpoint = "metrics";
      if (!get) return MethodNotAllowed(writer, "GET");
      (void)writer.Send(200, "text/plain; version=0.0.4", RenderMetrics());
      return 200;
    }
    if (path == "/api/sql") {
      endpoint = "sql";
      if (request.method != "POST") return MethodNotAllowed(writer, "POST");
      return HandleSql(request, writer);
    }
    if (path == "/api/schema" || path.starts_with("/api/schema/")) {
      endpoint = "schema";
      if (!get) return MethodNotAllowed(writer, "GET");
      return HandleSchema(path, writer);
    }
    if (path.starts_with("/api/tables/")) {
      endpoint = "tables";
      if (!get) return MethodNotAllowed(writer, "GET");
      auto name = DecodeUrlComponent(path.substr(std::string_view("/api/tables/").size()), false);
      if (!name.ok()) return SendError(name.status(), "rest_query", writer);
      return HandleTableQuery(*name, query, request, writer);
    }
    return SendError(MakeApiError(404, "not_found",
                                  "no endpoint " + std::string(path) +
                                      " (try /api/sql, /api/tables/{table}, /api/schema, "
                                      "/health or /metrics)"),
                     "not_found", writer);
  }

  int MethodNotAllowed(ResponseWriter& writer, std::string_view allowed) {
    return SendError(MakeApiError(405, "method_not_allowed",
                                  "this endpoint answers " + std::string(allowed) + " only"),
                     "method_not_allowed", writer);
  }

  arrow::Status UnknownTable(const std::string& name) const {
    std::string names;
    for (const std::string& known : registry_->names()) {
      names += (names.empty() ? "" : ", ") + known;
    }
    return MakeApiError(404, "invalid_table",
                        "Failed to load table " + name + ": no table named '" + name +
                            "' (tables: " + (names.empty() ? "none" : names) + ")");
  }

  int HandleSchema(std::string_view path, ResponseWriter& writer) {
    if (path == "/api/schema" || path == "/api/schema/") {
      JsonWriter json;
      json.BeginObject();
      for (const auto& table : registry_->tables()) {
        json.Key(table->name());
        json.Raw(SchemaJson(*table->schema()));
      }
      json.EndObject();
      (void)writer.Send(200, "application/json", json.Take());
      return 200;
    }
    auto name = DecodeUrlComponent(path.substr(std::string_view("/api/schema/").size()), false);
    if (!name.ok()) return SendError(name.status(), "invalid_table", writer);
    auto table = registry_->Find(*name);
    if (!table) return SendError(UnknownTable(*name), "invalid_table", writer);
    (void)writer.Send(200, "application/json", SchemaJson(*table->schema()));
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
    auto table = registry_->Find(name);
    if (!table) return SendError(UnknownTable(name), "invalid_table", writer);
    auto parameters = ParseQueryString(query_string);
    if (!parameters.ok()) return SendError(parameters.status(), "rest_query", writer);
    auto query = ParseRestQuery(*parameters);
    if (!query.ok()) return SendError(query.status(), "rest_query", writer);
    ResultLimits limits = LimitsFromNow();
    std::function<delta::data::ScanMetrics()> scan_metrics;
    auto reader = PlanTableQuery(*table, *query, limits, scan_metrics);
    if (!reader.ok()) return SendError(reader.status(), "query_execution", writer);
    auto [format, content_type] = NegotiateFormat(request.accept);
    StreamedResult result =
        StreamResult(**reader, format, content_type, limits, "query_execution", writer);
    if (scan_metrics) metrics_.RecordScan(scan_metrics());
    metrics_.RecordResultRows(result.rows, result.bytes);
    return result.status;
  }

  int HandleSql(const HttpRequest& request, ResponseWriter& writer) {
    if (request.body.find_first_not_of(" \t\r\n") == std::string::npos) {
      return SendError(MakeApiError(400, "plan_sql", "the request body holds no SQL statement"),
                       "plan_sql", writer);
    }
    ResultLimits limits = LimitsFromNow();
    sql::QueryOptions options;
    options.max_rows = config_.limits.max_result_rows;
    options.timeout = config_.limits.query_timeout;
    options.max_memory_bytes = config_.limits.max_query_memory_bytes;
    auto result = engine_->Execute(request.body, options);
    if (!result.ok()) {
      // An unknown table is the caller's mistake, reported like the REST endpoint does.
      if (result.status().IsKeyError()) {
        return SendError(WithApiError(result.status(), 404, "invalid_table"), "plan_sql", writer);
      }
      return SendError(result.status(), "plan_sql", writer);
    }
    auto [format, content_type] = NegotiateFormat(request.accept);
    StreamedResult streamed =
        StreamResult(*result->reader, format, content_type, limits, "query_execution", writer);
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
    return streamed.status;
  }

  std::string RenderMetrics() const {
    std::string out = metrics_.Render();
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
    const int64_t now_ms = NowMs();
    std::string version, checked_age, commit_age, files, memory, failures;
    for (const auto& table : registry_->tables()) {
      TableStatus status = table->status();
      const std::string label = "{table=\"" + PrometheusLabelValue(table->name()) + "\"} ";
      version += "nlk_table_snapshot_version" + label + std::to_string(status.version) + "\n";
      checked_age += "nlk_table_snapshot_age_seconds" + label +
                     std::to_string((now_ms - status.checked_at_ms) / 1000.0) + "\n";
      if (status.version >= 0) {
        commit_age += "nlk_table_commit_age_seconds" + label +
                      std::to_string((now_ms - status.commit_timestamp_ms) / 1000.0) + "\n";
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
    out += "# HELP nlk_table_files Live data files.\n# TYPE nlk_table_files gauge\n" + files;
    out +=
        "# HELP nlk_table_memory_bytes Bytes held by memory tables.\n"
        "# TYPE nlk_table_memory_bytes gauge\n" +
        memory;
    out +=
        "# HELP nlk_table_refresh_failures_total Failed log refreshes.\n"
        "# TYPE nlk_table_refresh_failures_total counter\n" +
        failures;
    return out;
  }

  const ServerConfig config_;
  ServerMetrics metrics_;
  std::unique_ptr<TableRegistry> registry_;
  std::unique_ptr<sql::SqlEngine> engine_;
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<PostgresListener> postgres_;
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
void QueryServer::Stop() { impl_->Stop(); }

}  // namespace nlk::server
