#include "pgwire/session.h"

#include <algorithm>
#include <charconv>

#include "common/ascii.h"
#include "common/json_fields.h"
#include "pgwire/catalog_query.h"
#include "pgwire/parameters.h"
#include "pgwire/row_encoder.h"
#include "pgwire/sql_state.h"
#include "pgwire/system_catalog.h"
#include "pgwire/value_format.h"
#include "sql/table_capture.h"

namespace nlk::pgwire {
namespace {

// Output is sent once this much is buffered (and at every Sync, Flush and end of a Query).
constexpr size_t kFlushBytes = 256 << 10;

// The served tables as a session names them: "public.samples" is "samples", and an
// unqualified name is looked up in the search path's schemas ("neural" for "neural.samples").
class SessionTableCatalog : public sql::TableCatalog {
 public:
  SessionTableCatalog(std::shared_ptr<sql::TableCatalog> tables, const SessionSettings* settings)
      : tables_(std::move(tables)), settings_(settings) {}

  arrow::Result<sql::ResolvedTable> Resolve(const std::string& name) override {
    if (name.find('.') != std::string::npos) {
      if (name.starts_with("public.")) {
        auto unqualified = tables_->Resolve(name.substr(7));
        if (unqualified.ok() || !unqualified.status().IsKeyError()) return unqualified;
      }
      return tables_->Resolve(name);
    }
    // The first schema of the search path holding the name, as PostgreSQL resolves it; a name
    // off the path still means what it means to /api/sql.
    for (const std::string& schema : settings_->SearchPath()) {
      auto found = tables_->Resolve(schema == "public" ? name : schema + "." + name);
      if (found.ok() || !found.status().IsKeyError()) return found;
    }
    return tables_->Resolve(name);
  }

  std::vector<std::string> TableNames() const override { return tables_->TableNames(); }

 private:
  std::shared_ptr<sql::TableCatalog> tables_;
  const SessionSettings* settings_;
};

// statement_timeout's value: milliseconds, or a number with a unit (ms, s, min, h).
std::optional<std::chrono::milliseconds> ParseTimeout(std::string_view text) {
  double value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || value < 0) return std::nullopt;
  std::string unit = AsciiLower(std::string_view(end, text.data() + text.size() - end));
  unit.erase(0, unit.find_first_not_of(' '));
  double factor = unit.empty() || unit == "ms" ? 1
                  : unit == "s"                ? 1000
                  : unit == "min"              ? 60'000
                  : unit == "h"                ? 3'600'000
                                               : -1;
  if (factor < 0) return std::nullopt;
  return std::chrono::milliseconds(static_cast<int64_t>(value * factor));
}

const NameResolver& NoNames() {
  static const NameResolver kResolver;
  return kResolver;
}

}  // namespace

struct Session::PreparedStatement {
  std::optional<Statement> statement;  // none: the empty query
  std::vector<int32_t> parameter_types;
};

struct Session::Portal {
  std::optional<Statement> statement;  // parameters substituted; none: the empty query
  std::vector<int16_t> format_codes;
  std::vector<bool> binary;
  bool started = false;
  bool done = false;
  bool returns_rows = false;
  std::vector<ResultColumn> columns;
  std::string tag;  // "SELECT", "EXPLAIN", "SHOW", or a command's full tag
  // A data query.
  std::shared_ptr<arrow::RecordBatchReader> reader;
  std::shared_ptr<arrow::StopSource> stop;
  std::shared_ptr<arrow::RecordBatch> batch;
  std::optional<RowEncoder> encoder;
  int64_t batch_row = 0;
  bool exhausted = false;
  // A catalog query or SHOW.
  std::vector<Row> rows;
  size_t next_row = 0;
  std::shared_ptr<const SystemCatalog> catalog;
  std::vector<bool> encoder_binary;  // the formats `encoder` writes
  int64_t bytes_sent = 0;
  std::chrono::milliseconds timeout{0};  // for the message of a timed-out query
  // A cursor (DECLARE): WITH HOLD ones outlive their transaction; BINARY ones send binary rows
  // to a FETCH in a simple Query.
  bool hold = false;
  std::vector<bool> declared_binary;
  // A FETCH: the cursor it reads, and how many rows (0: all).
  std::shared_ptr<Portal> fetch_from;
  int64_t fetch_count = 0;
  // A data query's audit event until it is reported; rows sent so far.
  std::optional<QueryEvent> event;
  std::chrono::steady_clock::time_point event_started;
  QueryObserver observer;
  int64_t rows_sent = 0;

  // Reports the pending event (if any) with `status`.
  void ReportEvent(std::string status) {
    if (!event || !observer) return;
    event->rows = rows_sent;
    event->bytes = bytes_sent;
    event->duration_us = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::steady_clock::now() - event_started)
                             .count();
    event->status = std::move(status);
    QueryEvent done = std::move(*event);
    event.reset();
    observer(std::move(done));
  }

  ~Portal() {
    if (reader) (void)reader->Close();
    ReportEvent("ok");  // closed before its end: the rows sent so far
  }
};

Session::Session(std::shared_ptr<sql::TableCatalog> tables, QueryLimits limits,
                 Transport* transport, int32_t process_id, int32_t secret_key)
    : tables_(std::move(tables)),
      limits_(limits),
      transport_(transport),
      process_id_(process_id),
      secret_key_(secret_key) {}

Session::~Session() = default;

bool Session::Flush() {
  if (broken_) return false;
  if (out_.empty()) return true;
  arrow::Status written = transport_->Write(out_);
  out_.clear();
  if (!written.ok()) broken_ = true;
  return !broken_;
}

arrow::Status Session::MaybeFlush() {
  if (out_.size() < kFlushBytes) return arrow::Status::OK();
  if (!Flush()) return arrow::Status::IOError("the client connection was lost");
  return arrow::Status::OK();
}

Session::Next Session::Fatal(const std::string& code, const std::string& message) {
  ErrorFields error;
  error.severity = "FATAL";
  error.code = code;
  error.message = message;
  AppendErrorResponse(error, &out_);
  Flush();
  return Next::kClose;
}

int Session::CharactersBefore(std::string_view text, int offset) {
  int characters = 0;
  for (int index = 0; index < offset && index < static_cast<int>(text.size()); ++index) {
    if ((static_cast<unsigned char>(text[index]) & 0xC0) != 0x80) ++characters;
  }
  return characters;
}

void Session::SendError(const arrow::Status& status, int position_offset) {
  ErrorFields error = ErrorFieldsFor(status);
  if (error.position > 0) error.position += position_offset;
  AppendErrorResponse(error, &out_);
}

void Session::Notice(const std::string& message) {
  ErrorFields notice;
  notice.severity = "WARNING";
  notice.code = "01000";
  notice.message = message;
  AppendNoticeResponse(notice, &out_);
}

void Session::Cancel() {
  std::lock_guard<std::mutex> lock(cancel_mutex_);
  if (running_) running_->RequestStop();
}

