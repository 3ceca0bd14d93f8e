#include "server/audit_log.h"

#include <arrow/builder.h>
#include <arrow/record_batch.h>
#include <arrow/type.h>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <utility>

#include "common/prometheus.h"
#include "common/sha256.h"
#include "delta/table.h"

namespace nlk::server {
namespace {

constexpr int64_t kMicrosPerDay = 86'400'000'000LL;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Days since the epoch of a time in microseconds (floor, so times before 1970 land right).
int32_t DayOf(int64_t time_us) {
  int64_t day = time_us / kMicrosPerDay;
  if (time_us % kMicrosPerDay < 0) --day;
  return static_cast<int32_t>(day);
}

class DeltaAuditSink : public AuditSink {
 public:
  explicit DeltaAuditSink(std::string uri) : uri_(std::move(uri)) {}

  arrow::Status Open() override {
    if (table_) return arrow::Status::OK();
    ARROW_ASSIGN_OR_RAISE(bool exists, delta::Table::Exists(uri_));
    if (!exists) {
      delta::CreateOptions options;
      options.partition_columns = {"date"};
      options.name = "audit";
      options.description = "Queries served by nlk serve, one row each";
      auto created = delta::Table::Create(uri_, AuditTableSchema(), options);
      if (created.ok()) {
        table_ = *created;
        return arrow::Status::OK();
      }
      // Another process may have created it meanwhile; then open theirs.
      ARROW_ASSIGN_OR_RAISE(bool now_exists, delta::Table::Exists(uri_));
      if (!now_exists) return created.status();
    }
    ARROW_ASSIGN_OR_RAISE(table_, delta::Table::Open(uri_));
    return arrow::Status::OK();
  }

  arrow::Status Write(const std::vector<AuditRecord>& records) override {
    if (records.empty()) return arrow::Status::OK();
    ARROW_RETURN_NOT_OK(Open());
    ARROW_ASSIGN_OR_RAISE(auto batch, AuditRecordBatch(records));
    ARROW_ASSIGN_OR_RAISE(auto reader, arrow::RecordBatchReader::Make({batch}, batch->schema()));
    ARROW_ASSIGN_OR_RAISE(auto result, table_->Append(reader));
    (void)result;
    return arrow::Status::OK();
  }

