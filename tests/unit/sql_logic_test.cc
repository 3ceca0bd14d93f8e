// Runs the SQL tests in tests/sql/*.test, a sqllogictest-like format:
//
//   # comment
//   query ITR [rowsort]        one letter per column: I integer, R real (3 decimals), T text
//   SELECT ...
//   ----
//   1|alpha|2.500               one row per line, columns separated by |, NULL for null
//
//   statement error <substring of the expected error>
//   SELECT ...
//
//   statement ok
//   SELECT ...
//
// Records are separated by blank lines. The tables (below) are created fresh in a temp dir.
#include <arrow/api.h>
#include <arrow/json/from_string.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "datagen/neural_generator.h"
#include "delta/table.h"
#include "sql/sql_engine.h"

namespace nlk::sql {
namespace {

namespace fs = std::filesystem;

// Fixture setup cannot return a Status; a failure there aborts with the reason.
void Check(const arrow::Status& status) {
  if (!status.ok()) {
    std::fprintf(stderr, "SQL test fixture: %s\n", status.ToString().c_str());
    std::abort();
  }
}

std::shared_ptr<arrow::RecordBatch> Rows(const std::shared_ptr<arrow::Schema>& schema,
                                         const std::string& json) {
  auto array =
      arrow::json::ArrayFromJSONString(arrow::struct_(schema->fields()), json).ValueOrDie();
  return arrow::RecordBatch::FromStructArray(array)
      .ValueOrDie()
      ->ReplaceSchema(schema)
      .ValueOrDie();
}

// The shared fixture: a few small deterministic tables.
//   readings (Delta, partitioned by site; one file per site)
//     id | site | name  | value | ts (UTC)
//      1 | a    | alpha |  1.5  | 2026-01-01 00:00:00
//      2 | a    | beta  |  2.5  | 2026-01-01 00:00:30
//      3 | a    | NULL  | NULL  | 2026-01-01 00:01:00
//      4 | b    | delta |  4.0  | 2026-01-01 00:01:30
//      5 | b    | alpha | -1.0  | 2026-01-01 00:02:00
//      6 | c    | gamma | 10.0  | 2026-01-01 01:00:00
//   sites (in-memory): a|north, b|south, d|east
//   samples (Delta from datagen: 2 devices x 2 channels x 10 Hz x 1 s = 40 rows, partitioned
//            by device_id, two files per device)
class SqlEnvironment {
 public:
  static SqlEnvironment& Get() {
    static SqlEnvironment environment;
    return environment;
  }

  std::shared_ptr<MapTableProvider> provider;
  fs::path root;

