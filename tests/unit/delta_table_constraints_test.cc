// CHECK constraints, column invariants and generated columns on every write: rows breaking a
// rule fail the whole write (naming the rule, its text and the row's values) and nothing is
// committed; generated columns are computed when left out and checked when supplied; without a
// registered SQL expression compiler such tables are refused by feature name.
#include <arrow/api.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <string>

#include "common/arrow_runtime.h"
#include "delta/check_constraints.h"
#include "delta/data/schema.h"
#include "delta/log/expression_compiler.h"
#include "delta/log/table_constraints.h"
#include "delta/predicate.h"
#include "delta/table.h"
#include "sql/delta_expression_compiler.h"

namespace nlk::delta {
namespace {

std::shared_ptr<arrow::Array> Ints(const std::vector<std::optional<int64_t>>& values) {
  arrow::Int64Builder builder;
  for (const auto& value : values) {
    EXPECT_TRUE((value ? builder.Append(*value) : builder.AppendNull()).ok());
  }
  return builder.Finish().ValueOrDie();
}

std::shared_ptr<arrow::Array> Strings(const std::vector<std::optional<std::string>>& values) {
  arrow::StringBuilder builder;
  for (const auto& value : values) {
    EXPECT_TRUE((value ? builder.Append(*value) : builder.AppendNull()).ok());
  }
  return builder.Finish().ValueOrDie();
}

std::shared_ptr<arrow::RecordBatchReader> Reader(std::shared_ptr<arrow::RecordBatch> batch) {
  return arrow::RecordBatchReader::Make({batch}, batch->schema()).ValueOrDie();
}

std::shared_ptr<arrow::Table> ReadAll(Table& table) {
  auto reader = table.Read({}).ValueOrDie();
  return reader->ToTable().ValueOrDie();
}

std::shared_ptr<arrow::Field> WithColumnMetadata(std::shared_ptr<arrow::Field> field,
                                                 std::string json) {
  return data::WithDeltaFieldMetadata(field, std::move(json));
}

class TableConstraintsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(InitializeArrowCompute().ok());
    sql::RegisterDeltaExpressionCompiler();
    std::random_device random;
    directory_ = std::filesystem::temp_directory_path() /
                 ("nlk-constraints-" + std::to_string(random()) + std::to_string(random()));
  }
  void TearDown() override {
    std::filesystem::remove_all(directory_);
    sql::RegisterDeltaExpressionCompiler();
  }

  // {device: string, value: long} with CHECK constraint positive: value > 0 AND device IS NOT
  // NULL.
  std::shared_ptr<Table> CreateChecked() {
    CreateOptions options;
    options.properties = {{"delta.constraints.positive", "value > 0 AND `device` IS NOT NULL"}};
    auto created = Table::Create(directory_.string(), CheckedSchema(), options);
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    return created.ok() ? *created : nullptr;
  }
  static std::shared_ptr<arrow::Schema> CheckedSchema() {
    return arrow::schema(
        {arrow::field("device", arrow::utf8()), arrow::field("value", arrow::int64())});
  }
  static std::shared_ptr<arrow::RecordBatch> Checked(
      std::vector<std::optional<std::string>> devices, std::vector<std::optional<int64_t>> values) {
    return arrow::RecordBatch::Make(CheckedSchema(), static_cast<int64_t>(values.size()),
                                    {Strings(devices), Ints(values)});
  }

