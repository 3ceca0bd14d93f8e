// DELETE and UPDATE on real local tables: both modes give the right rows, partition-only
// predicates remove files without opening them, statistics keep files closed, deletion vectors
// round-trip through the reader and merge when a file is touched again, and each pair of
// racing writers is decided by delta-spark's conflict rules.
#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "common/arrow_runtime.h"
#include "common/json_value.h"
#include "delta/data/deletion_vector.h"
#include "delta/data/deletion_vector_writer.h"
#include "delta/log/log_error.h"
#include "delta/log/transaction.h"
#include "delta/optimize.h"
#include "delta/predicate.h"
#include "delta/table.h"
#include "delta_dml_fixture.h"
#include "storage/object_store.h"
#include "test_status.h"

namespace nlk::delta {
namespace {

namespace compute = arrow::compute;
using dml::DmlOptions;
using dml::DmlResult;
using dml::RowChangeMode;

using dml_test::SampleSchema;

// Rows with ids [first, first + count): session "s<id / 100>", value id / 2, part id % 3.
std::shared_ptr<arrow::RecordBatchReader> Rows(int64_t first, int64_t count) {
  return dml_test::Reader(dml_test::SampleRows(dml_test::IdRange(first, first + count)));
}

std::shared_ptr<arrow::Table> SortedRows(Table& table) {
  auto reader = table.Read({}).ValueOrDie();
  auto rows = arrow::Table::FromRecordBatchReader(reader.get()).ValueOrDie();
  compute::SortOptions sort({compute::SortKey("id")});
  auto indices = compute::SortIndices(arrow::Datum(rows), sort).ValueOrDie();
  return compute::Take(arrow::Datum(rows), indices)
      .ValueOrDie()
      .table()
      ->CombineChunks()
      .ValueOrDie();
}

std::vector<int64_t> Ids(const arrow::Table& rows) {
  std::vector<int64_t> ids;
  for (const auto& chunk : rows.GetColumnByName("id")->chunks()) {
    const auto& array = static_cast<const arrow::Int64Array&>(*chunk);
    for (int64_t i = 0; i < array.length(); ++i) ids.push_back(array.Value(i));
  }
  return ids;
}

double ValueOf(const arrow::Table& rows, int64_t id) {
  auto ids = Ids(rows);
  auto values =
      std::static_pointer_cast<arrow::DoubleArray>(rows.GetColumnByName("value")->chunk(0));
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] == id) return values->Value(static_cast<int64_t>(i));
  }
  return -12345;
}

compute::Expression Predicate(const std::string& text) {
  return ParsePredicate(text, *SampleSchema()).ValueOrDie();
}

class DmlTest : public dml_test::RowChangeTest {
 protected:
  DmlOptions Options(const std::string& text = "") const {
    DmlOptions options;
    options.mode = GetParam();
    options.predicate_text = text;
    return options;
  }
};

TEST_P(DmlTest, DeleteRemovesExactlyTheMatchingRows) {
  auto table = MakeTable(3);
  ASSERT_OK_AND_ASSIGN(DmlResult result,
                       table->Delete(Predicate("id = 5 OR (id >= 150 AND id < 160)"), Options()));
  EXPECT_TRUE(result.committed);
  EXPECT_EQ(result.rows_deleted, 11);
  EXPECT_EQ(result.used_deletion_vectors, deletion_vectors());
  auto ids = Ids(*SortedRows(*table));
  EXPECT_EQ(ids.size(), 289u);
  for (int64_t id : ids) EXPECT_FALSE(id == 5 || (id >= 150 && id < 160)) << id;
  if (deletion_vectors()) {
    EXPECT_EQ(result.deletion_vectors_added, 2);
    EXPECT_EQ(result.files_removed, 0);
    EXPECT_EQ(result.files_added, 0);
  } else {
    EXPECT_EQ(result.files_removed, 2);
    EXPECT_EQ(result.rows_copied, 189);
    EXPECT_EQ(result.deletion_vectors_added, 0);
  }
}