namespace {

// Marks a portal's query as the one Cancel stops while it runs.
class RunningQuery {
 public:
  RunningQuery(std::mutex& mutex, std::shared_ptr<arrow::StopSource>& running,
               std::shared_ptr<arrow::StopSource> stop)
      : mutex_(mutex), running_(running) {
    std::lock_guard<std::mutex> lock(mutex_);
    running_ = std::move(stop);
  }
  ~RunningQuery() {
    std::lock_guard<std::mutex> lock(mutex_);
    running_.reset();
  }

 private:
  std::mutex& mutex_;
  std::shared_ptr<arrow::StopSource>& running_;
};

}  // namespace

// ---------------------------------------------------------------------------- startup

Session::Next Session::HandleStartup(std::string_view packet) {
  MessageReader reader(packet, "startup");
  auto version = reader.Int32();
  if (!version.ok()) return Fatal(sqlstate::kProtocolViolation, "invalid startup packet");
  const int major = *version >> 16;
  const int minor = *version & 0xffff;
  if (major != 3) {
    return Fatal(sqlstate::kFeatureNotSupported,
                 "unsupported frontend protocol " + std::to_string(major) + "." +
                     std::to_string(minor) + ": server supports 3.0 to 3.0");
  }
  std::vector<std::pair<std::string, std::string>> parameters;
  std::vector<std::string> unknown_options;
  while (true) {
    auto key = reader.CString();
    if (!key.ok()) {
      return Fatal(sqlstate::kProtocolViolation,
                   "invalid startup packet layout: expected terminator as last byte");
    }
    if (key->empty()) break;
    auto value = reader.CString();
    if (!value.ok()) {
      return Fatal(sqlstate::kProtocolViolation,
                   "invalid startup packet layout: expected terminator as last byte");
    }
    if (key->starts_with("_pq_.")) {
      unknown_options.emplace_back(*key);
      continue;
    }
    parameters.emplace_back(std::string(*key), std::string(*value));
  }
  if (minor > 0 || !unknown_options.empty()) {
    // Newer minor versions and protocol options: say what this server speaks.
    size_t start = BeginMessage('v', &out_);
    AppendInt32Binary(kProtocolVersion3, &out_);
    AppendInt32Binary(static_cast<int32_t>(unknown_options.size()), &out_);
    for (const std::string& option : unknown_options) AppendCString(option, &out_);
    FinishMessage(start, &out_);
  }
  std::string user;
  std::string database;
  for (const auto& [key, value] : parameters) {
    if (key == "user") user = value;
    if (key == "database") database = value;
    if (key == "replication" && AsciiLower(value) != "false" && AsciiLower(value) != "off" &&
        value != "0") {
      return Fatal(sqlstate::kFeatureNotSupported, "replication connections are not supported");
    }
  }
  if (user.empty()) {
    return Fatal(sqlstate::kInvalidAuthorization,
                 "no PostgreSQL user name specified in startup packet");
  }
  if (database.empty()) database = user;
  settings_ = std::make_unique<SessionSettings>(user, database);
  auto apply = [this](const std::string& name, const std::string& value) -> arrow::Status {
    auto set = settings_->Set(name, value);
    // Parameters PostgreSQL knows but that mean nothing here are ignored at startup.
    if (!set.ok() && SqlStateOf(set.status()) != sqlstate::kUndefinedObject) {
      return set.status();
    }
    return arrow::Status::OK();
  };
  for (const auto& [key, value] : parameters) {
    if (key == "user" || key == "database" || key == "replication") continue;
    arrow::Status applied;
    if (key == "options") {
      // Command-line style settings: "-c name=value --name=value".
      size_t position = 0;
      while (position < value.size() && applied.ok()) {
        size_t end = value.find(' ', position);
        if (end == std::string::npos) end = value.size();
        std::string token = value.substr(position, end - position);
        position = end + 1;
        if (token == "-c") continue;
        if (token.starts_with("-c")) token = token.substr(2);
        if (token.starts_with("--")) token = token.substr(2);
        size_t equals = token.find('=');
        if (equals == std::string::npos) continue;
        applied = apply(token.substr(0, equals), token.substr(equals + 1));
      }
    } else {
      applied = apply(key, value);
    }
    if (!applied.ok()) {
      ErrorFields error = ErrorFieldsFor(applied);
      return Fatal(error.code, error.message);
    }
  }
  if (certificate_user_) {
    const std::string& user = settings_->user();
    if (!certificate_user_->empty() && user == *certificate_user_) {
      if (expects_certificate_tables_) {
        if (certificate_tables_ == nullptr) {
          return Fatal(sqlstate::kInvalidAuthorization,
                       "certificate authentication failed for user \"" + user + "\"");
        }
        tables_ = certificate_tables_;
      }
      return FinishStartup();
    }
    if (!password_check_) {
      return Fatal(sqlstate::kInvalidAuthorization,
                   certificate_user_->empty()
                       ? "connect with a client certificate"
                       : "certificate authentication failed for user \"" + user +
                             "\": the certificate is for \"" + *certificate_user_ + "\"");
    }
  }
  if (password_check_) {
    size_t start = BeginMessage('R', &out_);
    AppendInt32Binary(3, &out_);  // AuthenticationCleartextPassword
    FinishMessage(start, &out_);
    awaiting_password_ = true;
    return Flush() ? Next::kContinue : Next::kClose;
  }
  return FinishStartup();
}

Session::Next Session::HandlePassword(std::string_view body) {
  awaiting_password_ = false;
  MessageReader reader(body, "PasswordMessage");
  auto password = reader.CString();
  if (!password.ok() || !reader.ExpectEnd().ok()) {
    return Fatal(sqlstate::kProtocolViolation, "malformed password message");
  }
  const std::string& user = settings_->user();
  if (!password_check_(user, std::string(*password))) {
    return Fatal(sqlstate::kInvalidPassword,
                 "password authentication failed for user \"" + user + "\"");
  }
  if (tables_for_login_) {
    std::shared_ptr<sql::TableCatalog> tables = tables_for_login_(user, std::string(*password));
    if (tables == nullptr) {
      return Fatal(sqlstate::kInvalidPassword,
                   "password authentication failed for user \"" + user + "\"");
    }
    tables_ = std::move(tables);
  }
  return FinishStartup();
}

Session::Next Session::FinishStartup() {
  size_t start = BeginMessage('R', &out_);
  AppendInt32Binary(0, &out_);  // AuthenticationOk
  FinishMessage(start, &out_);
  for (const auto& [name, value] : settings_->Reported()) {
    AppendParameterStatus(name, value, &out_);
  }
  start = BeginMessage('K', &out_);
  AppendInt32Binary(process_id_, &out_);
  AppendInt32Binary(secret_key_, &out_);
  FinishMessage(start, &out_);
  AppendReadyForQuery('I', &out_);
  session_tables_ = std::make_shared<SessionTableCatalog>(tables_, settings_.get());
  engine_ = std::make_unique<sql::SqlEngine>(session_tables_);
  started_ = true;
  return Flush() ? Next::kContinue : Next::kClose;
}

// ---------------------------------------------------------------------------- messages

