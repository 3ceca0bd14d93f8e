#include "flightsql/flight_sql_messages.h"

#include "flightsql/protobuf_wire.h"

namespace nlk::flightsql {
namespace {

// google.protobuf.Any: type_url = 1, value = 2.
constexpr int kAnyTypeUrl = 1;
constexpr int kAnyValue = 2;

arrow::Status ExpectBytes(const WireField& field, std::string_view message_name) {
  if (field.type == WireType::kLengthDelimited) return arrow::Status::OK();
  return arrow::Status::Invalid(message_name, ": field ", field.number,
                                " should be a string or bytes");
}

arrow::Status ExpectVarint(const WireField& field, std::string_view message_name) {
  if (field.type == WireType::kVarint) return arrow::Status::OK();
  return arrow::Status::Invalid(message_name, ": field ", field.number, " should be an integer");
}

struct Unpacked {
  std::string_view name;  // the message name after kTypeUrlPrefix; the whole URL otherwise
  std::string_view value;
  bool flight_sql = false;
};

arrow::Result<Unpacked> Unpack(std::string_view any) {
  Unpacked unpacked;
  std::string_view type_url;
  ARROW_RETURN_NOT_OK(
      ReadFields(any, "google.protobuf.Any", [&](const WireField& field) -> arrow::Status {
        if (field.number == kAnyTypeUrl) {
          ARROW_RETURN_NOT_OK(ExpectBytes(field, "google.protobuf.Any"));
          type_url = field.bytes;
        } else if (field.number == kAnyValue) {
          ARROW_RETURN_NOT_OK(ExpectBytes(field, "google.protobuf.Any"));
          unpacked.value = field.bytes;
        }
        return arrow::Status::OK();
      }));
  if (type_url.empty()) {
    return arrow::Status::Invalid(
        "the command is not a Flight SQL message (a google.protobuf.Any with a type URL)");
  }
  unpacked.flight_sql = type_url.starts_with(kTypeUrlPrefix);
  unpacked.name = unpacked.flight_sql ? type_url.substr(kTypeUrlPrefix.size()) : type_url;
  return unpacked;
}

arrow::Result<CommandStatementQuery> DecodeStatementQuery(std::string_view message) {
  CommandStatementQuery command;
  ARROW_RETURN_NOT_OK(ReadFields(message, "CommandStatementQuery", [&](const WireField& field) {
    if (field.number == 1 || field.number == 2) {
      ARROW_RETURN_NOT_OK(ExpectBytes(field, "CommandStatementQuery"));
    }
    if (field.number == 1) command.query = std::string(field.bytes);
    if (field.number == 2) command.transaction_id = std::string(field.bytes);
    return arrow::Status::OK();
  }));
  return command;
}

arrow::Result<CommandGetDbSchemas> DecodeGetDbSchemas(std::string_view message) {
  CommandGetDbSchemas command;
  ARROW_RETURN_NOT_OK(ReadFields(message, "CommandGetDbSchemas", [&](const WireField& field) {
    if (field.number == 1 || field.number == 2) {
      ARROW_RETURN_NOT_OK(ExpectBytes(field, "CommandGetDbSchemas"));
    }
    if (field.number == 1) command.catalog = std::string(field.bytes);
    if (field.number == 2) command.db_schema_filter_pattern = std::string(field.bytes);
    return arrow::Status::OK();
  }));
  return command;
}

arrow::Result<CommandGetTables> DecodeGetTables(std::string_view message) {
  CommandGetTables command;
  ARROW_RETURN_NOT_OK(ReadFields(message, "CommandGetTables", [&](const WireField& field) {
    switch (field.number) {
      case 1:
      case 2:
      case 3:
      case 4:
        ARROW_RETURN_NOT_OK(ExpectBytes(field, "CommandGetTables"));
        break;
      case 5:
        ARROW_RETURN_NOT_OK(ExpectVarint(field, "CommandGetTables"));
        break;
      default:
        break;
    }
    if (field.number == 1) command.catalog = std::string(field.bytes);
    if (field.number == 2) command.db_schema_filter_pattern = std::string(field.bytes);
    if (field.number == 3) command.table_name_filter_pattern = std::string(field.bytes);
    if (field.number == 4) command.table_types.emplace_back(field.bytes);
    if (field.number == 5) command.include_schema = field.integer != 0;
    return arrow::Status::OK();
  }));
  return command;
}

arrow::Result<CommandGetSqlInfo> DecodeGetSqlInfo(std::string_view message) {
  CommandGetSqlInfo command;
  std::vector<uint64_t> values;
  ARROW_RETURN_NOT_OK(ReadFields(message, "CommandGetSqlInfo", [&](const WireField& field) {
    if (field.number != 1) return arrow::Status::OK();
    return AppendRepeatedVarints(field, "CommandGetSqlInfo", &values);
  }));
  for (uint64_t value : values) {
    if (value > UINT32_MAX) {
      return arrow::Status::Invalid("CommandGetSqlInfo: info ", value, " is not a uint32");
    }
    command.info.push_back(static_cast<uint32_t>(value));
  }
  return command;
}

// The messages holding one bytes field numbered 1.
arrow::Result<std::string> DecodeHandle(std::string_view message, std::string_view message_name) {
  std::string handle;
  ARROW_RETURN_NOT_OK(ReadFields(message, message_name, [&](const WireField& field) {
    if (field.number != 1) return arrow::Status::OK();
    ARROW_RETURN_NOT_OK(ExpectBytes(field, message_name));
    handle = std::string(field.bytes);
    return arrow::Status::OK();
  }));
  return handle;
}

}  // namespace

std::string PackAny(std::string_view message_name, std::string_view message) {
  WireWriter writer;
  writer.Bytes(kAnyTypeUrl, std::string(kTypeUrlPrefix) + std::string(message_name));
  writer.Bytes(kAnyValue, message);
  return writer.Release();
}

arrow::Result<std::string_view> UnpackAny(std::string_view any, std::string_view message_name) {
  ARROW_ASSIGN_OR_RAISE(Unpacked unpacked, Unpack(any));
  if (!unpacked.flight_sql || unpacked.name != message_name) {
    return arrow::Status::Invalid("expected a Flight SQL ", message_name, ", got ",
                                  unpacked.flight_sql ? std::string(kTypeUrlPrefix) : "",
                                  unpacked.name);
  }
  return unpacked.value;
}

arrow::Result<Command> DecodeCommand(std::string_view any) {
  ARROW_ASSIGN_OR_RAISE(Unpacked unpacked, Unpack(any));
  if (unpacked.flight_sql) {
    const std::string_view name = unpacked.name;
    const std::string_view value = unpacked.value;
    if (name == "CommandStatementQuery") return DecodeStatementQuery(value);
    if (name == "CommandPreparedStatementQuery") {
      ARROW_ASSIGN_OR_RAISE(std::string handle, DecodeHandle(value, name));
      return CommandPreparedStatementQuery{std::move(handle)};
    }
    if (name == "CommandGetCatalogs") return CommandGetCatalogs{};
    if (name == "CommandGetDbSchemas") return DecodeGetDbSchemas(value);
    if (name == "CommandGetTables") return DecodeGetTables(value);
    if (name == "CommandGetTableTypes") return CommandGetTableTypes{};
    if (name == "CommandGetSqlInfo") return DecodeGetSqlInfo(value);
    if (name == "TicketStatementQuery") {
      ARROW_ASSIGN_OR_RAISE(std::string handle, DecodeHandle(value, name));
      return TicketStatementQuery{std::move(handle)};
    }
    return UnsupportedCommand{std::string(kTypeUrlPrefix) + std::string(name)};
  }
  return UnsupportedCommand{std::string(unpacked.name)};
}

std::string EncodeCommand(const Command& command) {
  struct Encoder {
    std::string operator()(const CommandStatementQuery& query) const {
      WireWriter writer;
      writer.Bytes(1, query.query);
      if (query.transaction_id) writer.Bytes(2, *query.transaction_id);
      return PackAny("CommandStatementQuery", writer.bytes());
    }
    std::string operator()(const CommandPreparedStatementQuery& query) const {
      WireWriter writer;
      writer.Bytes(1, query.prepared_statement_handle);
      return PackAny("CommandPreparedStatementQuery", writer.bytes());
    }
    std::string operator()(const CommandGetCatalogs&) const {
      return PackAny("CommandGetCatalogs", "");
    }
    std::string operator()(const CommandGetDbSchemas& command) const {
      WireWriter writer;
      if (command.catalog) writer.Bytes(1, *command.catalog);
      if (command.db_schema_filter_pattern) writer.Bytes(2, *command.db_schema_filter_pattern);
      return PackAny("CommandGetDbSchemas", writer.bytes());
    }
    std::string operator()(const CommandGetTables& command) const {
      WireWriter writer;
      if (command.catalog) writer.Bytes(1, *command.catalog);
      if (command.db_schema_filter_pattern) writer.Bytes(2, *command.db_schema_filter_pattern);
      if (command.table_name_filter_pattern) writer.Bytes(3, *command.table_name_filter_pattern);
      for (const std::string& type : command.table_types) writer.Bytes(4, type);
      if (command.include_schema) writer.Varint(5, 1);
      return PackAny("CommandGetTables", writer.bytes());
    }
    std::string operator()(const CommandGetTableTypes&) const {
      return PackAny("CommandGetTableTypes", "");
    }
    std::string operator()(const CommandGetSqlInfo& command) const {
      WireWriter writer;
      if (!command.info.empty()) {
        writer.PackedVarints(1, std::vector<uint64_t>(command.info.begin(), command.info.end()));
      }
      return PackAny("CommandGetSqlInfo", writer.bytes());
    }
    std::string operator()(const TicketStatementQuery& ticket) const {
      WireWriter writer;
      writer.Bytes(1, ticket.statement_handle);
      return PackAny("TicketStatementQuery", writer.bytes());
    }
    std::string operator()(const UnsupportedCommand& command) const {
      WireWriter writer;
      writer.Bytes(kAnyTypeUrl, command.type_url);
      return writer.Release();
    }
  };
  return std::visit(Encoder{}, command);
}

arrow::Result<ActionCreatePreparedStatementRequest> DecodeCreatePreparedStatementRequest(
    std::string_view any) {
  constexpr std::string_view kName = "ActionCreatePreparedStatementRequest";
  ARROW_ASSIGN_OR_RAISE(std::string_view message, UnpackAny(any, kName));
  ActionCreatePreparedStatementRequest request;
  ARROW_RETURN_NOT_OK(ReadFields(message, kName, [&](const WireField& field) {
    if (field.number == 1 || field.number == 2) ARROW_RETURN_NOT_OK(ExpectBytes(field, kName));
    if (field.number == 1) request.query = std::string(field.bytes);
    if (field.number == 2) request.transaction_id = std::string(field.bytes);
    return arrow::Status::OK();
  }));
  return request;
}

arrow::Result<ActionClosePreparedStatementRequest> DecodeClosePreparedStatementRequest(
    std::string_view any) {
  constexpr std::string_view kName = "ActionClosePreparedStatementRequest";
  ARROW_ASSIGN_OR_RAISE(std::string_view message, UnpackAny(any, kName));
  ARROW_ASSIGN_OR_RAISE(std::string handle, DecodeHandle(message, kName));
  return ActionClosePreparedStatementRequest{std::move(handle)};
}

std::string EncodeCreatePreparedStatementResult(const ActionCreatePreparedStatementResult& result) {
  WireWriter writer;
  writer.Bytes(1, result.prepared_statement_handle);
  writer.Bytes(2, result.dataset_schema);
  if (!result.parameter_schema.empty()) writer.Bytes(3, result.parameter_schema);
  return PackAny("ActionCreatePreparedStatementResult", writer.bytes());
}

}  // namespace nlk::flightsql
