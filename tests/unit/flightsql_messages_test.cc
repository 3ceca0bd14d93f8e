// The hand-written protobuf coding of Flight SQL's messages: the bytes protoc's encoders produce
// decode to the right fields, unknown fields are skipped, and malformed input is Invalid.
#include <gtest/gtest.h>

#include <string>

#include "flightsql/flight_sql_messages.h"
#include "flightsql/protobuf_wire.h"
#include "test_status.h"

namespace nlk::flightsql {
namespace {

using namespace std::string_literals;

// An Any holding `value`, byte by byte as protobuf lays it out.
std::string Any(const std::string& name, const std::string& value) {
  std::string type_url = std::string(kTypeUrlPrefix) + name;
  return "\x0a"s + static_cast<char>(type_url.size()) + type_url + "\x12"s +
         static_cast<char>(value.size()) + value;
}

TEST(FlightSqlMessagesTest, DecodesStatementQueryFromItsWireBytes) {
  ASSERT_OK_AND_ASSIGN(Command command,
                       DecodeCommand(Any("CommandStatementQuery", "\x0a\x08SELECT 1\x12\x02tx"s)));
  const auto& query = std::get<CommandStatementQuery>(command);
  EXPECT_EQ(query.query, "SELECT 1");
  EXPECT_EQ(query.transaction_id, "tx");
}

TEST(FlightSqlMessagesTest, DecodesGetTablesWithEveryField) {
  std::string value =
      "\x0a\x03"
      "cat"
      "\x12\x02p%"
      "\x1a\x02t_"
      "\x22\x05TABLE"
      "\x22\x04VIEW"
      "\x28\x01"s;
  ASSERT_OK_AND_ASSIGN(Command command, DecodeCommand(Any("CommandGetTables", value)));
  const auto& tables = std::get<CommandGetTables>(command);
  EXPECT_EQ(tables.catalog, "cat");
  EXPECT_EQ(tables.db_schema_filter_pattern, "p%");
  EXPECT_EQ(tables.table_name_filter_pattern, "t_");
  EXPECT_EQ(tables.table_types, (std::vector<std::string>{"TABLE", "VIEW"}));
  EXPECT_TRUE(tables.include_schema);
}

TEST(FlightSqlMessagesTest, AbsentOptionalFieldsStayUnset) {
  ASSERT_OK_AND_ASSIGN(Command command, DecodeCommand(Any("CommandGetDbSchemas", "")));
  const auto& schemas = std::get<CommandGetDbSchemas>(command);
  EXPECT_FALSE(schemas.catalog.has_value());
  EXPECT_FALSE(schemas.db_schema_filter_pattern.has_value());
  // An empty string is a value: the tables without a catalog.
  ASSERT_OK_AND_ASSIGN(command, DecodeCommand(Any("CommandGetDbSchemas", "\x0a\x00"s)));
  EXPECT_EQ(std::get<CommandGetDbSchemas>(command).catalog, "");
}

TEST(FlightSqlMessagesTest, SqlInfoIdsPackedOrNot) {
  // Packed (proto3 writers): one length-delimited field; 504 is the two-byte varint f8 03.
  ASSERT_OK_AND_ASSIGN(Command packed,
                       DecodeCommand(Any("CommandGetSqlInfo", "\x0a\x03\x00\xf8\x03"s)));
  EXPECT_EQ(std::get<CommandGetSqlInfo>(packed).info, (std::vector<uint32_t>{0, 504}));
  ASSERT_OK_AND_ASSIGN(Command unpacked,
                       DecodeCommand(Any("CommandGetSqlInfo", "\x08\x00\x08\xf8\x03"s)));
  EXPECT_EQ(std::get<CommandGetSqlInfo>(unpacked).info, (std::vector<uint32_t>{0, 504}));
}

TEST(FlightSqlMessagesTest, SkipsFieldsItDoesNotKnow) {
  // Field 9 as a varint, fixed64, bytes and fixed32, around the query.
  std::string value =
      "\x48\x96\x01"
      "\x49"
      "12345678"
      "\x0a\x01x"
      "\x4a\x02zz"
      "\x4d"
      "1234"s;
  ASSERT_OK_AND_ASSIGN(Command command, DecodeCommand(Any("CommandStatementQuery", value)));
  EXPECT_EQ(std::get<CommandStatementQuery>(command).query, "x");
}

TEST(FlightSqlMessagesTest, RoundTripsTheCommandsTheServerWrites) {
  CommandGetTables tables{"neuralake", "pub%", "sam_les", {"TABLE"}, true};
  ASSERT_OK_AND_ASSIGN(Command decoded, DecodeCommand(EncodeCommand(tables)));
  const auto& back = std::get<CommandGetTables>(decoded);
  EXPECT_EQ(back.catalog, tables.catalog);
  EXPECT_EQ(back.db_schema_filter_pattern, tables.db_schema_filter_pattern);
  EXPECT_EQ(back.table_name_filter_pattern, tables.table_name_filter_pattern);
  EXPECT_EQ(back.table_types, tables.table_types);
  EXPECT_TRUE(back.include_schema);
  // A ticket's handle is arbitrary bytes, NULs and high bytes included.
  std::string handle = "SELECT '\x00\xff'"s + std::string(300, 'x');
  ASSERT_OK_AND_ASSIGN(decoded, DecodeCommand(EncodeCommand(TicketStatementQuery{handle})));
  EXPECT_EQ(std::get<TicketStatementQuery>(decoded).statement_handle, handle);
  ASSERT_OK_AND_ASSIGN(decoded, DecodeCommand(EncodeCommand(CommandGetSqlInfo{{0, 504, 100000}})));
  EXPECT_EQ(std::get<CommandGetSqlInfo>(decoded).info, (std::vector<uint32_t>{0, 504, 100000}));
}

TEST(FlightSqlMessagesTest, OtherMessagesAreUnsupportedByName) {
  ASSERT_OK_AND_ASSIGN(Command update, DecodeCommand(Any("CommandStatementUpdate", "")));
  EXPECT_EQ(std::get<UnsupportedCommand>(update).type_url,
            std::string(kTypeUrlPrefix) + "CommandStatementUpdate");
  std::string foreign = "\x0a\x1ctype.googleapis.com/foo.Bar1"s;
  ASSERT_OK_AND_ASSIGN(Command other, DecodeCommand(foreign));
  EXPECT_EQ(std::get<UnsupportedCommand>(other).type_url, "type.googleapis.com/foo.Bar1");
}

TEST(FlightSqlMessagesTest, MalformedBytesAreInvalid) {
  const std::string cases[] = {
      "\x0a"s,  // a tag and no length
      "\x0a\x7f"
      "abc"s,                                           // a length past the end
      "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"s,  // an 11-byte varint
      "\x0b"s,                                          // wire type 3 (a group)
      "\x02\x00"s,                                      // field number 0
      "\x12\x00"s,                                      // an Any without a type URL
      "\x08\x01"s,                                      // type_url as an integer
  };
  for (const std::string& bytes : cases) {
    auto command = DecodeCommand(bytes);
    EXPECT_TRUE(command.status().IsInvalid()) << testing::PrintToString(bytes);
  }
  // A field of the wrong wire type inside a known message.
  EXPECT_TRUE(DecodeCommand(Any("CommandStatementQuery", "\x08\x01"s)).status().IsInvalid());
  EXPECT_TRUE(DecodeCommand(Any("CommandGetTables", "\x2a\x00"s)).status().IsInvalid());
  EXPECT_TRUE(
      DecodeCommand(Any("CommandGetSqlInfo", "\x0d\x00\x00\x00\x00"s)).status().IsInvalid());
  // A uint32 field holding more than 32 bits.
  EXPECT_TRUE(
      DecodeCommand(Any("CommandGetSqlInfo", "\x08\x80\x80\x80\x80\x10"s)).status().IsInvalid());
}

TEST(FlightSqlMessagesTest, PreparedStatementActions) {
  ASSERT_OK_AND_ASSIGN(auto request, DecodeCreatePreparedStatementRequest(Any(
                                         "ActionCreatePreparedStatementRequest", "\x0a\x02q1"s)));
  EXPECT_EQ(request.query, "q1");
  EXPECT_FALSE(request.transaction_id.has_value());
  ASSERT_OK_AND_ASSIGN(auto close, DecodeClosePreparedStatementRequest(
                                       Any("ActionClosePreparedStatementRequest", "\x0a\x02h1"s)));
  EXPECT_EQ(close.prepared_statement_handle, "h1");
  // The body of one action is not taken for another's.
  auto wrong = DecodeClosePreparedStatementRequest(
      Any("ActionCreatePreparedStatementRequest", "\x0a\x02q1"s));
  ASSERT_TRUE(wrong.status().IsInvalid());
  EXPECT_NE(wrong.status().message().find("ActionClosePreparedStatementRequest"),
            std::string::npos);

  ActionCreatePreparedStatementResult result{"h1", "schema-bytes", ""};
  const std::string encoded = EncodeCreatePreparedStatementResult(result);
  ASSERT_OK_AND_ASSIGN(std::string_view value,
                       UnpackAny(encoded, "ActionCreatePreparedStatementResult"));
  EXPECT_EQ(value, "\x0a\x02h1\x12\x0cschema-bytes"s);
}

TEST(FlightSqlMessagesTest, WireWriterVarintsMatchProtobuf) {
  WireWriter writer;
  writer.Varint(1, 300);
  writer.Varint(2, UINT64_MAX);
  writer.Bytes(16, "a");
  EXPECT_EQ(writer.bytes(),
            "\x08\xac\x02"
            "\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"
            "\x82\x01\x01"
            "a"s);
  std::vector<WireField> fields;
  ASSERT_OK(ReadFields(writer.bytes(), "test", [&](const WireField& field) {
    fields.push_back(field);
    return arrow::Status::OK();
  }));
  ASSERT_EQ(fields.size(), 3u);
  EXPECT_EQ(fields[0].integer, 300u);
  EXPECT_EQ(fields[1].integer, UINT64_MAX);
  EXPECT_EQ(fields[2].number, 16);
  EXPECT_EQ(fields[2].bytes, "a");
}

}  // namespace
}  // namespace nlk::flightsql