Session::Next Session::HandleMessage(char type, std::string_view body) {
  if (awaiting_password_) {
    if (type != 'p') return Fatal(sqlstate::kProtocolViolation, "expected a password message");
    return HandlePassword(body);
  }
  if (!started_) return Fatal(sqlstate::kProtocolViolation, "the session has not started");
  if (type == 'X') return Next::kClose;
  if (skip_until_sync_ && type != 'S') return broken_ ? Next::kClose : Next::kContinue;
  arrow::Status status;
  switch (type) {
    case 'Q': {
      MessageReader reader(body, "Query");
      auto sql = reader.CString();
      if (!sql.ok() || !reader.ExpectEnd().ok()) {
        SendError(SqlStateError(
            sqlstate::kProtocolViolation,
            sql.ok() ? "malformed Query message: bytes after the query" : sql.status().message()));
        AppendReadyForQuery('I', &out_);
        break;
      }
      SimpleQuery(*sql);
      break;
    }
    case 'P':
      status = Parse(body);
      if (status.ok()) AppendEmptyMessage('1', &out_);
      break;
    case 'B':
      status = Bind(body);
      if (status.ok()) AppendEmptyMessage('2', &out_);
      break;
    case 'D':
      status = Describe(body);
      break;
    case 'E':
      status = Execute(body);
      break;
    case 'C':
      status = Close(body);
      if (status.ok()) AppendEmptyMessage('3', &out_);
      break;
    case 'S':
      Sync();
      break;
    case 'H':
      Flush();
      break;
    case 'd':
    case 'c':
    case 'f':
      // CopyData, CopyDone and CopyFail outside a COPY are ignored, as PostgreSQL does.
      break;
    case 'F':
      SendError(SqlStateError(sqlstate::kFeatureNotSupported,
                              "function call messages are not supported"));
      AppendReadyForQuery(TransactionStatus(), &out_);
      break;
    case 'p':
      return Fatal(sqlstate::kProtocolViolation, "unexpected password message");
    default: {
      std::string shown = std::isprint(static_cast<unsigned char>(type))
                              ? std::string(1, type)
                              : std::to_string(static_cast<unsigned char>(type));
      return Fatal(sqlstate::kProtocolViolation, "invalid frontend message type " + shown);
    }
  }
  if (!status.ok()) {
    SendError(status);
    skip_until_sync_ = true;
    if (transaction_ == TransactionState::kBlock) transaction_ = TransactionState::kFailed;
  }
  if (out_.size() >= kFlushBytes) Flush();
  return broken_ ? Next::kClose : Next::kContinue;
}

void Session::SimpleQuery(std::string_view sql) {
  // A simple Query replaces the unnamed statement and portal.
  statements_.erase("");
  portals_.erase("");
  auto parsed = ParseQuery(sql);
  if (!parsed.ok()) {
    SendError(parsed.status());
    if (transaction_ == TransactionState::kBlock) transaction_ = TransactionState::kFailed;
  } else if (parsed->empty()) {
    AppendEmptyMessage('I', &out_);
  } else {
    for (Statement& statement : *parsed) {
      const int offset = CharactersBefore(sql, statement.offset);
      Portal portal;
      arrow::Status status = CheckTransactionState(statement);
      if (status.ok() && statement.parameter_count > 0) {
        status = SqlStateError("42P02", "there is no parameter $1");
      }
      if (status.ok()) {
        portal.statement = std::move(statement);
        status = Start(&portal);
      }
      if (status.ok() && portal.returns_rows) {
        portal.binary = portal.fetch_from ? portal.fetch_from->declared_binary
                                          : std::vector<bool>(portal.columns.size(), false);
        AppendRowDescription(portal.columns, portal.binary, &out_);
        status = Run(&portal, 0);
      } else if (status.ok()) {
        AppendCommandComplete(portal.tag, &out_);
      }
      if (!status.ok()) {
        SendError(status, offset);
        if (transaction_ == TransactionState::kBlock) transaction_ = TransactionState::kFailed;
        break;
      }
    }
  }
  if (transaction_ == TransactionState::kIdle) ClosePortals();
  AppendReadyForQuery(TransactionStatus(), &out_);
  Flush();
}

arrow::Status Session::Parse(std::string_view body) {
  MessageReader reader(body, "Parse");
  ARROW_ASSIGN_OR_RAISE(std::string_view name, reader.CString());
  ARROW_ASSIGN_OR_RAISE(std::string_view sql, reader.CString());
  ARROW_ASSIGN_OR_RAISE(int16_t count, reader.Int16());
  if (count < 0) return SqlStateError(sqlstate::kProtocolViolation, "malformed Parse message");
  std::vector<int32_t> types;
  for (int16_t index = 0; index < count; ++index) {
    ARROW_ASSIGN_OR_RAISE(int32_t type, reader.Int32());
    types.push_back(type);
  }
  ARROW_RETURN_NOT_OK(reader.ExpectEnd());
  if (!name.empty() && statements_.count(std::string(name)) > 0) {
    return SqlStateError(sqlstate::kDuplicatePreparedStatement,
                         "prepared statement \"" + std::string(name) + "\" already exists");
  }
  ARROW_ASSIGN_OR_RAISE(std::vector<Statement> statements, ParseQuery(sql));
  if (statements.size() > 1) {
    return SqlStateError(sqlstate::kSyntaxError,
                         "cannot insert multiple commands into a prepared statement");
  }
  auto prepared = std::make_shared<PreparedStatement>();
  if (!statements.empty()) prepared->statement = std::move(statements[0]);
  const int needed = prepared->statement ? prepared->statement->parameter_count : 0;
  prepared->parameter_types = types;
  if (static_cast<int>(prepared->parameter_types.size()) < needed) {
    prepared->parameter_types.resize(static_cast<size_t>(needed), 0);
  }
  statements_[std::string(name)] = std::move(prepared);
  return arrow::Status::OK();
}

