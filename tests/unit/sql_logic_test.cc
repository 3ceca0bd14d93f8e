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
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
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

  std::shared_ptr<MapTableCatalog> provider;
  fs::path root;

 private:
  // The tables live as long as the process: ctest runs each test in a process of its own, and
  // each removes its directory when it exits.
  ~SqlEnvironment() {
    std::error_code ignored;
    fs::remove_all(root, ignored);
  }

  SqlEnvironment() {
    root = fs::temp_directory_path() / ("nlk_sql_test_" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root);
    provider = std::make_shared<MapTableCatalog>();

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

    // wide (Delta, 3 files of 70,000 rows): id, k (1,000 distinct values, some NULL and NaN),
    // g (5 groups), payload. Big enough for several scan batches per file.
    auto wide_schema =
        arrow::schema({arrow::field("id", arrow::int64()), arrow::field("k", arrow::float64()),
                       arrow::field("g", arrow::utf8()), arrow::field("payload", arrow::utf8())});
    std::string wide_uri = (root / "wide").string();
    auto wide = delta::Table::Create(wide_uri, wide_schema, {}).ValueOrDie();
    for (int file = 0; file < 3; ++file) {
      arrow::Int64Builder ids;
      arrow::DoubleBuilder keys;
      arrow::StringBuilder groups;
      arrow::StringBuilder payloads;
      for (int64_t id = file * 70000; id < (file + 1) * 70000; ++id) {
        Check(ids.Append(id));
        if (id % 997 == 0) {
          Check(keys.AppendNull());
        } else if (id % 1499 == 0) {
          Check(keys.Append(std::nan("")));
        } else {
          Check(keys.Append(static_cast<double>((id * 7919) % 1000) / 10.0));
        }
        Check(groups.Append("g" + std::to_string(id % 5)));
        Check(payloads.Append("p" + std::to_string(id)));
      }
      arrow::ArrayVector columns(4);
      Check(ids.Finish(&columns[0]));
      Check(keys.Finish(&columns[1]));
      Check(groups.Finish(&columns[2]));
      Check(payloads.Finish(&columns[3]));
      auto batch = arrow::RecordBatch::Make(wide_schema, 70000, columns);
      auto reader = arrow::RecordBatchReader::Make({batch}, wide_schema).ValueOrDie();
      Check(wide->Append(reader).status());
    }
    Check(provider->RegisterDelta("wide", wide_uri));
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
  Record current;
  bool active = false;
  bool in_results = false;
  auto finish = [&]() {
    if (active) records.push_back(current);
    current = Record();
    active = false;
    in_results = false;
  };
  while (std::getline(in, line)) {
    ++number;
    if (!active) {
      if (line.empty() || line[0] == '#') continue;
      current = Record();
      current.line = number;
      std::istringstream header(line);
      std::string word;
      header >> word;
      if (word == "query") {
        current.is_query = true;
        header >> current.types;
        std::string option;
        while (header >> option) current.rowsort |= option == "rowsort";
      } else {
        std::string kind;
        header >> kind;
        current.expect_error = kind == "error";
        std::getline(header, current.error_substring);
        auto first = current.error_substring.find_first_not_of(' ');
        current.error_substring =
            first == std::string::npos ? "" : current.error_substring.substr(first);
      }
      active = true;
      continue;
    }
    if (line.empty()) {
      finish();
      continue;
    }
    if (current.is_query && line == "----") {
      in_results = true;
      continue;
    }
    if (in_results) {
      current.expected.push_back(line);
    } else {
      current.sql += (current.sql.empty() ? "" : "\n") + line;
    }
  }
  finish();
  return records;
}