TEST_P(DmlTest, FilesRuledOutByStatisticsAreNeverOpened) {
  auto table = MakeTable(5);
  ASSERT_OK_AND_ASSIGN(DmlResult result, table->Delete(Predicate("id = 321"), Options()));
  EXPECT_EQ(result.files_total, 5);
  EXPECT_EQ(result.files_skipped_by_stats, 4);
  EXPECT_EQ(result.files_opened, 1);
  EXPECT_EQ(result.rows_deleted, 1);
  ASSERT_OK_AND_ASSIGN(
      result, table->Update({{"value", compute::literal(1.0)}}, Predicate("id >= 400"), Options()));
  EXPECT_EQ(result.files_opened, 1);
  EXPECT_EQ(result.rows_updated, 100);
}

TEST_P(DmlTest, PartitionOnlyDeleteRemovesFilesWithoutOpeningThem) {
  auto table = MakeTable(2, /*partitioned=*/true);
  ASSERT_OK_AND_ASSIGN(auto before, table->SnapshotFor({}));
  ASSERT_EQ(before->files().size(), 6u);
  ASSERT_OK_AND_ASSIGN(DmlResult result, table->Delete(Predicate("part = 1"), Options()));
  EXPECT_EQ(result.files_opened, 0);
  EXPECT_EQ(result.files_removed_without_reading, 2);
  EXPECT_EQ(result.files_removed, 2);
  EXPECT_EQ(result.files_added, 0);
  EXPECT_EQ(result.deletion_vectors_added, 0);
  EXPECT_EQ(result.rows_deleted, 67);  // ids 1, 4, ..., 199
  for (int64_t id : Ids(*SortedRows(*table))) EXPECT_NE(id % 3, 1) << id;
}

TEST_P(DmlTest, DeletingAgainMergesTheDeletionVector) {
  auto table = MakeTable(1);
  ASSERT_OK(table->Delete(Predicate("id < 10"), Options()).status());
  ASSERT_OK_AND_ASSIGN(DmlResult second, table->Delete(Predicate("id >= 90"), Options()));
  EXPECT_EQ(second.rows_deleted, 10);
  // Rows deleted before do not match again.
  ASSERT_OK_AND_ASSIGN(DmlResult third, table->Delete(Predicate("id < 20"), Options()));
  EXPECT_EQ(third.rows_deleted, 10);
  ASSERT_OK_AND_ASSIGN(auto snapshot, table->SnapshotFor({}));
  ASSERT_EQ(snapshot->files().size(), 1u);
  const AddFile& file = snapshot->files()[0];
  if (deletion_vectors()) {
    EXPECT_EQ(second.deletion_vectors_updated, 1);
    ASSERT_TRUE(file.deletion_vector.has_value());
    EXPECT_EQ(file.deletion_vector->cardinality, 30);
    ASSERT_OK_AND_ASSIGN(auto loaded,
                         data::LoadDeletionVector(*table->store(), *file.deletion_vector));
    EXPECT_EQ(loaded.Cardinality(), 30u);
    EXPECT_TRUE(loaded.Contains(0) && loaded.Contains(19) && loaded.Contains(99));
    EXPECT_FALSE(loaded.Contains(20));
    // Bounds still describe deleted rows: marked wide, with numRecords the physical count.
    ASSERT_OK_AND_ASSIGN(JsonValue stats, ParseJson(*file.stats));
    EXPECT_EQ(stats.Find("numRecords")->integer(), 100);
    EXPECT_FALSE(stats.Find("tightBounds")->boolean());
  } else {
    EXPECT_FALSE(file.deletion_vector.has_value());
  }
  auto ids = Ids(*SortedRows(*table));
  ASSERT_EQ(ids.size(), 70u);
  EXPECT_EQ(ids.front(), 20);
  EXPECT_EQ(ids.back(), 89);
}

