// Bind-time parameters: each value becomes a literal the PostgreSQL parser reads back as exactly
// that value, put only where the parser found $n.
#include <gtest/gtest.h>

#include "pgwire/parameters.h"
#include "pgwire/pg_type.h"
#include "pgwire/sql_state.h"
#include "pgwire/statement.h"
#include "pgwire/value_format.h"

namespace nlk::pgwire {
namespace {

BoundParameter Text(std::string bytes, int32_t type = 0) {
  BoundParameter parameter;
  parameter.bytes = std::move(bytes);
  parameter.type = type;
  return parameter;
}

BoundParameter Binary(std::string bytes, int32_t type) {
  BoundParameter parameter = Text(std::move(bytes), type);
  parameter.binary = true;
  return parameter;
}

std::string Literal(const BoundParameter& parameter) {
  auto literal = ParameterLiteral(parameter, 1);
  EXPECT_TRUE(literal.ok()) << literal.status().ToString();
  return literal.ok() ? *literal : "";
}

std::string ErrorCode(const BoundParameter& parameter) {
  auto literal = ParameterLiteral(parameter, 1);
  EXPECT_FALSE(literal.ok()) << "accepted as " << *literal;
  return literal.ok() ? "" : SqlStateOf(literal.status());
}

TEST(PgwireParametersTest, TextBecomesAQuotedLiteralWithQuotesDoubled) {
  EXPECT_EQ(Literal(Text("device-0")), "'device-0'");
  EXPECT_EQ(Literal(Text("O'Brien", kTextOid)), "'O''Brien'");
  EXPECT_EQ(Literal(Text("')); DROP TABLE t; --", kVarcharOid)), "''')); DROP TABLE t; --'");
  EXPECT_EQ(Literal(Text("back\\slash")), "'back\\slash'");
  EXPECT_EQ(Literal(Text("")), "''");
  EXPECT_EQ(Literal(Text("\xc3\xa9t\xc3\xa9")), "'\xc3\xa9t\xc3\xa9'");
}

TEST(PgwireParametersTest, TextMustBeUtf8WithoutNul) {
  EXPECT_EQ(ErrorCode(Text(std::string("a\0b", 3))), sqlstate::kCharacterNotInRepertoire);
  EXPECT_EQ(ErrorCode(Text("\xff")), sqlstate::kCharacterNotInRepertoire);
  EXPECT_EQ(ErrorCode(Text("\xc3")), sqlstate::kCharacterNotInRepertoire);
}

TEST(PgwireParametersTest, NumbersAreValidatedAndNegativesParenthesised) {
  EXPECT_EQ(Literal(Text("42", kInt4Oid)), "42");
  EXPECT_EQ(Literal(Text(" -7 ", kInt8Oid)), "(-7)");
  EXPECT_EQ(Literal(Text("+5", kInt2Oid)), "5");
  EXPECT_EQ(ErrorCode(Text("1; DROP", kInt4Oid)), sqlstate::kInvalidTextRepresentation);
  EXPECT_EQ(ErrorCode(Text("+-5", kInt4Oid)), sqlstate::kInvalidTextRepresentation);
  EXPECT_EQ(ErrorCode(Text("", kInt8Oid)), sqlstate::kInvalidTextRepresentation);
  EXPECT_EQ(Literal(Text("1.5e3", kFloat8Oid)), "1.5e3");
  EXPECT_EQ(Literal(Text("-0.25", kNumericOid)), "(-0.25)");
  EXPECT_EQ(Literal(Text("NaN", kFloat8Oid)), "CAST('NaN' AS double precision)");
  EXPECT_EQ(ErrorCode(Text("1e", kFloat8Oid)), sqlstate::kInvalidTextRepresentation);
  EXPECT_EQ(ErrorCode(Text("0x10", kFloat8Oid)), sqlstate::kInvalidTextRepresentation);
  EXPECT_EQ(Literal(Text("yes", kBoolOid)), "true");
  EXPECT_EQ(ErrorCode(Text("maybe", kBoolOid)), sqlstate::kInvalidTextRepresentation);
}

TEST(PgwireParametersTest, BinaryValuesAreDecoded) {
  std::string bytes;
  AppendInt32Binary(-12, &bytes);
  EXPECT_EQ(Literal(Binary(bytes, kInt4Oid)), "(-12)");
  EXPECT_EQ(ErrorCode(Binary(bytes, kInt8Oid)), sqlstate::kInvalidBinaryRepresentation);
  bytes.clear();
  AppendFloat8Binary(2.5, &bytes);
  EXPECT_EQ(Literal(Binary(bytes, kFloat8Oid)), "2.5");
  bytes.clear();
  AppendNumericBinary("-123.4500", &bytes);
  EXPECT_EQ(Literal(Binary(bytes, kNumericOid)), "(-123.4500)");
  bytes.clear();
  AppendNumericBinary("0.0012", &bytes);
  EXPECT_EQ(Literal(Binary(bytes, kNumericOid)), "0.0012");
  bytes.clear();
  // 2026-01-02 03:04:05.5 UTC as microseconds since 2000-01-01.
  AppendInt64Binary(1767323045500000 - kPostgresEpochMicros, &bytes);
  EXPECT_EQ(Literal(Binary(bytes, kTimestamptzOid)), "'2026-01-02 03:04:05.5+00'");
  EXPECT_EQ(Literal(Binary("x", kTextOid)), "'x'");
  EXPECT_EQ(ErrorCode(Binary(std::string(1, '\x02'), kBoolOid)),
            sqlstate::kInvalidBinaryRepresentation);
}

TEST(PgwireParametersTest, OnlyTheParserParameterReferencesAreReplaced) {
  const std::string sql = "SELECT $1::int, '$1', \"$2\" -- $2\n, $2 FROM t WHERE x = $1";
  auto statements = ParseQuery(sql);
  ASSERT_TRUE(statements.ok()) << statements.status().ToString();
  ASSERT_EQ(statements->size(), 1u);
  const Statement& statement = (*statements)[0];
  EXPECT_EQ(statement.parameter_count, 2);
  auto text = SubstituteParameters(statement.text, statement.parameters, {"7", "'a''b'"});
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ(*text, "SELECT 7::int, '$1', \"$2\" -- $2\n, 'a''b' FROM t WHERE x = 7");
}

TEST(PgwireParametersTest, ParametersOfALaterStatementAreRelativeToIt) {
  auto statements = ParseQuery("SELECT 1; SELECT $1");
  ASSERT_TRUE(statements.ok());
  ASSERT_EQ(statements->size(), 2u);
  const Statement& second = (*statements)[1];
  auto text = SubstituteParameters(second.text, second.parameters, {"3"});
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ(*text, " SELECT 3");
}

}  // namespace
}  // namespace nlk::pgwire