 private:
  const std::string uri_;
  std::shared_ptr<delta::Table> table_;  // the flush thread's only
};

}  // namespace

int64_t AuditNowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::shared_ptr<arrow::Schema> AuditTableSchema() {
  static const std::shared_ptr<arrow::Schema> schema = arrow::schema({
      arrow::field("time", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"), false),
      arrow::field("date", arrow::date32(), false),
      arrow::field("principal", arrow::utf8(), false),
      arrow::field("client_address", arrow::utf8()),
      arrow::field("protocol", arrow::utf8(), false),
      arrow::field("endpoint", arrow::utf8()),
      arrow::field("tables", arrow::list(arrow::field("element", arrow::utf8(), false))),
      arrow::field("rows", arrow::int64()),
      arrow::field("bytes", arrow::int64()),
      arrow::field("duration_us", arrow::int64()),
      arrow::field("status", arrow::utf8(), false),
      arrow::field("http_status", arrow::int32()),
      arrow::field("statement_sha256", arrow::utf8()),
      arrow::field("statement", arrow::utf8()),
  });
  return schema;
}

std::unique_ptr<AuditSink> MakeDeltaAuditSink(std::string uri) {
  return std::make_unique<DeltaAuditSink>(std::move(uri));
}

arrow::Result<std::shared_ptr<arrow::RecordBatch>> AuditRecordBatch(
    const std::vector<AuditRecord>& records) {
  std::shared_ptr<arrow::Schema> schema = AuditTableSchema();
  arrow::TimestampBuilder time(schema->field(0)->type(), arrow::default_memory_pool());
  arrow::Date32Builder date;
  arrow::StringBuilder principal, client, protocol, endpoint;
  auto table_names = std::make_shared<arrow::StringBuilder>();
  arrow::ListBuilder tables(arrow::default_memory_pool(), table_names,
                            schema->GetFieldByName("tables")->type());
  arrow::Int64Builder rows, bytes, duration;
  arrow::StringBuilder status;
  arrow::Int32Builder http_status;
  arrow::StringBuilder sha, statement;
  for (const AuditRecord& record : records) {
    ARROW_RETURN_NOT_OK(time.Append(record.time_us));
    ARROW_RETURN_NOT_OK(date.Append(DayOf(record.time_us)));
    ARROW_RETURN_NOT_OK(
        principal.Append(record.principal.empty() ? kAnonymousPrincipal : record.principal));
    ARROW_RETURN_NOT_OK(client.Append(record.client_address));
    ARROW_RETURN_NOT_OK(protocol.Append(record.protocol));
    ARROW_RETURN_NOT_OK(endpoint.Append(record.endpoint));
    ARROW_RETURN_NOT_OK(tables.Append());
    for (const std::string& name : record.tables) ARROW_RETURN_NOT_OK(table_names->Append(name));
    ARROW_RETURN_NOT_OK(rows.Append(record.rows));
    ARROW_RETURN_NOT_OK(bytes.Append(record.bytes));
    ARROW_RETURN_NOT_OK(duration.Append(record.duration_us));
    ARROW_RETURN_NOT_OK(status.Append(record.status));
    if (record.http_status > 0) {
      ARROW_RETURN_NOT_OK(http_status.Append(record.http_status));
    } else {
      ARROW_RETURN_NOT_OK(http_status.AppendNull());
    }
    if (record.statement_sha256.empty()) {
      ARROW_RETURN_NOT_OK(sha.AppendNull());
    } else {
      ARROW_RETURN_NOT_OK(sha.Append(record.statement_sha256));
    }
    if (record.statement) {
      ARROW_RETURN_NOT_OK(statement.Append(*record.statement));
    } else {
      ARROW_RETURN_NOT_OK(statement.AppendNull());
    }
  }
  std::vector<std::shared_ptr<arrow::Array>> columns(schema->num_fields());
  ARROW_RETURN_NOT_OK(time.Finish(&columns[0]));
  ARROW_RETURN_NOT_OK(date.Finish(&columns[1]));
  ARROW_RETURN_NOT_OK(principal.Finish(&columns[2]));
  ARROW_RETURN_NOT_OK(client.Finish(&columns[3]));
  ARROW_RETURN_NOT_OK(protocol.Finish(&columns[4]));
  ARROW_RETURN_NOT_OK(endpoint.Finish(&columns[5]));
  ARROW_RETURN_NOT_OK(tables.Finish(&columns[6]));
  ARROW_RETURN_NOT_OK(rows.Finish(&columns[7]));
  ARROW_RETURN_NOT_OK(bytes.Finish(&columns[8]));
  ARROW_RETURN_NOT_OK(duration.Finish(&columns[9]));
  ARROW_RETURN_NOT_OK(status.Finish(&columns[10]));
  ARROW_RETURN_NOT_OK(http_status.Finish(&columns[11]));
  ARROW_RETURN_NOT_OK(sha.Finish(&columns[12]));
  ARROW_RETURN_NOT_OK(statement.Finish(&columns[13]));
  return arrow::RecordBatch::Make(schema, static_cast<int64_t>(records.size()), std::move(columns));
}

AuditLog::AuditLog(AuditOptions options, std::unique_ptr<AuditSink> sink)
    : options_(std::move(options)), sink_(std::move(sink)) {}

arrow::Result<std::unique_ptr<AuditLog>> AuditLog::Start(AuditOptions options,
                                                         std::unique_ptr<AuditSink> sink) {
  if (!sink) return arrow::Status::Invalid("audit log: no sink");
  if (options.flush_interval.count() <= 0) {
    return arrow::Status::Invalid("audit flush_interval_ms must be positive, not ",
                                  options.flush_interval.count());
  }
  if (options.max_batch == 0 || options.max_queue < options.max_batch) {
    return arrow::Status::Invalid("audit max_batch must be positive and at most max_queue (",
                                  options.max_batch, " and ", options.max_queue, ")");
  }
  std::unique_ptr<AuditLog> log(new AuditLog(std::move(options), std::move(sink)));
  log->thread_ = std::thread([raw = log.get()] { raw->Run(); });
  return log;
}

AuditLog::~AuditLog() { Stop(); }

bool AuditLog::Record(AuditRecord record) {
  if (!options_.statements) record.statement.reset();
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopped_ || queue_.size() >= options_.max_queue) {
      ++stats_.records_dropped;
      return false;
    }
    queue_.push_back(std::move(record));
    wake = queue_.size() == options_.max_batch;
  }
  if (wake) wake_.notify_one();
  return true;
}

bool AuditLog::accepting() const {
  if (!options_.fail_closed) return true;
  std::lock_guard<std::mutex> lock(mutex_);
  return !stats_.failing;
}

void AuditLog::CountRefused() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++stats_.refused_queries;
}

AuditStats AuditLog::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  AuditStats stats = stats_;
  stats.queue_depth = static_cast<int64_t>(queue_.size());
  return stats;
}

