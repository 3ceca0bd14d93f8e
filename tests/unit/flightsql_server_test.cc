// The Flight SQL server through Arrow Flight's own C++ client: statements by ticket, and the
// prepared statements a client leaves open dropped least recently used first.
#include <arrow/flight/client.h>
#include <arrow/json/from_string.h>
#include <arrow/table.h>
#include <gtest/gtest.h>

#include "flightsql/flight_sql_messages.h"
#include "flightsql/flight_sql_server.h"
#include "flightsql/protobuf_wire.h"
#include "sql/table_catalog.h"
#include "test_status.h"

namespace nlk::flightsql {
namespace {

namespace flight = arrow::flight;

class FlightSqlServerTest : public testing::Test {
 protected:
  void SetUp() override { StartServer(/*max_running_queries=*/4); }

  void StartServer(int max_running_queries) {
    if (client_) ASSERT_OK(client_->Close());
    if (server_) server_->Stop();
    auto tables = std::make_shared<sql::MapTableCatalog>();
    auto schema = arrow::schema({arrow::field("id", arrow::int64())});
    ASSERT_OK_AND_ASSIGN(auto ids, arrow::json::ArrayFromJSONString(arrow::int64(), "[1, 2, 3]"));
    tables->RegisterTable("numbers", arrow::Table::Make(schema, {ids}));
    FlightSqlServerOptions options;
    options.address = "127.0.0.1:0";
    options.tables = tables;
    options.max_prepared_statements = 2;
    options.max_running_queries = max_running_queries;
    options.max_waiting_queries = 0;
    ASSERT_OK_AND_ASSIGN(server_, FlightSqlServer::Start(std::move(options)));
    ASSERT_OK_AND_ASSIGN(auto location, flight::Location::ForGrpcTcp("127.0.0.1", server_->port()));
    ASSERT_OK_AND_ASSIGN(client_, flight::FlightClient::Connect(location));
  }

  void TearDown() override {
    if (client_) ASSERT_OK(client_->Close());
    if (server_) server_->Stop();
  }

  arrow::Result<std::shared_ptr<arrow::Table>> Fetch(const std::string& command) {
    ARROW_ASSIGN_OR_RAISE(auto info,
                          client_->GetFlightInfo(flight::FlightDescriptor::Command(command)));
    return Redeem(info->endpoints()[0].ticket);
  }

  arrow::Result<std::shared_ptr<arrow::Table>> Redeem(const flight::Ticket& ticket) {
    ARROW_ASSIGN_OR_RAISE(auto reader, client_->DoGet(ticket));
    return reader->ToTable();
  }

  arrow::Result<std::string> Prepare(const std::string& sql) {
    WireWriter request;
    request.Bytes(1, sql);
    flight::Action action{"CreatePreparedStatement",
                          arrow::Buffer::FromString(
                              PackAny("ActionCreatePreparedStatementRequest", request.bytes()))};
    ARROW_ASSIGN_OR_RAISE(auto results, client_->DoAction(action));
    ARROW_ASSIGN_OR_RAISE(auto result, results->Next());
    if (result == nullptr) return arrow::Status::Invalid("no result");
    std::string body = result->body->ToString();
    ARROW_ASSIGN_OR_RAISE(std::string_view message,
                          UnpackAny(body, "ActionCreatePreparedStatementResult"));
    std::string handle;
    ARROW_RETURN_NOT_OK(ReadFields(message, "result", [&](const WireField& field) {
      if (field.number == 1) handle = std::string(field.bytes);
      return arrow::Status::OK();
    }));
    return handle;
  }

