// One client's PostgreSQL protocol 3 session, independent of sockets: it reads frontend messages
// and writes backend messages to a Transport. Startup (SSL refused with 'N', then trust
// authentication; see Authenticate), the simple query protocol, the extended protocol (Parse,
// Bind, Describe, Execute with row limits and PortalSuspended, Close, Sync, Flush), SQL cursors
// (DECLARE, FETCH FORWARD, MOVE, CLOSE), transaction blocks (BEGIN/COMMIT/ROLLBACK/SAVEPOINT,
// all read-only), session settings, and cancellation.
//
// Data queries run on the SQL engine with the server's limits (rows, bytes, time, memory), so
// a client reads the same rows as /api/sql. Catalog queries run on the catalog evaluator.
//
// Errors become ErrorResponse with a SQLSTATE; in the extended protocol the session then skips
// messages until Sync, as PostgreSQL does. A malformed message is a protocol violation: FATAL,
// and the connection ends.
//
// Thread-safety: the message handlers run on one thread at a time (the connection's current
// worker). Cancel may be called from any thread.
#pragma once

#include <arrow/result.h>
#include <arrow/util/cancel.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgwire/catalog_value.h"
#include "pgwire/session_settings.h"
#include "pgwire/statement.h"
#include "pgwire/wire_format.h"
#include "sql/query_event.h"
#include "sql/sql_engine.h"
#include "sql/table_catalog.h"

namespace nlk::pgwire {

// The limits data queries run under, the same as the HTTP API's.
struct QueryLimits {
  int64_t max_rows = 10'000'000;
  int64_t max_bytes = 1LL << 30;  // of DataRow messages per result
  std::chrono::milliseconds timeout{30'000};
  int64_t max_memory_bytes = 2LL << 30;
};

// Where a session's bytes go. Write blocks until the bytes are taken (or fails: the client is
// gone or too slow).
class Transport {
 public:
  virtual ~Transport() = default;
  virtual arrow::Status Write(std::string_view bytes) = 0;
};

// Startup packet codes (the first four bytes after the length).
inline constexpr int32_t kProtocolVersion3 = 196608;  // 3.0
inline constexpr int32_t kSslRequestCode = 80877103;
inline constexpr int32_t kGssEncryptionRequestCode = 80877104;
inline constexpr int32_t kCancelRequestCode = 80877102;

// A data statement's audit event (reported once it has ended) and the admission check asked
// before one runs.
using QueryEvent = sql::QueryEvent;
using QueryObserver = sql::QueryObserver;
using QueryAdmission = sql::QueryAdmission;

class Session {
 public:
  // `tables` names the served tables for the engine and the catalog; `process_id` and
  // `secret_key` are sent in BackendKeyData for CancelRequest.
  Session(std::shared_ptr<sql::TableCatalog> tables, QueryLimits limits, Transport* transport,
          int32_t process_id, int32_t secret_key);
  ~Session();

  enum class Next { kContinue, kClose };

  // The startup packet's body after its length: a protocol version and parameters. (SSL, GSS
  // and cancel requests are the connection's business; see their codes above.)
  Next HandleStartup(std::string_view packet);
  // One message after startup: its type byte and its body after the length.
  Next HandleMessage(char type, std::string_view body);
  // Sends what is buffered; false when the client is gone.
  bool Flush();

  // Stops the query running now (CancelRequest, server shutdown); nothing if none runs.
  void Cancel();

  // With a check, startup asks for a password (AuthenticationCleartextPassword) and the session
  // starts only when check(user, password) is true; otherwise every client is trusted.
  using PasswordCheck = std::function<bool(const std::string& user, const std::string& password)>;
  void set_password_check(PasswordCheck check) { password_check_ = std::move(check); }
  // After a password check passes, the tables this login sees replace those given to the
  // constructor (see PgServerOptions::tables_for_login).
  using TablesForLogin = std::function<std::shared_ptr<sql::TableCatalog>(
      const std::string& user, const std::string& password)>;
  void set_tables_for_login(TablesForLogin tables_for) {
    tables_for_login_ = std::move(tables_for);
  }
  // The peer's IP address, reported in QueryEvents.
  void set_client_address(std::string address) { client_address_ = std::move(address); }
  void set_query_observer(QueryObserver observer) { query_observer_ = std::move(observer); }
  void set_query_admission(QueryAdmission admission) { query_admission_ = std::move(admission); }
  // The user a verified client certificate stands for ("" for none): that user starts without a
  // password, other users need the password check and are refused without one.
  void set_certificate_user(std::string user) { certificate_user_ = std::move(user); }
  // The tables that certificate's user sees (its grants applied); unset: those given to the
  // constructor. A certificate login without them, when they are expected, is refused.
  void set_certificate_tables(std::shared_ptr<sql::TableCatalog> tables) {
    certificate_tables_ = std::move(tables);
    expects_certificate_tables_ = true;
  }

