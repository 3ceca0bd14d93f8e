// The Flight SQL messages `nlk serve` understands (format/FlightSql.proto, package
// arrow.flight.protocol.sql), as plain structs, and their coding. On the wire each command
// travels inside a google.protobuf.Any whose type URL names it:
//
//   type.googleapis.com/arrow.flight.protocol.sql.CommandStatementQuery
//
// in a FlightDescriptor's command, a Ticket, an Action's body or a Result's body.
//
// Pure functions and plain values; thread-safe.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace nlk::flightsql {

struct CommandStatementQuery {
  std::string query;
  std::optional<std::string> transaction_id;
};

struct CommandPreparedStatementQuery {
  std::string prepared_statement_handle;
};

struct CommandGetCatalogs {};

struct CommandGetDbSchemas {
  std::optional<std::string> catalog;
  std::optional<std::string> db_schema_filter_pattern;
};

struct CommandGetTables {
  std::optional<std::string> catalog;
  std::optional<std::string> db_schema_filter_pattern;
  std::optional<std::string> table_name_filter_pattern;
  std::vector<std::string> table_types;  // empty: every type
  bool include_schema = false;
};

struct CommandGetTableTypes {};

struct CommandGetSqlInfo {
  std::vector<uint32_t> info;  // empty: every info the server has
};

struct TicketStatementQuery {
  std::string statement_handle;
};

// A message we recognise as Flight SQL but do not serve (updates, keys, Substrait, ...), or
// anything else: kept by name for the error message.
struct UnsupportedCommand {
  std::string type_url;
};

using Command =
    std::variant<CommandStatementQuery, CommandPreparedStatementQuery, CommandGetCatalogs,
                 CommandGetDbSchemas, CommandGetTables, CommandGetTableTypes, CommandGetSqlInfo,
                 TicketStatementQuery, UnsupportedCommand>;

// Action bodies and results.
struct ActionCreatePreparedStatementRequest {
  std::string query;
  std::optional<std::string> transaction_id;
};

struct ActionCreatePreparedStatementResult {
  std::string prepared_statement_handle;
  std::string dataset_schema;    // an IPC-encapsulated Schema message
  std::string parameter_schema;  // idem; empty: not given
};

struct ActionClosePreparedStatementRequest {
  std::string prepared_statement_handle;
};

inline constexpr std::string_view kTypeUrlPrefix = "type.googleapis.com/arrow.flight.protocol.sql.";

// A message inside google.protobuf.Any, and back. Unpack checks the type URL.
std::string PackAny(std::string_view message_name, std::string_view message);
arrow::Result<std::string_view> UnpackAny(std::string_view any, std::string_view message_name);

// Decodes an Any-wrapped command; a well-formed Any of another type is UnsupportedCommand,
// malformed bytes are Invalid.
arrow::Result<Command> DecodeCommand(std::string_view any);
// The Any-wrapped encoding of `command` (UnsupportedCommand: an empty message of its type).
std::string EncodeCommand(const Command& command);

// Action bodies (Any-wrapped) the server reads, and the result it writes (Any-wrapped).
arrow::Result<ActionCreatePreparedStatementRequest> DecodeCreatePreparedStatementRequest(
    std::string_view any);
arrow::Result<ActionClosePreparedStatementRequest> DecodeClosePreparedStatementRequest(
    std::string_view any);
std::string EncodeCreatePreparedStatementResult(const ActionCreatePreparedStatementResult& result);

}  // namespace nlk::flightsql