  std::unique_ptr<FlightSqlServer> server_;
  std::unique_ptr<flight::FlightClient> client_;
};

TEST_F(FlightSqlServerTest, StatementRowsComeThroughItsTicket) {
  ASSERT_OK_AND_ASSIGN(auto table,
                       Fetch(EncodeCommand(CommandStatementQuery{
                           "SELECT id * 10 AS tens FROM numbers WHERE id > 1 ORDER BY id", {}})));
  ASSERT_OK_AND_ASSIGN(auto expected, arrow::json::ArrayFromJSONString(arrow::int64(), "[20, 30]"));
  EXPECT_EQ(table->schema()->field(0)->name(), "tens");
  EXPECT_TRUE(table->column(0)->Equals(arrow::ChunkedArray(expected)));
}

TEST_F(FlightSqlServerTest, StartedAnswersWaitingForDoGetGiveWayToNewQueries) {
  StartServer(/*max_running_queries=*/1);
  std::string count = EncodeCommand(CommandStatementQuery{"SELECT count(*) AS n FROM numbers", {}});
  std::string total = EncodeCommand(CommandStatementQuery{"SELECT sum(id) AS n FROM numbers", {}});
  // The first answer, started and waiting for its DoGet, holds the only slot: the second
  // GetFlightInfo takes it over rather than being refused, and each ticket still answers.
  ASSERT_OK_AND_ASSIGN(auto first,
                       client_->GetFlightInfo(flight::FlightDescriptor::Command(count)));
  ASSERT_OK_AND_ASSIGN(auto second,
                       client_->GetFlightInfo(flight::FlightDescriptor::Command(total)));
  ASSERT_OK_AND_ASSIGN(auto counted, Redeem(first->endpoints()[0].ticket));
  ASSERT_OK_AND_ASSIGN(auto summed, Redeem(second->endpoints()[0].ticket));
  ASSERT_OK_AND_ASSIGN(auto three, arrow::json::ArrayFromJSONString(arrow::int64(), "[3]"));
  ASSERT_OK_AND_ASSIGN(auto six, arrow::json::ArrayFromJSONString(arrow::int64(), "[6]"));
  EXPECT_TRUE(counted->column(0)->Equals(arrow::ChunkedArray(three)));
  EXPECT_TRUE(summed->column(0)->Equals(arrow::ChunkedArray(six)));
}

TEST_F(FlightSqlServerTest, PreparedStatementsBeyondTheLimitDropTheLeastRecentlyUsed) {
  ASSERT_OK_AND_ASSIGN(std::string first, Prepare("SELECT count(*) AS n FROM numbers"));
  ASSERT_OK_AND_ASSIGN(std::string second, Prepare("SELECT max(id) AS n FROM numbers"));
  // Using the first makes the second the least recently used.
  ASSERT_OK_AND_ASSIGN(auto counted, Fetch(EncodeCommand(CommandPreparedStatementQuery{first})));
  EXPECT_EQ(counted->num_rows(), 1);
  ASSERT_OK_AND_ASSIGN(std::string third, Prepare("SELECT min(id) AS n FROM numbers"));
  auto dropped = Fetch(EncodeCommand(CommandPreparedStatementQuery{second}));
  ASSERT_TRUE(dropped.status().IsKeyError()) << dropped.status().ToString();
  EXPECT_NE(dropped.status().message().find("least recently used"), std::string::npos);
  ASSERT_OK(Fetch(EncodeCommand(CommandPreparedStatementQuery{first})).status());
  ASSERT_OK(Fetch(EncodeCommand(CommandPreparedStatementQuery{third})).status());
}

// With a view per token, a ticket is answered with the view of the caller who redeems it: an
// answer started for one caller is never handed to another.
TEST(FlightSqlServerTokens, TicketsAnswerWithTheRedeemingCallersTables) {
  auto numbers = std::make_shared<sql::MapTableCatalog>();
  auto schema = arrow::schema({arrow::field("id", arrow::int64())});
  ASSERT_OK_AND_ASSIGN(auto ids, arrow::json::ArrayFromJSONString(arrow::int64(), "[1, 2, 3]"));
  numbers->RegisterTable("numbers", arrow::Table::Make(schema, {ids}));
  auto nothing = std::make_shared<sql::MapTableCatalog>();
  FlightSqlServerOptions options;
  options.address = "127.0.0.1:0";
  options.tables = nothing;
  options.authenticate = [](std::string_view token) { return token == "alice" || token == "bob"; };
  options.tables_for_token =
      [numbers, nothing](std::string_view token) -> std::shared_ptr<sql::TableCatalog> {
    if (token == "alice") return numbers;
    return nothing;
  };
  ASSERT_OK_AND_ASSIGN(auto server, FlightSqlServer::Start(std::move(options)));
  ASSERT_OK_AND_ASSIGN(auto location, flight::Location::ForGrpcTcp("127.0.0.1", server->port()));
  ASSERT_OK_AND_ASSIGN(auto client, flight::FlightClient::Connect(location));
  auto as = [](const std::string& token) {
    flight::FlightCallOptions call;
    call.headers.emplace_back("authorization", "Bearer " + token);
    return call;
  };
  std::string count = EncodeCommand(CommandStatementQuery{"SELECT count(*) AS n FROM numbers", {}});
  ASSERT_OK_AND_ASSIGN(
      auto info, client->GetFlightInfo(as("alice"), flight::FlightDescriptor::Command(count)));
  const flight::Ticket ticket = info->endpoints()[0].ticket;
  // Bob's redemption runs the query as Bob, who has no such table.
  auto stolen = client->DoGet(as("bob"), ticket);
  arrow::Status bob_status = stolen.status();
  if (bob_status.ok()) bob_status = (*stolen)->ToTable().status();
  EXPECT_FALSE(bob_status.ok());
  EXPECT_NE(bob_status.ToString().find("does not exist"), std::string::npos) << bob_status;
  ASSERT_OK_AND_ASSIGN(auto reader, client->DoGet(as("alice"), ticket));
  ASSERT_OK_AND_ASSIGN(auto table, reader->ToTable());
  EXPECT_EQ(table->num_rows(), 1);
  ASSERT_OK(client->Close());
  server->Stop();
}

}  // namespace
}  // namespace nlk::flightsql