  // {ts: long, bucket: long GENERATED ALWAYS AS (ts DIV 10 as ts / 10), label: string} with an
  // invariant on label.
  static std::shared_ptr<arrow::Schema> GeneratedSchema() {
    return arrow::schema(
        {arrow::field("ts", arrow::int64()),
         WithColumnMetadata(arrow::field("bucket", arrow::int64(), false),
                            R"({"delta.generationExpression":"ts / 10"})"),
         WithColumnMetadata(
             arrow::field("label", arrow::utf8()),
             R"({"delta.invariants":"{\"expression\":{\"expression\":\"label <> 'bad'\"}}"})")});
  }
  std::shared_ptr<Table> CreateGenerated(std::vector<std::string> partition_columns = {}) {
    CreateOptions options;
    options.partition_columns = std::move(partition_columns);
    auto created = Table::Create(directory_.string(), GeneratedSchema(), options);
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    return created.ok() ? *created : nullptr;
  }

  int64_t Version(Table& table) { return table.log()->Latest().ValueOrDie()->version(); }

  std::filesystem::path directory_;
};

TEST_F(TableConstraintsTest, RowsSatisfyingTheConstraintAreWritten) {
  auto table = CreateChecked();
  ASSERT_NE(table, nullptr);
  auto snapshot = table->log()->Latest().ValueOrDie();
  EXPECT_EQ(snapshot->protocol().min_writer_version, 3);
  auto written = table->Append(Reader(Checked({"a", "b"}, {1, 2})));
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_EQ(ReadAll(*table)->num_rows(), 2);
}

TEST_F(TableConstraintsTest, AViolatingRowFailsTheWholeWriteAndNamesTheRule) {
  auto table = CreateChecked();
  ASSERT_NE(table, nullptr);
  const int64_t before = Version(*table);
  auto written = table->Append(Reader(Checked({"a", "b", "c"}, {1, -7, 3})));
  ASSERT_FALSE(written.ok());
  const std::string message = written.status().message();
  EXPECT_NE(message.find("CHECK constraint positive"), std::string::npos) << message;
  EXPECT_NE(message.find("value > 0 AND `device` IS NOT NULL"), std::string::npos) << message;
  EXPECT_NE(message.find("value = -7"), std::string::npos) << message;
  EXPECT_NE(message.find("device = b"), std::string::npos) << message;
  EXPECT_EQ(Version(*table), before);
  EXPECT_EQ(ReadAll(*table)->num_rows(), 0);
}

TEST_F(TableConstraintsTest, FilesWrittenBeforeTheViolatingRowAreRemoved) {
  auto table = CreateChecked();
  ASSERT_NE(table, nullptr);
  // Row groups of 2 rows in files closed after each one: the first batches land in files
  // before the third batch breaks the constraint.
  data::WriteOptions layout;
  layout.row_group_rows = 2;
  layout.target_file_size = 1;
  auto written = table->NewWrite()
                     .Data({Checked({"a", "b"}, {1, 2}), Checked({"c", "d"}, {3, 4}),
                            Checked({"e", "f"}, {5, -6})})
                     .FileOptions(layout)
                     .Commit();
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.status().message().find("value = -6"), std::string::npos);
  int data_files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(directory_)) {
    if (entry.path().extension() == ".parquet") ++data_files;
  }
  EXPECT_EQ(data_files, 0);
  EXPECT_EQ(ReadAll(*table)->num_rows(), 0);
}

TEST_F(TableConstraintsTest, ANullResultIsAViolationAsInDeltaSpark) {
  auto table = CreateChecked();
  ASSERT_NE(table, nullptr);
  // value > 0 is NULL for a NULL value: delta-spark fails the write, and so do we.
  auto null_value = table->Append(Reader(Checked({"a"}, {std::nullopt})));
  ASSERT_FALSE(null_value.ok());
  EXPECT_NE(null_value.status().message().find("value = NULL"), std::string::npos)
      << null_value.status().message();
  auto null_device = table->Append(Reader(Checked({std::nullopt}, {5})));
  ASSERT_FALSE(null_device.ok());
  EXPECT_NE(null_device.status().message().find("device = NULL"), std::string::npos);
  EXPECT_EQ(ReadAll(*table)->num_rows(), 0);
}

TEST_F(TableConstraintsTest, OverwriteAndDeleteRewritesAreChecked) {
  auto table = CreateChecked();
  ASSERT_NE(table, nullptr);
  ASSERT_TRUE(table->Append(Reader(Checked({"a", "b"}, {1, 2}))).ok());
  auto overwrite = table->Overwrite(Reader(Checked({"a"}, {0})), std::nullopt);
  ASSERT_FALSE(overwrite.ok());
  EXPECT_NE(overwrite.status().message().find("positive"), std::string::npos);
  EXPECT_EQ(ReadAll(*table)->num_rows(), 2);
  // A DELETE rewrites the remaining rows through the same writer: they satisfy the rule.
  auto schema = CheckedSchema();
  auto predicate = ParsePredicate("value = 1", *schema).ValueOrDie();
  dml::DmlOptions options;
  options.mode = dml::RowChangeMode::kCopyOnWrite;
  auto deleted = table->Delete(predicate, options);
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(ReadAll(*table)->num_rows(), 1);
  // An UPDATE that would break it is refused, and the table keeps its rows.
  dml::Assignment assignment;
  assignment.column = "value";
  assignment.value = arrow::compute::literal(int64_t{-1});
  auto updated = table->Update({assignment}, std::nullopt, options);
  ASSERT_FALSE(updated.ok());
  EXPECT_NE(updated.status().message().find("value = -1"), std::string::npos)
      << updated.status().message();
  auto rows = ReadAll(*table);
  ASSERT_EQ(rows->num_rows(), 1);
  EXPECT_EQ(rows->GetColumnByName("value")->GetScalar(0).ValueOrDie()->ToString(), "2");
}

