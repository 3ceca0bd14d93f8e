#include "flightsql/flight_sql_server.h"

#include <arrow/flight/server.h>
#include <arrow/flight/server_middleware.h>
#include <arrow/flight/types.h>
#include <arrow/ipc/writer.h>
#include <arrow/util/byte_size.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <random>

#include "flightsql/catalog_listing.h"
#include "flightsql/flight_sql_messages.h"
#include "flightsql/parameter_binding.h"
#include "flightsql/query_slots.h"
#include "flightsql/sql_info.h"
#include "sql/sql_engine.h"
#include "sql/table_capture.h"

namespace nlk::flightsql {
namespace {

namespace flight = arrow::flight;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kCreatePreparedStatement = "CreatePreparedStatement";
constexpr std::string_view kClosePreparedStatement = "ClosePreparedStatement";
// How long Stop lets running calls finish before cancelling them.
constexpr std::chrono::seconds kShutdownGrace{1};
constexpr int kHandleBytes = 16;

// Counts the calls in flight; the factory refuses one beyond the limit.
class CallCount : public flight::ServerMiddleware {
 public:
  explicit CallCount(std::shared_ptr<std::atomic<int>> active) : active_(std::move(active)) {}
  ~CallCount() override { active_->fetch_sub(1); }
  std::string name() const override { return "nlk_call_count"; }
  void SendingHeaders(flight::AddCallHeaders*) override {}
  void CallCompleted(const arrow::Status&) override {}

 private:
  std::shared_ptr<std::atomic<int>> active_;
};

class CallLimit : public flight::ServerMiddlewareFactory {
 public:
  explicit CallLimit(int max_calls) : max_calls_(max_calls) {}

  arrow::Status StartCall(const flight::CallInfo&, const flight::ServerCallContext&,
                          std::shared_ptr<flight::ServerMiddleware>* middleware) override {
    if (active_->fetch_add(1) >= max_calls_) {
      active_->fetch_sub(1);
      return flight::MakeFlightError(flight::FlightStatusCode::Unavailable,
                                     "the server has " + std::to_string(max_calls_) +
                                         " calls in flight (max_connections); retry later");
    }
    *middleware = std::make_shared<CallCount>(active_);
    return arrow::Status::OK();
  }

 private:
  const int max_calls_;
  std::shared_ptr<std::atomic<int>> active_ = std::make_shared<std::atomic<int>>(0);
};

constexpr char kCallerTables[] = "nlk_token_check";

// The tables the caller's token may read, for the call's handlers to query.
class CallerTables : public flight::ServerMiddleware {
 public:
  CallerTables(std::shared_ptr<sql::TableCatalog> tables, std::string caller)
      : tables_(std::move(tables)), caller_(std::move(caller)) {}
  std::string name() const override { return kCallerTables; }
  void SendingHeaders(flight::AddCallHeaders*) override {}
  void CallCompleted(const arrow::Status&) override {}
  const std::shared_ptr<sql::TableCatalog>& tables() const { return tables_; }
  // Who the tables are for (the token), so an answer started for one caller is never handed
  // to another.
  const std::string& caller() const { return caller_; }

 private:
  std::shared_ptr<sql::TableCatalog> tables_;
  std::string caller_;
};

// Refuses calls without a bearer token the server accepts.
class TokenCheck : public flight::ServerMiddlewareFactory {
 public:
  TokenCheck(std::function<bool(std::string_view)> authenticate,
             std::function<std::shared_ptr<sql::TableCatalog>(std::string_view)> tables_for)
      : authenticate_(std::move(authenticate)), tables_for_(std::move(tables_for)) {}

  arrow::Status StartCall(const flight::CallInfo&, const flight::ServerCallContext& context,
                          std::shared_ptr<flight::ServerMiddleware>* middleware) override {
    constexpr std::string_view kScheme = "bearer ";
    auto found = context.incoming_headers().find("authorization");
    if (found != context.incoming_headers().end()) {
      std::string_view value = found->second;
      if (value.size() > kScheme.size()) {
        std::string scheme(value.substr(0, kScheme.size()));
        for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string_view token = value.substr(kScheme.size());
        if (scheme == kScheme && authenticate_(token)) {
          if (tables_for_) {
            std::shared_ptr<sql::TableCatalog> tables = tables_for_(token);
            if (tables == nullptr) {
              return flight::MakeFlightError(flight::FlightStatusCode::Unauthenticated,
                                             "invalid or revoked token");
            }
            *middleware = std::make_shared<CallerTables>(std::move(tables), std::string(token));
          }
          return arrow::Status::OK();
        }
      }
      return flight::MakeFlightError(flight::FlightStatusCode::Unauthenticated,
                                     "invalid or revoked token");
    }
    return flight::MakeFlightError(flight::FlightStatusCode::Unauthenticated,
                                   "authentication required: send the header "
                                   "'authorization: Bearer <token>'");
  }

