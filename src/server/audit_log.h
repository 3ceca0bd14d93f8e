// The query audit log of `nlk serve`: one record per query (HTTP /api/sql, the REST table
// endpoint, /api/schema, PostgreSQL and Flight SQL statements), appended to a Delta table so it
// can be queried with our own SQL (and by Spark or delta-rs).
//
// Queries only enqueue: Record() takes a mutex and appends to a bounded queue. A background
// thread writes the queue as one Delta commit every flush_interval, or as soon as max_batch
// records wait. When a write fails (the table's directory unwritable, the store down) the
// records stay queued and are retried at the next flush; the log is then `failing` until a
// write succeeds. With fail_closed, callers ask accepting() before running a query and refuse it
// (503) while the log is failing, so no query runs unrecorded. The sink is opened (the table
// created) at start, so a location that cannot be written shows at once, not at the first flush.
// Without it queries go on; records beyond max_queue are dropped and counted. Stop() writes what is
// still queued.
//
// Thread-safety: Record, accepting, stats and RenderMetrics may be called from any thread.
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>
#include <arrow/type_fwd.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "sql/query_event.h"

namespace nlk::server {

// The principal recorded for a query without an authenticated identity (a loopback server
// without tokens).
inline constexpr char kAnonymousPrincipal[] = "anonymous";

struct AuditRecord {
  int64_t time_us = 0;  // when the query arrived, microseconds since the Unix epoch (UTC)
  std::string principal;
  std::string client_address;
  std::string protocol;             // "http", "postgres", "flight_sql", "retention"
  std::string endpoint;             // "sql", "tables", "schema", ... (what was asked)
  std::vector<std::string> tables;  // the served tables the query touched
  int64_t rows = 0;                 // rows returned
  int64_t bytes = 0;                // bytes returned
  int64_t duration_us = 0;
  // "ok", or the error code the client was told ("invalid_table", "audit_unavailable", a
  // SQLSTATE for PostgreSQL, ...).
  std::string status;
  int http_status = 0;                   // HTTP status; 0 for other protocols
  std::string statement_sha256;          // hex SHA-256 of the statement text
  std::optional<std::string> statement;  // the text itself, when statements are recorded
};

// Where the records go. The Delta sink is the product's; tests substitute their own.
class AuditSink {
 public:
  virtual ~AuditSink() = default;
  // Gets ready to write (the Delta sink opens or creates its table). Called by the flush thread
  // at start and, after a failure, before each retry until it succeeds.
  virtual arrow::Status Open() { return arrow::Status::OK(); }
  // Writes the records durably, all or none.
  virtual arrow::Status Write(const std::vector<AuditRecord>& records) = 0;
};

// The audit table's columns (partitioned by `date`, the UTC day of `time`).
std::shared_ptr<arrow::Schema> AuditTableSchema();

// Appends to the Delta table at `uri`, creating it (with AuditTableSchema, no rows) when it
// opens if there is none.
std::unique_ptr<AuditSink> MakeDeltaAuditSink(std::string uri);

// The records as a batch of AuditTableSchema.
arrow::Result<std::shared_ptr<arrow::RecordBatch>> AuditRecordBatch(
    const std::vector<AuditRecord>& records);

struct AuditOptions {
  std::string uri;          // the audit table; empty: no audit log
  bool statements = false;  // record statement texts, not only their hashes
  bool fail_closed = false;
  std::chrono::milliseconds flush_interval{1000};
  size_t max_batch = 1000;     // a flush starts as soon as this many records wait
  size_t max_queue = 100'000;  // records held while the sink fails; beyond: dropped
};

struct AuditStats {
  int64_t records_written = 0;
  int64_t records_dropped = 0;
  int64_t write_failures = 0;
  int64_t refused_queries = 0;
  int64_t queue_depth = 0;
  int64_t last_flush_ms = 0;  // Unix time of the last successful write; 0: none yet
  bool failing = false;
  std::string last_error;
};

// The record of a query a PostgreSQL or Flight SQL session reported: `protocol` ("postgres",
// "flight_sql") and endpoint "sql", with `principal` (kAnonymousPrincipal when empty).
AuditRecord AuditRecordOf(sql::QueryEvent event, std::string protocol, std::string principal);

class AuditLog {
 public:
  // Starts the flush thread.
  static arrow::Result<std::unique_ptr<AuditLog>> Start(AuditOptions options,
                                                        std::unique_ptr<AuditSink> sink);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Queues `record` (its statement text dropped unless statements are recorded); false when
  // the queue is full and the record was dropped.
  bool Record(AuditRecord record);
  // False while fail_closed and the last write failed: callers refuse queries.
  bool accepting() const;
  // Counts a query refused because !accepting().
  void CountRefused();
  bool records_statements() const { return options_.statements; }
  const AuditOptions& options() const { return options_; }

  AuditStats stats() const;
  // Prometheus text: nlk_audit_records_total, nlk_audit_dropped_total,
  // nlk_audit_write_failures_total, nlk_audit_refused_total, nlk_audit_queue_depth,
  // nlk_audit_last_flush_timestamp_seconds, nlk_audit_sink_up.
  std::string RenderMetrics() const;

  // Writes what is queued now and waits for it; the status of that write.
  arrow::Status Flush();
  // Writes what is queued and stops the thread; records arriving later are dropped.
  void Stop();

 private:
  AuditLog(AuditOptions options, std::unique_ptr<AuditSink> sink);
  void Run();
  // Writes the queued records (the flush thread only). Lock held on entry and exit.
  void WriteQueued(std::unique_lock<std::mutex>& lock);

  const AuditOptions options_;
  std::unique_ptr<AuditSink> sink_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable flushed_;
  std::deque<AuditRecord> queue_;
  bool stopping_ = false;
  bool stopped_ = false;
  bool opened_ = false;         // the sink's Open() succeeded
  int64_t flush_requests_ = 0;  // Flush() calls asked for
  int64_t flushes_done_ = 0;    // flush passes completed
  arrow::Status last_status_;
  AuditStats stats_;
  std::thread thread_;
};

// Microseconds since the Unix epoch, now.
int64_t AuditNowMicros();

}  // namespace nlk::server