TEST_F(TableConstraintsTest, WithoutACompilerTheTableIsRefusedByFeatureName) {
  auto table = CreateChecked();
  ASSERT_NE(table, nullptr);
  RegisterSqlExpressionCompiler({});
  auto written = table->Append(Reader(Checked({"a"}, {1})));
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.status().message().find("checkConstraints"), std::string::npos)
      << written.status().message();
  sql::RegisterDeltaExpressionCompiler();
  EXPECT_TRUE(table->Append(Reader(Checked({"a"}, {1}))).ok());
}

TEST_F(TableConstraintsTest, AConstraintTheEngineCannotCompileIsAnErrorNamingIt) {
  CreateOptions options;
  options.properties = {{"delta.constraints.broken", "no_such_column > 0"}};
  auto table = Table::Create(directory_.string(), CheckedSchema(), options).ValueOrDie();
  auto written = table->Append(Reader(Checked({"a"}, {1})));
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.status().message().find("CHECK constraint broken (no_such_column > 0)"),
            std::string::npos)
      << written.status().message();
}

std::shared_ptr<arrow::RecordBatch> WithoutBucket(std::vector<std::optional<int64_t>> ts,
                                                  std::vector<std::optional<std::string>> labels) {
  auto schema =
      arrow::schema({arrow::field("ts", arrow::int64()), arrow::field("label", arrow::utf8())});
  return arrow::RecordBatch::Make(schema, static_cast<int64_t>(ts.size()),
                                  {Ints(ts), Strings(labels)});
}

std::shared_ptr<arrow::RecordBatch> WithBucket(std::vector<std::optional<int64_t>> ts,
                                               std::vector<std::optional<int64_t>> buckets) {
  auto schema =
      arrow::schema({arrow::field("ts", arrow::int64()), arrow::field("bucket", arrow::int64()),
                     arrow::field("label", arrow::utf8())});
  std::vector<std::optional<std::string>> labels(ts.size(), std::string("ok"));
  return arrow::RecordBatch::Make(schema, static_cast<int64_t>(ts.size()),
                                  {Ints(ts), Ints(buckets), Strings(labels)});
}

TEST_F(TableConstraintsTest, GeneratedColumnsAreComputedWhenLeftOut) {
  auto table = CreateGenerated({"bucket"});
  ASSERT_NE(table, nullptr);
  EXPECT_EQ(table->log()->Latest().ValueOrDie()->protocol().min_writer_version, 4);
  auto written = table->Append(Reader(WithoutBucket({5, 15, 27}, {"x", "y", "z"})));
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_EQ(written->files_added, 3);  // one per computed partition
  auto rows = ReadAll(*table)->CombineChunksToBatch().ValueOrDie();
  ASSERT_EQ(rows->num_rows(), 3);
  std::map<int64_t, int64_t> bucket_of;
  auto ts = std::static_pointer_cast<arrow::Int64Array>(rows->GetColumnByName("ts"));
  auto bucket = std::static_pointer_cast<arrow::Int64Array>(rows->GetColumnByName("bucket"));
  for (int64_t i = 0; i < rows->num_rows(); ++i) bucket_of[ts->Value(i)] = bucket->Value(i);
  EXPECT_EQ(bucket_of, (std::map<int64_t, int64_t>{{5, 0}, {15, 1}, {27, 2}}));
}