TEST_P(DmlTest, DeletingEveryRowOfAFileRemovesIt) {
  auto table = MakeTable(2);
  ASSERT_OK_AND_ASSIGN(DmlResult result, table->Delete(Predicate("id < 100"), Options()));
  EXPECT_EQ(result.files_removed, 1);
  EXPECT_EQ(result.deletion_vectors_added, 0);
  EXPECT_EQ(result.rows_deleted, 100);
  EXPECT_EQ(Ids(*SortedRows(*table)).size(), 100u);
}

TEST_P(DmlTest, UpdateSetsColumnsFromTheOldRow) {
  auto table = MakeTable(2, /*partitioned=*/true);
  auto value = ParseValueExpression("value * 2 + id", *SampleSchema(), arrow::float64());
  ASSERT_OK(value.status());
  auto session = ParseValueExpression("'fixed'", *SampleSchema(), arrow::utf8());
  ASSERT_OK(session.status());
  ASSERT_OK_AND_ASSIGN(DmlResult result,
                       table->Update({{"value", *value}, {"session", *session}},
                                     Predicate("session = 's1'"), Options("session = 's1'")));
  EXPECT_EQ(result.rows_updated, 100);
  EXPECT_EQ(result.used_deletion_vectors, deletion_vectors());
  auto rows = SortedRows(*table);
  ASSERT_EQ(rows->num_rows(), 200);
  EXPECT_DOUBLE_EQ(ValueOf(*rows, 150), 150.0 + 150.0);
  EXPECT_DOUBLE_EQ(ValueOf(*rows, 50), 25.0);
  auto sessions =
      std::static_pointer_cast<arrow::StringArray>(rows->GetColumnByName("session")->chunk(0));
  EXPECT_EQ(sessions->GetString(150), "fixed");
  EXPECT_EQ(sessions->GetString(50), "s0");
  // Moving rows to another partition by updating the partition column.
  ASSERT_OK_AND_ASSIGN(result, table->Update({{"part", compute::literal(int32_t{7})}},
                                             Predicate("id < 10"), Options()));
  EXPECT_EQ(result.rows_updated, 10);
  ReadOptions moved_filter;
  moved_filter.filter = "part = 7";
  ASSERT_OK_AND_ASSIGN(auto moved, table->Read(moved_filter));
  ASSERT_OK_AND_ASSIGN(auto moved_rows, arrow::Table::FromRecordBatchReader(moved.get()));
  EXPECT_EQ(moved_rows->num_rows(), 10);
}

TEST_P(DmlTest, CommitInfoRecordsTheOperationAsSparkDoes) {
  auto table = MakeTable(1);
  ASSERT_OK(table->Delete(Predicate("id < 3"), Options("id < 3")).status());
  ASSERT_OK_AND_ASSIGN(auto buffer, table->store()->Read("_delta_log/00000000000000000002.json"));
  std::string commit = buffer->ToString();
  ASSERT_OK_AND_ASSIGN(JsonValue info, ParseJson(commit.substr(0, commit.find('\n'))));
  const JsonValue* commit_info = info.Find("commitInfo");
  ASSERT_NE(commit_info, nullptr);
  EXPECT_EQ(commit_info->Find("operation")->string(), "DELETE");
  EXPECT_EQ(commit_info->Find("operationParameters")->Find("predicate")->string(), "[\"id < 3\"]");
  const JsonValue* metrics = commit_info->Find("operationMetrics");
  ASSERT_NE(metrics, nullptr);
  EXPECT_EQ(metrics->Find("numDeletedRows")->string(), "3");
  EXPECT_EQ(metrics->Find("numDeletionVectorsAdded")->string(), deletion_vectors() ? "1" : "0");
  EXPECT_EQ(metrics->Find("numRemovedFiles")->string(), deletion_vectors() ? "0" : "1");
  EXPECT_FALSE(commit_info->Find("isBlindAppend")->boolean());
}

TEST_P(DmlTest, NothingMatchingCommitsNothing) {
  auto table = MakeTable(1);
  ASSERT_OK_AND_ASSIGN(DmlResult result, table->Delete(Predicate("id > 1000"), Options()));
  EXPECT_FALSE(result.committed);
  EXPECT_EQ(result.version, 1);
  EXPECT_EQ(result.files_opened, 0);  // skipped by statistics
  ASSERT_OK_AND_ASSIGN(result, table->Delete(Predicate("session = 'zzz' AND id < 50"), Options()));
  EXPECT_FALSE(result.committed);
  ASSERT_OK_AND_ASSIGN(auto snapshot, table->SnapshotFor({}));
  EXPECT_EQ(snapshot->version(), 1);
}