arrow::Status Session::Bind(std::string_view body) {
  MessageReader reader(body, "Bind");
  ARROW_ASSIGN_OR_RAISE(std::string_view portal_name, reader.CString());
  ARROW_ASSIGN_OR_RAISE(std::string_view statement_name, reader.CString());
  ARROW_ASSIGN_OR_RAISE(int16_t format_count, reader.Int16());
  if (format_count < 0)
    return SqlStateError(sqlstate::kProtocolViolation, "malformed Bind message");
  std::vector<int16_t> formats;
  for (int16_t index = 0; index < format_count; ++index) {
    ARROW_ASSIGN_OR_RAISE(int16_t format, reader.Int16());
    formats.push_back(format);
  }
  ARROW_ASSIGN_OR_RAISE(int16_t value_count, reader.Int16());
  if (value_count < 0) return SqlStateError(sqlstate::kProtocolViolation, "malformed Bind message");
  std::vector<BoundParameter> values;
  for (int16_t index = 0; index < value_count; ++index) {
    ARROW_ASSIGN_OR_RAISE(int32_t length, reader.Int32());
    BoundParameter value;
    if (length == -1) {
      value.is_null = true;
    } else {
      ARROW_ASSIGN_OR_RAISE(std::string_view bytes, reader.Bytes(length));
      value.bytes = std::string(bytes);
    }
    values.push_back(std::move(value));
  }
  ARROW_ASSIGN_OR_RAISE(int16_t result_count, reader.Int16());
  if (result_count < 0)
    return SqlStateError(sqlstate::kProtocolViolation, "malformed Bind message");
  std::vector<int16_t> result_formats;
  for (int16_t index = 0; index < result_count; ++index) {
    ARROW_ASSIGN_OR_RAISE(int16_t format, reader.Int16());
    if (format != 0 && format != 1) {
      return SqlStateError(sqlstate::kProtocolViolation,
                           "unsupported format code: " + std::to_string(format));
    }
    result_formats.push_back(format);
  }
  ARROW_RETURN_NOT_OK(reader.ExpectEnd());

  auto found = statements_.find(std::string(statement_name));
  if (found == statements_.end()) {
    return SqlStateError(
        sqlstate::kInvalidPreparedStatement,
        "prepared statement \"" + std::string(statement_name) + "\" does not exist");
  }
  std::shared_ptr<PreparedStatement> prepared = found->second;
  if (values.size() != prepared->parameter_types.size()) {
    return SqlStateError(sqlstate::kProtocolViolation,
                         "bind message supplies " + std::to_string(values.size()) +
                             " parameters, but prepared statement \"" +
                             std::string(statement_name) + "\" requires " +
                             std::to_string(prepared->parameter_types.size()));
  }
  if (!formats.empty() && formats.size() != 1 && formats.size() != values.size()) {
    return SqlStateError(sqlstate::kProtocolViolation,
                         "bind message has " + std::to_string(formats.size()) +
                             " parameter formats but " + std::to_string(values.size()) +
                             " parameters");
  }
  if (!portal_name.empty() && portals_.count(std::string(portal_name)) > 0) {
    return SqlStateError(sqlstate::kDuplicateCursor,
                         "portal \"" + std::string(portal_name) + "\" already exists");
  }
  auto portal = std::make_shared<Portal>();
  portal->format_codes = result_formats;
  if (prepared->statement) {
    ARROW_RETURN_NOT_OK(CheckTransactionState(*prepared->statement));
    const Statement& statement = *prepared->statement;
    std::vector<std::string> literals;
    for (size_t index = 0; index < values.size(); ++index) {
      int16_t format = formats.empty() ? 0 : formats.size() == 1 ? formats[0] : formats[index];
      if (format != 0 && format != 1) {
        return SqlStateError(sqlstate::kProtocolViolation,
                             "unsupported format code: " + std::to_string(format));
      }
      values[index].binary = format == 1;
      values[index].type = prepared->parameter_types[index];
      ARROW_ASSIGN_OR_RAISE(std::string literal,
                            ParameterLiteral(values[index], static_cast<int>(index) + 1));
      literals.push_back(std::move(literal));
    }
    if (statement.parameters.empty()) {
      portal->statement = statement;
    } else {
      ARROW_ASSIGN_OR_RAISE(std::string text,
                            SubstituteParameters(statement.text, statement.parameters, literals));
      ARROW_ASSIGN_OR_RAISE(std::vector<Statement> bound, ParseQuery(text));
      if (bound.size() != 1) {
        return SqlStateError(sqlstate::kInternalError, "a bound statement did not parse alone");
      }
      portal->statement = std::move(bound[0]);
    }
  }
  portals_[std::string(portal_name)] = std::move(portal);
  return arrow::Status::OK();
}

namespace {

// A cancelled query's error says why, in PostgreSQL's words.
arrow::Status Cancelled(const arrow::Status& status, arrow::StopSource& stop,
                        std::chrono::milliseconds timeout) {
  if (!status.IsCancelled()) return status;
  if (stop.token().IsStopRequested()) {
    return SqlStateError(sqlstate::kQueryCanceled, "canceling statement due to user request");
  }
  return SqlStateError(sqlstate::kQueryCanceled, "canceling statement due to statement timeout (" +
                                                     std::to_string(timeout.count()) + " ms)");
}

}  // namespace

arrow::Result<std::vector<ResultColumn>> Session::DescribeStatement(
    const PreparedStatement& prepared) {
  const Statement& statement = *prepared.statement;
  std::vector<std::string> placeholders;
  for (int32_t type : prepared.parameter_types) placeholders.push_back(PlaceholderLiteral(type));
  Portal probe;
  if (statement.parameters.empty()) {
    probe.statement = statement;
  } else {
    ARROW_ASSIGN_OR_RAISE(std::string text,
                          SubstituteParameters(statement.text, statement.parameters, placeholders));
    ARROW_ASSIGN_OR_RAISE(std::vector<Statement> bound, ParseQuery(text));
    if (bound.size() != 1) {
      return SqlStateError(sqlstate::kInternalError, "a described statement did not parse alone");
    }
    probe.statement = std::move(bound[0]);
  }
  switch (probe.statement->kind) {
    case Statement::Kind::kData: {
      // Planning names and types the columns; the query runs at Execute.
      auto stop = std::make_shared<arrow::StopSource>();
      sql::QueryOptions options = QueryOptionsFor(stop->token());
      arrow::Result<std::shared_ptr<arrow::Schema>> schema;
      {
        RunningQuery running(cancel_mutex_, running_, stop);
        schema = engine_->Describe(probe.statement->text, options);
      }
      if (!schema.ok()) return Cancelled(schema.status(), *stop, *options.timeout);
      return DescribeColumns(**schema);
    }
    case Statement::Kind::kFetch:
      // Describing a MOVE must not move the cursor; a FETCH only looks at it.
      if (Field(*probe.statement->node, "ismove").type() == JsonValue::Type::kBool) {
        return std::vector<ResultColumn>();
      }
      [[fallthrough]];
    case Statement::Kind::kCatalog:
    case Statement::Kind::kShow:
      ARROW_RETURN_NOT_OK(Start(&probe));
      return probe.columns;
    default:
      // Commands return no rows; running them here would change the session.
      return std::vector<ResultColumn>();
  }
}