 private:
  SqlEnvironment() {
    root = fs::temp_directory_path() / ("nlk_sql_test_" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root);
    provider = std::make_shared<MapTableProvider>();

    auto readings_schema =
        arrow::schema({arrow::field("id", arrow::int64()), arrow::field("site", arrow::utf8()),
                       arrow::field("name", arrow::utf8()), arrow::field("value", arrow::float64()),
                       arrow::field("ts", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"))});
    const int64_t start = 1767225600000000;
    auto micros = [&](int64_t seconds) { return std::to_string(start + seconds * 1000000); };
    std::vector<std::string> parts = {
        "[{\"id\":1,\"site\":\"a\",\"name\":\"alpha\",\"value\":1.5,\"ts\":" + micros(0) +
            "},"
            "{\"id\":2,\"site\":\"a\",\"name\":\"beta\",\"value\":2.5,\"ts\":" +
            micros(30) +
            "},"
            "{\"id\":3,\"site\":\"a\",\"name\":null,\"value\":null,\"ts\":" +
            micros(60) + "}]",
        "[{\"id\":4,\"site\":\"b\",\"name\":\"delta\",\"value\":4.0,\"ts\":" + micros(90) +
            "},"
            "{\"id\":5,\"site\":\"b\",\"name\":\"alpha\",\"value\":-1.0,\"ts\":" +
            micros(120) + "}]",
        "[{\"id\":6,\"site\":\"c\",\"name\":\"gamma\",\"value\":10.0,\"ts\":" + micros(3600) +
            "}]"};
    std::string readings_uri = (root / "readings").string();
    delta::CreateOptions readings_options;
    readings_options.partition_columns = {"site"};
    auto readings =
        delta::Table::Create(readings_uri, readings_schema, readings_options).ValueOrDie();
    for (const auto& part : parts) {
      auto batch = Rows(readings_schema, part);
      auto reader = arrow::RecordBatchReader::Make({batch}, readings_schema).ValueOrDie();
      Check(readings->Append(reader).status());
    }
    Check(provider->RegisterDelta("readings", readings_uri));

    auto sites_schema =
        arrow::schema({arrow::field("site", arrow::utf8()), arrow::field("region", arrow::utf8())});
    auto sites = Rows(sites_schema,
                      R"([{"site":"a","region":"north"},{"site":"b","region":"south"},
                          {"site":"d","region":"east"}])");
    auto sites_table = arrow::Table::FromRecordBatches({sites}).ValueOrDie();
    provider->RegisterTable("sites", sites_table);
    // `nlk serve --catalog` names tables "database.table".
    provider->RegisterTable("geo.sites", sites_table);

    std::string samples_uri = (root / "samples").string();
    delta::CreateOptions samples_options;
    samples_options.partition_columns = {"device_id"};
    auto schema = datagen::SchemaFor(datagen::StreamKind::kSamples);
    auto samples = delta::Table::Create(samples_uri, schema, samples_options).ValueOrDie();
    for (int half = 0; half < 2; ++half) {
      datagen::GeneratorOptions options;
      options.devices = 2;
      options.channels = 2;
      options.sampling_rate_hz = 10;
      options.duration_seconds = 0.5;
      options.start_time_us = start + half * 500000;
      options.seed = 7 + half;
      Check(samples->Append(datagen::MakeNeuralReader(options).ValueOrDie()).status());
    }
    Check(provider->RegisterDelta("samples", samples_uri));
  }
};

std::string Render(const arrow::Scalar& value, char type) {
  if (!value.is_valid) return "NULL";
  if (type == 'R') {
    auto cast = value.CastTo(arrow::float64());
    if (!cast.ok()) return value.ToString();
    double number = static_cast<const arrow::DoubleScalar&>(**cast).value;
    char text[64];
    std::snprintf(text, sizeof(text), "%.3f", number);
    return std::string(text) == "-0.000" ? "0.000" : text;
  }
  return value.ToString();
}

struct Record {
  int line = 0;
  bool is_query = false;
  bool expect_error = false;
  std::string error_substring;
  std::string types;
  bool rowsort = false;
  std::string sql;
  std::vector<std::string> expected;
};

std::vector<Record> ParseFile(const fs::path& path) {
  std::ifstream in(path);
  std::vector<Record> records;
  std::string line;
  int number = 0;
  std::optional<Record> current;
  bool in_results = false;
  auto finish = [&]() {
    if (current) records.push_back(*current);
    current.reset();
    in_results = false;
  };
  while (std::getline(in, line)) {
    ++number;
    if (!current) {
      if (line.empty() || line[0] == '#') continue;
      Record record;
      record.line = number;
      std::istringstream header(line);
      std::string word;
      header >> word;
      if (word == "query") {
        record.is_query = true;
        header >> record.types;
        std::string option;
        while (header >> option) record.rowsort |= option == "rowsort";
      } else {
        std::string kind;
        header >> kind;
        record.expect_error = kind == "error";
        std::getline(header, record.error_substring);
        auto first = record.error_substring.find_first_not_of(' ');
        record.error_substring =
            first == std::string::npos ? "" : record.error_substring.substr(first);
      }
      current = record;
      continue;
    }
    if (line.empty()) {
      finish();
      continue;
    }
    if (current->is_query && line == "----") {
      in_results = true;
      continue;
    }
    if (in_results) {
      current->expected.push_back(line);
    } else {
      current->sql += (current->sql.empty() ? "" : "\n") + line;
    }
  }
  finish();
  return records;
}

arrow::Result<std::vector<std::string>> RunQuery(SqlEngine& engine, const Record& record) {
  ARROW_ASSIGN_OR_RAISE(auto result, engine.Execute(record.sql, {}));
  if (record.is_query && result.schema->num_fields() != static_cast<int>(record.types.size())) {
    return arrow::Status::Invalid("query returned ", result.schema->num_fields(),
                                  " columns, the test declares ", record.types.size());
  }
  std::vector<std::string> rows;
  while (true) {
    std::shared_ptr<arrow::RecordBatch> batch;
    ARROW_RETURN_NOT_OK(result.reader->ReadNext(&batch));
    if (batch == nullptr) break;
    for (int64_t row = 0; row < batch->num_rows(); ++row) {
      std::string text;
      for (int column = 0; column < batch->num_columns(); ++column) {
        ARROW_ASSIGN_OR_RAISE(auto value, batch->column(column)->GetScalar(row));
        char type = record.is_query ? record.types[column] : 'T';
        text += (column > 0 ? "|" : "") + Render(*value, type);
      }
      rows.push_back(text);
    }
  }
  return rows;
}

class SqlLogicTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SqlLogicTest, Passes) {
  SqlEngine engine(SqlEnvironment::Get().provider);
  fs::path path = fs::path(NLK_SOURCE_DIR) / "tests" / "sql" / GetParam();
  auto records = ParseFile(path);
  ASSERT_FALSE(records.empty()) << path;
  for (const auto& record : records) {
    std::string where = GetParam() + ":" + std::to_string(record.line) + "\n" + record.sql;
    auto rows = RunQuery(engine, record);
    if (record.expect_error) {
      EXPECT_FALSE(rows.ok()) << where << "\nexpected an error";
      if (!rows.ok()) {
        EXPECT_NE(rows.status().ToString().find(record.error_substring), std::string::npos)
            << where << "\nerror: " << rows.status().ToString()
            << "\nexpected to contain: " << record.error_substring;
      }
      continue;
    }
    ASSERT_TRUE(rows.ok()) << where << "\n" << rows.status().ToString();
    if (!record.is_query) continue;
    std::vector<std::string> actual = *rows;
    std::vector<std::string> expected = record.expected;
    if (record.rowsort) {
      std::sort(actual.begin(), actual.end());
      std::sort(expected.begin(), expected.end());
    }
    std::string actual_text;
    for (const auto& row : actual) actual_text += row + "\n";
    std::string expected_text;
    for (const auto& row : expected) expected_text += row + "\n";
    EXPECT_EQ(actual_text, expected_text) << where;
  }
}

std::vector<std::string> TestFiles() {
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(fs::path(NLK_SOURCE_DIR) / "tests" / "sql")) {
    if (entry.path().extension() == ".test") files.push_back(entry.path().filename().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

arrow::Result<std::vector<std::string>> Lines(SqlEngine& engine, const std::string& sql,
                                              const QueryOptions& options = {}) {
  ARROW_ASSIGN_OR_RAISE(auto result, engine.Execute(sql, options));
  ARROW_ASSIGN_OR_RAISE(auto table, result.reader->ToTable());
  std::vector<std::string> lines;
  for (int64_t row = 0; row < table->num_rows(); ++row) {
    ARROW_ASSIGN_OR_RAISE(auto value, table->column(0)->GetScalar(row));
    lines.push_back(value->ToString());
  }
  return lines;
}

std::string Joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) text += line + "\n";
  return text;
}

TEST(SqlEngine, ExplainShowsPushdownAndPartitionPruning) {
  SqlEngine engine(SqlEnvironment::Get().provider);
  auto lines = Lines(engine, "EXPLAIN SELECT id FROM readings WHERE site = 'a' AND value > 2");
  ASSERT_TRUE(lines.ok()) << lines.status().ToString();
  std::string plan = Joined(*lines);
  EXPECT_NE(plan.find("Scan readings"), std::string::npos) << plan;
  EXPECT_NE(plan.find("columns=[id]"), std::string::npos) << plan;
  EXPECT_NE(plan.find("filter=((site == \"a\") and (value > 2))"), std::string::npos) << plan;
  EXPECT_NE(plan.find("files: 3 total, 2 pruned by partition"), std::string::npos) << plan;
  // The filter went into the scan: no Filter operator is left above it.
  EXPECT_EQ(plan.find("Filter"), std::string::npos) << plan;
}

TEST(SqlEngine, ExplainAnalyzeReportsRowGroupsAndStatsSkipping) {
  SqlEngine engine(SqlEnvironment::Get().provider);
  auto lines = Lines(engine, "EXPLAIN ANALYZE SELECT id FROM readings WHERE value > 5");
  ASSERT_TRUE(lines.ok()) << lines.status().ToString();
  std::string plan = Joined(*lines);
  EXPECT_NE(plan.find("2 skipped by stats"), std::string::npos) << plan;
  EXPECT_NE(plan.find("row groups: 1 total"), std::string::npos) << plan;
  EXPECT_NE(plan.find("rows returned: 1"), std::string::npos) << plan;
}

TEST(SqlEngine, TopKAndLimitPushdownInPlan) {
  SqlEngine engine(SqlEnvironment::Get().provider);
  auto top = Lines(engine, "EXPLAIN SELECT id FROM readings ORDER BY value DESC LIMIT 2");
  ASSERT_TRUE(top.ok()) << top.status().ToString();
  EXPECT_NE(Joined(*top).find("TopK k=2"), std::string::npos) << Joined(*top);
  auto limited = Lines(engine, "EXPLAIN SELECT id FROM readings LIMIT 2");
  ASSERT_TRUE(limited.ok()) << limited.status().ToString();
  EXPECT_NE(Joined(*limited).find("limit=2"), std::string::npos) << Joined(*limited);
}

TEST(SqlEngine, MetricsCountScannedAndPruned) {
  SqlEngine engine(SqlEnvironment::Get().provider);
  auto result = engine.Execute("SELECT id FROM readings WHERE site = 'b'", {});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_TRUE(result->reader->ToTable().ok());
  QueryMetrics metrics = result->metrics();
  EXPECT_EQ(metrics.files_total, 3);
  EXPECT_EQ(metrics.files_pruned_by_partition, 2);
  EXPECT_EQ(metrics.files_read, 1);
  EXPECT_EQ(metrics.rows_scanned, 2);
  EXPECT_EQ(metrics.rows_returned, 2);
  EXPECT_GT(metrics.bytes_scanned, 0);
}

TEST(SqlEngine, MaxRowsIsACapacityError) {
  SqlEngine engine(SqlEnvironment::Get().provider);
  QueryOptions options;
  options.max_rows = 3;
  auto lines = Lines(engine, "SELECT id FROM readings", options);
  ASSERT_FALSE(lines.ok());
  EXPECT_TRUE(lines.status().IsCapacityError()) << lines.status().ToString();
  EXPECT_TRUE(Lines(engine, "SELECT id FROM readings LIMIT 3", options).ok());
}

TEST(SqlEngine, StopTokenCancels) {
  SqlEngine engine(SqlEnvironment::Get().provider);
  arrow::StopSource stop;
  QueryOptions options;
  options.stop_token = stop.token();
  stop.RequestStop();
  auto lines = Lines(engine, "SELECT id FROM readings CROSS JOIN samples", options);
  ASSERT_FALSE(lines.ok());
  EXPECT_TRUE(lines.status().IsCancelled()) << lines.status().ToString();
}

TEST(SqlEngine, UnknownTableIsKeyErrorWithPosition) {
  SqlEngine engine(SqlEnvironment::Get().provider);
  auto result = engine.Execute("SELECT * FROM  missing", {});
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(result.status().IsKeyError());
  EXPECT_NE(result.status().message().find("position 16"), std::string::npos)
      << result.status().ToString();
}

TEST(SqlEngine, BinderErrorsNameThePosition) {
  SqlEngine engine(SqlEnvironment::Get().provider);
  auto result = engine.Execute("SELECT id,\n  vlaue FROM readings", {});
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(result.status().IsInvalid());
  EXPECT_NE(result.status().message().find("position 14: column \"vlaue\" does not exist"),
            std::string::npos)
      << result.status().ToString();
  auto type_error = engine.Execute("SELECT id FROM readings WHERE ts > 'yesterday'", {});
  ASSERT_FALSE(type_error.ok());
  EXPECT_NE(type_error.status().message().find("SQL error at position"), std::string::npos)
      << type_error.status().ToString();
}

INSTANTIATE_TEST_SUITE_P(Files, SqlLogicTest, ::testing::ValuesIn(TestFiles()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param.substr(0, info.param.find('.'));
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace nlk::sql
