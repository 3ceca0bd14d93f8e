// The scan handle of the table API (delta::TableScan): the snapshot it reads (latest, a
// version, a timestamp, one the caller holds), columns, filter, limit and a subset of files;
// bad requests fail with clear errors. Also the SQL engine's table interface over it
// (sql::DeltaTableProvider) and a provider of a program's own, plugged into a catalog.
#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/arrow_runtime.h"
#include "delta/data/scan.h"
#include "delta/table.h"
#include "sql/delta_table_provider.h"
#include "sql/memory_table_provider.h"
#include "sql/sql_engine.h"
#include "sql/table_catalog.h"
#include "test_status.h"

namespace nlk {
namespace {

namespace compute = arrow::compute;

std::shared_ptr<arrow::Schema> Schema() {
  return arrow::schema({arrow::field("id", arrow::int64()), arrow::field("site", arrow::utf8())});
}

std::shared_ptr<arrow::RecordBatchReader> Rows(int64_t first, int64_t count,
                                               const std::string& site) {
  arrow::Int64Builder ids;
  arrow::StringBuilder sites;
  for (int64_t i = 0; i < count; ++i) {
    EXPECT_TRUE(ids.Append(first + i).ok());
    EXPECT_TRUE(sites.Append(site).ok());
  }
  auto batch = arrow::RecordBatch::Make(Schema(), count,
                                        {ids.Finish().ValueOrDie(), sites.Finish().ValueOrDie()});
  return arrow::RecordBatchReader::Make({batch}, Schema()).ValueOrDie();
}

int64_t CountRows(const std::shared_ptr<delta::data::Scan>& scan) {
  return scan->ToTable().ValueOrDie()->num_rows();
}

class TableScanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(InitializeArrowCompute());
    root_ = std::filesystem::temp_directory_path() /
            ("nlk-table-scan-" + std::to_string(std::random_device{}()));
    std::filesystem::remove_all(root_);
    delta::CreateOptions options;
    options.partition_columns = {"site"};
    table_ = delta::Table::Create(root_.string(), Schema(), options, Rows(0, 10, "a")).ValueOrDie();
    ASSERT_TRUE(table_->Append(Rows(10, 5, "b")).ok());  // version 1: 15 rows in 2 files
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  std::filesystem::path root_;
  std::shared_ptr<delta::Table> table_;
};

TEST_F(TableScanTest, ReadsTheLatestSnapshotOrTheOneAsked) {
  EXPECT_EQ(CountRows(table_->NewScan().Plan().ValueOrDie()), 15);
  EXPECT_EQ(CountRows(table_->NewScan().Version(0).Plan().ValueOrDie()), 10);
  auto first = table_->log()->AtVersion(0).ValueOrDie();
  EXPECT_EQ(CountRows(table_->NewScan().Snapshot(first).Plan().ValueOrDie()), 10);
  // The latest version at or before that time: version 0 unless both commits share a millisecond.
  auto latest = table_->log()->Latest().ValueOrDie();
  EXPECT_EQ(CountRows(table_->NewScan().Timestamp(first->timestamp_ms()).Plan().ValueOrDie()),
            latest->timestamp_ms() > first->timestamp_ms() ? 10 : 15);
  // The last choice wins.
  EXPECT_EQ(CountRows(table_->NewScan().Snapshot(first).Version(1).Plan().ValueOrDie()), 15);
  auto missing = table_->NewScan().Version(7).Plan();
  EXPECT_FALSE(missing.ok());
}

TEST_F(TableScanTest, PushesColumnsFilterAndLimitAndReportsPruning) {
  auto scan = table_->NewScan()
                  .Columns({"id"})
                  .Filter(compute::equal(compute::field_ref("site"), compute::literal("b")))
                  .Plan()
                  .ValueOrDie();
  EXPECT_EQ(scan->schema()->num_fields(), 1);
  EXPECT_EQ(scan->schema()->field(0)->name(), "id");
  EXPECT_EQ(scan->files().size(), 1u);
  auto rows = scan->ToTable().ValueOrDie();
  EXPECT_EQ(rows->num_rows(), 5);
  EXPECT_EQ(scan->metrics().files_total, 2);
  EXPECT_EQ(scan->metrics().files_pruned_by_partition, 1);

  auto limited = table_->NewScan().Limit(3).Parallelism(1).Plan().ValueOrDie();
  EXPECT_EQ(CountRows(limited), 3);
  // No columns at all: only the row count matters.
  auto none = table_->NewScan().Columns({}).Plan().ValueOrDie();
  EXPECT_EQ(none->schema()->num_fields(), 0);
  EXPECT_EQ(CountRows(none), 15);
}

TEST_F(TableScanTest, ReadsOnlyTheFilesGiven) {
  auto snapshot = table_->log()->Latest().ValueOrDie();
  ASSERT_EQ(snapshot->files().size(), 2u);
  for (const auto& add : snapshot->files()) {
    auto scan = table_->NewScan().Snapshot(snapshot).Files({add}).Plan().ValueOrDie();
    ASSERT_EQ(scan->files().size(), 1u);
    EXPECT_EQ(scan->files()[0].path, add.path);
    EXPECT_EQ(CountRows(scan), add.partition_values.at("site") == "a" ? 10 : 5);
  }
}

TEST_F(TableScanTest, RefusesUnknownColumnsAndFilters) {
  auto column = table_->NewScan().Columns({"nope"}).Plan();
  ASSERT_FALSE(column.ok());
  EXPECT_NE(column.status().message().find("nope"), std::string::npos);
  auto filter = table_->NewScan()
                    .Filter(compute::equal(compute::field_ref("nope"), compute::literal(1)))
                    .Plan();
  EXPECT_FALSE(filter.ok());
}

TEST_F(TableScanTest, DeltaProviderScansThroughTheHandle) {
  auto snapshot = table_->log()->AtVersion(0).ValueOrDie();
  auto provider = sql::DeltaTableProvider::Make(table_, snapshot, "t @ v0").ValueOrDie();
  EXPECT_EQ(provider->description(), "t @ v0");
  EXPECT_TRUE(provider->schema()->Equals(*Schema()));
  sql::ScanRequest request;
  request.columns = {"site", "id"};
  request.filter = compute::greater_equal(compute::field_ref("id"), compute::literal(int64_t{7}));
  auto scan = provider->Scan(request).ValueOrDie();
  auto reader = scan->Read().ValueOrDie();
  EXPECT_EQ(reader->schema()->field(0)->name(), "site");
  auto rows = reader->ToTable().ValueOrDie();
  EXPECT_EQ(rows->num_rows(), 3);  // version 0 only: ids 7, 8, 9
  EXPECT_EQ(scan->metrics().files_total, 1);
  EXPECT_NE(scan->Details().find("1 total"), std::string::npos);

  request.columns = {"nope"};
  EXPECT_FALSE(provider->Scan(request).ok());
}

// A table of the program's own: the SQL engine asks it for the columns, filter and limit it
// pushes, and it answers from memory.
class RecordingProvider : public sql::TableProvider {
 public:
  explicit RecordingProvider(std::shared_ptr<arrow::Table> rows)
      : inner_(std::move(rows), "recording") {}
  std::shared_ptr<arrow::Schema> schema() const override { return inner_.schema(); }
  std::string description() const override { return "recording table"; }
  arrow::Result<std::shared_ptr<sql::PlannedScan>> Scan(
      const sql::ScanRequest& request) const override {
    requests.push_back(request);
    return inner_.Scan(request);
  }
  mutable std::vector<sql::ScanRequest> requests;