TEST_P(DmlTest, BadRequestsLeaveTheTableUnchanged) {
  auto table = MakeTable(1);
  auto unknown = table->Update({{"nope", compute::literal(1)}}, std::nullopt, Options());
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("unknown column 'nope'"), std::string::npos);
  auto twice =
      table->Update({{"id", compute::literal(int64_t{1})}, {"id", compute::literal(int64_t{2})}},
                    std::nullopt, Options());
  EXPECT_FALSE(twice.ok());
  auto wrong_type = table->Update({{"id", compute::literal("abc")}}, std::nullopt, Options());
  EXPECT_FALSE(wrong_type.ok());
  auto overflow = table->Update(
      {{"part", compute::call("multiply_checked",
                              {compute::field_ref("id"), compute::literal(int64_t{1} << 40)})}},
      Predicate("id > 10"), Options());
  ASSERT_FALSE(overflow.ok());
  auto bad_filter =
      table->Delete(compute::equal(compute::field_ref("nope"), compute::literal(1)), Options());
  EXPECT_FALSE(bad_filter.ok());
  ASSERT_OK_AND_ASSIGN(auto snapshot, table->SnapshotFor({}));
  EXPECT_EQ(snapshot->version(), 1);
  EXPECT_EQ(Ids(*SortedRows(*table)).size(), 100u);
}

TEST_P(DmlTest, AppendOnlyTablesRefuseRowChanges) {
  CreateOptions options;
  options.properties["delta.appendOnly"] = "true";
  auto table = Table::Create(uri_, SampleSchema(), options, Rows(0, 10)).ValueOrDie();
  auto refused = table->Delete(Predicate("id = 1"), Options());
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("delta.appendOnly"), std::string::npos);
}

TEST_P(DmlTest, ChangeDataFeedRecordsEveryChangedRow) {
  CreateOptions options;
  options.properties["delta.enableChangeDataFeed"] = "true";
  if (deletion_vectors()) options.properties["delta.enableDeletionVectors"] = "true";
  auto table = Table::Create(uri_, SampleSchema(), options).ValueOrDie();
  ASSERT_OK(table->Append(Rows(0, 100)).status());                            // v1
  ASSERT_OK(table->Delete(Predicate("id < 5"), Options("id < 5")).status());  // v2
  ASSERT_OK(table->Update({{"value", compute::literal(0.0)}}, Predicate("id = 50"), Options())
                .status());  // v3
  for (int64_t version : {2, 3}) {
    ASSERT_OK_AND_ASSIGN(auto actions, table->log()->ReadCommit(version));
    EXPECT_TRUE(std::any_of(
        actions.begin(), actions.end(),
        [](const Action& action) { return std::holds_alternative<AddCdcFile>(action); }))
        << "version " << version << " has no cdc action";
  }
  ChangeFeedOptions feed;
  feed.from_version = 2;
  ASSERT_OK_AND_ASSIGN(auto reader, table->Changes(feed));
  ASSERT_OK_AND_ASSIGN(auto changes, arrow::Table::FromRecordBatchReader(reader.get()));
  std::map<std::string, std::vector<std::pair<int64_t, double>>> by_type;
  auto combined = changes->CombineChunksToBatch().ValueOrDie();
  auto ids = std::static_pointer_cast<arrow::Int64Array>(combined->GetColumnByName("id"));
  auto values = std::static_pointer_cast<arrow::DoubleArray>(combined->GetColumnByName("value"));
  auto types =
      std::static_pointer_cast<arrow::StringArray>(combined->GetColumnByName("_change_type"));
  for (int64_t row = 0; row < combined->num_rows(); ++row) {
    by_type[types->GetString(row)].emplace_back(ids->Value(row), values->Value(row));
  }
  std::sort(by_type["delete"].begin(), by_type["delete"].end());
  EXPECT_EQ(by_type["delete"], (std::vector<std::pair<int64_t, double>>{
                                   {0, 0.0}, {1, 0.5}, {2, 1.0}, {3, 1.5}, {4, 2.0}}));
  EXPECT_EQ(by_type["update_preimage"], (std::vector<std::pair<int64_t, double>>{{50, 25.0}}));
  EXPECT_EQ(by_type["update_postimage"], (std::vector<std::pair<int64_t, double>>{{50, 0.0}}));
  EXPECT_EQ(by_type.size(), 3u);
}

