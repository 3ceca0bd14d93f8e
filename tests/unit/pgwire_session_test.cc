// The protocol state machine of one session, without sockets: startup, simple and extended
// queries, portals with row limits, errors and recovery at Sync, transaction blocks, bad input.
#include <arrow/api.h>
#include <arrow/json/from_string.h>
#include <gtest/gtest.h>

#include "pgwire/pg_type.h"
#include "pgwire/session.h"
#include "pgwire/value_format.h"
#include "pgwire/wire_format.h"

namespace nlk::pgwire {
namespace {

class RecordingTransport : public Transport {
 public:
  arrow::Status Write(std::string_view bytes) override {
    written.append(bytes);
    return arrow::Status::OK();
  }
  std::string written;
};

struct Message {
  char type;
  std::string body;
};

std::vector<Message> Split(const std::string& bytes) {
  std::vector<Message> messages;
  size_t position = 0;
  while (position + 5 <= bytes.size()) {
    int32_t length = ReadInt32(std::string_view(bytes).substr(position + 1));
    messages.push_back(
        {bytes[position], bytes.substr(position + 5, static_cast<size_t>(length) - 4)});
    position += 1 + static_cast<size_t>(length);
  }
  EXPECT_EQ(position, bytes.size());
  return messages;
}

std::string Types(const std::vector<Message>& messages) {
  std::string types;
  for (const Message& message : messages) types.push_back(message.type);
  return types;
}

// The value of field `code` of an ErrorResponse/NoticeResponse body.
std::string ErrorField(const Message& message, char code) {
  size_t position = 0;
  while (position < message.body.size() && message.body[position] != '\0') {
    char field = message.body[position];
    size_t end = message.body.find('\0', position + 1);
    if (field == code) return message.body.substr(position + 1, end - position - 1);
    position = end + 1;
  }
  return "";
}

std::vector<std::string> RowTexts(const Message& message) {
  std::vector<std::string> fields;
  int16_t count = ReadInt16(message.body);
  size_t position = 2;
  for (int16_t index = 0; index < count; ++index) {
    int32_t length = ReadInt32(std::string_view(message.body).substr(position));
    position += 4;
    if (length < 0) {
      fields.push_back("NULL");
      continue;
    }
    fields.push_back(message.body.substr(position, static_cast<size_t>(length)));
    position += static_cast<size_t>(length);
  }
  return fields;
}

class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto provider = std::make_shared<sql::MapTableCatalog>();
    auto schema =
        arrow::schema({arrow::field("id", arrow::int64()), arrow::field("name", arrow::utf8())});
    auto ids = arrow::json::ArrayFromJSONString(arrow::int64(), "[1, 2, 3, 4, 5]").ValueOrDie();
    auto names = arrow::json::ArrayFromJSONString(arrow::utf8(), R"(["a", "b", "c", "d", null])")
                     .ValueOrDie();
    provider->RegisterTable("t", arrow::Table::Make(schema, {ids, names}));
    session_ = std::make_unique<Session>(provider, QueryLimits{}, &transport_, 77, 1234);
  }

  std::vector<Message> Exchange(const std::string& frontend_messages) {
    transport_.written.clear();
    size_t position = 0;
    while (position < frontend_messages.size()) {
      char type = frontend_messages[position];
      int32_t length = ReadInt32(std::string_view(frontend_messages).substr(position + 1));
      std::string body = frontend_messages.substr(position + 5, static_cast<size_t>(length) - 4);
      position += 1 + static_cast<size_t>(length);
      if (session_->HandleMessage(type, body) == Session::Next::kClose) closed_ = true;
    }
    session_->Flush();
    return Split(transport_.written);
  }

  void StartUp(const std::vector<std::pair<std::string, std::string>>& parameters = {
                   {"user", "alice"}, {"database", "lake"}}) {
    std::string packet;
    AppendInt32Binary(kProtocolVersion3, &packet);
    for (const auto& [key, value] : parameters) {
      AppendCString(key, &packet);
      AppendCString(value, &packet);
    }
    packet.push_back('\0');
    transport_.written.clear();
    started_next_ = session_->HandleStartup(packet);
    startup_ = Split(transport_.written);
  }