arrow::Result<std::vector<std::string>> RunQuery(SqlEngine& engine, const Record& record) {
  // Every statement that runs is described first: planning alone must name and type the
  // columns exactly as running does (clients prepare statements and read results by it).
  auto described = engine.Describe(record.sql);
  ARROW_ASSIGN_OR_RAISE(auto result, engine.Execute(record.sql, {}));
  if (!described.ok()) {
    return arrow::Status::Invalid("Describe failed where Execute ran: ",
                                  described.status().ToString());
  }
  if (!(*described)->Equals(*result.schema)) {
    return arrow::Status::Invalid("Describe gives ", (*described)->ToString(),
                                  " but Execute returns ", result.schema->ToString());
  }
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

// Every row of a query's result, columns joined by "|".
arrow::Result<std::vector<std::string>> AllRows(SqlEngine& engine, const std::string& sql,
                                                const QueryOptions& options = {}) {
  ARROW_ASSIGN_OR_RAISE(auto result, engine.Execute(sql, options));
  ARROW_ASSIGN_OR_RAISE(auto table, result.reader->ToTable());
  std::vector<std::string> rows;
  for (int64_t row = 0; row < table->num_rows(); ++row) {
    std::string text;
    for (int column = 0; column < table->num_columns(); ++column) {
      ARROW_ASSIGN_OR_RAISE(auto value, table->column(column)->GetScalar(row));
      text += (column > 0 ? "|" : "") + Render(*value, 'T');
    }
    rows.push_back(text);
  }
  return rows;
}

// The streaming top-k (per-batch candidate filter, key-column first pass into the scan) must
// give exactly the rows of a full stable sort, ties and NULL/NaN placement included.
TEST(SqlEngine, TopKMatchesFullSort) {
  SqlEngine engine(SqlEnvironment::Get().provider);
  const std::vector<std::string> orders = {"k DESC",        "k",         "k DESC NULLS LAST",
                                           "k NULLS FIRST", "g, k DESC", "g DESC, k, id DESC",
                                           "payload DESC",  "k DESC, id"};
  for (const auto& order : orders) {
    auto sorted = AllRows(engine, "SELECT * FROM wide ORDER BY " + order);
    ASSERT_TRUE(sorted.ok()) << order << ": " << sorted.status().ToString();
    for (auto [offset, count] : std::vector<std::pair<int, int>>{{0, 10}, {7, 25}, {0, 1500}}) {
      std::string sql = "SELECT * FROM wide ORDER BY " + order + " LIMIT " + std::to_string(count) +
                        " OFFSET " + std::to_string(offset);
      auto top = AllRows(engine, sql);
      ASSERT_TRUE(top.ok()) << sql << ": " << top.status().ToString();
      std::vector<std::string> expected(sorted->begin() + offset, sorted->begin() + offset + count);
      EXPECT_EQ(Joined(*top), Joined(expected)) << sql;
    }
  }
}

TEST(SqlEngine, TopKReadsTheKeyColumnFirstAndSkipsFiles) {
  SqlEngine engine(SqlEnvironment::Get().provider);
  auto plan = Lines(engine, "EXPLAIN ANALYZE SELECT * FROM wide ORDER BY id DESC LIMIT 3");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  std::string text = Joined(*plan);
  EXPECT_NE(text.find("TopK k=3"), std::string::npos) << text;
  // The first pass found the 3rd largest id; files whose ids are all smaller were skipped.
  EXPECT_NE(text.find("(id >= 209997)"), std::string::npos) << text;
  EXPECT_NE(text.find("2 skipped by stats"), std::string::npos) << text;
  auto rows = AllRows(engine, "SELECT id, payload FROM wide ORDER BY id DESC LIMIT 3");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(Joined(*rows), "209999|p209999\n209998|p209998\n209997|p209997\n");
}

TEST(SqlEngine, MemoryLimitFailsCleanly) {
  SqlEngine engine(SqlEnvironment::Get().provider);
  QueryOptions low;
  low.max_memory_bytes = 1 << 20;
  QueryOptions high;
  high.max_memory_bytes = int64_t{1} << 32;
  const std::vector<std::string> heavy = {
      "SELECT * FROM wide ORDER BY payload",
      "SELECT id, sum(k) OVER (PARTITION BY g ORDER BY id) FROM wide",
      "SELECT count(*) FROM wide a JOIN wide b ON a.id = b.id",
      "SELECT payload, count(*) FROM wide GROUP BY payload"};
  for (const auto& sql : heavy) {
    auto failed = AllRows(engine, sql, low);
    ASSERT_FALSE(failed.ok()) << sql;
    EXPECT_TRUE(failed.status().IsOutOfMemory()) << sql << ": " << failed.status().ToString();
    EXPECT_TRUE(IsQueryMemoryLimitError(failed.status())) << failed.status().ToString();
    EXPECT_NE(failed.status().message().find("1048576 bytes"), std::string::npos)
        << failed.status().ToString();
    auto passed = AllRows(engine, sql, high);
    EXPECT_TRUE(passed.ok()) << sql << ": " << passed.status().ToString();
  }
  // A top-k holds k rows, not its input: it fits a budget the full sort does not.
  QueryOptions medium;
  medium.max_memory_bytes = 4 << 20;
  auto top = AllRows(engine, "SELECT * FROM wide ORDER BY payload LIMIT 10", medium);
  EXPECT_TRUE(top.ok()) << top.status().ToString();
  auto sorted = AllRows(engine, "SELECT * FROM wide ORDER BY payload", medium);
  EXPECT_TRUE(sorted.status().IsOutOfMemory()) << sorted.status().ToString();
}

TEST(SqlEngine, ResultBatchesOutliveTheQueryMemoryPool) {
  std::shared_ptr<arrow::Table> table;
  {
    SqlEngine engine(SqlEnvironment::Get().provider);
    QueryOptions options;
    options.max_memory_bytes = int64_t{1} << 30;
    auto result = engine.Execute("SELECT id, payload FROM wide ORDER BY payload LIMIT 5", options);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    auto read = result->reader->ToTable();
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    table = *read;
  }
  ASSERT_EQ(table->num_rows(), 5);
  EXPECT_EQ(table->column(1)->GetScalar(0).ValueOrDie()->ToString(), "p0");
}

// Runs `sql` on another thread and waits at most 60 s (generous: under AddressSanitizer, with
// the other tests running beside it, a 20 000-term query takes well over 10 s): a query that
// hangs, or runs in quadratic time, fails the test (and ends the process, since the stuck
// thread cannot be joined) instead of blocking the run.
arrow::Result<std::vector<std::string>> AllRowsWithinAMinute(SqlEngine& engine,
                                                             const std::string& sql,
                                                             const QueryOptions& options) {
  auto running = std::async(std::launch::async,
                            [&engine, sql, options] { return AllRows(engine, sql, options); });
  if (running.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
    ADD_FAILURE() << "query did not finish within 60 s: " << sql.substr(0, 300);
    std::fflush(stdout);
    std::_Exit(1);
  }
  return running.get();
}

// A refused allocation anywhere (an Acero node starting up, a join's build side, our operators)
// fails the query at once with OutOfMemory; small queries fit a small budget; a timeout cancels
// a query waiting on an Acero plan.
TEST(SqlEngine, MemoryLimitFailsPromptlyAndSmallQueriesFit) {
  SqlEngine engine(SqlEnvironment::Get().provider);
  QueryOptions small;
  small.max_memory_bytes = 200000;
  auto top = AllRowsWithinAMinute(
      engine, "SELECT sequence FROM samples ORDER BY voltage_uv LIMIT 2", small);
  ASSERT_TRUE(top.ok()) << top.status().ToString();
  EXPECT_EQ(top->size(), 2u);
  auto joined = AllRowsWithinAMinute(
      engine, "SELECT a.sequence AS s FROM samples a CROSS JOIN samples b LIMIT 2", small);
  ASSERT_TRUE(joined.ok()) << joined.status().ToString();
  EXPECT_EQ(joined->size(), 2u);
  auto joined_top =
      AllRowsWithinAMinute(engine,
                           "SELECT a.id, b.voltage_uv FROM wide a CROSS JOIN samples b "
                           "ORDER BY b.voltage_uv, a.id LIMIT 3",
                           small);
  ASSERT_TRUE(joined_top.ok()) << joined_top.status().ToString();
  EXPECT_EQ(joined_top->size(), 3u);

  const std::vector<std::pair<std::string, int64_t>> heavy = {
      // Sorting all 8.4 million joined rows.
      {"SELECT a.id, b.voltage_uv FROM wide a CROSS JOIN samples b ORDER BY b.voltage_uv, a.id",
       200000},
      // The join's build side (wide) does not fit.
      {"SELECT a.sequence FROM samples a JOIN wide b ON a.sequence = b.id", 200000},
      // Refused inside Acero, by an aggregate's groups.
      {"SELECT payload, count(*) FROM wide GROUP BY payload", 200000},
  };
  for (const auto& [sql, budget] : heavy) {
    QueryOptions options;
    options.max_memory_bytes = budget;
    auto failed = AllRowsWithinAMinute(engine, sql, options);
    ASSERT_FALSE(failed.ok()) << sql;
    EXPECT_TRUE(IsQueryMemoryLimitError(failed.status()))
        << sql << ": " << failed.status().ToString();
  }

  // 44 million joined rows into 210,000 groups: about a second of work here, in short Acero
  // tasks (a cancelled plan stops once its running tasks end).
  QueryOptions timed;
  timed.timeout = std::chrono::milliseconds(50);
  auto start = std::chrono::steady_clock::now();
  auto slow = AllRowsWithinAMinute(
      engine, "SELECT a.payload, count(*) FROM wide a JOIN wide b ON a.k = b.k GROUP BY a.payload",
      timed);
  ASSERT_FALSE(slow.ok());
  EXPECT_TRUE(slow.status().IsCancelled()) << slow.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

// Frames that start at the partition's start are accumulated incrementally; they must agree
// with the same frame written with an explicit (row by row) start.
TEST(SqlEngine, RunningWindowFramesMatchExplicitFrames) {
  SqlEngine engine(SqlEnvironment::Get().provider);
  for (const std::string function : {"sum(k)", "avg(k)", "count(k)", "min(k)", "max(id)"}) {
    std::string window = "OVER (PARTITION BY g ORDER BY id ROWS BETWEEN ";
    auto running = AllRows(engine, "SELECT id, " + function + " " + window +
                                       "UNBOUNDED PRECEDING AND CURRENT ROW) FROM wide "
                                       "WHERE id < 3000 ORDER BY id");
    auto explicit_start = AllRows(engine, "SELECT id, " + function + " " + window +
                                              "100000 PRECEDING AND CURRENT ROW) FROM wide "
                                              "WHERE id < 3000 ORDER BY id");
    ASSERT_TRUE(running.ok()) << running.status().ToString();
    ASSERT_TRUE(explicit_start.ok()) << explicit_start.status().ToString();
    EXPECT_EQ(Joined(*running), Joined(*explicit_start)) << function;
  }
}

TEST(SqlEngine, FiltersReachBothSidesOfUnionAll) {
  SqlEngine engine(SqlEnvironment::Get().provider);
  auto plan = Lines(engine,
                    "EXPLAIN SELECT * FROM (SELECT id, site FROM readings UNION ALL "
                    "SELECT id, site FROM readings) AS u WHERE site = 'b'");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  std::string text = Joined(*plan);
  size_t first = text.find("filter=(site == \"b\")");
  ASSERT_NE(first, std::string::npos) << text;
  EXPECT_NE(text.find("filter=(site == \"b\")", first + 1), std::string::npos) << text;
  EXPECT_EQ(text.find("Filter"), std::string::npos) << text;
}

TEST(SqlEngine, ScalarSubqueryBecomesAPrunableConstant) {
  SqlEngine engine(SqlEnvironment::Get().provider);
  auto plan = Lines(engine,
                    "EXPLAIN SELECT id FROM readings WHERE value > (SELECT avg(value) FROM "
                    "readings)");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_NE(Joined(*plan).find("filter=(value > 3.4)"), std::string::npos) << Joined(*plan);
  // The subquery's scan counts in the query's figures: 6 rows for avg, then the 2 files left.
  auto result =
      engine.Execute("SELECT id FROM readings WHERE value > (SELECT avg(value) FROM readings)", {});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_TRUE(result->reader->ToTable().ok());
  EXPECT_EQ(result->metrics().files_total, 6);
  EXPECT_EQ(result->metrics().rows_returned, 2);
}

// Filters written against now() are folded to literals before they reach the scan, so files are
// skipped by their statistics as with a timestamp literal. The table's three files hold times
// relative to the current time: about 3 hours ago, 2 hours ago and a minute ago (ts with a zone,
// local_ts without).
TEST(SqlEngine, NowFiltersAreFoldedAndSkipFiles) {
  fs::path root = fs::temp_directory_path() / ("nlk_sql_now_" + std::to_string(::getpid()));
  fs::remove_all(root);
  auto schema = arrow::schema({arrow::field("id", arrow::int64()),
                               arrow::field("ts", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")),
                               arrow::field("local_ts", arrow::timestamp(arrow::TimeUnit::MICRO))});
  auto table = delta::Table::Create(root.string(), schema, {});
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  const int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const int64_t minute = 60000000;
  int64_t id = 0;
  for (int64_t age : {180 * minute, 120 * minute, minute}) {
    std::string rows = "[";
    for (int64_t second = 0; second < 3; ++second) {
      std::string time = std::to_string(now - age + second * 1000000);
      rows += std::string(second > 0 ? "," : "") + "{\"id\":" + std::to_string(++id) +
              ",\"ts\":" + time + ",\"local_ts\":" + time + "}";
    }
    auto reader = arrow::RecordBatchReader::Make({Rows(schema, rows + "]")}, schema).ValueOrDie();
    ASSERT_TRUE((*table)->Append(reader).ok());
  }
  auto provider = std::make_shared<MapTableCatalog>();
  ASSERT_TRUE(provider->RegisterDelta("recent", root.string()).ok());
  SqlEngine engine(provider);

  const std::vector<std::tuple<std::string, int64_t, int64_t>> cases = {
      // filter, rows, files skipped by statistics (of 3)
      {"ts > now() - INTERVAL '1 hour'", 3, 2},
      {"ts > current_timestamp - INTERVAL '90 minutes'", 3, 2},
      {"ts < now() - INTERVAL '150 minutes'", 3, 2},
      {"ts BETWEEN now() - INTERVAL '150 minutes' AND now() - INTERVAL '90 minutes'", 3, 2},
      {"ts > date_trunc('second', now() + INTERVAL '1 day')", 0, 3},
      {"ts > CAST(now() AS timestamp) - INTERVAL '1 hour'", 3, 2},
      // A zone-less column meets the zoned now() in UTC, with the literal converted.
      {"local_ts > now() - INTERVAL '1 hour'", 3, 2},
      {"id > 2 * 3 + 1", 2, 2},
  };
  for (const auto& [filter, rows, skipped] : cases) {
    std::string sql = "SELECT id FROM recent WHERE " + filter;
    auto result = engine.Execute(sql, {});
    ASSERT_TRUE(result.ok()) << sql << ": " << result.status().ToString();
    auto read = result->reader->ToTable();
    ASSERT_TRUE(read.ok()) << sql << ": " << read.status().ToString();
    EXPECT_EQ((*read)->num_rows(), rows) << sql;
    EXPECT_EQ(result->metrics().files_total, 3) << sql;
    EXPECT_EQ(result->metrics().files_skipped_by_stats, skipped) << sql;

    // EXPLAIN shows the folded value: a timestamp literal, no arithmetic left.
    auto plan = Lines(engine, "EXPLAIN " + sql);
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    std::string text = Joined(*plan);
    for (const char* function :
         {"subtract_checked", "add_checked", "multiply_checked", "floor_temporal", "cast("}) {
      EXPECT_EQ(text.find(function), std::string::npos) << text;
    }
    EXPECT_NE(text.find(std::to_string(skipped) + " skipped by stats"), std::string::npos) << text;
  }
  fs::remove_all(root);
}

// A date column against now() and current_date arithmetic: compared as dates, so files are
// skipped by their statistics (the date was cast to a timestamp before, which statistics cannot
// evaluate). The three files hold the dates 10 days ago, 5 days ago and today.
TEST(SqlEngine, DateFiltersAgainstNowSkipFiles) {
  fs::path root = fs::temp_directory_path() / ("nlk_sql_days_" + std::to_string(::getpid()));
  fs::remove_all(root);
  auto schema =
      arrow::schema({arrow::field("id", arrow::int64()), arrow::field("day", arrow::date32())});
  auto table = delta::Table::Create(root.string(), schema, {});
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  const int64_t today = std::chrono::duration_cast<std::chrono::hours>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count() /
                        24;
  int64_t id = 0;
  for (int64_t age : {10, 5, 0}) {
    std::string rows =
        "[{\"id\":" + std::to_string(++id) + ",\"day\":" + std::to_string(today - age) + "}]";
    auto reader = arrow::RecordBatchReader::Make({Rows(schema, rows)}, schema).ValueOrDie();
    ASSERT_TRUE((*table)->Append(reader).ok());
  }
  auto provider = std::make_shared<MapTableCatalog>();
  ASSERT_TRUE(provider->RegisterDelta("days", root.string()).ok());
  SqlEngine engine(provider);
  const std::vector<std::tuple<std::string, std::string, int64_t>> cases = {
      // filter, ids, files skipped by statistics (of 3)
      {"day >= now() - INTERVAL '7 days'", "2\n3\n", 1},
      {"day < now() - INTERVAL '7 days'", "1\n", 2},
      {"day > now()", "", 3},
      {"day <= now()", "1\n2\n3\n", 0},
      {"day = now() - INTERVAL '5 days'", "", 3},
      {"day = current_date", "3\n", 2},
      {"day >= current_date - 7", "2\n3\n", 1},
      {"day BETWEEN current_date - 6 AND current_date - 4", "2\n", 2},
      {"day > CAST(now() AS date) - 1 + 0", "3\n", 2},
  };
  for (const auto& [filter, ids, skipped] : cases) {
    std::string sql = "SELECT id FROM days WHERE " + filter + " ORDER BY id";
    auto result = engine.Execute(sql, {});
    ASSERT_TRUE(result.ok()) << sql << ": " << result.status().ToString();
    auto read = result->reader->ToTable();
    ASSERT_TRUE(read.ok()) << sql << ": " << read.status().ToString();
    std::string found;
    for (int64_t row = 0; row < (*read)->num_rows(); ++row) {
      found += (*read)->column(0)->GetScalar(row).ValueOrDie()->ToString() + "\n";
    }
    EXPECT_EQ(found, ids) << sql;
    EXPECT_EQ(result->metrics().files_skipped_by_stats, skipped) << sql;
  }
  fs::remove_all(root);
}

std::string Repeated(const std::string& text, int times, const std::string& separator = "") {
  std::string joined;
  for (int index = 0; index < times; ++index) joined += (index > 0 ? separator : "") + text;
  return joined;
}

// A WHERE of 20,000 OR terms binds each term once (it took minutes, quadratic in the terms), and
// equality tests of one column become a single IN.
TEST(SqlEngine, LongOrChainsBindInLinearTime) {
  SqlEngine engine(SqlEnvironment::Get().provider);
  std::string equalities;
  std::string ranges;
  for (int term = 0; term < 20000; ++term) {
    equalities += (term > 0 ? " OR " : "") + ("id = " + std::to_string(term * 7));
    ranges += (term > 0 ? " OR " : "") + ("(id < " + std::to_string(-term) + " AND site = 'a')");
  }
  auto counted = AllRowsWithinAMinute(engine, "SELECT count(*) FROM wide WHERE " + equalities, {});
  ASSERT_TRUE(counted.ok()) << counted.status().ToString();
  EXPECT_EQ(Joined(*counted), "20000\n");
  auto none = AllRowsWithinAMinute(engine, "SELECT count(*) FROM readings WHERE " + ranges, {});
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_EQ(Joined(*none), "0\n");
  auto plan = AllRowsWithinAMinute(engine, "EXPLAIN SELECT id FROM wide WHERE " + equalities, {});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  std::string text = Joined(*plan);
  EXPECT_NE(text.find("is_in(id"), std::string::npos) << text.substr(0, 2000);
  EXPECT_EQ(text.find(" or "), std::string::npos) << text.substr(0, 2000);
  EXPECT_EQ(text.find("=="), std::string::npos) << text.substr(0, 2000);
  // A mix: equalities of two columns and other terms, in any order.
  auto mixed = AllRowsWithinAMinute(
      engine, "SELECT id FROM readings WHERE id = 1 OR site = 'c' OR id = 4 OR value < 0 OR id = 2",
      {});
  ASSERT_TRUE(mixed.ok()) << mixed.status().ToString();
  std::vector<std::string> rows = *mixed;
  std::sort(rows.begin(), rows.end());
  EXPECT_EQ(Joined(rows), "1\n2\n4\n5\n6\n");
}

// Deep nesting is refused with an error naming the limit, before anything recurses that deep;
// nesting within the limit works.
TEST(SqlEngine, DeepNestingIsAClearError) {
  SqlEngine engine(SqlEnvironment::Get().provider);
  const std::vector<std::string> too_deep = {
      "SELECT " + Repeated("abs(", 2000) + "id" + Repeated(")", 2000) + " FROM readings",
      "SELECT " + Repeated("abs(", 501) + "1" + Repeated(")", 501),
      "SELECT " + Repeated("id", 1000, " + ") + " FROM readings",
      "SELECT count(*) FROM readings WHERE " + Repeated("NOT ", 600) + "id > 1",
      "SELECT " + Repeated("(SELECT ", 300) + "1" + Repeated(")", 300),
  };
  for (const auto& sql : too_deep) {
    auto result = AllRowsWithinAMinute(engine, sql, {});
    ASSERT_FALSE(result.ok()) << sql.substr(0, 100);
    EXPECT_TRUE(result.status().IsInvalid()) << result.status().ToString();
    EXPECT_NE(result.status().message().find("the query is nested too deeply (more than 500"),
              std::string::npos)
        << result.status().ToString();
  }
  // Chains libpg_query itself would recurse through until the stack overflows (a sum of
  // 100,000 terms crashed the process), refused before it sees them; also behind a string
  // whose escaped quote could hide the rest from a careless scan.
  const std::vector<std::string> chains = {
      "SELECT " + Repeated("1", 100000, " + "),
      "SELECT 1" + Repeated("::int", 100000),
      "SELECT 1 AS x" + Repeated(" UNION ALL SELECT 1", 150000),
      "SELECT 1" + Repeated(" OPERATOR(pg_catalog.+) 1", 150000),
      "SELECT 1 FROM readings r" + Repeated(" JOIN readings USING (id)", 150000),
      "SELECT E'\\'' || " + Repeated("'x'", 100000, " || "),
      "SELECT $q$ ' $q$ || " + Repeated("'x'", 100000, " || "),
  };
  for (const auto& sql : chains) {
    auto result = AllRowsWithinAMinute(engine, sql, {});
    ASSERT_FALSE(result.ok()) << sql.substr(0, 100);
    EXPECT_NE(result.status().message().find("the query is nested too deeply (more than 500"),
              std::string::npos)
        << result.status().ToString();
  }
  // libpg_query's own limit (beyond 10,000 levels) is an error too.
  auto parentheses = AllRowsWithinAMinute(
      engine, "SELECT " + Repeated("-(", 20000) + "1" + Repeated(")", 20000), {});
  ASSERT_FALSE(parentheses.ok());
  EXPECT_TRUE(parentheses.status().IsInvalid()) << parentheses.status().ToString();

  auto deep =
      AllRowsWithinAMinute(engine,
                           "SELECT " + Repeated("abs(", 400) + "id - 3" + Repeated(")", 400) +
                               ", " + Repeated("id", 400, " + ") + " FROM readings WHERE id = 1",
                           {});
  ASSERT_TRUE(deep.ok()) << deep.status().ToString();
  EXPECT_EQ(Joined(*deep), "2|400\n");
}

// Result columns have unique names (JSON objects cannot hold two "count" keys): the first
// column with a name keeps it, later ones get the first free suffix _1, _2, ...
TEST(SqlEngine, ResultColumnNamesAreUnique) {
  SqlEngine engine(SqlEnvironment::Get().provider);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"SELECT count(*), count(DISTINCT site) FROM readings", "count,count_1"},
      {"SELECT id AS x, value AS x, name AS x FROM readings", "x,x_1,x_2"},
      {"SELECT 1, 2", "?column?,?column?_1"},
      {"SELECT count(*), count(*), 5 AS count_1 FROM readings", "count,count_2,count_1"},
      {"SELECT sum(id), sum(value), max(id) AS sum FROM readings", "sum,sum_1,sum_2"},
      {"SELECT * FROM readings JOIN sites ON readings.site = sites.site",
       "id,site,name,value,ts,site_1,region"},
      {"SELECT * FROM (SELECT count(*), min(id) AS count FROM readings) AS t", "count,count_1"},
      {"SELECT count(*), count(*) FROM readings UNION ALL SELECT 1, 2", "count,count_1"},
      {"SELECT \"Count\", count FROM (SELECT 1 AS \"Count\", 2 AS count) AS t", "Count,count"},
  };
  for (const auto& [sql, expected] : cases) {
    auto result = engine.Execute(sql, {});
    ASSERT_TRUE(result.ok()) << sql << ": " << result.status().ToString();
    std::string names;
    for (const auto& field : result->schema->fields()) {
      names += (names.empty() ? "" : ",") + field->name();
    }
    EXPECT_EQ(names, expected) << sql;
    ASSERT_TRUE(result->reader->ToTable().ok()) << sql;
  }
}

// encode/hex over a binary column (Spark's BINARY): every byte value, empty and NULL values.
TEST(SqlEngine, EncodesBinaryColumns) {
  arrow::BinaryBuilder builder;
  std::string all_bytes;
  for (int value = 0; value < 256; ++value) all_bytes.push_back(static_cast<char>(value));
  ASSERT_TRUE(builder.Append(std::string("\x00\xff", 2)).ok());
  ASSERT_TRUE(builder.Append(std::string()).ok());
  ASSERT_TRUE(builder.AppendNull().ok());
  ASSERT_TRUE(builder.Append(all_bytes).ok());
  auto data = builder.Finish().ValueOrDie();
  auto ids = arrow::json::ArrayFromJSONString(arrow::int64(), "[1, 2, 3, 4]").ValueOrDie();
  auto schema =
      arrow::schema({arrow::field("id", arrow::int64()), arrow::field("data", arrow::binary())});
  auto provider = std::make_shared<MapTableCatalog>();
  provider->RegisterTable("blobs", arrow::Table::Make(schema, {ids, data}));
  SqlEngine engine(provider);
  auto rows = AllRows(engine,
                      "SELECT id, encode(data, 'hex'), encode(data, 'base64'), hex(data), "
                      "decode(encode(data, 'base64'), 'base64') = data FROM blobs ORDER BY id");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 4u);
  EXPECT_EQ((*rows)[0], "1|00ff|AP8=|00FF|true");
  EXPECT_EQ((*rows)[1], "2||||true");
  EXPECT_EQ((*rows)[2], "3|NULL|NULL|NULL|NULL");
  std::string hex;
  const char* digits = "0123456789abcdef";
  for (unsigned char byte : all_bytes) {
    hex.push_back(digits[byte >> 4]);
    hex.push_back(digits[byte & 15]);
  }
  std::string upper = hex;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ((*rows)[3].substr(0, 2 + hex.size() + 1), "4|" + hex + "|");
  EXPECT_NE((*rows)[3].find("|" + upper + "|true"), std::string::npos) << (*rows)[3];
}

INSTANTIATE_TEST_SUITE_P(Files, SqlLogicTest, ::testing::ValuesIn(TestFiles()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param.substr(0, info.param.find('.'));
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace nlk::sql