TEST_F(TableConstraintsTest, SuppliedGeneratedValuesMustMatch) {
  auto table = CreateGenerated();
  ASSERT_NE(table, nullptr);
  ASSERT_TRUE(table->Append(Reader(WithBucket({5, 15}, {0, 1}))).ok());
  auto wrong = table->Append(Reader(WithBucket({5, 15}, {0, 7})));
  ASSERT_FALSE(wrong.ok());
  const std::string message = wrong.status().message();
  EXPECT_NE(message.find("generated column bucket (ts / 10)"), std::string::npos) << message;
  EXPECT_NE(message.find("bucket = 7"), std::string::npos) << message;
  EXPECT_NE(message.find("gives 1"), std::string::npos) << message;
  // NULL matches only NULL: a NULL ts gives a NULL bucket, which the NOT NULL column refuses
  // when computed; a supplied NULL against a computed value is a mismatch.
  auto null_supplied = table->Append(Reader(WithBucket({5}, {std::nullopt})));
  ASSERT_FALSE(null_supplied.ok());
  EXPECT_NE(null_supplied.status().message().find("bucket = NULL"), std::string::npos);
  auto null_computed = table->Append(Reader(WithoutBucket({std::nullopt}, {"x"})));
  ASSERT_FALSE(null_computed.ok());
  EXPECT_NE(null_computed.status().message().find("NOT NULL"), std::string::npos)
      << null_computed.status().message();
  EXPECT_EQ(ReadAll(*table)->num_rows(), 2);
}

TEST_F(TableConstraintsTest, UpdateRecomputesGeneratedColumnsItDoesNotAssign) {
  auto table = CreateGenerated({"bucket"});
  ASSERT_NE(table, nullptr);
  ASSERT_TRUE(table->Append(Reader(WithoutBucket({5, 15}, {"x", "y"}))).ok());
  auto schema = table->log()->Latest().ValueOrDie()->metadata().schema_string;
  auto logical = data::ParseDeltaSchema(schema).ValueOrDie();
  dml::DmlOptions options;
  options.mode = dml::RowChangeMode::kCopyOnWrite;
  dml::Assignment later{"ts", arrow::compute::call("add", {arrow::compute::field_ref("ts"),
                                                           arrow::compute::literal(int64_t{20})})};
  auto updated = table->Update({later}, ParsePredicate("ts = 5", *logical).ValueOrDie(), options);
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  auto rows = ReadAll(*table)->CombineChunksToBatch().ValueOrDie();
  std::map<int64_t, int64_t> bucket_of;
  auto ts = std::static_pointer_cast<arrow::Int64Array>(rows->GetColumnByName("ts"));
  auto bucket = std::static_pointer_cast<arrow::Int64Array>(rows->GetColumnByName("bucket"));
  for (int64_t i = 0; i < rows->num_rows(); ++i) bucket_of[ts->Value(i)] = bucket->Value(i);
  EXPECT_EQ(bucket_of, (std::map<int64_t, int64_t>{{15, 1}, {25, 2}}));
  // Assigning the generated column itself must agree with its formula.
  dml::Assignment wrong{"bucket", arrow::compute::literal(int64_t{9})};
  auto refused = table->Update({wrong}, std::nullopt, options);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("generated column bucket"), std::string::npos)
      << refused.status().message();
}

TEST_F(TableConstraintsTest, ColumnInvariantsAreEnforced) {
  auto table = CreateGenerated();
  ASSERT_NE(table, nullptr);
  auto written = table->Append(Reader(WithoutBucket({1, 2}, {"fine", "bad"})));
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.status().message().find("invariant of column label (label <> 'bad')"),
            std::string::npos)
      << written.status().message();
  EXPECT_EQ(ReadAll(*table)->num_rows(), 0);
}