  static std::string Query(const std::string& sql) {
    std::string out;
    size_t start = BeginMessage('Q', &out);
    AppendCString(sql, &out);
    FinishMessage(start, &out);
    return out;
  }

  static std::string Parse(const std::string& name, const std::string& sql,
                           const std::vector<int32_t>& types = {}) {
    std::string out;
    size_t start = BeginMessage('P', &out);
    AppendCString(name, &out);
    AppendCString(sql, &out);
    AppendInt16Binary(static_cast<int16_t>(types.size()), &out);
    for (int32_t type : types) AppendInt32Binary(type, &out);
    FinishMessage(start, &out);
    return out;
  }

  static std::string Bind(const std::string& portal, const std::string& statement,
                          const std::vector<std::optional<std::string>>& values,
                          const std::vector<int16_t>& result_formats = {}) {
    std::string out;
    size_t start = BeginMessage('B', &out);
    AppendCString(portal, &out);
    AppendCString(statement, &out);
    AppendInt16Binary(0, &out);  // parameters in text
    AppendInt16Binary(static_cast<int16_t>(values.size()), &out);
    for (const auto& value : values) {
      if (!value) {
        AppendInt32Binary(-1, &out);
        continue;
      }
      AppendInt32Binary(static_cast<int32_t>(value->size()), &out);
      out.append(*value);
    }
    AppendInt16Binary(static_cast<int16_t>(result_formats.size()), &out);
    for (int16_t format : result_formats) AppendInt16Binary(format, &out);
    FinishMessage(start, &out);
    return out;
  }

  static std::string Describe(char kind, const std::string& name) {
    std::string out;
    size_t start = BeginMessage('D', &out);
    out.push_back(kind);
    AppendCString(name, &out);
    FinishMessage(start, &out);
    return out;
  }

  static std::string Execute(const std::string& portal, int32_t max_rows) {
    std::string out;
    size_t start = BeginMessage('E', &out);
    AppendCString(portal, &out);
    AppendInt32Binary(max_rows, &out);
    FinishMessage(start, &out);
    return out;
  }

  static std::string Empty(char type) {
    std::string out;
    AppendEmptyMessage(type, &out);
    return out;
  }

  RecordingTransport transport_;
  std::unique_ptr<Session> session_;
  std::vector<Message> startup_;
  Session::Next started_next_ = Session::Next::kClose;
  bool closed_ = false;
};

TEST_F(SessionTest, StartupReportsTheServerAndIsReady) {
  StartUp({{"user", "alice"},
           {"database", "lake"},
           {"application_name", "probe"},
           {"client_encoding", "UTF8"},
           {"DateStyle", "ISO"},
           {"TimeZone", "Europe/Paris"},
           {"unknown_but_harmless", "1"}});
  EXPECT_EQ(started_next_, Session::Next::kContinue);
  ASSERT_FALSE(startup_.empty());
  EXPECT_EQ(startup_.front().type, 'R');
  EXPECT_EQ(ReadInt32(startup_.front().body), 0);  // AuthenticationOk
  std::map<std::string, std::string> parameters;
  for (const Message& message : startup_) {
    if (message.type != 'S') continue;
    size_t nul = message.body.find('\0');
    parameters[message.body.substr(0, nul)] =
        message.body.substr(nul + 1, message.body.size() - nul - 2);
  }
  EXPECT_EQ(parameters["server_version"], "15.0");
  EXPECT_EQ(parameters["client_encoding"], "UTF8");
  EXPECT_EQ(parameters["TimeZone"], "UTC");
  EXPECT_EQ(parameters["application_name"], "probe");
  EXPECT_EQ(parameters["standard_conforming_strings"], "on");
  EXPECT_EQ(parameters["DateStyle"], "ISO, MDY");
  const Message& key = startup_[startup_.size() - 2];
  EXPECT_EQ(key.type, 'K');
  EXPECT_EQ(ReadInt32(key.body), 77);
  EXPECT_EQ(ReadInt32(std::string_view(key.body).substr(4)), 1234);
  EXPECT_EQ(startup_.back().type, 'Z');
  EXPECT_EQ(startup_.back().body, "I");
}

