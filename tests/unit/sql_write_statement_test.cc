// SQL write statements: the parser refuses them unless writes are allowed, reads DELETE, UPDATE
// and INSERT into the syntax tree and refuses the forms we do not run; executing them on a real
// local Delta table changes exactly the rows asked for, and every bad statement fails with a
// positioned error and leaves the table at its version.
#include "sql/write_statement.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/arrow_runtime.h"
#include "delta/table.h"
#include "sql/parser.h"
#include "test_status.h"

namespace nlk::sql {
namespace {

namespace compute = arrow::compute;

Statement ParseWrite(const std::string& sql) {
  ParseOptions options;
  options.allow_writes = true;
  auto parsed = ParseStatement(sql, options);
  EXPECT_TRUE(parsed.ok()) << sql << ": " << parsed.status().ToString();
  return parsed.ok() ? *parsed : Statement{};
}

std::string WriteError(const std::string& sql) {
  ParseOptions options;
  options.allow_writes = true;
  auto parsed = ParseStatement(sql, options);
  return parsed.ok() ? "" : parsed.status().message();
}

TEST(SqlWriteParse, RefusedUnlessWritesAreAllowed) {
  for (const std::string sql : {"DELETE FROM t WHERE a = 1", "UPDATE t SET a = 1",
                                "INSERT INTO t VALUES (1)", "INSERT INTO t SELECT * FROM u"}) {
    auto parsed = ParseStatement(sql);
    ASSERT_FALSE(parsed.ok()) << sql;
    EXPECT_EQ(parsed.status().message().rfind("read-only: ", 0), 0u) << parsed.status().message();
  }
  // With writes allowed, other statements are still refused.
  EXPECT_NE(WriteError("DROP TABLE t").find("read-only: DROP"), std::string::npos);
  EXPECT_NE(WriteError("CREATE TABLE t (a int)").find("read-only: CREATE"), std::string::npos);
}

TEST(SqlWriteParse, Delete) {
  Statement statement = ParseWrite("DELETE FROM db.t AS x WHERE x.a = 1 AND b > 2");
  ASSERT_NE(statement.write, nullptr);
  EXPECT_EQ(statement.select, nullptr);
  const WriteStatement& write = *statement.write;
  EXPECT_EQ(write.kind, WriteStatement::Kind::kDelete);
  EXPECT_EQ(write.table, "db.t");
  EXPECT_EQ(write.alias, "x");
  EXPECT_EQ(write.table_location, 12);
  ASSERT_NE(write.where, nullptr);
  EXPECT_EQ(write.where->name, "AND");

  EXPECT_EQ(ParseWrite("DELETE FROM t").write->where, nullptr);
}

TEST(SqlWriteParse, Update) {
  Statement statement = ParseWrite("UPDATE t SET a = a + 1, \"B\" = 'x' WHERE c IS NULL");
  ASSERT_NE(statement.write, nullptr);
  const WriteStatement& write = *statement.write;
  EXPECT_EQ(write.kind, WriteStatement::Kind::kUpdate);
  ASSERT_EQ(write.assignments.size(), 2u);
  EXPECT_EQ(write.assignments[0].column.name, "a");
  EXPECT_EQ(write.assignments[0].column.location, 13);
  EXPECT_EQ(write.assignments[0].value->name, "+");
  EXPECT_EQ(write.assignments[1].column.name, "B");
  EXPECT_EQ(write.assignments[1].value->text, "x");
  ASSERT_NE(write.where, nullptr);
}

TEST(SqlWriteParse, Insert) {
  Statement values = ParseWrite("INSERT INTO t (a, \"B\") VALUES (1, 'x'), (2, NULL)");
  ASSERT_NE(values.write, nullptr);
  EXPECT_EQ(values.write->kind, WriteStatement::Kind::kInsert);
  ASSERT_EQ(values.write->columns.size(), 2u);
  EXPECT_EQ(values.write->columns[1].name, "B");
  ASSERT_EQ(values.write->values.size(), 2u);
  EXPECT_EQ(values.write->values[1].size(), 2u);
  EXPECT_EQ(values.write->query, nullptr);

  Statement query = ParseWrite("INSERT INTO t SELECT a, b FROM u WHERE a > 1");
  ASSERT_NE(query.write, nullptr);
  EXPECT_TRUE(query.write->columns.empty());
  EXPECT_TRUE(query.write->values.empty());
  ASSERT_NE(query.write->query, nullptr);
  EXPECT_EQ(query.write->query->items.size(), 2u);
}

TEST(SqlWriteParse, UnsupportedFormsAreRefusedWithTheirPosition) {
  struct Case {
    std::string sql;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"DELETE FROM t WHERE a = 1 RETURNING a", "position 37: RETURNING is not supported"},
           {"DELETE FROM t USING u WHERE t.a = u.a", "DELETE ... USING is not supported"},
           {"UPDATE t SET a = 1 FROM u", "UPDATE ... FROM is not supported"},
           {"UPDATE t SET (a, b) = (1, 2)", "SET (columns) = (values) is not supported"},
           {"UPDATE t SET a = DEFAULT", "SET column = DEFAULT is not supported"},
           {"INSERT INTO t DEFAULT VALUES", "DEFAULT VALUES is not supported"},
           {"INSERT INTO t VALUES (DEFAULT)", "DEFAULT in VALUES is not supported"},
           {"INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING", "ON CONFLICT is not supported"},
           {"WITH u AS (SELECT 1) DELETE FROM t", "WITH in DELETE is not supported"},
           {"EXPLAIN DELETE FROM t", "EXPLAIN of DELETE is not supported"},
       }) {
    std::string message = WriteError(c.sql);
    EXPECT_NE(message.find(c.message), std::string::npos) << c.sql << " -> " << message;
    EXPECT_EQ(message.rfind("SQL error at position ", 0), 0u) << c.sql << " -> " << message;
  }
}