 private:
  std::function<bool(std::string_view)> authenticate_;
  std::function<std::shared_ptr<sql::TableCatalog>(std::string_view)> tables_for_;
};

using Tables = std::shared_ptr<sql::TableCatalog>;

struct PreparedStatement {
  ParameterizedQuery query;
  std::shared_ptr<arrow::Schema> dataset_schema;
  std::shared_ptr<arrow::RecordBatch> parameters;  // null: none bound yet
  uint64_t last_used = 0;                          // FlightSqlServer::Impl::uses_ then
};

// The limits the engine does not keep for a whole answer: its rows and bytes over every
// statement run (a prepared statement runs once per parameter row), and the timeout as the
// client sees it.
struct AnswerLimits {
  int64_t max_rows = 0;
  int64_t max_bytes = 0;
  std::chrono::milliseconds timeout{0};
  Clock::time_point deadline;  // of the whole answer: each statement gets what remains
};

// The engine's Cancelled is the query timeout, since no query is given a stop token (a client
// that goes away ends its stream, and the query with it); the row and memory limits are the
// query's fault, to be fixed by changing it.
arrow::Status ForClient(const arrow::Status& status, const AnswerLimits& limits) {
  if (status.IsCancelled()) {
    return flight::MakeFlightError(flight::FlightStatusCode::TimedOut,
                                   "the query ran longer than " +
                                       std::to_string(limits.timeout.count()) +
                                       " ms (query_timeout)");
  }
  if (status.IsCapacityError() || status.IsOutOfMemory()) {
    return arrow::Status::Invalid(status.message());
  }
  return status;
}

// Streams the results of one or more statements with the same columns, under the answer's
// limits, holding a query slot until destroyed.
class AnswerReader : public arrow::RecordBatchReader {
 public:
  using Runner = std::function<arrow::Result<sql::QueryResult>(const std::string&)>;

  AnswerReader(sql::QueryResult first, std::vector<std::string> rest, Runner run,
               AnswerLimits limits, std::unique_ptr<QuerySlots::Slot> slot)
      : schema_(first.schema),
        current_(std::move(first.reader)),
        rest_(std::move(rest)),
        run_(std::move(run)),
        limits_(limits),
        slot_(std::move(slot)) {}

  std::shared_ptr<arrow::Schema> schema() const override { return schema_; }

  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* batch) override {
    while (current_ != nullptr) {
      arrow::Status read = current_->ReadNext(batch);
      if (!read.ok()) return ForClient(read, limits_);
      if (*batch != nullptr) return Count(**batch);
      ARROW_RETURN_NOT_OK(current_->Close());
      current_ = nullptr;
      if (next_ < rest_.size()) {
        ARROW_ASSIGN_OR_RAISE(sql::QueryResult result, run_(rest_[next_++]));
        if (!result.schema->Equals(*schema_)) {
          return arrow::Status::Invalid("parameter row ", next_ + 1, " gives the columns ",
                                        result.schema->ToString(), " where the first row gave ",
                                        schema_->ToString(), "; bind values of one type");
        }
        current_ = std::move(result.reader);
      }
    }
    *batch = nullptr;
    return arrow::Status::OK();
  }

  arrow::Status Close() override {
    current_ = nullptr;
    slot_ = nullptr;
    return arrow::Status::OK();
  }

 private:
  arrow::Status Count(const arrow::RecordBatch& batch) {
    rows_ += batch.num_rows();
    if (rows_ > limits_.max_rows) {
      return arrow::Status::Invalid("the result has more than ", limits_.max_rows,
                                    " rows (max_result_rows); add a filter or a limit");
    }
    int64_t size = 0;
    ARROW_RETURN_NOT_OK(arrow::ipc::GetRecordBatchSize(batch, &size));
    bytes_ += size;
    if (bytes_ > limits_.max_bytes) {
      return arrow::Status::Invalid("the result is larger than ", limits_.max_bytes,
                                    " bytes (max_result_bytes); add a filter or a limit");
    }
    return arrow::Status::OK();
  }

  std::shared_ptr<arrow::Schema> schema_;
  std::shared_ptr<arrow::RecordBatchReader> current_;
  std::vector<std::string> rest_;
  size_t next_ = 0;
  Runner run_;
  AnswerLimits limits_;
  std::unique_ptr<QuerySlots::Slot> slot_;
  int64_t rows_ = 0;
  int64_t bytes_ = 0;
};

// Passes an answer through, counting what the client is sent, and reports its QueryEvent once:
// at the end of the stream, on an error, or when dropped before the end.
class ObservedReader : public arrow::RecordBatchReader {
 public:
  ObservedReader(std::shared_ptr<arrow::RecordBatchReader> source, sql::QueryEvent event,
                 sql::QueryObserver observer)
      : source_(std::move(source)),
        event_(std::move(event)),
        observer_(std::move(observer)),
        started_(Clock::now()) {}
  ~ObservedReader() override { Report("ok"); }