TEST_F(SessionTest, StartupRefusals) {
  StartUp({{"database", "lake"}});
  EXPECT_EQ(started_next_, Session::Next::kClose);
  ASSERT_EQ(Types(startup_), "E");
  EXPECT_EQ(ErrorField(startup_[0], 'S'), "FATAL");
  EXPECT_EQ(ErrorField(startup_[0], 'C'), "28000");

  StartUp({{"user", "alice"}, {"client_encoding", "LATIN1"}});
  EXPECT_EQ(started_next_, Session::Next::kClose);
  EXPECT_EQ(ErrorField(startup_.at(0), 'C'), "22023");

  std::string old_protocol;
  AppendInt32Binary(2 << 16, &old_protocol);
  transport_.written.clear();
  EXPECT_EQ(session_->HandleStartup(old_protocol), Session::Next::kClose);
  EXPECT_EQ(ErrorField(Split(transport_.written).at(0), 'C'), "0A000");

  std::string unterminated;
  AppendInt32Binary(kProtocolVersion3, &unterminated);
  unterminated += "user";
  transport_.written.clear();
  EXPECT_EQ(session_->HandleStartup(unterminated), Session::Next::kClose);
  EXPECT_EQ(ErrorField(Split(transport_.written).at(0), 'C'), "08P01");
}

TEST_F(SessionTest, ACertificateUserStartsWithoutAPassword) {
  session_->set_certificate_user("alice");
  StartUp();
  EXPECT_EQ(started_next_, Session::Next::kContinue);
  ASSERT_FALSE(startup_.empty());
  EXPECT_EQ(ReadInt32(startup_.front().body), 0);  // AuthenticationOk, no password asked

  // Another user name: refused without a password check, asked for one with it.
  SetUp();
  session_->set_certificate_user("alice");
  StartUp({{"user", "bob"}});
  EXPECT_EQ(started_next_, Session::Next::kClose);
  EXPECT_EQ(ErrorField(startup_.at(0), 'C'), "28000");
  EXPECT_NE(ErrorField(startup_.at(0), 'M').find("the certificate is for \"alice\""),
            std::string::npos);
  SetUp();
  session_->set_certificate_user("alice");
  session_->set_password_check([](const std::string&, const std::string&) { return true; });
  StartUp({{"user", "bob"}});
  EXPECT_EQ(started_next_, Session::Next::kContinue);
  ASSERT_FALSE(startup_.empty());
  EXPECT_EQ(ReadInt32(startup_.front().body), 3);  // AuthenticationCleartextPassword

  // A certificate that names nobody admits nobody without a password check.
  SetUp();
  session_->set_certificate_user("");
  StartUp();
  EXPECT_EQ(started_next_, Session::Next::kClose);
  EXPECT_EQ(ErrorField(startup_.at(0), 'C'), "28000");
}

TEST_F(SessionTest, NewerMinorVersionsAreNegotiatedDown) {
  std::string packet;
  AppendInt32Binary((3 << 16) | 2, &packet);
  AppendCString("user", &packet);
  AppendCString("alice", &packet);
  AppendCString("_pq_.extension", &packet);
  AppendCString("x", &packet);
  packet.push_back('\0');
  EXPECT_EQ(session_->HandleStartup(packet), Session::Next::kContinue);
  auto messages = Split(transport_.written);
  ASSERT_EQ(messages.at(0).type, 'v');
  EXPECT_EQ(ReadInt32(messages[0].body), kProtocolVersion3);
  EXPECT_EQ(ReadInt32(std::string_view(messages[0].body).substr(4)), 1);
  EXPECT_EQ(messages.back().type, 'Z');
}