TEST_F(TableConstraintsTest, ReadsTheRulesFromMetadata) {
  Metadata metadata;
  metadata.schema_string = data::SerializeDeltaSchema(*GeneratedSchema()).ValueOrDie();
  metadata.configuration = {{"delta.constraints.b", "ts > 1"}, {"delta.constraints.a", "ts < 9"}};
  auto constraints = ReadTableConstraints(metadata).ValueOrDie();
  ASSERT_EQ(constraints.checks.size(), 2u);
  EXPECT_EQ(constraints.checks[0].name, "a");
  ASSERT_EQ(constraints.generated_columns.size(), 1u);
  EXPECT_EQ(constraints.generated_columns[0].expression, "ts / 10");
  ASSERT_EQ(constraints.invariants.size(), 1u);
  EXPECT_EQ(constraints.invariants[0].expression, "label <> 'bad'");
  EXPECT_EQ(ConstraintPropertyKey("Positive"), "delta.constraints.positive");

  metadata.schema_string =
      R"({"type":"struct","fields":[{"name":"x","type":"long","nullable":true,)"
      R"("metadata":{"delta.invariants":"{\"wrong\":1}"}}]})";
  auto malformed = ReadTableConstraints(metadata);
  ASSERT_FALSE(malformed.ok());
  EXPECT_NE(malformed.status().message().find("'x'"), std::string::npos);
}

TEST_F(TableConstraintsTest, AddingAConstraintChecksExistingRowsAndUpgradesTheProtocol) {
  auto table = Table::Create(directory_.string(), CheckedSchema(), {}).ValueOrDie();
  ASSERT_TRUE(table->Append(Reader(Checked({"a", "b", std::nullopt}, {1, 5, 9}))).ok());
  EXPECT_EQ(table->log()->Latest().ValueOrDie()->protocol().min_writer_version, 2);
  // 5 breaks it, and so does the NULL device (NULL is a violation).
  auto refused = AddCheckConstraint(*table, "small", "value < 5 AND device IS NOT NULL");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("violated by 2 of the 3 existing rows"),
            std::string::npos)
      << refused.status().message();
  EXPECT_EQ(Version(*table), 1);

  auto added = AddCheckConstraint(*table, "Small", "value < 10");
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  EXPECT_EQ(added->rows_checked, 3);
  auto snapshot = table->log()->Latest().ValueOrDie();
  EXPECT_EQ(snapshot->protocol().min_writer_version, 3);
  EXPECT_EQ(snapshot->metadata().configuration.at("delta.constraints.small"), "value < 10");
  EXPECT_FALSE(AddCheckConstraint(*table, "small", "value < 11").ok());  // exists
  EXPECT_FALSE(AddCheckConstraint(*table, "bad name", "value < 11").ok());
  EXPECT_FALSE(table->Append(Reader(Checked({"c"}, {10}))).ok());

  auto dropped = DropCheckConstraint(*table, "small", false);
  ASSERT_TRUE(dropped.ok()) << dropped.status().ToString();
  EXPECT_EQ(dropped->expression, "value < 10");
  EXPECT_TRUE(table->Append(Reader(Checked({"c"}, {10}))).ok());
  auto missing = DropCheckConstraint(*table, "small", false);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("it has: none"), std::string::npos);
  auto tolerated = DropCheckConstraint(*table, "small", true);
  ASSERT_TRUE(tolerated.ok());
  EXPECT_EQ(tolerated->version, -1);
}

TEST_F(TableConstraintsTest, AddingAConstraintToATableFeaturesProtocolListsTheFeature) {
  auto schema = arrow::schema({arrow::field("value", arrow::int64()),
                               arrow::field("at", arrow::timestamp(arrow::TimeUnit::MICRO))});
  auto table = Table::Create(directory_.string(), schema, {}).ValueOrDie();
  ASSERT_EQ(table->log()->Latest().ValueOrDie()->protocol().min_writer_version, 7);
  auto added = AddCheckConstraint(*table, "positive", "value > 0");
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  auto snapshot = table->log()->Latest().ValueOrDie();
  ASSERT_TRUE(snapshot->protocol().writer_features.has_value());
  const auto& features = *snapshot->protocol().writer_features;
  EXPECT_NE(std::find(features.begin(), features.end(), "checkConstraints"), features.end());
}

TEST(DeltaExpressionCompilerTest, BackQuotedIdentifiersBecomeDoubleQuoted) {
  EXPECT_EQ(sql::BackQuotesToDoubleQuotes("`a b` > 'it''s `x`'").ValueOrDie(),
            "\"a b\" > 'it''s `x`'");
  EXPECT_EQ(sql::BackQuotesToDoubleQuotes("`a``b\"c`").ValueOrDie(), "\"a`b\"\"c\"");
  EXPECT_FALSE(sql::BackQuotesToDoubleQuotes("`open").ok());
}

}  // namespace
}  // namespace nlk::delta