INSTANTIATE_TEST_SUITE_P(Modes, DmlTest,
                         ::testing::Values(RowChangeMode::kCopyOnWrite,
                                           RowChangeMode::kDeletionVectors),
                         [](const auto& info) {
                           return info.param == RowChangeMode::kCopyOnWrite ? "CopyOnWrite"
                                                                            : "DeletionVectors";
                         });

TEST(DmlModes, DeletionVectorsNeedTheTableFeature) {
  ASSERT_OK(InitializeArrowCompute());
  auto root = std::filesystem::temp_directory_path() /
              ("nlk-dml-nodv-" + std::to_string(std::random_device{}()));
  auto table = Table::Create(root.string(), SampleSchema(), {}, Rows(0, 10)).ValueOrDie();
  DmlOptions options;
  options.mode = RowChangeMode::kDeletionVectors;
  auto refused = table->Delete(Predicate("id = 1"), options);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("deletionVectors"), std::string::npos);
  // The table default is copy-on-write here.
  ASSERT_OK_AND_ASSIGN(DmlResult result, table->Delete(Predicate("id = 1"), {}));
  EXPECT_FALSE(result.used_deletion_vectors);
  std::filesystem::remove_all(root);
}

// ---- deletion vector serialisation against the reader ----

TEST(DeletionVectorWriter, SmallVectorsInlineLargeOnesInOneFileAllReadBack) {
  ASSERT_OK(InitializeArrowCompute());
  auto root = std::filesystem::temp_directory_path() /
              ("nlk-dv-writer-" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(root);
  ASSERT_OK_AND_ASSIGN(auto store, storage::OpenObjectStore(root.string()));
  std::vector<data::DeletionVector> vectors;
  vectors.push_back(data::DeletionVector::FromRows({3}));
  std::vector<uint64_t> scattered;
  for (uint64_t row = 0; row < 5000; row += 7) scattered.push_back(row);
  scattered.push_back((uint64_t{1} << 33) + 5);  // a second 32-bit bucket
  vectors.push_back(data::DeletionVector::FromRows(scattered));
  std::vector<uint64_t> other;
  for (uint64_t row = 1; row < 3000; row += 3) other.push_back(row);
  vectors.push_back(data::DeletionVector::FromRows(other));

  data::DeletionVectorWriter writer(store, {.max_inline_bytes = 64});
  for (const auto& vector : vectors) writer.Add(vector);
  ASSERT_OK_AND_ASSIGN(auto written, writer.Finish());
  ASSERT_EQ(written.descriptors.size(), 3u);
  EXPECT_EQ(written.descriptors[0].storage_type, 'i');
  EXPECT_EQ(written.descriptors[1].storage_type, 'u');
  EXPECT_EQ(written.descriptors[2].storage_type, 'u');
  ASSERT_TRUE(written.file_path.has_value());
  EXPECT_EQ(written.file_path->rfind("deletion_vector_", 0), 0u);
  ASSERT_OK_AND_ASSIGN(std::string derived,
                       data::DeletionVectorPath(written.descriptors[1], store->root_uri()));
  EXPECT_EQ(derived, *written.file_path);
  for (size_t i = 0; i < vectors.size(); ++i) {
    ASSERT_OK_AND_ASSIGN(auto loaded, data::LoadDeletionVector(*store, written.descriptors[i]));
    EXPECT_EQ(loaded.ToVector(), vectors[i].ToVector()) << i;
    EXPECT_EQ(written.descriptors[i].cardinality, static_cast<int64_t>(vectors[i].Cardinality()));
  }
  std::filesystem::remove_all(root);
}

TEST(DeletionVectorWriter, WideBoundsKeepTheOtherStatistics) {
  ASSERT_OK_AND_ASSIGN(
      std::string stats,
      data::StatisticsWithWideBounds(
          std::string(R"({"numRecords":10,"minValues":{"a":1},"tightBounds":true})"), 10));
  EXPECT_EQ(stats, R"({"numRecords":10,"minValues":{"a":1},"tightBounds":false})");
  ASSERT_OK_AND_ASSIGN(stats, data::StatisticsWithWideBounds(std::nullopt, 7));
  EXPECT_EQ(stats, R"({"numRecords":7,"tightBounds":false})");
  EXPECT_FALSE(data::StatisticsWithWideBounds(std::string("[1]"), 1).ok());
}

// ---- racing writers, decided by delta-spark's rules ----

class DmlConflictTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(InitializeArrowCompute());
    root_ = std::filesystem::temp_directory_path() /
            ("nlk-dml-race-" + std::to_string(std::random_device{}()));
    CreateOptions options;
    options.partition_columns = {"part"};
    options.properties["delta.enableDeletionVectors"] = "true";
    table_ = Table::Create(root_.string(), SampleSchema(), options).ValueOrDie();
    ASSERT_OK(table_->Append(Rows(0, 300)).status());  // one file per part
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  // Runs `operation` with `concurrent` committed between its read and its commit.
  arrow::Result<DmlResult> Race(
      const std::function<arrow::Result<DmlResult>(const DmlOptions&)>& operation,
      const std::function<arrow::Status()>& concurrent) {
    DmlOptions options;
    arrow::Status concurrent_status;
    options.before_commit = [&] { concurrent_status = concurrent(); };
    auto result = operation(options);
    EXPECT_TRUE(concurrent_status.ok()) << concurrent_status.ToString();
    return result;
  }

  std::function<arrow::Result<DmlResult>(const DmlOptions&)> DeleteWhere(const std::string& text) {
    return [this, text](const DmlOptions& options) {
      return table_->Delete(Predicate(text), options);
    };
  }

  std::filesystem::path root_;
  std::shared_ptr<Table> table_;
};