  std::shared_ptr<arrow::Schema> schema() const override { return source_->schema(); }

  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* batch) override {
    arrow::Status read = source_->ReadNext(batch);
    if (!read.ok()) {
      Report(read.CodeAsString());
      return read;
    }
    if (*batch == nullptr) {
      Report("ok");
    } else {
      event_.rows += (*batch)->num_rows();
      int64_t size = 0;
      if (arrow::ipc::GetRecordBatchSize(**batch, &size).ok()) event_.bytes += size;
    }
    return arrow::Status::OK();
  }

  arrow::Status Close() override { return source_->Close(); }

 private:
  void Report(const std::string& status) {
    if (reported_) return;
    reported_ = true;
    event_.duration_us =
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started_).count();
    event_.status = status;
    observer_(std::move(event_));
  }

  std::shared_ptr<arrow::RecordBatchReader> source_;
  sql::QueryEvent event_;
  sql::QueryObserver observer_;
  Clock::time_point started_;
  bool reported_ = false;
};

// "ipv4:127.0.0.1:5555" (gRPC's peer) -> "127.0.0.1"; "ipv6:[::1]:5555" -> "::1".
std::string PeerAddress(std::string peer) {
  size_t colon = peer.find(':');
  if (colon != std::string::npos && peer.compare(0, 3, "ipv") == 0) peer = peer.substr(colon + 1);
  size_t port = peer.rfind(':');
  if (port != std::string::npos && peer.find(']') != std::string::npos) {
    return peer.substr(1, peer.find(']') - 1);
  }
  if (port != std::string::npos && peer.find(':') == port) return peer.substr(0, port);
  return peer;
}

arrow::Result<std::unique_ptr<flight::FlightDataStream>> StreamOf(
    const std::shared_ptr<arrow::RecordBatch>& batch) {
  ARROW_ASSIGN_OR_RAISE(auto reader, arrow::RecordBatchReader::Make({batch}, batch->schema()));
  return std::make_unique<flight::RecordBatchStream>(std::move(reader));
}

arrow::Status RefuseTransaction(const std::optional<std::string>& transaction_id) {
  if (!transaction_id) return arrow::Status::OK();
  return arrow::Status::NotImplemented(
      "transactions are not supported: nlk serve is read-only and each query sees the latest "
      "table versions");
}

arrow::Status Unsupported(const UnsupportedCommand& command) {
  return arrow::Status::NotImplemented("Flight SQL command ", command.type_url,
                                       " is not supported by nlk serve, which is read-only and "
                                       "serves queries, prepared statements and the catalog");
}

}  // namespace

class FlightSqlServer::Impl : public flight::FlightServerBase {
 public:
  explicit Impl(FlightSqlServerOptions options)
      : options_(std::move(options)),
        slots_(std::make_shared<QuerySlots>(options_.max_running_queries,
                                            options_.max_waiting_queries)) {}

  arrow::Status Listen() {
    size_t colon = options_.address.rfind(':');
    if (colon == std::string::npos) {
      return arrow::Status::Invalid("Flight SQL address \"", options_.address,
                                    "\": expected HOST:PORT");
    }
    std::string host = options_.address.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    int port = -1;
    try {
      size_t used = 0;
      port = std::stoi(options_.address.substr(colon + 1), &used);
      if (used != options_.address.size() - colon - 1) port = -1;
    } catch (const std::exception&) {
      port = -1;
    }
    if (port < 0 || port > 65535) {
      return arrow::Status::Invalid("Flight SQL address \"", options_.address,
                                    "\": the port must be a number from 0 to 65535");
    }
    const bool tls = !options_.tls_certificate.empty();
    ARROW_ASSIGN_OR_RAISE(
        flight::Location location,
        tls ? flight::Location::ForGrpcTls(host, port) : flight::Location::ForGrpcTcp(host, port));
    flight::FlightServerOptions server_options(location);
    if (tls) {
      server_options.tls_certificates.push_back({options_.tls_certificate, options_.tls_key});
      if (!options_.tls_client_ca.empty()) {
        server_options.verify_client = true;
        server_options.root_certificates = options_.tls_client_ca;
      }
    }
    if (options_.authenticate) {
      server_options.middleware.emplace_back(
          kCallerTables,
          std::make_shared<TokenCheck>(options_.authenticate, options_.tables_for_token));
    }
    server_options.middleware.emplace_back("nlk_call_limit",
                                           std::make_shared<CallLimit>(options_.max_calls));
    arrow::Status started = Init(server_options);
    if (!started.ok()) {
      return arrow::Status::IOError("cannot listen for Flight SQL on ", options_.address, ": ",
                                    started.message());
    }
    return arrow::Status::OK();
  }