arrow::Status Session::Describe(std::string_view body) {
  MessageReader reader(body, "Describe");
  ARROW_ASSIGN_OR_RAISE(uint8_t kind, reader.Byte());
  ARROW_ASSIGN_OR_RAISE(std::string_view name, reader.CString());
  ARROW_RETURN_NOT_OK(reader.ExpectEnd());
  if (kind == 'S') {
    auto found = statements_.find(std::string(name));
    if (found == statements_.end()) {
      return SqlStateError(sqlstate::kInvalidPreparedStatement,
                           "prepared statement \"" + std::string(name) + "\" does not exist");
    }
    std::shared_ptr<PreparedStatement> prepared = found->second;
    std::vector<ResultColumn> columns;
    if (prepared->statement) {
      ARROW_ASSIGN_OR_RAISE(columns, DescribeStatement(*prepared));
    }
    size_t start = BeginMessage('t', &out_);
    AppendInt16Binary(static_cast<int16_t>(prepared->parameter_types.size()), &out_);
    for (int32_t type : prepared->parameter_types) {
      // A parameter nobody typed is sent as text and read like a literal (see parameters.h).
      AppendInt32Binary(type == 0 ? kTextOid : type, &out_);
    }
    FinishMessage(start, &out_);
    if (columns.empty()) {
      AppendEmptyMessage('n', &out_);
    } else {
      AppendRowDescription(columns, std::vector<bool>(columns.size(), false), &out_);
    }
    return arrow::Status::OK();
  }
  if (kind != 'P') {
    return SqlStateError(sqlstate::kProtocolViolation,
                         "invalid DESCRIBE message subtype " + std::to_string(kind));
  }
  auto found = portals_.find(std::string(name));
  if (found == portals_.end()) {
    return SqlStateError(sqlstate::kInvalidCursorName,
                         "portal \"" + std::string(name) + "\" does not exist");
  }
  Portal* portal = found->second.get();
  if (!portal->statement) {
    AppendEmptyMessage('n', &out_);
    return arrow::Status::OK();
  }
  if (!portal->started) {
    // Only statements that return rows start here; commands run at Execute.
    Statement::Kind kind_of = portal->statement->kind;
    if (kind_of != Statement::Kind::kData && kind_of != Statement::Kind::kCatalog &&
        kind_of != Statement::Kind::kShow && kind_of != Statement::Kind::kFetch) {
      AppendEmptyMessage('n', &out_);
      return arrow::Status::OK();
    }
    ARROW_RETURN_NOT_OK(Start(portal));
  }
  if (!portal->returns_rows) {
    AppendEmptyMessage('n', &out_);
    return arrow::Status::OK();
  }
  ARROW_ASSIGN_OR_RAISE(portal->binary,
                        ResultFormats(portal->format_codes, portal->columns.size()));
  AppendRowDescription(portal->columns, portal->binary, &out_);
  return arrow::Status::OK();
}

arrow::Status Session::Execute(std::string_view body) {
  MessageReader reader(body, "Execute");
  ARROW_ASSIGN_OR_RAISE(std::string_view name, reader.CString());
  ARROW_ASSIGN_OR_RAISE(int32_t max_rows, reader.Int32());
  ARROW_RETURN_NOT_OK(reader.ExpectEnd());
  auto found = portals_.find(std::string(name));
  if (found == portals_.end()) {
    return SqlStateError(sqlstate::kInvalidCursorName,
                         "portal \"" + std::string(name) + "\" does not exist");
  }
  // Held here: a DISCARD ALL run by this portal empties the map.
  std::shared_ptr<Portal> portal = found->second;
  if (!portal->statement) {
    AppendEmptyMessage('I', &out_);
    return arrow::Status::OK();
  }
  if (!portal->started) {
    ARROW_RETURN_NOT_OK(CheckTransactionState(*portal->statement));
    ARROW_RETURN_NOT_OK(Start(portal.get()));
  }
  if (!portal->returns_rows) {
    AppendCommandComplete(portal->tag, &out_);
    return arrow::Status::OK();
  }
  if (portal->binary.size() != portal->columns.size()) {
    ARROW_ASSIGN_OR_RAISE(portal->binary,
                          ResultFormats(portal->format_codes, portal->columns.size()));
  }
  return Run(portal.get(), max_rows > 0 ? max_rows : 0);
}

arrow::Status Session::Close(std::string_view body) {
  MessageReader reader(body, "Close");
  ARROW_ASSIGN_OR_RAISE(uint8_t kind, reader.Byte());
  ARROW_ASSIGN_OR_RAISE(std::string_view name, reader.CString());
  ARROW_RETURN_NOT_OK(reader.ExpectEnd());
  if (kind == 'S') {
    statements_.erase(std::string(name));
  } else if (kind == 'P') {
    portals_.erase(std::string(name));
  } else {
    return SqlStateError(sqlstate::kProtocolViolation,
                         "invalid CLOSE message subtype " + std::to_string(kind));
  }
  return arrow::Status::OK();
}

void Session::Sync() {
  skip_until_sync_ = false;
  // Outside a transaction block, Sync ends the implicit transaction and its portals.
  if (transaction_ == TransactionState::kIdle) ClosePortals();
  AppendReadyForQuery(TransactionStatus(), &out_);
  Flush();
}

void Session::ClosePortals() {
  std::erase_if(portals_, [](const auto& entry) { return !entry.second->hold; });
}

char Session::TransactionStatus() const {
  switch (transaction_) {
    case TransactionState::kIdle:
      return 'I';
    case TransactionState::kBlock:
      return 'T';
    case TransactionState::kFailed:
      return 'E';
  }
  return 'I';
}

void Session::EndTransaction() {
  transaction_ = TransactionState::kIdle;
  savepoints_.clear();
}

arrow::Status Session::CheckTransactionState(const Statement& statement) const {
  if (transaction_ != TransactionState::kFailed) return arrow::Status::OK();
  if (statement.kind == Statement::Kind::kTransaction) {
    std::string kind = StringField(*statement.node, "kind");
    if (kind == "TRANS_STMT_COMMIT" || kind == "TRANS_STMT_ROLLBACK" ||
        kind == "TRANS_STMT_ROLLBACK_TO") {
      return arrow::Status::OK();
    }
  }
  return SqlStateError(sqlstate::kInFailedTransaction,
                       "current transaction is aborted, commands ignored until end of "
                       "transaction block");
}

// ---------------------------------------------------------------------------- running

sql::QueryOptions Session::QueryOptionsFor(const arrow::StopToken& token) const {
  sql::QueryOptions options;
  options.max_rows = limits_.max_rows;
  options.timeout = limits_.timeout;
  if (auto timeout = ParseTimeout(settings_->Get("statement_timeout").value_or("0"))) {
    if (timeout->count() > 0 && *timeout < *options.timeout) options.timeout = *timeout;
  }
  options.max_memory_bytes = limits_.max_memory_bytes;
  options.stop_token = token;
  return options;
}

arrow::Result<std::shared_ptr<const SystemCatalog>> Session::Catalog() {
  std::vector<ServedTableInfo> tables;
  for (const std::string& name : tables_->TableNames()) {
    // A table that cannot be opened now is left out of the catalog, not a failed query.
    auto source = tables_->Resolve(name);
    if (source.ok() && source->table) tables.push_back({name, source->table->schema()});
  }
  return SystemCatalog::Build(tables, *settings_);
}