TEST_F(DmlConflictTest, DeleteAndBlindAppendToTheSamePartitionBothCommit) {
  auto result = Race(DeleteWhere("part = 1 AND id < 50"),
                     [&] { return table_->Append(Rows(1000, 3)).status(); });
  ASSERT_OK(result.status());
  EXPECT_EQ(result->version, 3);
  // The appended rows (1000..1002, one in part 1) survive: the delete did not see them.
  auto ids = Ids(*SortedRows(*table_));
  EXPECT_EQ(ids.size(), 300u - 17 + 3);
  EXPECT_EQ(ids.back(), 1002);
}

TEST_F(DmlConflictTest, DeleteLosesToAnUpdateOfTheSamePartition) {
  auto result = Race(DeleteWhere("part = 1 AND id < 50"), [&] {
    return table_->Update({{"value", compute::literal(0.0)}}, Predicate("part = 1 AND id > 250"))
        .status();
  });
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(IsConcurrentModification(result.status())) << result.status().ToString();
}

TEST_F(DmlConflictTest, TwoDeletesOfOneFileConflict) {
  auto result =
      Race(DeleteWhere("id = 4"), [&] { return table_->Delete(Predicate("id = 7")).status(); });
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(IsConcurrentModification(result.status())) << result.status().ToString();
  // The loser's deletion vector file was cleaned up; the winner's row is gone, the loser's not.
  auto ids = Ids(*SortedRows(*table_));
  EXPECT_EQ(ids.size(), 299u);
  EXPECT_NE(std::find(ids.begin(), ids.end(), 4), ids.end());
  int bin_files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(root_)) {
    if (entry.path().extension() == ".bin") ++bin_files;
  }
  EXPECT_LE(bin_files, 1);
}

