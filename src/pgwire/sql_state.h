// SQLSTATE codes on errors: the status detail the protocol layer reads to fill ErrorResponse's
// code field, and the classification of the SQL engine's errors (which carry no SQLSTATE of
// their own) into PostgreSQL's codes, so clients can tell a syntax error (42601) from an
// unknown table (42P01), an unknown column (42703), a cancelled query (57014) or a limit.
//
// Pure functions; thread-safe.
#pragma once

#include <arrow/status.h>

#include <string>
#include <string_view>

#include "pgwire/wire_format.h"

namespace nlk::pgwire {

namespace sqlstate {
inline constexpr const char* kSuccessfulCompletion = "00000";
inline constexpr const char* kFeatureNotSupported = "0A000";
inline constexpr const char* kProtocolViolation = "08P01";
inline constexpr const char* kCardinalityViolation = "21000";
inline constexpr const char* kDivisionByZero = "22012";
inline constexpr const char* kInvalidTextRepresentation = "22P02";
inline constexpr const char* kInvalidBinaryRepresentation = "22P03";
inline constexpr const char* kInvalidParameterValue = "22023";
inline constexpr const char* kCharacterNotInRepertoire = "22021";
inline constexpr const char* kInvalidCursorName = "34000";
inline constexpr const char* kInvalidPreparedStatement = "26000";
inline constexpr const char* kInvalidTransactionState = "25000";
inline constexpr const char* kInFailedTransaction = "25P02";
inline constexpr const char* kReadOnlyTransaction = "25006";
inline constexpr const char* kNoActiveTransaction = "25P01";
inline constexpr const char* kInvalidAuthorization = "28000";
inline constexpr const char* kInvalidPassword = "28P01";
inline constexpr const char* kSyntaxError = "42601";
inline constexpr const char* kUndefinedColumn = "42703";
inline constexpr const char* kUndefinedTable = "42P01";
inline constexpr const char* kUndefinedFunction = "42883";
inline constexpr const char* kUndefinedObject = "42704";
inline constexpr const char* kAmbiguousColumn = "42702";
inline constexpr const char* kDatatypeMismatch = "42804";
inline constexpr const char* kCannotCoerce = "42846";
inline constexpr const char* kGroupingError = "42803";
inline constexpr const char* kDuplicatePreparedStatement = "42P05";
inline constexpr const char* kDuplicateCursor = "42P03";
inline constexpr const char* kProgramLimitExceeded = "54000";
inline constexpr const char* kTooManyConnections = "53300";
inline constexpr const char* kOutOfMemory = "53200";
inline constexpr const char* kQueryCanceled = "57014";
inline constexpr const char* kAdminShutdown = "57P01";
inline constexpr const char* kIoError = "58030";
inline constexpr const char* kInternalError = "XX000";
}  // namespace sqlstate

// An error that carries `code` (an arrow::Status Invalid with a detail).
arrow::Status SqlStateError(std::string_view code, const std::string& message);

// The code attached by SqlStateError, or an empty string.
std::string SqlStateOf(const arrow::Status& status);

// The ErrorResponse for `status`: its own SQLSTATE if it has one, else one derived from what the
// SQL engine says (its "SQL error at position N: ..." prefix becomes the position field).
ErrorFields ErrorFieldsFor(const arrow::Status& status);

}  // namespace nlk::pgwire