 private:
  sql::MemoryTableProvider inner_;
};

TEST(TableProviderTest, EngineUsesOnlyTheInterfaceAndPushesDown) {
  ASSERT_OK(InitializeArrowCompute());
  auto rows = arrow::Table::FromRecordBatchReader(Rows(0, 20, "a").get()).ValueOrDie();
  auto provider = std::make_shared<RecordingProvider>(rows);
  auto catalog = std::make_shared<sql::MapTableCatalog>();
  catalog->Register(
      "r", [provider]() -> arrow::Result<std::shared_ptr<sql::TableProvider>> { return provider; });
  sql::SqlEngine engine(catalog);
  auto result = engine.Execute("SELECT id FROM r WHERE id >= 15", {}).ValueOrDie();
  auto table = result.reader->ToTable().ValueOrDie();
  EXPECT_EQ(table->num_rows(), 5);
  ASSERT_EQ(provider->requests.size(), 1u);
  EXPECT_EQ(provider->requests[0].columns, std::vector<std::string>{"id"});
  ASSERT_TRUE(provider->requests[0].filter.has_value());
  EXPECT_NE(provider->requests[0].filter->ToString().find("id"), std::string::npos);
  EXPECT_EQ(result.metrics().rows_scanned, 20);

  auto explained = engine.Execute("EXPLAIN SELECT * FROM r", {}).ValueOrDie();
  auto plan = explained.reader->ToTable().ValueOrDie()->ToString();
  EXPECT_NE(plan.find("Scan r (recording table)"), std::string::npos) << plan;
}

}  // namespace
}  // namespace nlk
