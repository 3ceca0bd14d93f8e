// MERGE on real local tables, in both modes: upserts, deletes of matched rows, insert-only
// merges that touch no file, NOT MATCHED BY SOURCE, the multiple-match error, deletion vectors
// merged with the ones files have, partition and statistics pruning from the source's keys,
// the commit Spark would write, and bad requests that leave the table unchanged.
#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/arrow_runtime.h"
#include "common/json_value.h"
#include "delta/data/deletion_vector.h"
#include "delta/dml/merge.h"
#include "delta/log/log_error.h"
#include "delta/table.h"
#include "delta_dml_fixture.h"
#include "test_status.h"

namespace nlk::delta {
namespace {

namespace compute = arrow::compute;
using dml::DmlOptions;
using dml::MergeAction;
using dml::MergeClause;
using dml::MergeClauseKind;
using dml::MergeResult;
using dml::MergeSpec;
using dml::RowChangeMode;

using dml_test::IdRange;
using dml_test::Reader;
using dml_test::SampleSchema;

std::shared_ptr<arrow::Table> Rows(const std::vector<int64_t>& ids, double scale = 0.5) {
  return dml_test::SampleRows(ids, scale);
}

std::vector<int64_t> Range(int64_t first, int64_t end) { return IdRange(first, end); }

compute::Expression T(const std::string& column) {
  return compute::field_ref(dml::TargetField(column));
}
compute::Expression S(const std::string& column) {
  return compute::field_ref(dml::SourceField(column));
}

MergeClause UpdateSet(std::vector<dml::Assignment> assignments,
                      std::optional<compute::Expression> condition = std::nullopt) {
  MergeClause clause;
  clause.kind = MergeClauseKind::kMatched;
  clause.action = MergeAction::kUpdate;
  clause.assignments = std::move(assignments);
  clause.condition = std::move(condition);
  return clause;
}

MergeClause Clause(MergeClauseKind kind, MergeAction action,
                   std::optional<compute::Expression> condition = std::nullopt,
                   std::string condition_text = "") {
  MergeClause clause;
  clause.kind = kind;
  clause.action = action;
  clause.all_columns = action != MergeAction::kDelete;
  clause.condition = std::move(condition);
  clause.condition_text = std::move(condition_text);
  return clause;
}

MergeSpec OnId(std::vector<MergeClause> clauses) {
  MergeSpec spec;
  spec.on = compute::equal(T("id"), S("id"));
  spec.on_text = "t.id = s.id";
  spec.clauses = std::move(clauses);
  return spec;
}

// id -> value, in id order.
std::map<int64_t, double> Contents(Table& table) {
  auto reader = table.Read({}).ValueOrDie();
  auto rows = arrow::Table::FromRecordBatchReader(reader.get()).ValueOrDie();
  std::map<int64_t, double> contents;
  for (const auto& batch : arrow::TableBatchReader(*rows)) {
    auto ids =
        std::static_pointer_cast<arrow::Int64Array>(batch.ValueOrDie()->GetColumnByName("id"));
    auto values =
        std::static_pointer_cast<arrow::DoubleArray>(batch.ValueOrDie()->GetColumnByName("value"));
    for (int64_t i = 0; i < ids->length(); ++i) {
      EXPECT_TRUE(contents.emplace(ids->Value(i), values->Value(i)).second)
          << "id " << ids->Value(i) << " twice";
    }
  }
  return contents;
}

class MergeTest : public dml_test::RowChangeTest {
 protected:
  DmlOptions Options() const {
    DmlOptions options;
    options.mode = GetParam();
    return options;
  }
};

TEST_P(MergeTest, UpsertUpdatesMatchedRowsAndInsertsTheRest) {
  auto table = MakeTable(3);
  // ids 250..349: 50 already there, 50 new; values negated.
  auto source = Rows(Range(250, 350), -1);
  ASSERT_OK_AND_ASSIGN(
      MergeResult result,
      table->Merge(source,
                   OnId({UpdateSet({{"value", S("value")}}),
                         Clause(MergeClauseKind::kNotMatched, MergeAction::kInsert)}),
                   Options()));
  EXPECT_TRUE(result.committed);
  EXPECT_EQ(result.source_rows, 100);
  EXPECT_EQ(result.rows_updated, 50);
  EXPECT_EQ(result.rows_matched_updated, 50);
  EXPECT_EQ(result.rows_inserted, 50);
  EXPECT_EQ(result.rows_deleted, 0);
  // The source's ids 250..349 rule out the files holding 0..99 and 100..199.
  EXPECT_EQ(result.files_total, 3);
  EXPECT_EQ(result.files_skipped_by_stats, 2);
  EXPECT_EQ(result.files_opened, 1);
  if (deletion_vectors()) {
    EXPECT_EQ(result.deletion_vectors_added, 1);
    EXPECT_EQ(result.files_removed, 0);
    EXPECT_EQ(result.rows_copied, 0);
  } else {
    EXPECT_EQ(result.files_removed, 1);
    EXPECT_EQ(result.rows_copied, 50);
  }
  auto contents = Contents(*table);
  ASSERT_EQ(contents.size(), 350u);
  for (const auto& [id, value] : contents) {
    EXPECT_DOUBLE_EQ(value, id >= 250 ? -static_cast<double>(id) : id * 0.5) << id;
  }
}

TEST_P(MergeTest, ConditionsPickTheFirstClauseThatHolds) {
  auto table = MakeTable(2);
  auto source = Rows(Range(90, 110), -1);
  // Matched rows with id < 95 are deleted, the other matched ones get value 7; source rows
  // with id >= 105 are inserted, the rest of the unmatched are not.
  ASSERT_OK_AND_ASSIGN(
      MergeResult result,
      table->Merge(source,
                   OnId({Clause(MergeClauseKind::kMatched, MergeAction::kDelete,
                                compute::less(S("id"), compute::literal(int64_t{95})), "s.id < 95"),
                         UpdateSet({{"value", compute::literal(7.0)}}),
                         Clause(MergeClauseKind::kNotMatched, MergeAction::kInsert,
                                compute::greater_equal(S("id"), compute::literal(int64_t{105})),
                                "s.id >= 105")}),
                   Options()));
  EXPECT_EQ(result.rows_matched_deleted, 5);
  EXPECT_EQ(result.rows_matched_updated, 15);
  EXPECT_EQ(result.rows_inserted, 0);  // the table already holds 0..199
  auto contents = Contents(*table);
  EXPECT_EQ(contents.size(), 195u);
  for (int64_t id = 90; id < 95; ++id) EXPECT_EQ(contents.count(id), 0u) << id;
  for (int64_t id = 95; id < 110; ++id) EXPECT_DOUBLE_EQ(contents[id], 7.0) << id;
  EXPECT_DOUBLE_EQ(contents[89], 44.5);
  EXPECT_DOUBLE_EQ(contents[110], 55.0);
}

TEST_P(MergeTest, InsertOnlyMergeTouchesNoExistingFile) {
  auto table = MakeTable(2);
  ASSERT_OK_AND_ASSIGN(auto before, table->SnapshotFor({}));
  auto source = Rows(Range(190, 210), -1);
  ASSERT_OK_AND_ASSIGN(
      MergeResult result,
      table->Merge(source, OnId({Clause(MergeClauseKind::kNotMatched, MergeAction::kInsert)}),
                   Options()));
  EXPECT_EQ(result.rows_inserted, 10);
  EXPECT_EQ(result.files_removed, 0);
  EXPECT_EQ(result.files_added, 1);
  EXPECT_EQ(result.deletion_vectors_added, 0);
  EXPECT_EQ(result.files_opened, 1);  // to find the matches, only the file holding 100..199
  ASSERT_OK_AND_ASSIGN(auto after, table->SnapshotFor({}));
  ASSERT_EQ(after->files().size(), 3u);
  for (const AddFile& old_file : before->files()) {
    bool kept = false;
    for (const AddFile& file : after->files()) {
      kept |= file.path == old_file.path && !file.deletion_vector;
    }
    EXPECT_TRUE(kept) << old_file.path;
  }
  auto contents = Contents(*table);
  EXPECT_EQ(contents.size(), 210u);
  EXPECT_DOUBLE_EQ(contents[195], 97.5);  // matched: left alone
  EXPECT_DOUBLE_EQ(contents[205], -205);
}

TEST_P(MergeTest, NotMatchedBySourceDeletesAndUpdatesTargetRowsTheSourceLacks) {
  auto table = MakeTable(3);
  auto source = Rows(Range(0, 50), -1);
  ASSERT_OK_AND_ASSIGN(
      MergeResult result,
      table->Merge(
          source,
          OnId({Clause(MergeClauseKind::kNotMatchedBySource, MergeAction::kDelete,
                       compute::less(T("id"), compute::literal(int64_t{100})), "t.id < 100"),
                [] {
                  MergeClause clause;
                  clause.kind = MergeClauseKind::kNotMatchedBySource;
                  clause.action = MergeAction::kUpdate;
                  clause.condition =
                      compute::greater_equal(T("id"), compute::literal(int64_t{250}));
                  clause.assignments = {{"value", compute::literal(1.0)}};
                  return clause;
                }()}),
          Options()));
  EXPECT_EQ(result.files_opened, 3);  // every file: rows the source lacks can be anywhere
  EXPECT_EQ(result.rows_not_matched_by_source_deleted, 50);
  EXPECT_EQ(result.rows_not_matched_by_source_updated, 50);
  auto contents = Contents(*table);
  EXPECT_EQ(contents.size(), 250u);
  EXPECT_EQ(contents.count(50), 0u);
  EXPECT_DOUBLE_EQ(contents[49], 24.5);  // matched, no MATCHED clause: unchanged
  EXPECT_DOUBLE_EQ(contents[150], 75);
  EXPECT_DOUBLE_EQ(contents[299], 1);
  // The file holding 100..199 had no change and stays as it was.
  EXPECT_EQ(result.files_removed + result.deletion_vectors_added, 2);
}

TEST_P(MergeTest, TwoSourceRowsMatchingOneTargetRowIsAnError) {
  auto table = MakeTable(1);
  auto source = Rows({5, 6, 5}, -1);
  auto refused = table->Merge(source, OnId({UpdateSet({{"value", S("value")}})}), Options());
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("more than one source row"), std::string::npos)
      << refused.status().ToString();
  ASSERT_OK_AND_ASSIGN(auto snapshot, table->SnapshotFor({}));
  EXPECT_EQ(snapshot->version(), 1);
  // An unconditional DELETE as the only MATCHED clause cannot conflict: Spark allows it.
  ASSERT_OK_AND_ASSIGN(
      MergeResult deleted,
      table->Merge(source, OnId({Clause(MergeClauseKind::kMatched, MergeAction::kDelete)}),
                   Options()));
  EXPECT_EQ(deleted.rows_deleted, 2);
  EXPECT_EQ(Contents(*table).size(), 98u);
}

TEST_P(MergeTest, DeletionVectorIsMergedWithTheOneAFileHas) {
  auto table = MakeTable(1);
  ASSERT_OK(table
                ->Delete(compute::less(compute::field_ref("id"), compute::literal(int64_t{10})),
                         Options())
                .status());
  auto source = Rows(Range(5, 15), -1);  // 5..9 already deleted: they cannot match
  ASSERT_OK_AND_ASSIGN(
      MergeResult result,
      table->Merge(source, OnId({Clause(MergeClauseKind::kMatched, MergeAction::kDelete)}),
                   Options()));
  EXPECT_EQ(result.rows_deleted, 5);
  ASSERT_OK_AND_ASSIGN(auto snapshot, table->SnapshotFor({}));
  ASSERT_EQ(snapshot->files().size(), 1u);
  if (deletion_vectors()) {
    EXPECT_EQ(result.deletion_vectors_updated, 1);
    ASSERT_TRUE(snapshot->files()[0].deletion_vector.has_value());
    EXPECT_EQ(snapshot->files()[0].deletion_vector->cardinality, 15);
  } else {
    EXPECT_FALSE(snapshot->files()[0].deletion_vector.has_value());
  }
  auto contents = Contents(*table);
  EXPECT_EQ(contents.size(), 85u);
  EXPECT_EQ(contents.begin()->first, 15);
}

TEST_P(MergeTest, PartitionedTargetOpensOnlyThePartitionsTheSourceNames) {
  auto table = MakeTable(2, /*partitioned=*/true);  // 6 files: parts 0, 1, 2 twice
  std::vector<int64_t> ids;
  for (int64_t id = 1; id < 400; id += 3) ids.push_back(id);  // part 1 only; 200.. are new
  auto source = Rows(ids, -1);
  MergeSpec spec = OnId({UpdateSet({{"value", S("value")}}),
                         Clause(MergeClauseKind::kNotMatched, MergeAction::kInsert)});
  spec.on = compute::and_(compute::equal(T("part"), S("part")), compute::equal(T("id"), S("id")));
  ASSERT_OK_AND_ASSIGN(MergeResult result, table->Merge(source, spec, Options()));
  EXPECT_EQ(result.files_total, 6);
  EXPECT_EQ(result.files_pruned_by_partition, 4);
  EXPECT_EQ(result.files_opened, 2);
  EXPECT_EQ(result.rows_updated, 67);
  EXPECT_EQ(result.rows_inserted, 133 - 67);
  auto contents = Contents(*table);
  EXPECT_EQ(contents.size(), 200u + 66u);
  for (const auto& [id, value] : contents) {
    EXPECT_DOUBLE_EQ(value, id % 3 == 1 ? -static_cast<double>(id) : id * 0.5) << id;
  }
}

TEST_P(MergeTest, PartitionColumnBeforeDataColumnsKeepsItsPlace) {
  CreateOptions options;
  options.partition_columns = {"session"};
  if (deletion_vectors()) options.properties["delta.enableDeletionVectors"] = "true";
  auto table =
      Table::Create(uri_, SampleSchema(), options, Reader(Rows(Range(0, 200)))).ValueOrDie();
  auto source = Rows({5, 150, 250}, -1);
  ASSERT_OK_AND_ASSIGN(
      MergeResult result,
      table->Merge(source,
                   OnId({UpdateSet({{"value", S("value")}}),
                         Clause(MergeClauseKind::kNotMatched, MergeAction::kInsert)}),
                   Options()));
  EXPECT_EQ(result.rows_updated, 2);
  EXPECT_EQ(result.rows_inserted, 1);
  auto reader = table->Read({}).ValueOrDie();
  auto rows = arrow::Table::FromRecordBatchReader(reader.get()).ValueOrDie();
  ASSERT_EQ(rows->num_rows(), 201);
  // Every row keeps its own session ("s<id / 100>") and value.
  for (const auto& batch : arrow::TableBatchReader(*rows)) {
    auto ids =
        std::static_pointer_cast<arrow::Int64Array>(batch.ValueOrDie()->GetColumnByName("id"));
    auto sessions = std::static_pointer_cast<arrow::StringArray>(
        batch.ValueOrDie()->GetColumnByName("session"));
    auto values =
        std::static_pointer_cast<arrow::DoubleArray>(batch.ValueOrDie()->GetColumnByName("value"));
    for (int64_t i = 0; i < ids->length(); ++i) {
      const int64_t id = ids->Value(i);
      EXPECT_EQ(sessions->GetString(i), "s" + std::to_string(id / 100)) << id;
      const bool merged = id == 5 || id == 150 || id == 250;
      EXPECT_DOUBLE_EQ(values->Value(i), merged ? -static_cast<double>(id) : id * 0.5) << id;
    }
  }
}

TEST_P(MergeTest, TargetOnlyConditionsOfOnPruneAndRestrictMatches) {
  auto table = MakeTable(2, /*partitioned=*/true);
  auto source = Rows(Range(0, 30), -1);  // every part
  MergeSpec spec = OnId({UpdateSet({{"value", S("value")}})});
  // Only part 2 of the target can match; the residual s.id < 20 is checked on each pair.
  spec.on = compute::and_({compute::equal(T("id"), S("id")),
                           compute::equal(T("part"), compute::literal(2)),
                           compute::less(S("id"), compute::literal(int64_t{20}))});
  ASSERT_OK_AND_ASSIGN(MergeResult result, table->Merge(source, spec, Options()));
  EXPECT_EQ(result.files_total, 6);
  EXPECT_EQ(result.files_opened, 1);  // part 2 of the first append (ids 0..99)
  EXPECT_EQ(result.rows_updated, 6);  // 2, 5, 8, 11, 14, 17
  auto contents = Contents(*table);
  for (int64_t id = 0; id < 30; ++id) {
    EXPECT_DOUBLE_EQ(contents[id], id % 3 == 2 && id < 20 ? -static_cast<double>(id) : id * 0.5)
        << id;
  }
}

TEST_P(MergeTest, CommitInfoRecordsTheMergeAsSparkDoes) {
  auto table = MakeTable(1);
  auto source = Rows(Range(95, 105), -1);
  ASSERT_OK_AND_ASSIGN(
      MergeResult result,
      table->Merge(source,
                   OnId({UpdateSet({{"value", S("value")}},
                                   compute::greater(S("id"), compute::literal(int64_t{96}))),
                         Clause(MergeClauseKind::kNotMatched, MergeAction::kInsert)}),
                   Options()));
  ASSERT_EQ(result.version, 2);
  ASSERT_OK_AND_ASSIGN(auto buffer, table->store()->Read("_delta_log/00000000000000000002.json"));
  std::string commit = buffer->ToString();
  ASSERT_OK_AND_ASSIGN(JsonValue info, ParseJson(commit.substr(0, commit.find('\n'))));
  const JsonValue* commit_info = info.Find("commitInfo");
  ASSERT_NE(commit_info, nullptr);
  EXPECT_EQ(commit_info->Find("operation")->string(), "MERGE");
  const JsonValue* parameters = commit_info->Find("operationParameters");
  EXPECT_EQ(parameters->Find("predicate")->string(), "[\"t.id = s.id\"]");
  EXPECT_NE(parameters->Find("matchedPredicates")->string().find("\"actionType\":\"update\""),
            std::string::npos);
  EXPECT_EQ(parameters->Find("notMatchedPredicates")->string(), "[{\"actionType\":\"insert\"}]");
  EXPECT_EQ(parameters->Find("notMatchedBySourcePredicates")->string(), "[]");
  const JsonValue* metrics = commit_info->Find("operationMetrics");
  EXPECT_EQ(metrics->Find("numSourceRows")->string(), "10");
  EXPECT_EQ(metrics->Find("numTargetRowsUpdated")->string(), "3");
  EXPECT_EQ(metrics->Find("numTargetRowsInserted")->string(), "5");
  EXPECT_EQ(metrics->Find("numTargetRowsCopied")->string(), deletion_vectors() ? "0" : "97");
  EXPECT_FALSE(commit_info->Find("isBlindAppend")->boolean());
}

TEST_P(MergeTest, BadRequestsLeaveTheTableUnchanged) {
  auto table = MakeTable(1);
  auto source = Rows(Range(0, 10), -1);
  auto insert_all = Clause(MergeClauseKind::kNotMatched, MergeAction::kInsert);

  MergeSpec no_equality = OnId({insert_all});
  no_equality.on = compute::less(T("id"), S("id"));
  auto refused = table->Merge(source, no_equality, Options());
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("no equality"), std::string::npos);

