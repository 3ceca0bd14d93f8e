#include "sql/memory_table_provider.h"

#include <arrow/acero/exec_plan.h>
#include <arrow/acero/options.h>
#include <arrow/util/byte_size.h>

#include <atomic>
#include <utility>
#include <vector>

#include "sql/executor.h"

namespace nlk::sql {
namespace {

namespace acero = arrow::acero;
namespace compute = arrow::compute;

class MemoryScan : public PlannedScan {
 public:
  MemoryScan(std::shared_ptr<arrow::Table> table, ScanRequest request)
      : table_(std::move(table)), request_(std::move(request)) {}

  arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> Read() override {
    rows_ = table_->num_rows();
    bytes_ = arrow::util::TotalBufferSize(*table_);
    std::vector<acero::Declaration> steps = {
        acero::Declaration("table_source", acero::TableSourceNodeOptions(table_))};
    if (request_.filter) {
      steps.emplace_back("filter", acero::FilterNodeOptions(*request_.filter));
    }
    std::vector<compute::Expression> columns;
    for (const auto& column : request_.columns) columns.push_back(compute::field_ref(column));
    steps.emplace_back("project", acero::ProjectNodeOptions(columns, request_.columns));
    return RunPlan(acero::Declaration::Sequence(std::move(steps)), request_.guard.transient_pool(),
                   request_.guard);
  }

  QueryMetrics metrics() const override {
    QueryMetrics metrics;
    metrics.rows_scanned = rows_;
    metrics.bytes_scanned = bytes_;
    return metrics;
  }

 private:
  std::shared_ptr<arrow::Table> table_;
  ScanRequest request_;
  std::atomic<int64_t> rows_{0};
  std::atomic<int64_t> bytes_{0};
};

}  // namespace

arrow::Result<std::shared_ptr<PlannedScan>> MemoryTableProvider::Scan(
    const ScanRequest& request) const {
  return std::make_shared<MemoryScan>(table_, request);
}

}  // namespace nlk::sql
