// A table to change rows of, shared by the DELETE/UPDATE and MERGE tests: the sample schema
// (id, session, value, part), rows built from ids, and a test fixture that creates the table in
// a fresh local directory per test, in the row-change mode the test is instantiated with.
#pragma once

#include <arrow/api.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/arrow_runtime.h"
#include "delta/table.h"
#include "test_status.h"

namespace nlk::delta::dml_test {

inline std::shared_ptr<arrow::Schema> SampleSchema() {
  return arrow::schema({arrow::field("id", arrow::int64()), arrow::field("session", arrow::utf8()),
                        arrow::field("value", arrow::float64()),
                        arrow::field("part", arrow::int32())});
}

// Rows with the given ids: session "s<id / 100>", value id * scale, part id % 3.
inline std::shared_ptr<arrow::Table> SampleRows(const std::vector<int64_t>& ids,
                                                double scale = 0.5) {
  arrow::Int64Builder id_builder;
  arrow::StringBuilder sessions;
  arrow::DoubleBuilder values;
  arrow::Int32Builder parts;
  for (int64_t id : ids) {
    EXPECT_TRUE(id_builder.Append(id).ok());
    EXPECT_TRUE(sessions.Append("s" + std::to_string(id / 100)).ok());
    EXPECT_TRUE(values.Append(static_cast<double>(id) * scale).ok());
    EXPECT_TRUE(parts.Append(static_cast<int32_t>(id % 3)).ok());
  }
  return arrow::Table::Make(SampleSchema(),
                            {id_builder.Finish().ValueOrDie(), sessions.Finish().ValueOrDie(),
                             values.Finish().ValueOrDie(), parts.Finish().ValueOrDie()});
}

// The ids [first, end).
inline std::vector<int64_t> IdRange(int64_t first, int64_t end) {
  std::vector<int64_t> ids;
  for (int64_t id = first; id < end; ++id) ids.push_back(id);
  return ids;
}

inline std::shared_ptr<arrow::RecordBatchReader> Reader(const std::shared_ptr<arrow::Table>& rows) {
  return std::make_shared<arrow::TableBatchReader>(rows);
}

class RowChangeTest : public ::testing::TestWithParam<dml::RowChangeMode> {
 protected:
  void SetUp() override {
    ASSERT_OK(InitializeArrowCompute());
    root_ = std::filesystem::temp_directory_path() /
            ("nlk-row-change-" + std::to_string(std::random_device{}()));
    std::filesystem::remove_all(root_);
    uri_ = root_.string();
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  bool deletion_vectors() const { return GetParam() == dml::RowChangeMode::kDeletionVectors; }

  // A table with `files` appends of 100 rows each (ids 0..files*100), optionally partitioned
  // by `part`, with deletion vectors enabled in deletion-vector mode.
  std::shared_ptr<Table> MakeTable(int files, bool partitioned = false) {
    CreateOptions options;
    if (partitioned) options.partition_columns = {"part"};
    if (deletion_vectors()) options.properties["delta.enableDeletionVectors"] = "true";
    auto table = Table::Create(uri_, SampleSchema(), options).ValueOrDie();
    for (int i = 0; i < files; ++i) {
      EXPECT_TRUE(table->Append(Reader(SampleRows(IdRange(i * 100, i * 100 + 100)))).ok());
    }
    return table;
  }

  std::filesystem::path root_;
  std::string uri_;
};

}  // namespace nlk::delta::dml_test