  auto unknown = table->Merge(source, OnId({UpdateSet({{"nope", S("value")}})}), Options());
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("unknown target column 'nope'"), std::string::npos);

  auto unknown_source = table->Merge(source, OnId({UpdateSet({{"value", S("nope")}})}), Options());
  EXPECT_FALSE(unknown_source.ok());

  auto wrong_type =
      table->Merge(source, OnId({UpdateSet({{"id", compute::literal("abc")}})}), Options());
  EXPECT_FALSE(wrong_type.ok());

  auto narrow =
      arrow::Table::Make(arrow::schema({arrow::field("id", arrow::int64())}), {source->column(0)});
  auto star = table->Merge(narrow, OnId({insert_all}), Options());
  ASSERT_FALSE(star.ok());
  EXPECT_NE(star.status().message().find("no column 'session'"), std::string::npos);

  auto wrong_action = table->Merge(
      source, OnId({Clause(MergeClauseKind::kMatched, MergeAction::kInsert)}), Options());
  EXPECT_FALSE(wrong_action.ok());

  auto by_source_star = table->Merge(
      source, OnId({Clause(MergeClauseKind::kNotMatchedBySource, MergeAction::kUpdate)}),
      Options());
  ASSERT_FALSE(by_source_star.ok());
  EXPECT_NE(by_source_star.status().message().find("UPDATE SET *"), std::string::npos);

  auto unreachable =
      table->Merge(source,
                   OnId({Clause(MergeClauseKind::kMatched, MergeAction::kDelete),
                         UpdateSet({{"value", S("value")}}, compute::literal(true))}),
                   Options());
  EXPECT_FALSE(unreachable.ok());

  ASSERT_OK_AND_ASSIGN(auto snapshot, table->SnapshotFor({}));
  EXPECT_EQ(snapshot->version(), 1);
  EXPECT_EQ(Contents(*table).size(), 100u);
}