arrow::Status Session::Start(Portal* portal) {
  const Statement& statement = *portal->statement;
  portal->started = true;
  switch (statement.kind) {
    case Statement::Kind::kData:
    case Statement::Kind::kOther: {
      portal->stop = std::make_shared<arrow::StopSource>();
      sql::QueryOptions options = QueryOptionsFor(portal->stop->token());
      if (query_observer_) {
        portal->observer = query_observer_;
        portal->event_started = std::chrono::steady_clock::now();
        portal->event.emplace();
        portal->event->user = settings_->user();
        portal->event->client_address = client_address_;
        portal->event->statement = statement.text;
        portal->event->start_time_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count();
      }
      if (query_admission_) {
        arrow::Status admitted = query_admission_();
        if (!admitted.ok()) {
          FinishQueryEvent(portal, admitted);
          return admitted;
        }
      }
      arrow::Result<sql::QueryResult> result;
      {
        RunningQuery running(cancel_mutex_, running_, portal->stop);
        sql::TableCapture capture;
        result = engine_->Execute(statement.text, options);
        if (portal->event) portal->event->tables = capture.Take();
      }
      portal->timeout = *options.timeout;
      if (!result.ok()) {
        arrow::Status failed = Cancelled(result.status(), *portal->stop, portal->timeout);
        FinishQueryEvent(portal, failed);
        return failed;
      }
      portal->reader = result->reader;
      portal->columns = DescribeColumns(*result->schema);
      portal->returns_rows = true;
      portal->tag = result->is_explain ? "EXPLAIN" : "SELECT";
      return arrow::Status::OK();
    }
    case Statement::Kind::kCatalog: {
      ARROW_ASSIGN_OR_RAISE(portal->catalog, Catalog());
      FunctionContext context{portal->catalog.get(), settings_.get(), process_id_};
      ARROW_ASSIGN_OR_RAISE(CatalogResult result,
                            RunCatalogQuery(*statement.node, *statement.query, context));
      portal->columns = std::move(result.columns);
      portal->rows = std::move(result.rows);
      portal->returns_rows = true;
      portal->tag = "SELECT";
      return arrow::Status::OK();
    }
    case Statement::Kind::kMixed:
      return SqlStateError(sqlstate::kFeatureNotSupported,
                           "a query cannot read pg_catalog or information_schema together with "
                           "served tables; query them separately");
    case Statement::Kind::kSet:
      return RunSet(statement, &portal->tag);
    case Statement::Kind::kShow:
      return RunShow(statement, portal);
    case Statement::Kind::kTransaction:
      return RunTransaction(statement, &portal->tag);
    case Statement::Kind::kDiscard:
      return RunDiscard(statement, &portal->tag);
    case Statement::Kind::kDeallocate:
      return RunDeallocate(statement, &portal->tag);
    case Statement::Kind::kDeclare:
      return RunDeclare(statement, &portal->tag);
    case Statement::Kind::kFetch:
      return RunFetch(statement, portal);
    case Statement::Kind::kClose:
      return RunClose(statement, &portal->tag);
  }
  return arrow::Status::OK();
}

void Session::FinishQueryEvent(Portal* portal, const arrow::Status& status) {
  portal->ReportEvent(status.ok() ? "ok" : SqlStateOf(status));
}

arrow::Result<int64_t> Session::SendRows(Portal* source, int64_t max_rows,
                                         const std::vector<bool>& binary, bool skip) {
  int64_t sent = 0;
  const size_t columns = source->columns.size();
  auto count_bytes = [&](size_t before) -> arrow::Status {
    source->bytes_sent += static_cast<int64_t>(out_.size() - before);
    if (source->bytes_sent > limits_.max_bytes) {
      return SqlStateError(sqlstate::kProgramLimitExceeded,
                           "the result is larger than " + std::to_string(limits_.max_bytes) +
                               " bytes (max_result_bytes); add a LIMIT, a filter or fewer "
                               "columns");
    }
    return MaybeFlush();
  };
  // Reads the next batch with rows; false at the end of the result.
  auto next_batch = [&]() -> arrow::Result<bool> {
    while (true) {
      std::shared_ptr<arrow::RecordBatch> batch;
      arrow::Status read;
      {
        RunningQuery running(cancel_mutex_, running_, source->stop);
        read = source->reader->ReadNext(&batch);
      }
      if (!read.ok()) return Cancelled(read, *source->stop, source->timeout);
      if (batch == nullptr) return false;
      if (batch->num_rows() == 0) continue;
      source->encoder.reset();
      source->batch = std::move(batch);
      source->batch_row = 0;
      return true;
    }
  };
  auto has_more = [&]() -> arrow::Result<bool> {
    if (source->reader == nullptr) return source->next_row < source->rows.size();
    if (source->exhausted) return false;
    if (source->batch && source->batch_row < source->batch->num_rows()) return true;
    ARROW_ASSIGN_OR_RAISE(bool more, next_batch());
    if (!more) source->exhausted = true;
    return more;
  };
  const NameResolver& resolver = source->catalog ? source->catalog->resolver() : NoNames();
  while (max_rows == 0 || sent < max_rows) {
    ARROW_ASSIGN_OR_RAISE(bool more, has_more());
    if (!more) break;
    ++sent;
    if (skip) {
      if (source->reader != nullptr) {
        ++source->batch_row;
      } else {
        ++source->next_row;
      }
      continue;
    }
    ++source->rows_sent;
    const size_t before = out_.size();
    if (source->reader != nullptr) {
      // A cursor's FETCHes may ask for other formats than the batch was encoded in before.
      if (!source->encoder || source->encoder_binary != binary) {
        ARROW_ASSIGN_OR_RAISE(RowEncoder encoder, RowEncoder::Make(*source->batch, binary));
        source->encoder = std::move(encoder);
        source->encoder_binary = binary;
      }
      source->encoder->AppendRow(source->batch_row++, &out_);
    } else {
      const Row& row = source->rows[source->next_row++];
      size_t start = BeginMessage('D', &out_);
      AppendInt16Binary(static_cast<int16_t>(columns), &out_);
      for (size_t index = 0; index < columns; ++index) {
        const Value& value = row[index];
        if (value.is_null()) {
          AppendInt32Binary(-1, &out_);
          continue;
        }
        std::string field;
        if (binary[index]) {
          ARROW_RETURN_NOT_OK(
              AppendValueBinary(value, source->columns[index].type.oid, resolver, &field));
        } else {
          field = ValueText(value, resolver);
        }
        AppendInt32Binary(static_cast<int32_t>(field.size()), &out_);
        out_.append(field);
      }
      FinishMessage(start, &out_);
    }
    ARROW_RETURN_NOT_OK(count_bytes(before));
  }
  return sent;
}

arrow::Status Session::Run(Portal* portal, int64_t max_rows) {
  if (portal->fetch_from) {
    // FETCH: rows of the cursor, in this portal's formats; it always completes.
    ARROW_ASSIGN_OR_RAISE(int64_t sent, SendRows(portal->fetch_from.get(), portal->fetch_count,
                                                 portal->binary, false));
    AppendCommandComplete("FETCH " + std::to_string(sent), &out_);
    return arrow::Status::OK();
  }
  if (portal->done) {
    AppendCommandComplete(portal->tag + " 0", &out_);
    return arrow::Status::OK();
  }
  arrow::Result<int64_t> sending = SendRows(portal, max_rows, portal->binary, false);
  if (!sending.ok()) {
    FinishQueryEvent(portal, sending.status());
    return sending.status();
  }
  const int64_t sent = *sending;
  // As PostgreSQL does, a portal that gave all the rows asked for is suspended, even when
  // they were its last: the next Execute completes it with no rows.
  if (max_rows > 0 && sent == max_rows) {
    AppendEmptyMessage('s', &out_);  // PortalSuspended
    return arrow::Status::OK();
  }
  portal->done = true;
  FinishQueryEvent(portal, arrow::Status::OK());
  if (portal->reader) {
    (void)portal->reader->Close();
    portal->reader.reset();
    portal->encoder.reset();
    portal->batch.reset();
  }
  if (portal->tag == "EXPLAIN") {
    AppendCommandComplete("EXPLAIN", &out_);
  } else {
    AppendCommandComplete(portal->tag + " " + std::to_string(sent), &out_);
  }
  return arrow::Status::OK();
}