TEST_F(SessionTest, SimpleQueries) {
  StartUp();
  auto messages = Exchange(Query("SELECT id, name FROM t ORDER BY id DESC LIMIT 2"));
  ASSERT_EQ(Types(messages), "TDDCZ");
  EXPECT_EQ(RowTexts(messages[1]), (std::vector<std::string>{"5", "NULL"}));
  EXPECT_EQ(RowTexts(messages[2]), (std::vector<std::string>{"4", "d"}));
  EXPECT_EQ(messages[3].body, std::string("SELECT 2\0", 9));
  EXPECT_EQ(messages[4].body, "I");

  messages = Exchange(Query("SET search_path TO public; SELECT count(*) FROM t; SHOW search_path"));
  ASSERT_EQ(Types(messages), "CTDCTDCZ");
  EXPECT_EQ(messages[0].body, std::string("SET\0", 4));
  EXPECT_EQ(RowTexts(messages[2]), (std::vector<std::string>{"5"}));
  EXPECT_EQ(RowTexts(messages[5]), (std::vector<std::string>{"public"}));

  EXPECT_EQ(Types(Exchange(Query(" ;"))), "IZ");  // EmptyQueryResponse
}

TEST_F(SessionTest, ErrorsCarrySqlStateAndPosition) {
  StartUp();
  auto messages = Exchange(Query("SELECT 1; SELECT nope FROM t; SELECT 2"));
  ASSERT_EQ(Types(messages), "TDCEZ");  // the third statement does not run
  EXPECT_EQ(ErrorField(messages[3], 'C'), "42703");
  EXPECT_EQ(ErrorField(messages[3], 'P'), "18");  // "nope", counted in the whole query
  messages = Exchange(Query("SELECT * FROM missing"));
  EXPECT_EQ(ErrorField(messages.at(0), 'C'), "42P01");
  messages = Exchange(Query("SELEC 1"));
  EXPECT_EQ(ErrorField(messages.at(0), 'C'), "42601");
  EXPECT_EQ(ErrorField(messages.at(0), 'P'), "1");
  messages = Exchange(Query("INSERT INTO t VALUES (6, 'f')"));
  EXPECT_EQ(ErrorField(messages.at(0), 'C'), "25006");
  messages = Exchange(Query("SET no_such_setting = 1"));
  EXPECT_EQ(ErrorField(messages.at(0), 'C'), "42704");
  EXPECT_EQ(Types(messages), "EZ");
}

TEST_F(SessionTest, PortalsReturnRowsInSlices) {
  StartUp();
  auto messages = Exchange(Parse("", "SELECT id FROM t WHERE id >= $1 ORDER BY id", {kInt8Oid}) +
                           Bind("", "", {"2"}) + Describe('P', "") + Execute("", 2) +
                           Execute("", 2) + Execute("", 0) + Empty('S'));
  ASSERT_EQ(Types(messages), "12TDDsDDsCZ");
  EXPECT_EQ(RowTexts(messages[3]), (std::vector<std::string>{"2"}));
  EXPECT_EQ(RowTexts(messages[7]), (std::vector<std::string>{"5"}));
  EXPECT_EQ(messages[9].body, std::string("SELECT 0\0", 9));
  // Outside a transaction block Sync ends the portal.
  messages = Exchange(Execute("", 0) + Empty('S'));
  EXPECT_EQ(Types(messages), "EZ");
  EXPECT_EQ(ErrorField(messages[0], 'C'), "34000");
}

TEST_F(SessionTest, PortalsOutliveSyncInsideATransactionBlock) {
  StartUp();
  EXPECT_EQ(Exchange(Query("BEGIN")).back().body, "T");
  auto messages = Exchange(Parse("q", "SELECT id FROM t ORDER BY id") + Bind("c", "q", {}) +
                           Execute("c", 3) + Empty('S'));
  ASSERT_EQ(Types(messages), "12DDDsZ");
  EXPECT_EQ(messages.back().body, "T");
  messages = Exchange(Execute("c", 3) + Empty('S'));
  ASSERT_EQ(Types(messages), "DDCZ");
  EXPECT_EQ(messages[2].body, std::string("SELECT 2\0", 9));
  EXPECT_EQ(Exchange(Query("COMMIT")).back().body, "I");
}