// ---- Execution on a local Delta table ------------------------------------------------------

std::shared_ptr<arrow::Schema> SampleSchema() {
  return arrow::schema({arrow::field("id", arrow::int64(), /*nullable=*/false),
                        arrow::field("subject", arrow::utf8()),
                        arrow::field("small", arrow::int16())});
}

// Rows id 0..9, subject "S-<id % 3>", small id * 10.
std::shared_ptr<arrow::RecordBatchReader> SampleRows() {
  arrow::Int64Builder ids;
  arrow::StringBuilder subjects;
  arrow::Int16Builder smalls;
  for (int64_t id = 0; id < 10; ++id) {
    EXPECT_TRUE(ids.Append(id).ok());
    EXPECT_TRUE(subjects.Append("S-" + std::to_string(id % 3)).ok());
    EXPECT_TRUE(smalls.Append(static_cast<int16_t>(id * 10)).ok());
  }
  auto batch = arrow::RecordBatch::Make(
      SampleSchema(), 10,
      {ids.Finish().ValueOrDie(), subjects.Finish().ValueOrDie(), smalls.Finish().ValueOrDie()});
  return arrow::RecordBatchReader::Make({batch}, SampleSchema()).ValueOrDie();
}

class SqlWriteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(InitializeArrowCompute());
    root_ = std::filesystem::temp_directory_path() /
            ("nlk_sql_write_" + std::to_string(std::random_device{}()));
    ASSERT_OK_AND_ASSIGN(
        table_, delta::Table::Create((root_ / "t").string(), SampleSchema(), {}, SampleRows()));
    catalog_ = std::make_shared<MapTableCatalog>();
    ASSERT_OK(catalog_->RegisterDelta("t", (root_ / "t").string()));
    catalog_->RegisterTable("mem",
                            arrow::Table::FromRecordBatchReader(SampleRows().get()).ValueOrDie());
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  arrow::Result<WriteStatementResult> Run(const std::string& sql) {
    ParseOptions options;
    options.allow_writes = true;
    ARROW_ASSIGN_OR_RAISE(Statement statement, ParseStatement(sql, options));
    if (statement.write == nullptr) return arrow::Status::Invalid("not a write statement");
    return ExecuteWriteStatement(sql, *statement.write, catalog_);
  }

  int64_t Version() { return table_->SnapshotFor({}).ValueOrDie()->version(); }

  // "id:subject:small" per row, by id.
  std::vector<std::string> Rows() {
    auto reader = table_->Read({}).ValueOrDie();
    auto rows = arrow::Table::FromRecordBatchReader(reader.get()).ValueOrDie();
    compute::SortOptions sort({compute::SortKey("id")});
    auto indices = compute::SortIndices(arrow::Datum(rows), sort).ValueOrDie();
    rows = compute::Take(arrow::Datum(rows), indices)
               .ValueOrDie()
               .table()
               ->CombineChunks()
               .ValueOrDie();
    std::vector<std::string> lines;
    for (int64_t row = 0; row < rows->num_rows(); ++row) {
      std::string line;
      for (int column = 0; column < rows->num_columns(); ++column) {
        auto scalar = rows->column(column)->GetScalar(row).ValueOrDie();
        line += (column == 0 ? "" : ":") + (scalar->is_valid ? scalar->ToString() : "null");
      }
      lines.push_back(line);
    }
    return lines;
  }

  std::filesystem::path root_;
  std::shared_ptr<delta::Table> table_;
  std::shared_ptr<MapTableCatalog> catalog_;
};