  void StopServing() {
    slots_->Stop();
    auto deadline = std::chrono::system_clock::now() + kShutdownGrace;
    // Shutdown cancels the calls still running at the deadline; its error (already stopped)
    // leaves nothing to do.
    if (Shutdown(&deadline).ok()) (void)Wait();
  }

  // The tables the call's caller sees: their own with a per-token view, else the server's.
  Tables TablesOf(const flight::ServerCallContext& context) const {
    auto* caller = dynamic_cast<CallerTables*>(context.GetMiddleware(kCallerTables));
    return caller != nullptr ? caller->tables() : options_.tables;
  }

  static std::string CallerOf(const flight::ServerCallContext& context) {
    auto* caller = dynamic_cast<CallerTables*>(context.GetMiddleware(kCallerTables));
    return caller != nullptr ? caller->caller() : std::string();
  }

  arrow::Status GetFlightInfo(const flight::ServerCallContext& context,
                              const flight::FlightDescriptor& descriptor,
                              std::unique_ptr<flight::FlightInfo>* info) override {
    ARROW_ASSIGN_OR_RAISE(Command command, CommandOf(descriptor));
    std::shared_ptr<arrow::Schema> schema;
    flight::FlightEndpoint endpoint;
    if (const auto* statement = std::get_if<CommandStatementQuery>(&command)) {
      // The query starts here, to learn its columns, and waits for DoGet: the ticket names the
      // started answer and carries the SQL to run again should the answer be gone by then.
      ARROW_RETURN_NOT_OK(RefuseTransaction(statement->transaction_id));
      ARROW_ASSIGN_OR_RAISE(auto reader,
                            ObservedAnswer(context, statement->query, {statement->query}));
      schema = reader->schema();
      std::string id = Park(std::move(reader), statement->query, CallerOf(context));
      endpoint.ticket.ticket = EncodeCommand(TicketStatementQuery{id + statement->query});
    } else {
      ARROW_ASSIGN_OR_RAISE(schema, SchemaOf(TablesOf(context), command));
      endpoint.ticket.ticket = descriptor.cmd;  // answered afresh by DoGet
    }
    ARROW_ASSIGN_OR_RAISE(auto made, flight::FlightInfo::Make(*schema, descriptor, {endpoint},
                                                              /*total_records=*/-1,
                                                              /*total_bytes=*/-1,
                                                              /*ordered=*/true));
    *info = std::make_unique<flight::FlightInfo>(std::move(made));
    return arrow::Status::OK();
  }