TEST_F(SessionTest, AnErrorSkipsToSync) {
  StartUp();
  auto messages = Exchange(Parse("", "SELEC 1") + Bind("", "", {}) + Execute("", 0) + Empty('S') +
                           Parse("", "SELECT 1") + Bind("", "", {}) + Execute("", 0) + Empty('S'));
  ASSERT_EQ(Types(messages), "EZ12DCZ");
  EXPECT_EQ(ErrorField(messages[0], 'C'), "42601");
  // Names are resolved when the query starts: here at Execute.
  messages = Exchange(Parse("", "SELECT nope FROM t") + Bind("", "", {}) + Execute("", 0) +
                      Execute("", 0) + Empty('S'));
  ASSERT_EQ(Types(messages), "12EZ");
  EXPECT_EQ(ErrorField(messages[2], 'C'), "42703");
}

TEST_F(SessionTest, DescribeStatementGivesParameterAndResultTypes) {
  StartUp();
  auto messages = Exchange(
      Parse("s", "SELECT name, id * 2 AS twice FROM t WHERE id = $1 LIMIT $2", {0, kInt8Oid}) +
      Describe('S', "s") + Empty('S'));
  ASSERT_EQ(Types(messages), "1tTZ");
  const std::string& parameters = messages[1].body;
  EXPECT_EQ(ReadInt16(parameters), 2);
  EXPECT_EQ(ReadInt32(std::string_view(parameters).substr(2)), kTextOid);
  EXPECT_EQ(ReadInt32(std::string_view(parameters).substr(6)), kInt8Oid);
  const std::string& row = messages[2].body;
  EXPECT_EQ(ReadInt16(row), 2);
  EXPECT_EQ(row.substr(2, 5), std::string("name\0", 5));
  // The first column's type OID follows its name, table OID and column number.
  EXPECT_EQ(ReadInt32(std::string_view(row).substr(2 + 5 + 6)), kTextOid);
  messages = Exchange(Bind("", "s", {"3", "10"}, {1}) + Execute("", 0) + Empty('S'));
  ASSERT_EQ(Types(messages), "2DCZ");
  auto fields = RowTexts(messages[1]);
  EXPECT_EQ(fields[0], "c");
  EXPECT_EQ(ReadInt64(fields[1]), 6);  // binary int8
}

TEST_F(SessionTest, TransactionBlocks) {
  StartUp();
  auto messages = Exchange(Query("BEGIN"));
  EXPECT_EQ(messages.back().body, "T");
  messages = Exchange(Query("SELECT nope"));
  EXPECT_EQ(messages.back().body, "E");
  messages = Exchange(Query("SELECT 1"));
  EXPECT_EQ(ErrorField(messages.at(0), 'C'), "25P02");
  messages = Exchange(Query("ROLLBACK"));
  EXPECT_EQ(messages.at(0).body, std::string("ROLLBACK\0", 9));
  EXPECT_EQ(messages.back().body, "I");
  messages = Exchange(Query("BEGIN; SAVEPOINT a; SELECT nope"));
  EXPECT_EQ(messages.back().body, "E");
  messages = Exchange(Query("ROLLBACK TO SAVEPOINT a; SELECT 1; RELEASE a; COMMIT"));
  EXPECT_EQ(Types(messages), "CTDCCCZ");
  EXPECT_EQ(messages.back().body, "I");
  messages = Exchange(Query("COMMIT"));
  EXPECT_EQ(Types(messages), "NCZ");  // a warning: no transaction in progress
}

TEST_F(SessionTest, CatalogResultsInBinary) {
  StartUp();
  auto messages = Exchange(Parse("",
                                 "SELECT oid, relname, relnatts, relkind FROM pg_class "
                                 "WHERE relname = 't'") +
                           Bind("", "", {}, {1}) + Execute("", 0) + Empty('S'));
  ASSERT_EQ(Types(messages), "12DCZ");
  auto fields = RowTexts(messages[2]);
  EXPECT_GE(ReadInt32(fields[0]), 16384);
  EXPECT_EQ(fields[1], "t");
  EXPECT_EQ(ReadInt16(fields[2]), 2);
  EXPECT_EQ(fields[3], "r");
}