 private:
  struct PreparedStatement;
  struct Portal;

  Next Fatal(const std::string& code, const std::string& message);
  void SendError(const arrow::Status& status, int position_offset = 0);
  // The characters before byte `offset` of `text`, for error positions of later statements.
  static int CharactersBefore(std::string_view text, int offset);

  void SimpleQuery(std::string_view sql);
  arrow::Status Parse(std::string_view body);
  arrow::Status Bind(std::string_view body);
  arrow::Status Describe(std::string_view body);
  arrow::Status Execute(std::string_view body);
  arrow::Status Close(std::string_view body);
  void Sync();

  // Runs `statement` (parameters already substituted): fills the portal's result, or runs a
  // session command. Sets `portal->tag` for commands.
  arrow::Status Start(Portal* portal);
  // Sends up to `max_rows` rows (0: all) of a started portal; then CommandComplete or
  // PortalSuspended. A FETCH sends its cursor's rows.
  arrow::Status Run(Portal* portal, int64_t max_rows);
  // Writes (or with `skip`, passes over) up to `max_rows` rows (0: all) of `source` as DataRows
  // in `binary` formats; the number of rows.
  arrow::Result<int64_t> SendRows(Portal* source, int64_t max_rows, const std::vector<bool>& binary,
                                  bool skip);
  arrow::Result<std::vector<ResultColumn>> DescribeStatement(const PreparedStatement& prepared);

  arrow::Status RunSet(const Statement& statement, std::string* tag);
  arrow::Status RunShow(const Statement& statement, Portal* portal);
  arrow::Status RunTransaction(const Statement& statement, std::string* tag);
  arrow::Status RunDiscard(const Statement& statement, std::string* tag);
  arrow::Status RunDeallocate(const Statement& statement, std::string* tag);
  arrow::Status RunDeclare(const Statement& statement, std::string* tag);
  arrow::Status RunFetch(const Statement& statement, Portal* portal);
  arrow::Status RunClose(const Statement& statement, std::string* tag);
  arrow::Status CheckTransactionState(const Statement& statement) const;

  arrow::Result<std::shared_ptr<const class SystemCatalog>> Catalog();
  sql::QueryOptions QueryOptionsFor(const arrow::StopToken& token) const;
  void EndTransaction();
  // 'I' idle, 'T' in a transaction block, 'E' in a failed one.
  char TransactionStatus() const;
  void ClosePortals();
  void Notice(const std::string& message);
  arrow::Status MaybeFlush();

  std::shared_ptr<sql::TableCatalog> tables_;
  std::shared_ptr<sql::TableCatalog> session_tables_;
  std::unique_ptr<sql::SqlEngine> engine_;
  QueryLimits limits_;
  Transport* transport_;
  const int32_t process_id_;
  const int32_t secret_key_;
  std::unique_ptr<SessionSettings> settings_;
  std::string out_;
  // After the startup packet: AuthenticationOk and the session's parameters, then ready.
  Next FinishStartup();
  Next HandlePassword(std::string_view body);

  PasswordCheck password_check_;
  TablesForLogin tables_for_login_;
  std::string client_address_;
  QueryObserver query_observer_;
  QueryAdmission query_admission_;
  // Reports a data portal's pending QueryEvent with `status`.
  void FinishQueryEvent(Portal* portal, const arrow::Status& status);
  std::optional<std::string> certificate_user_;
  std::shared_ptr<sql::TableCatalog> certificate_tables_;
  bool expects_certificate_tables_ = false;
  bool awaiting_password_ = false;
  bool started_ = false;
  bool broken_ = false;

  enum class TransactionState { kIdle, kBlock, kFailed };
  TransactionState transaction_ = TransactionState::kIdle;
  std::vector<std::string> savepoints_;
  bool skip_until_sync_ = false;

  std::map<std::string, std::shared_ptr<PreparedStatement>> statements_;
  // Shared: a portal being executed stays alive when a command it runs (COMMIT, DISCARD ALL)
  // empties the map.
  std::map<std::string, std::shared_ptr<Portal>> portals_;

  // The query being read now, for Cancel from other threads.
  std::mutex cancel_mutex_;
  std::shared_ptr<arrow::StopSource> running_;
  bool cancel_requested_ = false;
};

}  // namespace nlk::pgwire
