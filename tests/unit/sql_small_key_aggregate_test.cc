// The small-key aggregate against Acero's hash aggregate on the same batches: the same groups
// and values, for keys in a narrow range, negative keys, keys too far apart to index directly,
// NULL keys, nulls and NaN among the values, and no rows.
#include "sql/small_key_aggregate.h"

#include <arrow/acero/exec_plan.h>
#include <arrow/acero/options.h>
#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/arrow_runtime.h"

namespace nlk::sql {
namespace {

namespace cp = arrow::compute;

struct Case {
  std::string name;
  std::function<int64_t(std::mt19937_64&)> key;  // the key of one row
  std::shared_ptr<arrow::DataType> key_type = arrow::int32();
  double null_key_share = 0.05;
};

std::shared_ptr<arrow::Schema> InputSchema(const std::shared_ptr<arrow::DataType>& key_type) {
  return arrow::schema({arrow::field("k", key_type), arrow::field("f", arrow::float32()),
                        arrow::field("d", arrow::float64()), arrow::field("i", arrow::int64()),
                        arrow::field("s", arrow::int16())});
}

// Batches of random rows: about 5 % nulls in every value column, some NaN among floats.
arrow::RecordBatchVector MakeBatches(const Case& test, std::mt19937_64& random, int batches,
                                     int rows) {
  auto schema = InputSchema(test.key_type);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  arrow::RecordBatchVector out;
  for (int batch = 0; batch < batches; ++batch) {
    std::unique_ptr<arrow::ArrayBuilder> keys;
    EXPECT_TRUE(arrow::MakeBuilder(arrow::default_memory_pool(), test.key_type, &keys).ok());
    arrow::FloatBuilder f;
    arrow::DoubleBuilder d;
    arrow::Int64Builder i;
    arrow::Int16Builder s;
    for (int row = 0; row < rows; ++row) {
      if (unit(random) < test.null_key_share) {
        EXPECT_TRUE(keys->AppendNull().ok());
      } else if (test.key_type->id() == arrow::Type::INT64) {
        EXPECT_TRUE(static_cast<arrow::Int64Builder&>(*keys).Append(test.key(random)).ok());
      } else {
        EXPECT_TRUE(static_cast<arrow::Int32Builder&>(*keys)
                        .Append(static_cast<int32_t>(test.key(random)))
                        .ok());
      }
      auto null = [&] { return unit(random) < 0.05; };
      double value = unit(random) * 200 - 100;
      if (null()) {
        EXPECT_TRUE(f.AppendNull().ok());
      } else {
        EXPECT_TRUE(f.Append(unit(random) < 0.01 ? std::nanf("") : static_cast<float>(value)).ok());
      }
      if (null()) {
        EXPECT_TRUE(d.AppendNull().ok());
      } else {
        EXPECT_TRUE(d.Append(unit(random) < 0.01 ? std::nan("") : value).ok());
      }
      if (null()) {
        EXPECT_TRUE(i.AppendNull().ok());
      } else {
        EXPECT_TRUE(i.Append(static_cast<int64_t>(value * 1000)).ok());
      }
      if (null()) {
        EXPECT_TRUE(s.AppendNull().ok());
      } else {
        EXPECT_TRUE(s.Append(static_cast<int16_t>(value)).ok());
      }
    }
    arrow::ArrayVector columns(5);
    EXPECT_TRUE(keys->Finish(&columns[0]).ok());
    EXPECT_TRUE(f.Finish(&columns[1]).ok());
    EXPECT_TRUE(d.Finish(&columns[2]).ok());
    EXPECT_TRUE(i.Finish(&columns[3]).ok());
    EXPECT_TRUE(s.Finish(&columns[4]).ok());
    out.push_back(arrow::RecordBatch::Make(schema, rows, std::move(columns)));
  }
  return out;
}

// The aggregate node the binder makes for
//   SELECT k, count(*), count(f), sum(f), avg(f), min(f), max(f), sum(d), avg(d), min(d), max(d),
//          avg(i), min(i), max(i), count(i), min(s), max(s), avg(s) GROUP BY k
LogicalOperator MakeNode(const std::shared_ptr<arrow::Schema>& input) {
  auto skip_nulls = std::make_shared<cp::ScalarAggregateOptions>(true, 1);
  auto only_valid = std::make_shared<cp::CountOptions>(cp::CountOptions::ONLY_VALID);
  LogicalOperator node;
  node.kind = LogicalOperator::Kind::kAggregate;
  node.keys = {"k"};
  auto add = [&](const std::string& function, const std::string& column) {
    std::string output = function + "_" + (column.empty() ? "all" : column);
    std::shared_ptr<cp::FunctionOptions> options =
        function == "count"       ? std::static_pointer_cast<cp::FunctionOptions>(only_valid)
        : function == "count_all" ? nullptr
                                  : std::static_pointer_cast<cp::FunctionOptions>(skip_nulls);
    node.aggregates.push_back({function, column, options, output});
  };
  add("count_all", "");
  for (const char* column : {"f", "d"}) {
    for (const char* function : {"count", "sum", "mean", "min", "max"}) add(function, column);
  }
  for (const char* function : {"mean", "min", "max", "count"}) add(function, "i");
  for (const char* function : {"min", "max", "mean"}) add(function, "s");
  arrow::FieldVector fields = {input->field(0)};
  for (const AggregateCall& call : node.aggregates) {
    std::shared_ptr<arrow::DataType> type;
    if (call.function == "count" || call.function == "count_all") {
      type = arrow::int64();
    } else if (call.function == "sum" || call.function == "mean") {
      type = arrow::float64();
    } else {
      type = input->GetFieldByName(call.input)->type();
    }
    fields.push_back(arrow::field(call.output, type));
  }
  node.schema = arrow::schema(fields);
  return node;
}

std::shared_ptr<arrow::Table> WithAcero(const arrow::RecordBatchVector& batches,
                                        const std::shared_ptr<arrow::Schema>& schema,
                                        const LogicalOperator& node) {
  auto table = arrow::Table::FromRecordBatches(schema, batches).ValueOrDie();
  std::vector<cp::Aggregate> aggregates;
  for (const AggregateCall& call : node.aggregates) {
    std::vector<arrow::FieldRef> targets;
    if (!call.input.empty()) targets.emplace_back(call.input);
    aggregates.emplace_back("hash_" + call.function, call.options, std::move(targets), call.output);
  }
  arrow::acero::Declaration plan = arrow::acero::Declaration::Sequence(
      {{"table_source", arrow::acero::TableSourceNodeOptions(table)},
       {"aggregate", arrow::acero::AggregateNodeOptions(std::move(aggregates), {"k"})}});
  auto result = arrow::acero::DeclarationToTable(std::move(plan), /*use_threads=*/false);
  EXPECT_TRUE(result.ok()) << result.status();
  return *result;
}

std::shared_ptr<arrow::Table> WithOperator(const arrow::RecordBatchVector& batches,
                                           const std::shared_ptr<arrow::Schema>& schema,
                                           const LogicalOperator& node) {
  auto input = arrow::RecordBatchReader::Make(batches, schema).ValueOrDie();
  auto reader = MakeSmallKeyAggregateReader(input, node, ExecutionGuard{});
  auto table = reader->ToTable();
  EXPECT_TRUE(table.ok()) << table.status();
  return *table;
}

// Rows keyed by their key's text, each a list of value texts; doubles compared to 9 digits
// (the order of additions differs).
std::map<std::string, std::vector<std::string>> Rows(const std::shared_ptr<arrow::Table>& table) {
  std::map<std::string, std::vector<std::string>> rows;
  auto combined = table->CombineChunksToBatch().ValueOrDie();
  const int key = combined->schema()->GetFieldIndex("k");
  for (int64_t row = 0; row < combined->num_rows(); ++row) {
    std::vector<std::string> values;
    for (int column = 0; column < combined->num_columns(); ++column) {
      auto scalar = combined->column(column)->GetScalar(row).ValueOrDie();
      if (scalar->is_valid && scalar->type->id() == arrow::Type::DOUBLE) {
        double value = static_cast<const arrow::DoubleScalar&>(*scalar).value;
        char text[64];
        std::snprintf(text, sizeof text, "%.9g", value);
        values.push_back(combined->schema()->field(column)->name() + "=" + text);
      } else {
        values.push_back(combined->schema()->field(column)->name() + "=" + scalar->ToString());
      }
    }
    rows[combined->column(key)->GetScalar(row).ValueOrDie()->ToString()] = values;
  }
  return rows;
}

// The keys in the order the groups come out.
std::vector<std::string> KeyOrder(const std::shared_ptr<arrow::Table>& table) {
  std::vector<std::string> keys;
  auto column = table->GetColumnByName("k");
  for (int64_t row = 0; row < column->length(); ++row) {
    keys.push_back(column->GetScalar(row).ValueOrDie()->ToString());
  }
  return keys;
}

class SmallKeyAggregateTest : public ::testing::TestWithParam<Case> {};

TEST_P(SmallKeyAggregateTest, AgreesWithAcero) {
  ASSERT_TRUE(InitializeArrowCompute().ok());
  const Case& test = GetParam();
  std::mt19937_64 random(42);
  auto schema = InputSchema(test.key_type);
  LogicalOperator node = MakeNode(schema);
  ASSERT_TRUE(SmallKeyAggregateApplies(node, *schema));
  // Small inputs are aggregated on one thread, larger ones (batches of 16 Ki rows and more)
  // on two, merged.
  for (auto [batches, rows] :
       std::vector<std::pair<int, int>>{{0, 2000}, {1, 2000}, {3, 2000}, {6, 20000}}) {
    auto input = MakeBatches(test, random, batches, rows);
    auto acero = WithAcero(input, schema, node);
    auto ours = WithOperator(input, schema, node);
    // Groups in order of first appearance, also when two threads aggregated them.
    std::vector<std::string> first_appearance;
    std::set<std::string> seen;
    for (const auto& batch : input) {
      for (int64_t row = 0; row < batch->num_rows(); ++row) {
        std::string key = batch->column(0)->GetScalar(row).ValueOrDie()->ToString();
        if (seen.insert(key).second) first_appearance.push_back(key);
      }
    }
    EXPECT_EQ(KeyOrder(ours), first_appearance) << test.name << ", " << batches << " batches";
    auto expected = Rows(acero);
    auto actual = Rows(ours);
    EXPECT_EQ(actual.size(), expected.size()) << test.name << ", " << batches << " batches";
    EXPECT_EQ(actual, expected) << test.name << ", " << batches << " batches";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Keys, SmallKeyAggregateTest,
    ::testing::Values(
        Case{"channels", [](std::mt19937_64& r) { return static_cast<int64_t>(r() % 64); }},
        Case{"negative", [](std::mt19937_64& r) { return static_cast<int64_t>(r() % 40) - 500; }},
        Case{"wide", [](std::mt19937_64& r) { return static_cast<int64_t>(r() % 200) * 1000; }},
        Case{"int64 limits",
             [](std::mt19937_64& r) {
               switch (r() % 3) {
                 case 0:
                   return std::numeric_limits<int64_t>::min();
                 case 1:
                   return std::numeric_limits<int64_t>::max();
                 default:
                   return static_cast<int64_t>(r() % 5);
               }
             },
             arrow::int64()},
        Case{"near int64 max",
             [](std::mt19937_64& r) {
               return std::numeric_limits<int64_t>::max() - static_cast<int64_t>(r() % 100);
             },
             arrow::int64()},
        Case{"no null keys", [](std::mt19937_64& r) { return static_cast<int64_t>(r() % 8); },
             arrow::int32(), 0.0}),
    [](const ::testing::TestParamInfo<Case>& info) {
      std::string name = info.param.name;
      for (char& c : name) {
        if (c == ' ') c = '_';
      }
      return name;
    });

TEST(SmallKeyAggregate, LeavesOtherAggregatesToAcero) {
  auto schema = InputSchema(arrow::int32());
  LogicalOperator node = MakeNode(schema);
  // Two keys.
  LogicalOperator two_keys = node;
  two_keys.keys = {"k", "s"};
  EXPECT_FALSE(SmallKeyAggregateApplies(two_keys, *schema));
  // A string key.
  auto strings = arrow::schema({arrow::field("k", arrow::utf8())});
  LogicalOperator counted;
  counted.kind = LogicalOperator::Kind::kAggregate;
  counted.keys = {"k"};
  counted.aggregates.push_back({"count_all", "", nullptr, "n"});
  counted.schema =
      arrow::schema({arrow::field("k", arrow::utf8()), arrow::field("n", arrow::int64())});
  EXPECT_FALSE(SmallKeyAggregateApplies(counted, *strings));
  // An integer sum (checked for overflow), a distinct count, other options.
  for (const char* function : {"sum_checked", "sum", "count_distinct", "stddev"}) {
    LogicalOperator other = node;
    other.aggregates = {
        {function, "i", std::make_shared<cp::ScalarAggregateOptions>(true, 1), "x"}};
    other.schema = arrow::schema({schema->field(0), arrow::field("x", arrow::float64())});
    EXPECT_FALSE(SmallKeyAggregateApplies(other, *schema)) << function;
  }
  LogicalOperator keep_nulls = node;
  keep_nulls.aggregates[2].options = std::make_shared<cp::ScalarAggregateOptions>(false, 1);
  EXPECT_FALSE(SmallKeyAggregateApplies(keep_nulls, *schema));
}

}  // namespace
}  // namespace nlk::sql