TEST_F(SqlWriteTest, DeleteUpdateInsertChangeExactlyTheirRows) {
  ASSERT_OK_AND_ASSIGN(auto deleted, Run("DELETE FROM t WHERE subject = 'S-1' AND id < 5"));
  EXPECT_EQ(deleted.command, "DELETE");
  EXPECT_EQ(deleted.rows, 2);  // ids 1 and 4
  EXPECT_TRUE(deleted.committed);
  EXPECT_EQ(deleted.version, 1);
  ASSERT_TRUE(deleted.dml.has_value());

  // Qualified by the alias; the value is computed from the row before the update.
  ASSERT_OK_AND_ASSIGN(auto updated,
                       Run("UPDATE t AS x SET small = x.small + 1, subject = upper(subject) || '!' "
                           "WHERE x.id IN (0, 9)"));
  EXPECT_EQ(updated.command, "UPDATE");
  EXPECT_EQ(updated.rows, 2);
  EXPECT_EQ(updated.version, 2);

  ASSERT_OK_AND_ASSIGN(auto inserted,
                       Run("INSERT INTO t (subject, id) VALUES ('S-9', 20), (NULL, 21 + 1)"));
  EXPECT_EQ(inserted.command, "INSERT");
  EXPECT_EQ(inserted.rows, 2);
  EXPECT_EQ(inserted.version, 3);

  // From any query, including one over the target itself and another table.
  ASSERT_OK_AND_ASSIGN(auto copied,
                       Run("INSERT INTO t SELECT id + 100, subject, small FROM mem WHERE id = 2"));
  EXPECT_EQ(copied.rows, 1);
  EXPECT_EQ(copied.version, 4);

  EXPECT_EQ(Rows(), (std::vector<std::string>{"0:S-0!:1", "2:S-2:20", "3:S-0:30", "5:S-2:50",
                                              "6:S-0:60", "7:S-1:70", "8:S-2:80", "9:S-0!:91",
                                              "20:S-9:null", "22:null:null", "102:S-2:20"}));

  // No row matched: nothing committed.
  ASSERT_OK_AND_ASSIGN(auto none, Run("DELETE FROM t WHERE id > 1000"));
  EXPECT_FALSE(none.committed);
  EXPECT_EQ(none.rows, 0);
  EXPECT_EQ(none.version, 4);
  ASSERT_OK_AND_ASSIGN(auto empty, Run("INSERT INTO t SELECT * FROM mem WHERE id < 0"));
  EXPECT_FALSE(empty.committed);
  EXPECT_EQ(Version(), 4);
}

TEST_F(SqlWriteTest, BadStatementsFailAndLeaveTheTableAlone) {
  struct Case {
    std::string sql;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"DELETE FROM nope WHERE id = 1", "position 13: table \"nope\" does not exist"},
           {"DELETE FROM mem WHERE id = 1", "not a Delta table"},
           {"DELETE FROM t WHERE idx = 1", "column \"idx\" does not exist"},
           {"DELETE FROM t WHERE id", "must be boolean"},
           {"DELETE FROM t WHERE id IN (SELECT 1)", "subqueries are not allowed in WHERE"},
           {"DELETE FROM t WHERE max(id) > 1", "aggregate functions are not allowed in WHERE"},
           {"UPDATE t SET nope = 1", "position 14: column \"nope\" of table \"t\" does not exist"},
           {"UPDATE t SET id = 1, ID = 2", "multiple assignments to the same column \"id\""},
           {"UPDATE t SET small = 40000", "out of range"},
           {"UPDATE t SET small = small * 1000 WHERE id = 9", "not in range"},
           {"UPDATE t SET id = 'abc'", "abc"},
           {"INSERT INTO t (id, small) VALUES (1, 70000)", "out of range"},
           {"INSERT INTO t (id) VALUES (1, 2)", "more expressions than target columns"},
           {"INSERT INTO t VALUES (1)", "fewer expressions than target columns"},
           {"INSERT INTO t (id, id) VALUES (1, 2)", "\"id\" is specified more than once"},
           {"INSERT INTO t (subject) VALUES ('x')", "\"id\" is NOT NULL"},
           {"INSERT INTO t (id) VALUES (NULL)", "violates its NOT NULL constraint"},
           {"INSERT INTO t SELECT id FROM mem", "fewer expressions than target columns"},
           {"INSERT INTO t (id, small) SELECT id, small * 1000 FROM mem", "not in range"},
       }) {
    auto result = Run(c.sql);
    ASSERT_FALSE(result.ok()) << c.sql;
    EXPECT_NE(result.status().message().find(c.message), std::string::npos)
        << c.sql << " -> " << result.status().message();
    EXPECT_EQ(Version(), 0) << c.sql;
  }
  EXPECT_EQ(Rows().size(), 10u);
  // Nothing left behind by the refused writes: only the first commit's data file.
  int data_files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(root_ / "t")) {
    if (entry.path().extension() == ".parquet") ++data_files;
  }
  EXPECT_EQ(data_files, 1);
}

}  // namespace
}  // namespace nlk::sql