  arrow::Status GetSchema(const flight::ServerCallContext& context,
                          const flight::FlightDescriptor& descriptor,
                          std::unique_ptr<flight::SchemaResult>* result) override {
    ARROW_ASSIGN_OR_RAISE(Command command, CommandOf(descriptor));
    ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Schema> schema,
                          SchemaOf(TablesOf(context), command));
    ARROW_ASSIGN_OR_RAISE(*result, flight::SchemaResult::Make(*schema));
    return arrow::Status::OK();
  }

  arrow::Status DoGet(const flight::ServerCallContext& context, const flight::Ticket& ticket,
                      std::unique_ptr<flight::FlightDataStream>* stream) override {
    auto command = DecodeCommand(ticket.ticket);
    if (!command.ok()) {
      return arrow::Status::Invalid("the ticket is not a Flight SQL ticket: ",
                                    command.status().message());
    }
    if (const auto* statement = std::get_if<TicketStatementQuery>(&*command)) {
      const std::string& handle = statement->statement_handle;
      if (handle.size() < kHandleBytes * 2) {
        return arrow::Status::Invalid("the statement ticket is too short to be one of ours");
      }
      const std::string sql = handle.substr(kHandleBytes * 2);
      std::shared_ptr<arrow::RecordBatchReader> reader =
          Unpark(handle.substr(0, kHandleBytes * 2), sql, CallerOf(context));
      if (reader == nullptr) {
        ARROW_ASSIGN_OR_RAISE(reader, ObservedAnswer(context, sql, {sql}));
      }
      *stream = std::make_unique<flight::RecordBatchStream>(std::move(reader));
      return arrow::Status::OK();
    }
    if (const auto* prepared = std::get_if<CommandPreparedStatementQuery>(&*command)) {
      ARROW_ASSIGN_OR_RAISE(std::vector<std::string> statements,
                            BoundStatements(prepared->prepared_statement_handle));
      const std::string text = statements.front();
      ARROW_ASSIGN_OR_RAISE(auto reader, ObservedAnswer(context, text, std::move(statements)));
      *stream = std::make_unique<flight::RecordBatchStream>(std::move(reader));
      return arrow::Status::OK();
    }
    if (std::holds_alternative<CommandStatementQuery>(*command)) {
      return arrow::Status::Invalid(
          "a CommandStatementQuery is not a ticket: call GetFlightInfo and use its ticket");
    }
    ARROW_ASSIGN_OR_RAISE(auto batch, Metadata(TablesOf(context), *command));
    ARROW_ASSIGN_OR_RAISE(*stream, StreamOf(batch));
    return arrow::Status::OK();
  }

  arrow::Status DoPut(const flight::ServerCallContext&,
                      std::unique_ptr<flight::FlightMessageReader> reader,
                      std::unique_ptr<flight::FlightMetadataWriter>) override {
    ARROW_ASSIGN_OR_RAISE(Command command, CommandOf(reader->descriptor()));
    const auto* prepared = std::get_if<CommandPreparedStatementQuery>(&command);
    if (prepared == nullptr) {
      if (const auto* unsupported = std::get_if<UnsupportedCommand>(&command)) {
        return Unsupported(*unsupported);
      }
      return arrow::Status::Invalid(
          "DoPut takes a CommandPreparedStatementQuery with the parameters to bind");
    }
    ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Table> rows, reader->ToTable());
    int64_t bytes = 0;
    for (const auto& column : rows->columns()) {
      for (const auto& chunk : column->chunks()) bytes += arrow::util::TotalBufferSize(*chunk);
    }
    if (bytes > options_.max_parameter_bytes) {
      return arrow::Status::Invalid("the bound parameters take ", bytes, " bytes; at most ",
                                    options_.max_parameter_bytes, " may be bound");
    }
    ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::RecordBatch> parameters,
                          rows->CombineChunksToBatch());
    std::lock_guard lock(mutex_);
    ARROW_ASSIGN_OR_RAISE(PreparedStatement * statement,
                          FindLocked(prepared->prepared_statement_handle));
    if (parameters->num_columns() != statement->query.parameter_count) {
      return arrow::Status::Invalid("the statement takes ", statement->query.parameter_count,
                                    " parameter(s) ($1..$n) but ", parameters->num_columns(),
                                    " columns were bound");
    }
    statement->parameters = std::move(parameters);
    return arrow::Status::OK();
  }

  arrow::Status DoAction(const flight::ServerCallContext& context, const flight::Action& action,
                         std::unique_ptr<flight::ResultStream>* result) override {
    std::string_view body = action.body ? std::string_view(*action.body) : std::string_view();
    std::vector<flight::Result> results;
    if (action.type == kCreatePreparedStatement) {
      ARROW_ASSIGN_OR_RAISE(auto request, DecodeCreatePreparedStatementRequest(body));
      ARROW_RETURN_NOT_OK(RefuseTransaction(request.transaction_id));
      ARROW_ASSIGN_OR_RAISE(std::string handle, Prepare(TablesOf(context), request.query));
      ActionCreatePreparedStatementResult created;
      created.prepared_statement_handle = handle;
      std::shared_ptr<arrow::Schema> schema;
      {
        std::lock_guard lock(mutex_);
        ARROW_ASSIGN_OR_RAISE(PreparedStatement * statement, FindLocked(handle));
        schema = statement->dataset_schema;
      }
      ARROW_ASSIGN_OR_RAISE(auto serialized, arrow::ipc::SerializeSchema(*schema));
      created.dataset_schema = serialized->ToString();
      flight::Result answer;
      answer.body = arrow::Buffer::FromString(EncodeCreatePreparedStatementResult(created));
      results.push_back(std::move(answer));
    } else if (action.type == kClosePreparedStatement) {
      ARROW_ASSIGN_OR_RAISE(auto request, DecodeClosePreparedStatementRequest(body));
      std::lock_guard lock(mutex_);
      if (prepared_.erase(request.prepared_statement_handle) == 0) {
        return arrow::Status::KeyError("no open prepared statement has that handle");
      }
    } else {
      return arrow::Status::NotImplemented(
          "action \"", action.type, "\" is not supported; nlk serve takes ",
          kCreatePreparedStatement, " and ", kClosePreparedStatement);
    }
    *result = std::make_unique<flight::SimpleResultStream>(std::move(results));
    return arrow::Status::OK();
  }

  arrow::Status ListActions(const flight::ServerCallContext&,
                            std::vector<flight::ActionType>* actions) override {
    *actions = {{std::string(kCreatePreparedStatement),
                 "Prepares a SQL query ($1, $2, ... "
                 "parameters bound through DoPut)"},
                {std::string(kClosePreparedStatement), "Frees a prepared statement"}};
    return arrow::Status::OK();
  }

 private:
  static arrow::Result<Command> CommandOf(const flight::FlightDescriptor& descriptor) {
    if (descriptor.type != flight::FlightDescriptor::CMD) {
      return arrow::Status::Invalid(
          "nlk serve answers Flight SQL commands; path descriptors name nothing here");
    }
    auto command = DecodeCommand(descriptor.cmd);
    if (!command.ok()) {
      return arrow::Status::Invalid("the descriptor is not a Flight SQL command: ",
                                    command.status().message());
    }
    return command;
  }

  AnswerLimits LimitsFromNow() const {
    AnswerLimits limits;
    limits.max_rows = options_.max_rows;
    limits.max_bytes = options_.max_bytes;
    limits.timeout = options_.timeout;
    limits.deadline = Clock::now() + options_.timeout;
    return limits;
  }

  arrow::Result<sql::QueryResult> Run(const Tables& tables, const std::string& sql,
                                      const AnswerLimits& limits) const {
    sql::QueryOptions options;
    options.max_rows = options_.max_rows;
    options.max_memory_bytes = options_.max_memory_bytes;
    options.timeout = std::max(
        std::chrono::milliseconds(0),
        std::chrono::duration_cast<std::chrono::milliseconds>(limits.deadline - Clock::now()));
    const sql::SqlEngine engine(tables);
    auto result = engine.Execute(sql, options);
    if (!result.ok()) return ForClient(result.status(), limits);
    return result;
  }

  // The columns of `sql`, from planning and starting it; the query stops at once.
  arrow::Result<std::shared_ptr<arrow::Schema>> ColumnsOf(const Tables& tables,
                                                          const std::string& sql) {
    ARROW_ASSIGN_OR_RAISE(auto slot, AcquireSlot());
    ARROW_ASSIGN_OR_RAISE(sql::QueryResult result, Run(tables, sql, LimitsFromNow()));
    ARROW_RETURN_NOT_OK(result.reader->Close());
    return result.schema;
  }

  // A query slot. Started answers waiting for their DoGet give theirs up first (their tickets
  // carry the SQL to start them again), so a client that never comes back blocks nobody.
  arrow::Result<std::unique_ptr<QuerySlots::Slot>> AcquireSlot() {
    while (true) {
      if (auto slot = slots_->TryAcquire()) return slot;
      std::shared_ptr<arrow::RecordBatchReader> evicted;
      {
        std::lock_guard lock(mutex_);
        if (parked_.empty()) break;
        auto oldest = std::min_element(parked_.begin(), parked_.end(),
                                       [](const auto& left, const auto& right) {
                                         return left.second.parked < right.second.parked;
                                       });
        evicted = std::move(oldest->second.reader);
        parked_.erase(oldest);
      }
    }
    return slots_->Acquire();
  }

  // Keeps a started answer for its DoGet; answers past their query timeout are let go.
  std::string Park(std::shared_ptr<arrow::RecordBatchReader> reader, const std::string& sql,
                   const std::string& caller) {
    std::vector<std::shared_ptr<arrow::RecordBatchReader>> expired;
    std::lock_guard lock(mutex_);
    const Clock::time_point now = Clock::now();
    for (auto entry = parked_.begin(); entry != parked_.end();) {
      if (now - entry->second.parked > options_.timeout) {
        expired.push_back(std::move(entry->second.reader));
        entry = parked_.erase(entry);
      } else {
        ++entry;
      }
    }
    std::string id = NewHandleLocked();
    parked_.emplace(id, ParkedAnswer{std::move(reader), sql, caller, now});
    return id;
  }

  // The answer parked under `id`, if it answers `sql` for the same caller: a ticket made up
  // with another's id, or passed to another caller, gets its own query run.
  std::shared_ptr<arrow::RecordBatchReader> Unpark(const std::string& id, const std::string& sql,
                                                   const std::string& caller) {
    std::lock_guard lock(mutex_);
    auto found = parked_.find(id);
    if (found == parked_.end() || found->second.sql != sql || found->second.caller != caller) {
      return nullptr;
    }
    std::shared_ptr<arrow::RecordBatchReader> reader = std::move(found->second.reader);
    parked_.erase(found);
    return reader;
  }

  arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> Answer(
      const Tables& tables, std::vector<std::string> statements) {
    ARROW_ASSIGN_OR_RAISE(auto slot, AcquireSlot());
    AnswerLimits limits = LimitsFromNow();
    ARROW_ASSIGN_OR_RAISE(sql::QueryResult first, Run(tables, statements.front(), limits));
    statements.erase(statements.begin());
    auto run = [this, tables, limits](const std::string& sql) { return Run(tables, sql, limits); };
    return std::make_shared<AnswerReader>(std::move(first), std::move(statements), run, limits,
                                          std::move(slot));
  }

  // Answer, with its QueryEvent reported to the observer (if any) once the answer has been
  // streamed or has failed; refused when the admission check says so.
  arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> ObservedAnswer(
      const flight::ServerCallContext& context, const std::string& text,
      std::vector<std::string> statements) {
    if (!options_.query_observer && !options_.query_admission) {
      return Answer(TablesOf(context), std::move(statements));
    }
    sql::QueryEvent event;
    event.statement = text;
    event.start_time_us = std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
    event.client_address = PeerAddress(context.peer());
    auto header = context.incoming_headers().find("authorization");
    if (header != context.incoming_headers().end() && options_.principal_of) {
      std::string_view value = header->second;
      if (value.size() > 7) event.user = options_.principal_of(value.substr(7));
    }
    const auto started = Clock::now();
    auto report_now = [&](const std::string& status) {
      if (!options_.query_observer) return;
      event.duration_us =
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started).count();
      event.status = status;
      options_.query_observer(std::move(event));
    };
    if (options_.query_admission) {
      arrow::Status admitted = options_.query_admission();
      if (!admitted.ok()) {
        report_now("audit_unavailable");
        return flight::MakeFlightError(flight::FlightStatusCode::Unavailable,
                                       std::string(admitted.message()));
      }
    }
    arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> answer;
    {
      sql::TableCapture capture;
      answer = Answer(TablesOf(context), std::move(statements));
      event.tables = capture.Take();
    }
    if (!answer.ok()) {
      report_now(answer.status().CodeAsString());
      return answer.status();
    }
    if (!options_.query_observer) return answer;
    return std::make_shared<ObservedReader>(std::move(*answer), std::move(event),
                                            options_.query_observer);
  }

  arrow::Result<std::shared_ptr<arrow::Schema>> SchemaOf(const Tables& tables,
                                                         const Command& command) {
    if (const auto* statement = std::get_if<CommandStatementQuery>(&command)) {
      ARROW_RETURN_NOT_OK(RefuseTransaction(statement->transaction_id));
      return ColumnsOf(tables, statement->query);
    }
    if (const auto* prepared = std::get_if<CommandPreparedStatementQuery>(&command)) {
      // Bound values type the columns they feed ($1 * 2 is a float for 1.5), so once bound the
      // columns are those of the first row's statement, which DoGet's stream will carry.
      std::shared_ptr<arrow::Schema> placeholder_columns;
      {
        std::lock_guard lock(mutex_);
        ARROW_ASSIGN_OR_RAISE(PreparedStatement * statement,
                              FindLocked(prepared->prepared_statement_handle));
        if (statement->parameters == nullptr || statement->query.parameter_count == 0) {
          placeholder_columns = statement->dataset_schema;
        }
      }
      if (placeholder_columns != nullptr) return placeholder_columns;
      ARROW_ASSIGN_OR_RAISE(std::vector<std::string> statements,
                            BoundStatements(prepared->prepared_statement_handle));
      return ColumnsOf(tables, statements.front());
    }
    if (std::holds_alternative<CommandGetCatalogs>(command)) return CatalogsSchema();
    if (std::holds_alternative<CommandGetDbSchemas>(command)) return DbSchemasSchema();
    if (const auto* tables = std::get_if<CommandGetTables>(&command)) {
      return TablesSchema(tables->include_schema);
    }
    if (std::holds_alternative<CommandGetTableTypes>(command)) return TableTypesSchema();
    if (std::holds_alternative<CommandGetSqlInfo>(command)) return SqlInfoSchema();
    if (const auto* unsupported = std::get_if<UnsupportedCommand>(&command)) {
      return Unsupported(*unsupported);
    }
    return arrow::Status::Invalid("a TicketStatementQuery is a ticket for DoGet, not a command");
  }

  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Metadata(const Tables& tables,
                                                              const Command& command) {
    if (std::holds_alternative<CommandGetCatalogs>(command)) return ListCatalogs();
    if (const auto* schemas = std::get_if<CommandGetDbSchemas>(&command)) {
      return ListDbSchemas(*schemas, tables->TableNames());
    }
    if (const auto* request = std::get_if<CommandGetTables>(&command)) {
      return ListTables(*request, tables->TableNames(), [&tables](const std::string& name) {
        return ColumnsOfTable(*tables, name);
      });
    }
    if (std::holds_alternative<CommandGetTableTypes>(command)) return ListTableTypes();
    if (const auto* info = std::get_if<CommandGetSqlInfo>(&command)) {
      return SqlInfo(info->info, NLK_PROJECT_VERSION);
    }
    if (const auto* unsupported = std::get_if<UnsupportedCommand>(&command)) {
      return Unsupported(*unsupported);
    }
    return arrow::Status::Invalid("the ticket names no Flight SQL query or catalog request");
  }

  // A table's columns as SELECT * sees them. A table that cannot be read now (its storage is
  // down, it was not created yet) is listed with no columns rather than hiding the others.
  static arrow::Result<std::shared_ptr<arrow::Schema>> ColumnsOfTable(sql::TableCatalog& tables,
                                                                      const std::string& name) {
    auto source = tables.Resolve(name);
    if (!source.ok()) return arrow::schema({});
    return source->table->schema();
  }

  arrow::Result<std::string> Prepare(const Tables& tables, const std::string& sql) {
    ARROW_ASSIGN_OR_RAISE(ParameterizedQuery query, ParseParameterizedQuery(sql));
    PreparedStatement statement;
    ARROW_ASSIGN_OR_RAISE(std::string placeholders, BindPlaceholders(query));
    ARROW_ASSIGN_OR_RAISE(statement.dataset_schema, ColumnsOf(tables, placeholders));
    statement.query = std::move(query);
    std::lock_guard lock(mutex_);
    // Clients that die leave their statements open; rather than refuse everyone once these
    // fill the table, the statement used least recently is dropped.
    if (static_cast<int>(prepared_.size()) >= options_.max_prepared_statements) {
      auto oldest = std::min_element(prepared_.begin(), prepared_.end(),
                                     [](const auto& left, const auto& right) {
                                       return left.second.last_used < right.second.last_used;
                                     });
      if (oldest != prepared_.end()) prepared_.erase(oldest);
    }
    statement.last_used = ++uses_;
    std::string handle = NewHandleLocked();
    prepared_.emplace(handle, std::move(statement));
    return handle;
  }

  // The SQL to run for each bound parameter row (the statement itself when it takes none).
  arrow::Result<std::vector<std::string>> BoundStatements(const std::string& handle) {
    std::lock_guard lock(mutex_);
    ARROW_ASSIGN_OR_RAISE(PreparedStatement * statement, FindLocked(handle));
    const ParameterizedQuery& query = statement->query;
    if (query.parameter_count == 0) return std::vector<std::string>{query.text};
    if (statement->parameters == nullptr || statement->parameters->num_rows() == 0) {
      return arrow::Status::Invalid("the statement takes ", query.parameter_count,
                                    " parameter(s) ($1..$n); bind them first (DoPut)");
    }
    std::vector<std::string> statements;
    for (int64_t row = 0; row < statement->parameters->num_rows(); ++row) {
      ARROW_ASSIGN_OR_RAISE(std::string bound, BindParameters(query, *statement->parameters, row));
      statements.push_back(std::move(bound));
    }
    return statements;
  }

  arrow::Result<PreparedStatement*> FindLocked(const std::string& handle) {
    auto found = prepared_.find(handle);
    if (found == prepared_.end()) {
      return arrow::Status::KeyError(
          "no open prepared statement has that handle (closed, dropped as the least recently "
          "used of max_prepared_statements, or made before a restart)");
    }
    found->second.last_used = ++uses_;
    return &found->second;
  }

  std::string NewHandleLocked() {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string handle;
    do {
      handle.clear();
      for (int index = 0; index < kHandleBytes; ++index) {
        auto byte = static_cast<uint8_t>(random_());
        handle += kHex[byte >> 4];
        handle += kHex[byte & 15];
      }
    } while (prepared_.count(handle) > 0 || parked_.count(handle) > 0);
    return handle;
  }

  const FlightSqlServerOptions options_;
  std::shared_ptr<QuerySlots> slots_;
  std::mutex mutex_;  // guards prepared_, uses_, parked_ and random_
  std::map<std::string, PreparedStatement> prepared_;
  uint64_t uses_ = 0;  // counts statement creations and lookups, to find the least recent
  struct ParkedAnswer {
    std::shared_ptr<arrow::RecordBatchReader> reader;  // holds its query slot
    std::string sql;
    std::string caller;  // CallerOf the call that started it
    Clock::time_point parked;
  };
  std::map<std::string, ParkedAnswer> parked_;  // by the id its ticket starts with
  std::mt19937_64 random_{std::random_device{}()};
};

FlightSqlServer::FlightSqlServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

FlightSqlServer::~FlightSqlServer() { Stop(); }

arrow::Result<std::unique_ptr<FlightSqlServer>> FlightSqlServer::Start(
    FlightSqlServerOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  ARROW_RETURN_NOT_OK(impl->Listen());
  return std::unique_ptr<FlightSqlServer>(new FlightSqlServer(std::move(impl)));
}

int FlightSqlServer::port() const { return impl_ ? impl_->port() : 0; }

void FlightSqlServer::Stop() {
  if (impl_ && !stopped_) {
    stopped_ = true;
    impl_->StopServing();
  }
}

}  // namespace nlk::flightsql