TEST_F(DmlConflictTest, DeletesInDifferentPartitionsBothCommit) {
  auto result = Race(DeleteWhere("part = 1 AND id < 50"),
                     [&] { return table_->Delete(Predicate("part = 2 AND id < 50")).status(); });
  ASSERT_OK(result.status());
  EXPECT_EQ(Ids(*SortedRows(*table_)).size(), 300u - 17 - 16);
}

TEST_F(DmlConflictTest, DeleteLosesToACompactionOfTheFileItChanged) {
  ASSERT_OK(table_->Append(Rows(300, 30)).status());  // a second file in every partition
  auto result = Race(DeleteWhere("part = 0 AND id < 20"), [&] {
    OptimizeOptions options;
    return Optimize(*table_->log(), options).status();
  });
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(IsConcurrentModification(result.status())) << result.status().ToString();
}

TEST_F(DmlConflictTest, DeleteLosesToAMetadataChange) {
  auto result = Race(DeleteWhere("id = 4"), [&]() -> arrow::Status {
    ARROW_ASSIGN_OR_RAISE(auto snapshot, table_->log()->Latest());
    auto transaction = table_->log()->StartTransaction(snapshot);
    Metadata metadata = snapshot->metadata();
    metadata.configuration["owner"] = "someone";
    transaction->UpdateMetadata(metadata);
    return transaction->Commit().status();
  });
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(IsLogError(result.status(), LogErrorKind::kMetadataChanged));
}

}  // namespace
}  // namespace nlk::delta

namespace nlk::delta {
namespace {

// The SET values of UPDATE: arithmetic over columns and literals, with a lone literal taking
// the assigned column's type.
TEST(ValueExpression, ParsesArithmeticAndTypesLoneLiterals) {
  ASSERT_OK(InitializeArrowCompute());
  auto schema = SampleSchema();
  auto batch = Rows(10, 1)->Next().ValueOrDie();
  auto evaluate = [&](const std::string& text,
                      const std::shared_ptr<arrow::DataType>& type) -> arrow::Result<arrow::Datum> {
    ARROW_ASSIGN_OR_RAISE(auto expression, ParseValueExpression(text, *schema, type));
    ARROW_ASSIGN_OR_RAISE(auto bound, expression.Bind(*schema));
    return compute::ExecuteScalarExpression(bound, compute::ExecBatch(*batch));
  };
  ASSERT_OK_AND_ASSIGN(auto minus, evaluate("id - 1", arrow::int64()));
  EXPECT_EQ(minus.make_array()->GetScalar(0).ValueOrDie()->ToString(), "9");
  ASSERT_OK_AND_ASSIGN(auto nested, evaluate("(id + 2) * -3 / 4", arrow::int64()));
  EXPECT_EQ(nested.make_array()->GetScalar(0).ValueOrDie()->ToString(), "-9");
  ASSERT_OK_AND_ASSIGN(auto lone, evaluate("7", arrow::int32()));
  EXPECT_TRUE(lone.scalar()->type->Equals(*arrow::int32()));
  ASSERT_OK_AND_ASSIGN(auto negative, evaluate("-5", arrow::float64()));
  EXPECT_EQ(negative.scalar()->ToString(), "-5");
  auto time = ParseValueExpression("'2026-01-01 00:00:00'", *schema,
                                   arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"));
  ASSERT_OK(time.status());
  auto dangling = ParseValueExpression("id +", *schema, arrow::int64());
  ASSERT_FALSE(dangling.ok());
  EXPECT_NE(dangling.status().message().find("unexpected end of expression"), std::string::npos);
  EXPECT_FALSE(ParseValueExpression("nope * 2", *schema, arrow::int64()).ok());
  EXPECT_FALSE(ParseValueExpression("id id", *schema, arrow::int64()).ok());
  auto by_zero = evaluate("id / 0", arrow::int64());
  EXPECT_FALSE(by_zero.ok());
}

}  // namespace
}  // namespace nlk::delta