TEST_P(MergeTest, KeysOfAnotherTypeAreComparedAsSQLDoes) {
  auto table = MakeTable(1);
  // The source's key is an int32; values 10 and 1000 (no match).
  auto schema =
      arrow::schema({arrow::field("key", arrow::int32()), arrow::field("v", arrow::float64())});
  arrow::Int32Builder keys;
  arrow::DoubleBuilder values;
  ASSERT_OK(keys.AppendValues({10, 1000}));
  ASSERT_OK(values.AppendValues({-1.0, -2.0}));
  auto source =
      arrow::Table::Make(schema, {keys.Finish().ValueOrDie(), values.Finish().ValueOrDie()});
  MergeSpec spec;
  spec.on = compute::equal(T("id"), S("key"));
  spec.clauses = {UpdateSet({{"value", S("v")}})};
  ASSERT_OK_AND_ASSIGN(MergeResult result, table->Merge(source, spec, Options()));
  EXPECT_EQ(result.rows_updated, 1);
  EXPECT_DOUBLE_EQ(Contents(*table)[10], -1.0);
}

TEST_P(MergeTest, InsertWithAColumnListLeavesTheOthersNullAndHonoursNotNull) {
  auto schema = arrow::schema({arrow::field("id", arrow::int64(), /*nullable=*/false),
                               arrow::field("session", arrow::utf8()),
                               arrow::field("value", arrow::float64()),
                               arrow::field("part", arrow::int32())});
  CreateOptions options;
  if (deletion_vectors()) options.properties["delta.enableDeletionVectors"] = "true";
  auto table = Table::Create(uri_, schema, options).ValueOrDie();
  auto source = Rows({1, 2}, -1);
  MergeClause insert;
  insert.kind = MergeClauseKind::kNotMatched;
  insert.action = MergeAction::kInsert;
  insert.assignments = {{"value", S("value")}};
  auto refused = table->Merge(source, OnId({insert}), Options());
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("'id' is NOT NULL"), std::string::npos)
      << refused.status().ToString();
  insert.assignments = {{"id", compute::call("multiply", {S("id"), compute::literal(int64_t{10})})},
                        {"value", S("value")}};
  ASSERT_OK_AND_ASSIGN(MergeResult result, table->Merge(source, OnId({insert}), Options()));
  EXPECT_EQ(result.rows_inserted, 2);
  auto reader = table->Read({}).ValueOrDie();
  auto rows = arrow::Table::FromRecordBatchReader(reader.get()).ValueOrDie();
  ASSERT_EQ(rows->num_rows(), 2);
  EXPECT_EQ(rows->GetColumnByName("session")->null_count(), 2);
  EXPECT_EQ(rows->GetColumnByName("part")->null_count(), 2);
  auto contents = Contents(*table);
  EXPECT_DOUBLE_EQ(contents[10], -1);
  EXPECT_DOUBLE_EQ(contents[20], -2);
}

