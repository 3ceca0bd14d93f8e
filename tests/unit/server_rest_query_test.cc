#include "server/rest_query.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "common/arrow_runtime.h"
#include "server/api_error.h"
#include "server/result_stream.h"
#include "server/schema_json.h"
#include "server/server_config.h"

namespace nlk::server {
namespace {

std::shared_ptr<arrow::Schema> TestSchema() {
  return arrow::schema({arrow::field("device_id", arrow::utf8(), false),
                        arrow::field("channel", arrow::int32()),
                        arrow::field("ts", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")),
                        arrow::field("value", arrow::float32())});
}

std::string ErrorCode(const arrow::Status& status) { return DescribeError(status, "default").code; }

TEST(ParseQueryStringTest, DecodesPairsInOrder) {
  auto parameters = ParseQueryString("filter%5Bdevice_id%5D='a+b'&limit=3&&flag");
  ASSERT_TRUE(parameters.ok()) << parameters.status();
  ASSERT_EQ(parameters->size(), 3u);
  EXPECT_EQ((*parameters)[0].first, "filter[device_id]");
  EXPECT_EQ((*parameters)[0].second, "'a b'");
  EXPECT_EQ((*parameters)[1].second, "3");
  EXPECT_EQ((*parameters)[2].first, "flag");
  EXPECT_FALSE(ParseQueryString("a=%zz").ok());
  EXPECT_FALSE(ParseQueryString("a=%4").ok());
}

TEST(ParseRestQueryTest, ReadsRoapiParameters) {
  auto query = ParseRestQuery({{"columns", "a,b"},
                               {"sort", "a,-b,+c"},
                               {"filter[a]", "1"},
                               {"filter[b]gteq", "'x'"},
                               {"filter[c]lt", "2.5"},
                               {"limit", "10"},
                               {"page", "3"},
                               {"unknown", "ignored"}});
  ASSERT_TRUE(query.ok()) << query.status();
  EXPECT_EQ(query->columns, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(query->sort.size(), 3u);
  EXPECT_FALSE(query->sort[0].descending);
  EXPECT_TRUE(query->sort[1].descending);
  EXPECT_EQ(query->sort[2].column, "c");
  ASSERT_EQ(query->filters.size(), 3u);
  EXPECT_EQ(query->filters[0].op, "eq");
  EXPECT_EQ(query->filters[1].op, "gte");
  EXPECT_EQ(query->filters[2].op, "lt");
  EXPECT_EQ(query->limit, 10);
  EXPECT_EQ(query->offset, 20);  // page 3 of 10
}

TEST(ParseRestQueryTest, TimeTravel) {
  ASSERT_TRUE(InitializeArrowCompute().ok());
  auto by_version = ParseRestQuery({{"version", "4"}});
  ASSERT_TRUE(by_version.ok());
  EXPECT_EQ(by_version->at.version, 4);
  auto by_time = ParseRestQuery({{"timestamp", "2026-01-01T00:00:01.5Z"}});
  ASSERT_TRUE(by_time.ok()) << by_time.status();
  EXPECT_EQ(by_time->at.timestamp_ms, 1767225601500);
  auto by_millis = ParseRestQuery({{"timestamp", "1767225601500"}});
  ASSERT_TRUE(by_millis.ok());
  EXPECT_EQ(by_millis->at.timestamp_ms, 1767225601500);
  EXPECT_FALSE(ParseRestQuery({{"version", "1"}, {"timestamp", "5"}}).ok());
}

TEST(ParseRestQueryTest, RefusesBadInputWithRoapiCodes) {
  EXPECT_EQ(ErrorCode(ParseRestQuery({{"limit", "abc"}}).status()), "invalid_numeric_param");
  EXPECT_EQ(ErrorCode(ParseRestQuery({{"limit", "-1"}}).status()), "invalid_numeric_param");
  EXPECT_EQ(ErrorCode(ParseRestQuery({{"filter[a]like", "1"}}).status()), "rest_query");
  EXPECT_EQ(ErrorCode(ParseRestQuery({{"filter[]", "1"}}).status()), "rest_query");
  EXPECT_EQ(ErrorCode(ParseRestQuery({{"page", "2"}}).status()), "rest_query");
  EXPECT_EQ(ErrorCode(ParseRestQuery({{"page", "0"}, {"limit", "1"}}).status()),
            "invalid_numeric_param");
  EXPECT_EQ(ErrorCode(ParseRestQuery({{"timestamp", "soon"}}).status()), "invalid_timestamp");
  EXPECT_EQ(DescribeError(ParseRestQuery({{"limit", "x"}}).status(), "d").http_status, 400);
}

TEST(RestFilterExpressionTest, BindsLiteralsToColumnTypes) {
  ASSERT_TRUE(InitializeArrowCompute().ok());
  auto schema = TestSchema();
  auto expression = RestFilterExpression({{"device_id", "eq", "'dev''1'"},
                                          {"channel", "gte", "-2"},
                                          {"ts", "lt", "'2026-01-01T00:00:00Z'"},
                                          {"value", "ne", "1.5"}},
                                         *schema);
  ASSERT_TRUE(expression.ok()) << expression.status();
  ASSERT_TRUE(expression->has_value());
  auto bound = (*expression)->Bind(*schema);
  ASSERT_TRUE(bound.ok()) << bound.status();
  EXPECT_NE((*expression)->ToString().find("dev'1"), std::string::npos);
  auto none = RestFilterExpression({}, *schema);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST(RestFilterExpressionTest, ReportsUnknownColumnsAndBadValues) {
  ASSERT_TRUE(InitializeArrowCompute().ok());
  auto schema = TestSchema();
  auto unknown = RestFilterExpression({{"nope", "eq", "1"}}, *schema);
  EXPECT_EQ(ErrorCode(unknown.status()), "invalid_filter");
  EXPECT_NE(unknown.status().message().find("device_id"), std::string::npos);
  EXPECT_EQ(ErrorCode(RestFilterExpression({{"channel", "eq", "abc"}}, *schema).status()),
            "rest_query_value");
  EXPECT_EQ(ErrorCode(RestFilterExpression({{"channel", "eq", "'abc'"}}, *schema).status()),
            "invalid_filter");
  EXPECT_EQ(ErrorCode(RestFilterExpression({{"device_id", "eq", "'a'b'"}}, *schema).status()),
            "rest_query_value");
}

TEST(NegotiateFormatTest, FirstKnownTypeWinsElseJson) {
  using format::OutputFormat;
  EXPECT_EQ(NegotiateFormat("").first, OutputFormat::kJson);
  EXPECT_EQ(NegotiateFormat("*/*").first, OutputFormat::kJson);
  EXPECT_EQ(NegotiateFormat("text/html, text/csv;q=0.5").first, OutputFormat::kCsv);
  EXPECT_EQ(NegotiateFormat("application/vnd.apache.arrow.stream").first,
            OutputFormat::kArrowStream);
  EXPECT_EQ(NegotiateFormat("application/vnd.apache.arrow.file").first, OutputFormat::kArrowFile);
  auto parquet = NegotiateFormat("application/vnd.apache.parquet");
  EXPECT_EQ(parquet.first, OutputFormat::kParquet);
  EXPECT_EQ(parquet.second, "application/parquet");
}

TEST(SchemaJsonTest, MatchesRoapiShape) {
  auto schema = arrow::schema({arrow::field("a", arrow::int32(), false),
                               arrow::field("t", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")),
                               arrow::field("n", arrow::timestamp(arrow::TimeUnit::NANO))});
  EXPECT_EQ(SchemaJson(*schema),
            R"({"fields":[{"name":"a","data_type":"Int32","nullable":false,"dict_id":0,)"
            R"("dict_is_ordered":false,"metadata":{}},{"name":"t","data_type":{"Timestamp":)"
            R"(["Microsecond","UTC"]},"nullable":true,"dict_id":0,"dict_is_ordered":false,)"
            R"("metadata":{}},{"name":"n","data_type":{"Timestamp":["Nanosecond",null]},)"
            R"("nullable":true,"dict_id":0,"dict_is_ordered":false,"metadata":{}}],)"
            R"("metadata":{}})");
}

TEST(ServerConfigTest, ParsesTableArguments) {
  auto plain = ParseTableArgument("samples=/data/samples");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->name, "samples");
  EXPECT_EQ(plain->format, TableFormat::kDelta);
  auto unnamed = ParseTableArgument("/data/blogs.parquet");
  ASSERT_TRUE(unnamed.ok());
  EXPECT_EQ(unnamed->name, "blogs");
  EXPECT_EQ(unnamed->format, TableFormat::kParquet);
  auto options = ParseTableArgument("t=s3://b/t,format=delta,use_memory_table=true");
  ASSERT_TRUE(options.ok());
  EXPECT_TRUE(options->use_memory_table);
  EXPECT_FALSE(ParseTableArgument("t=/x,format=csv").ok());
  EXPECT_FALSE(ParseTableArgument("t=/x,bogus=1").ok());
  EXPECT_FALSE(ParseTableArgument("t=").ok());
}

TEST(ServerConfigTest, ReadsRoapiYaml) {
  std::string path = ::testing::TempDir() + "/nlk_serve_config.yml";
  std::ofstream(path) << "addr:\n  http: 127.0.0.1:9000\n  postgres: 127.0.0.1:5433\n"
                         "reload_interval: {secs: 1, nanos: 500000000}\n"
                         "tables:\n"
                         "  - name: samples\n    uri: /data/samples\n"
                         "    option:\n      format: delta\n      use_memory_table: true\n"
                         "    reload_interval: 250ms\n"
                         "  - name: blogs\n    uri: /data/blogs.parquet\n"
                         "    partition_columns:\n      - name: year\n        data_type: Int32\n"
                         "limits:\n  max_result_rows: 5\n  query_timeout: 2s\n";
  auto config = LoadServerConfig(path);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->http_address, "127.0.0.1:9000");
  EXPECT_EQ(config->default_reload_interval.count(), 1500);
  ASSERT_EQ(config->tables.size(), 2u);
  EXPECT_TRUE(config->tables[0].use_memory_table);
  EXPECT_EQ(config->tables[0].reload_interval->count(), 250);
  EXPECT_EQ(config->tables[1].format, TableFormat::kParquet);
  EXPECT_EQ(config->tables[1].partition_columns, (std::vector<std::string>{"year"}));
  EXPECT_EQ(config->limits.max_result_rows, 5);
  EXPECT_EQ(config->limits.query_timeout.count(), 2000);
  EXPECT_TRUE(ValidateServerConfig(*config).ok());
  std::remove(path.c_str());
}

TEST(ServerConfigTest, ReadsConnectionLimits) {
  std::string path = ::testing::TempDir() + "/nlk_serve_limits.yml";
  std::ofstream(path) << "tables: []\nlimits:\n  max_connections_per_address: 7\n"
                         "  max_waiting_responses: 9\n";
  auto config = LoadServerConfig(path);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->limits.max_connections_per_address, 7);
  EXPECT_EQ(config->limits.max_waiting_responses, 9);
  EXPECT_TRUE(ValidateServerConfig(*config).ok());
  config->limits.max_connections_per_address = 0;  // no per-address limit
  EXPECT_TRUE(ValidateServerConfig(*config).ok());
  config->limits.max_connections_per_address = -1;
  EXPECT_FALSE(ValidateServerConfig(*config).ok());
  std::remove(path.c_str());
}

TEST(ServerConfigTest, ReportsBadFiles) {
  EXPECT_TRUE(LoadServerConfig("/nonexistent/nlk.yml").status().IsIOError());
  std::string path = ::testing::TempDir() + "/nlk_serve_bad.yml";
  std::ofstream(path) << "tables:\n  - name: [unclosed\n";
  EXPECT_TRUE(LoadServerConfig(path).status().IsInvalid());
  std::ofstream(path) << "tables:\n  - name: t\n";
  auto missing_uri = LoadServerConfig(path);
  EXPECT_NE(missing_uri.status().message().find("missing uri"), std::string::npos);
  std::ofstream(path) << "tables: []\nlimits:\n  bogus: 1\n";
  EXPECT_FALSE(LoadServerConfig(path).ok());
  std::remove(path.c_str());
  ServerConfig twice;
  twice.tables = {TableConfig{"t", "/a"}, TableConfig{"t", "/b"}};
  EXPECT_FALSE(ValidateServerConfig(twice).ok());
}

}  // namespace
}  // namespace nlk::server