// ---------------------------------------------------------------------------- commands

arrow::Status Session::RunSet(const Statement& statement, std::string* tag) {
  const JsonValue& node = *statement.node;
  const std::string kind = StringField(node, "kind");
  const std::string name = StringField(node, "name");
  *tag = "SET";
  std::string reported;
  if (kind == "VAR_SET_VALUE") {
    // The value as written: constants joined by ", " (search_path = a, b).
    std::string value;
    const JsonValue& arguments = Field(node, "args");
    for (const JsonValue& argument : arguments.type() == JsonValue::Type::kArray
                                         ? arguments.array()
                                         : std::vector<JsonValue>()) {
      if (!value.empty()) value += ", ";
      const JsonValue* constant = argument.Find("A_Const");
      if (constant == nullptr) {
        const JsonValue* cast = argument.Find("TypeCast");
        const JsonValue* inner = cast == nullptr ? nullptr : Field(*cast, "arg").Find("A_Const");
        if (inner == nullptr) {
          return SqlStateError(sqlstate::kFeatureNotSupported,
                               "SET " + name + " takes constants only");
        }
        constant = inner;
      }
      if (const JsonValue* text = constant->Find("sval")) {
        value += StringField(*text, "sval");
      } else if (const JsonValue* number = constant->Find("fval")) {
        value += StringField(*number, "fval");
      } else if (const JsonValue* integer = constant->Find("ival")) {
        const JsonValue* inner = integer->Find("ival");
        if (inner != nullptr) {
          value += std::to_string(inner->integer());
        } else {
          // libpg_query leaves zero and negative integers out of its JSON; read the text.
          const JsonValue* location = constant->Find("location");
          size_t at =
              location == nullptr ? 0 : static_cast<size_t>(location->integer() - statement.offset);
          size_t end = at;
          if (end < statement.text.size() && statement.text[end] == '-') ++end;
          while (end < statement.text.size() &&
                 std::isdigit(static_cast<unsigned char>(statement.text[end]))) {
            ++end;
          }
          value += at < statement.text.size() ? statement.text.substr(at, end - at) : "0";
        }
      } else if (const JsonValue* boolean = constant->Find("boolval")) {
        value += boolean->Find("boolval") != nullptr ? "true" : "false";
      }
    }
    ARROW_ASSIGN_OR_RAISE(reported, settings_->Set(name, value));
  } else if (kind == "VAR_SET_DEFAULT" || kind == "VAR_RESET") {
    if (kind == "VAR_RESET") *tag = "RESET";
    ARROW_ASSIGN_OR_RAISE(reported, settings_->Reset(name));
  } else if (kind == "VAR_RESET_ALL") {
    *tag = "RESET";
    settings_->ResetAll();
    for (const auto& [setting, value] : settings_->Reported()) {
      AppendParameterStatus(setting, value, &out_);
    }
  }
  // VAR_SET_MULTI (SET TRANSACTION ..., SET SESSION CHARACTERISTICS ...) and VAR_SET_CURRENT:
  // isolation levels mean nothing for a read-only server; accepted as they are.
  if (!reported.empty()) AppendParameterStatus(reported, *settings_->Get(reported), &out_);
  return arrow::Status::OK();
}

arrow::Status Session::RunShow(const Statement& statement, Portal* portal) {
  std::string name = StringField(*statement.node, "name");
  portal->returns_rows = true;
  portal->tag = "SHOW";
  if (AsciiLower(name) == "all") {
    for (const char* column : {"name", "setting", "description"}) {
      portal->columns.push_back({column, {kTextOid, -1, -1}});
    }
    for (const auto& [description, value] : settings_->All()) {
      portal->rows.push_back({Value::Text(description.name), Value::Text(value),
                              Value::Text(description.description)});
    }
    return arrow::Status::OK();
  }
  auto value = settings_->Get(name);
  if (!value) {
    return SqlStateError(sqlstate::kUndefinedObject,
                         "unrecognized configuration parameter \"" + name + "\"");
  }
  std::string column = name;
  for (const auto& [description, current] : settings_->All()) {
    if (AsciiLower(description.name) == AsciiLower(name)) column = description.name;
  }
  portal->columns.push_back({column, {kTextOid, -1, -1}});
  portal->rows.push_back({Value::Text(*value)});
  return arrow::Status::OK();
}

arrow::Status Session::RunTransaction(const Statement& statement, std::string* tag) {
  const std::string kind = StringField(*statement.node, "kind");
  const std::string savepoint = StringField(*statement.node, "savepoint_name");
  if (kind == "TRANS_STMT_BEGIN" || kind == "TRANS_STMT_START") {
    *tag = kind == "TRANS_STMT_BEGIN" ? "BEGIN" : "START TRANSACTION";
    if (transaction_ != TransactionState::kIdle) {
      Notice("there is already a transaction in progress");
    } else {
      transaction_ = TransactionState::kBlock;
    }
    return arrow::Status::OK();
  }
  if (kind == "TRANS_STMT_COMMIT" || kind == "TRANS_STMT_ROLLBACK") {
    *tag = kind == "TRANS_STMT_COMMIT" && transaction_ != TransactionState::kFailed ? "COMMIT"
                                                                                    : "ROLLBACK";
    if (transaction_ == TransactionState::kIdle) Notice("there is no transaction in progress");
    EndTransaction();
    ClosePortals();
    return arrow::Status::OK();
  }
  if (kind == "TRANS_STMT_SAVEPOINT") {
    if (transaction_ == TransactionState::kIdle) {
      return SqlStateError(sqlstate::kNoActiveTransaction,
                           "SAVEPOINT can only be used in transaction blocks");
    }
    savepoints_.push_back(savepoint);
    *tag = "SAVEPOINT";
    return arrow::Status::OK();
  }
  if (kind == "TRANS_STMT_RELEASE" || kind == "TRANS_STMT_ROLLBACK_TO") {
    if (transaction_ == TransactionState::kIdle) {
      return SqlStateError(
          sqlstate::kNoActiveTransaction,
          (kind == "TRANS_STMT_RELEASE" ? "RELEASE SAVEPOINT" : "ROLLBACK TO SAVEPOINT") +
              std::string(" can only be used in transaction blocks"));
    }
    auto found = std::find(savepoints_.rbegin(), savepoints_.rend(), savepoint);
    if (found == savepoints_.rend()) {
      return SqlStateError("3B001", "savepoint \"" + savepoint + "\" does not exist");
    }
    // RELEASE drops the savepoint and later ones; ROLLBACK TO keeps it.
    size_t keep =
        static_cast<size_t>(savepoints_.rend() - found) - (kind == "TRANS_STMT_RELEASE" ? 1 : 0);
    savepoints_.resize(keep);
    if (kind == "TRANS_STMT_ROLLBACK_TO") transaction_ = TransactionState::kBlock;
    *tag = kind == "TRANS_STMT_RELEASE" ? "RELEASE" : "ROLLBACK";
    return arrow::Status::OK();
  }
  return SqlStateError(sqlstate::kFeatureNotSupported,
                       "two-phase commit is not supported (a read-only server has nothing to "
                       "prepare)");
}