// A commit landing between the merge's read and its commit, decided by delta-spark's rules.
class MergeConflictTest : public MergeTest {
 protected:
  arrow::Result<MergeResult> Race(Table& table, const std::shared_ptr<arrow::Table>& source,
                                  const MergeSpec& spec,
                                  const std::function<arrow::Status()>& concurrent) {
    DmlOptions options = Options();
    arrow::Status concurrent_status;
    options.before_commit = [&] { concurrent_status = concurrent(); };
    auto result = table.Merge(source, spec, options);
    EXPECT_TRUE(concurrent_status.ok()) << concurrent_status.ToString();
    return result;
  }
};

TEST_P(MergeConflictTest, UpsertLosesToADeleteOfAFileItRead) {
  auto table = MakeTable(2, /*partitioned=*/true);
  auto source = Rows(Range(0, 10), -1);
  auto result = Race(
      *table, source,
      OnId({UpdateSet({{"value", S("value")}}),
            Clause(MergeClauseKind::kNotMatched, MergeAction::kInsert)}),
      [&] {
        return table->Delete(compute::equal(compute::field_ref("id"), compute::literal(int64_t{4})))
            .status();
      });
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(IsConcurrentModification(result.status())) << result.status().ToString();
  // The winner's delete stands; nothing of the merge was committed.
  auto contents = Contents(*table);
  EXPECT_EQ(contents.size(), 199u);
  EXPECT_DOUBLE_EQ(contents[3], 1.5);
}