std::string AuditLog::RenderMetrics() const {
  AuditStats current = stats();
  std::string out;
  out += PrometheusMetric("nlk_audit_records_total", "counter",
                          "Audit records written to the audit table.", current.records_written);
  out += PrometheusMetric("nlk_audit_dropped_total", "counter",
                          "Audit records dropped: the queue was full while the sink failed.",
                          current.records_dropped);
  out += PrometheusMetric("nlk_audit_write_failures_total", "counter",
                          "Failed writes to the audit table (each retried at the next flush).",
                          current.write_failures);
  out += PrometheusMetric("nlk_audit_refused_total", "counter",
                          "Queries refused (503) because the audit log could not be written "
                          "(fail_closed).",
                          current.refused_queries);
  out += PrometheusMetric("nlk_audit_queue_depth", "gauge", "Audit records waiting to be written.",
                          current.queue_depth);
  out += PrometheusMetric("nlk_audit_last_flush_timestamp_seconds", "gauge",
                          "Unix time of the last successful write to the audit table (0: none).",
                          static_cast<double>(current.last_flush_ms) / 1000.0);
  out += PrometheusMetric("nlk_audit_sink_up", "gauge",
                          "1 while the audit table is written without errors, 0 after a failed "
                          "write until one succeeds.",
                          current.failing ? int64_t{0} : int64_t{1});
  return out;
}

arrow::Status AuditLog::Flush() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (stopped_) return last_status_;
  const int64_t ticket = ++flush_requests_;
  wake_.notify_one();
  flushed_.wait(lock, [&] { return flushes_done_ >= ticket || stopped_; });
  return last_status_;
}

void AuditLog::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void AuditLog::WriteQueued(std::unique_lock<std::mutex>& lock) {
  if (!opened_) {
    lock.unlock();
    arrow::Status opened = sink_->Open();
    lock.lock();
    last_status_ = opened;
    if (!opened.ok()) {
      ++stats_.write_failures;
      stats_.failing = true;
      stats_.last_error = opened.ToString();
      return;
    }
    opened_ = true;
    stats_.failing = false;
    stats_.last_error.clear();
  }
  // Only what is queued now: records arriving while a batch is written wait for the next flush.
  // Draining until empty would commit again and again, a few records each, under steady load.
  size_t remaining = queue_.size();
  while (remaining > 0) {
    const size_t count = std::min(remaining, options_.max_batch);
    std::vector<AuditRecord> batch(std::make_move_iterator(queue_.begin()),
                                   std::make_move_iterator(queue_.begin() + count));
    lock.unlock();
    arrow::Status status = sink_->Write(batch);
    lock.lock();
    last_status_ = status;
    if (!status.ok()) {
      // The moved-from records in the queue are restored, so a retry writes them.
      for (size_t index = 0; index < count; ++index) queue_[index] = std::move(batch[index]);
      ++stats_.write_failures;
      stats_.failing = true;
      stats_.last_error = status.ToString();
      return;
    }
    queue_.erase(queue_.begin(), queue_.begin() + count);
    remaining -= count;
    stats_.records_written += static_cast<int64_t>(count);
    stats_.failing = false;
    stats_.last_error.clear();
    stats_.last_flush_ms = NowMs();
  }
}

void AuditLog::Run() {
  // Named so profiles and top(1) show what the audit log costs apart from the queries.
  pthread_setname_np(pthread_self(), "nlk-audit");
  // Below the query threads (nice +10 for this thread only): a commit of the log waits for a
  // free core instead of delaying the queries it records. Its share of the server's CPU is
  // small (bench/security_cost_bench.py --profile), so it still keeps up under full load.
  // Failure to lower it (a restricted container) only costs the tail latency.
  (void)setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 10);
  std::unique_lock<std::mutex> lock(mutex_);
  WriteQueued(lock);  // opens the sink now: a location that cannot be written shows at once
  auto next_flush = std::chrono::steady_clock::now() + options_.flush_interval;
  while (true) {
    // A failing sink is retried once per interval, not as fast as records arrive.
    wake_.wait_until(lock, next_flush, [&] {
      return stopping_ || flush_requests_ > flushes_done_ ||
             (!stats_.failing && queue_.size() >= options_.max_batch);
    });
    const int64_t requested = flush_requests_;
    const bool stopping = stopping_;
    const bool due = std::chrono::steady_clock::now() >= next_flush;
    if (due || stopping || requested > flushes_done_ || !stats_.failing) WriteQueued(lock);
    if (due || stats_.failing) {
      next_flush = std::chrono::steady_clock::now() + options_.flush_interval;
    }
    flushes_done_ = requested;
    flushed_.notify_all();
    if (stopping) break;
  }
  stopped_ = true;
  // Records that could not be written by now are lost; say how many.
  stats_.records_dropped += static_cast<int64_t>(queue_.size());
  queue_.clear();
  flushed_.notify_all();
}

AuditRecord AuditRecordOf(sql::QueryEvent event, std::string protocol, std::string principal) {
  AuditRecord record;
  record.time_us = event.start_time_us;
  record.principal = principal.empty() ? std::string(kAnonymousPrincipal) : std::move(principal);
  record.client_address = std::move(event.client_address);
  record.protocol = std::move(protocol);
  record.endpoint = "sql";
  record.tables = std::move(event.tables);
  record.rows = event.rows;
  record.bytes = event.bytes;
  record.duration_us = event.duration_us;
  record.status = std::move(event.status);
  record.statement_sha256 = Sha256Hex(event.statement);
  record.statement = std::move(event.statement);
  return record;
}

}  // namespace nlk::server