TEST_F(SessionTest, SqlCursors) {
  StartUp();
  auto messages = Exchange(Query("DECLARE c CURSOR FOR SELECT id FROM t ORDER BY id"));
  ASSERT_EQ(Types(messages), "EZ");
  EXPECT_EQ(ErrorField(messages[0], 'C'), "25P01");  // only in a transaction block
  messages =
      Exchange(Query("BEGIN; DECLARE c CURSOR FOR SELECT id FROM t ORDER BY id; "
                     "FETCH 2 FROM c; MOVE 1 IN c; FETCH ALL FROM c; FETCH c; CLOSE c"));
  ASSERT_EQ(Types(messages), "CCTDDCCTDDCTCCZ");
  EXPECT_EQ(messages[1].body, std::string("DECLARE CURSOR\0", 15));
  EXPECT_EQ(RowTexts(messages[3]), (std::vector<std::string>{"1"}));
  EXPECT_EQ(messages[5].body, std::string("FETCH 2\0", 8));
  EXPECT_EQ(messages[6].body, std::string("MOVE 1\0", 7));
  EXPECT_EQ(RowTexts(messages[8]), (std::vector<std::string>{"4"}));
  EXPECT_EQ(messages[12].body, std::string("FETCH 0\0", 8));
  EXPECT_EQ(messages.back().body, "T");
  messages = Exchange(Query("FETCH 1 FROM c"));
  EXPECT_EQ(ErrorField(messages.at(0), 'C'), "34000");
  Exchange(Query("ROLLBACK"));
  // WITH HOLD outlives its transaction; BINARY sends binary rows to a simple Query's FETCH.
  messages = Exchange(Query("DECLARE h BINARY CURSOR WITH HOLD FOR SELECT id FROM t ORDER BY id"));
  ASSERT_EQ(Types(messages), "CZ");
  messages = Exchange(Query("FETCH 1 FROM h"));
  ASSERT_EQ(Types(messages), "TDCZ");
  EXPECT_EQ(ReadInt64(RowTexts(messages[1])[0]), 1);
  // Through the extended protocol a FETCH takes the formats its Bind asks for.
  messages = Exchange(Parse("", "FETCH FORWARD 2 FROM h") + Bind("", "", {}) + Describe('P', "") +
                      Execute("", 0) + Empty('S'));
  ASSERT_EQ(Types(messages), "12TDDCZ");
  EXPECT_EQ(RowTexts(messages[3]), (std::vector<std::string>{"2"}));
  EXPECT_EQ(Types(Exchange(Query("CLOSE h; FETCH 1 FROM h"))), "CEZ");
}

TEST_F(SessionTest, MalformedMessages) {
  StartUp();
  // A Bind whose parameter length runs past the message: an error, then skip to Sync.
  std::string bind;
  size_t start = BeginMessage('B', &bind);
  AppendCString("", &bind);
  AppendCString("", &bind);
  AppendInt16Binary(0, &bind);
  AppendInt16Binary(1, &bind);
  AppendInt32Binary(1000, &bind);
  FinishMessage(start, &bind);
  auto messages = Exchange(Parse("", "SELECT $1") + bind + Empty('S'));
  ASSERT_EQ(Types(messages), "1EZ");
  EXPECT_EQ(ErrorField(messages[1], 'C'), "08P01");
  EXPECT_FALSE(closed_);
  // A Query without its terminator.
  std::string query;
  start = BeginMessage('Q', &query);
  query += "SELECT 1";
  FinishMessage(start, &query);
  messages = Exchange(query);
  EXPECT_EQ(Types(messages), "EZ");
  // Bind naming more parameters than the statement has.
  messages = Exchange(Parse("", "SELECT 1") + Bind("", "", {"1"}) + Empty('S'));
  EXPECT_EQ(Types(messages), "1EZ");
  // An unknown message type ends the session.
  messages = Exchange(Empty('?'));
  ASSERT_EQ(Types(messages), "E");
  EXPECT_EQ(ErrorField(messages[0], 'S'), "FATAL");
  EXPECT_TRUE(closed_);
}

}  // namespace
}  // namespace nlk::pgwire