TEST_P(MergeConflictTest, MergeAndChangesToPartitionsItDidNotReadBothCommit) {
  auto table = MakeTable(2, /*partitioned=*/true);
  std::vector<int64_t> ids = {0, 3, 6, 300};  // part 0 only
  MergeSpec spec = OnId({UpdateSet({{"value", S("value")}}),
                         Clause(MergeClauseKind::kNotMatched, MergeAction::kInsert)});
  spec.on = compute::and_(compute::equal(T("part"), S("part")), compute::equal(T("id"), S("id")));
  auto result = Race(*table, Rows(ids, -1), spec, [&] {
    return table->Delete(compute::equal(compute::field_ref("part"), compute::literal(1))).status();
  });
  ASSERT_OK(result.status());
  auto contents = Contents(*table);
  EXPECT_EQ(contents.size(), 200u - 67 + 1);
  EXPECT_DOUBLE_EQ(contents[3], -3);
  EXPECT_DOUBLE_EQ(contents[300], -300);
}

INSTANTIATE_TEST_SUITE_P(Modes, MergeConflictTest,
                         ::testing::Values(RowChangeMode::kCopyOnWrite,
                                           RowChangeMode::kDeletionVectors),
                         [](const auto& info) {
                           return info.param == RowChangeMode::kCopyOnWrite ? "CopyOnWrite"
                                                                            : "DeletionVectors";
                         });

INSTANTIATE_TEST_SUITE_P(Modes, MergeTest,
                         ::testing::Values(RowChangeMode::kCopyOnWrite,
                                           RowChangeMode::kDeletionVectors),
                         [](const auto& info) {
                           return info.param == RowChangeMode::kCopyOnWrite ? "CopyOnWrite"
                                                                            : "DeletionVectors";
                         });

}  // namespace
}  // namespace nlk::delta