arrow::Status Session::RunDiscard(const Statement& statement, std::string* tag) {
  const std::string target = StringField(*statement.node, "target");
  if (target == "DISCARD_ALL") {
    if (transaction_ != TransactionState::kIdle) {
      return SqlStateError("25001", "DISCARD ALL cannot run inside a transaction block");
    }
    statements_.clear();
    ClosePortals();
    settings_->ResetAll();
    *tag = "DISCARD ALL";
  } else if (target == "DISCARD_PLANS") {
    *tag = "DISCARD PLANS";
  } else if (target == "DISCARD_SEQUENCES") {
    *tag = "DISCARD SEQUENCES";
  } else {
    *tag = "DISCARD TEMP";
  }
  return arrow::Status::OK();
}

namespace {

// The query of "DECLARE name [options] CURSOR [WITH[OUT] HOLD] FOR query": the text after the
// FOR that follows the cursor's name (which may be quoted and hold any word).
std::optional<std::string> CursorQuery(const std::string& text) {
  size_t position = 0;
  auto skip_space = [&] {
    while (position < text.size()) {
      if (std::isspace(static_cast<unsigned char>(text[position]))) {
        ++position;
      } else if (text.compare(position, 2, "--") == 0) {
        position = text.find('\n', position);
        if (position == std::string::npos) position = text.size();
      } else if (text.compare(position, 2, "/*") == 0) {
        size_t end = text.find("*/", position + 2);
        position = end == std::string::npos ? text.size() : end + 2;
      } else {
        return;
      }
    }
  };
  auto word = [&]() -> std::string {
    skip_space();
    if (position < text.size() && text[position] == '"') {
      size_t end = position + 1;
      while (end < text.size()) {
        if (text[end] == '"' && (end + 1 >= text.size() || text[end + 1] != '"')) break;
        end += text[end] == '"' ? 2 : 1;
      }
      std::string quoted = text.substr(position, end + 1 - position);
      position = end + 1;
      return quoted;
    }
    size_t start = position;
    while (position < text.size() && !std::isspace(static_cast<unsigned char>(text[position])) &&
           text.compare(position, 2, "--") != 0 && text.compare(position, 2, "/*") != 0) {
      ++position;
    }
    return AsciiLower(std::string_view(text).substr(start, position - start));
  };
  if (word() != "declare") return std::nullopt;
  word();  // the cursor's name
  while (position < text.size()) {
    if (word() == "for") return text.substr(position);
  }
  return std::nullopt;
}

constexpr int64_t kCursorBinary = 0x1;  // CURSOR_OPT_BINARY
constexpr int64_t kCursorHold = 0x20;   // CURSOR_OPT_HOLD
constexpr int64_t kFetchAll = INT64_MAX;

}  // namespace

arrow::Status Session::RunDeclare(const Statement& statement, std::string* tag) {
  const JsonValue& node = *statement.node;
  const std::string name = StringField(node, "portalname");
  const JsonValue& options_field = Field(node, "options");
  const int64_t options =
      options_field.type() == JsonValue::Type::kInteger ? options_field.integer() : 0;
  if ((options & kCursorHold) == 0 && transaction_ == TransactionState::kIdle) {
    return SqlStateError(sqlstate::kNoActiveTransaction,
                         "DECLARE CURSOR can only be used in transaction blocks");
  }
  if (portals_.count(name) > 0) {
    return SqlStateError(sqlstate::kDuplicateCursor, "cursor \"" + name + "\" already exists");
  }
  auto query = CursorQuery(statement.text);
  if (!query) {
    return SqlStateError(sqlstate::kSyntaxError, "DECLARE CURSOR: no query after FOR");
  }
  ARROW_ASSIGN_OR_RAISE(std::vector<Statement> parsed, ParseQuery(*query));
  if (parsed.size() != 1 ||
      (parsed[0].kind != Statement::Kind::kData && parsed[0].kind != Statement::Kind::kCatalog)) {
    return SqlStateError(sqlstate::kFeatureNotSupported,
                         "DECLARE CURSOR needs one SELECT over the served tables or the catalog");
  }
  auto cursor = std::make_shared<Portal>();
  cursor->statement = std::move(parsed[0]);
  cursor->hold = (options & kCursorHold) != 0;
  ARROW_RETURN_NOT_OK(Start(cursor.get()));
  cursor->declared_binary.assign(cursor->columns.size(), (options & kCursorBinary) != 0);
  portals_[name] = std::move(cursor);
  *tag = "DECLARE CURSOR";
  return arrow::Status::OK();
}

arrow::Status Session::RunFetch(const Statement& statement, Portal* portal) {
  const JsonValue& node = *statement.node;
  const std::string name = StringField(node, "portalname");
  if (StringField(node, "direction") != "FETCH_FORWARD") {
    return SqlStateError(sqlstate::kFeatureNotSupported,
                         "cursors only move forward here (FETCH [FORWARD] n, NEXT or ALL)");
  }
  const JsonValue& count_field = Field(node, "howMany");
  const int64_t count = count_field.type() == JsonValue::Type::kInteger ? count_field.integer() : 0;
  if (count <= 0) {
    return SqlStateError(sqlstate::kFeatureNotSupported,
                         "FETCH 0 (the current row again) is not supported");
  }
  auto found = portals_.find(name);
  if (found == portals_.end() || !found->second->returns_rows) {
    return SqlStateError(sqlstate::kInvalidCursorName, "cursor \"" + name + "\" does not exist");
  }
  std::shared_ptr<Portal> cursor = found->second;
  const int64_t rows = count == kFetchAll ? 0 : count;
  if (BoolField(node, "ismove")) {
    ARROW_ASSIGN_OR_RAISE(int64_t moved, SendRows(cursor.get(), rows, {}, true));
    portal->tag = "MOVE " + std::to_string(moved);
    return arrow::Status::OK();
  }
  portal->fetch_from = std::move(cursor);
  portal->fetch_count = rows;
  portal->columns = portal->fetch_from->columns;
  portal->returns_rows = true;
  portal->tag = "FETCH";
  return arrow::Status::OK();
}

arrow::Status Session::RunClose(const Statement& statement, std::string* tag) {
  const std::string name = StringField(*statement.node, "portalname");
  *tag = "CLOSE CURSOR";
  if (name.empty()) {
    portals_.clear();  // CLOSE ALL
    return arrow::Status::OK();
  }
  if (portals_.erase(name) == 0) {
    return SqlStateError(sqlstate::kInvalidCursorName, "cursor \"" + name + "\" does not exist");
  }
  return arrow::Status::OK();
}

arrow::Status Session::RunDeallocate(const Statement& statement, std::string* tag) {
  const std::string name = StringField(*statement.node, "name");
  if (name.empty()) {
    statements_.clear();
    *tag = "DEALLOCATE ALL";
    return arrow::Status::OK();
  }
  if (statements_.erase(name) == 0) {
    return SqlStateError(sqlstate::kInvalidPreparedStatement,
                         "prepared statement \"" + name + "\" does not exist");
  }
  *tag = "DEALLOCATE";
  return arrow::Status::OK();
}

}  // namespace nlk::pgwire
