#include "pgwire/sql_state.h"

#include <charconv>
#include <memory>

#include "sql/query_memory_pool.h"

namespace nlk::pgwire {
namespace {

class SqlStateDetail : public arrow::StatusDetail {
 public:
  explicit SqlStateDetail(std::string code) : code_(std::move(code)) {}
  const char* type_id() const override { return "nlk::pgwire::SqlStateDetail"; }
  std::string ToString() const override { return "SQLSTATE " + code_; }
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

bool Contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// The SQLSTATE of an engine error, read from its status code and message (the engine reports
// user errors as Invalid with a reason in words).
std::string Classify(const arrow::Status& status, std::string_view message) {
  if (sql::IsQueryMemoryLimitError(status)) return sqlstate::kOutOfMemory;
  switch (status.code()) {
    case arrow::StatusCode::KeyError:
      return sqlstate::kUndefinedTable;
    case arrow::StatusCode::Cancelled:
      return sqlstate::kQueryCanceled;
    case arrow::StatusCode::CapacityError:
      return sqlstate::kProgramLimitExceeded;
    case arrow::StatusCode::OutOfMemory:
      return sqlstate::kOutOfMemory;
    case arrow::StatusCode::IOError:
      return sqlstate::kIoError;
    case arrow::StatusCode::NotImplemented:
      return sqlstate::kFeatureNotSupported;
    case arrow::StatusCode::TypeError:
      return sqlstate::kDatatypeMismatch;
    case arrow::StatusCode::Invalid:
      break;
    default:
      return sqlstate::kInternalError;
  }
  if (message.starts_with("read-only:")) return sqlstate::kReadOnlyTransaction;
  if (Contains(message, "syntax error") || Contains(message, "unterminated") ||
      Contains(message, "zero-length delimited identifier") ||
      Contains(message, "only one statement per query")) {
    return sqlstate::kSyntaxError;
  }
  if (message.starts_with("column \"") && Contains(message, "does not exist")) {
    return sqlstate::kUndefinedColumn;
  }
  if (message.starts_with("function ") && Contains(message, "does not exist")) {
    return sqlstate::kUndefinedFunction;
  }
  if (Contains(message, "is ambiguous")) return sqlstate::kAmbiguousColumn;
  if (Contains(message, "more than one row returned")) return sqlstate::kCardinalityViolation;
  if (Contains(message, "divide by zero") || Contains(message, "division by zero")) {
    return sqlstate::kDivisionByZero;
  }
  if (Contains(message, "is not supported") || Contains(message, "are not supported")) {
    return sqlstate::kFeatureNotSupported;
  }
  // A literal that does not read as the type it meets ('12; x' as an integer).
  if (Contains(message, "Failed to parse string")) return sqlstate::kInvalidTextRepresentation;
  if (Contains(message, "cannot convert") || Contains(message, "cannot cast") ||
      Contains(message, "cannot be matched")) {
    return sqlstate::kDatatypeMismatch;
  }
  // Other Invalid errors are mistakes in the query ("syntax error or access rule violation").
  return "42000";
}

}  // namespace

arrow::Status SqlStateError(std::string_view code, const std::string& message) {
  return arrow::Status(arrow::StatusCode::Invalid, message,
                       std::make_shared<SqlStateDetail>(std::string(code)));
}

std::string SqlStateOf(const arrow::Status& status) {
  auto detail = status.detail();
  if (detail == nullptr || std::string_view(detail->type_id()) != "nlk::pgwire::SqlStateDetail") {
    return "";
  }
  return static_cast<const SqlStateDetail&>(*detail).code();
}

ErrorFields ErrorFieldsFor(const arrow::Status& status) {
  ErrorFields error;
  std::string_view message = status.message();
  // The engine's "SQL error at position N: reason" carries the position PostgreSQL sends in its
  // own field (1-based characters, as here).
  constexpr std::string_view kPositioned = "SQL error at position ";
  constexpr std::string_view kUnpositioned = "SQL error: ";
  if (message.starts_with(kPositioned)) {
    std::string_view rest = message.substr(kPositioned.size());
    int position = 0;
    auto [end, parse_error] = std::from_chars(rest.data(), rest.data() + rest.size(), position);
    if (parse_error == std::errc() && std::string_view(end).starts_with(": ")) {
      error.position = position;
      message = std::string_view(end + 2);
    }
  } else if (message.starts_with(kUnpositioned)) {
    message.remove_prefix(kUnpositioned.size());
  }
  error.message = std::string(message);
  error.code = SqlStateOf(status);
  if (error.code.empty()) error.code = Classify(status, message);
  return error;
}

}  // namespace nlk::pgwire
