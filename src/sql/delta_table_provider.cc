#include "sql/delta_table_provider.h"

#include <sstream>
#include <utility>

#include "delta/data/scan.h"
#include "delta/data/schema.h"

namespace nlk::sql {
namespace {

class DeltaScan : public PlannedScan {
 public:
  explicit DeltaScan(std::shared_ptr<delta::data::Scan> scan) : scan_(std::move(scan)) {}

  arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> Read() override {
    return scan_->ToRecordBatchReader();
  }

  QueryMetrics metrics() const override {
    auto scanned = scan_->metrics();
    QueryMetrics metrics;
    metrics.files_total = scanned.files_total;
    metrics.files_pruned_by_partition = scanned.files_pruned_by_partition;
    metrics.files_skipped_by_stats = scanned.files_skipped_by_stats;
    metrics.files_skipped_by_limit = scanned.files_skipped_by_limit;
    metrics.files_read = scanned.files_read;
    metrics.row_groups_total = scanned.row_groups_total;
    metrics.row_groups_pruned = scanned.row_groups_pruned;
    metrics.rows_scanned = scanned.rows_read;
    metrics.bytes_scanned = scanned.bytes_read;
    return metrics;
  }

  std::string Details() const override {
    auto metrics = scan_->metrics();
    std::ostringstream text;
    text << "files: " << metrics.files_total << " total, " << metrics.files_pruned_by_partition
         << " pruned by partition, " << metrics.files_skipped_by_stats << " skipped by stats, "
         << metrics.files_skipped_by_limit << " skipped by limit, " << scan_->files().size()
         << " to read";
    if (metrics.files_read > 0) {
      text << "; row groups: " << metrics.row_groups_total << " total, "
           << metrics.row_groups_pruned << " pruned; rows read: " << metrics.rows_read
           << "; bytes read: " << metrics.bytes_read;
    }
    return text.str();
  }

 private:
  std::shared_ptr<delta::data::Scan> scan_;
};

}  // namespace

arrow::Result<std::shared_ptr<DeltaTableProvider>> DeltaTableProvider::Make(
    std::shared_ptr<delta::Table> table, std::shared_ptr<const delta::Snapshot> snapshot,
    std::optional<std::string> description) {
  std::shared_ptr<DeltaTableProvider> provider(new DeltaTableProvider());
  ARROW_ASSIGN_OR_RAISE(provider->schema_,
                        delta::data::ParseDeltaSchema(snapshot->metadata().schema_string));
  provider->description_ = description ? std::move(*description)
                                       : "delta " + snapshot->table_uri() + " @ version " +
                                             std::to_string(snapshot->version());
  provider->table_ = std::move(table);
  provider->snapshot_ = std::move(snapshot);
  return provider;
}

arrow::Result<std::shared_ptr<PlannedScan>> DeltaTableProvider::Scan(
    const ScanRequest& request) const {
  delta::TableScan scan = table_->NewScan();
  scan.Snapshot(snapshot_).Columns(request.columns).Cancellation([guard = request.guard] {
    return guard.Check();
  });
  if (request.filter) scan.Filter(*request.filter);
  if (request.limit) scan.Limit(*request.limit);
  ARROW_ASSIGN_OR_RAISE(auto planned, scan.Plan());
  return std::make_shared<DeltaScan>(std::move(planned));
}

}  // namespace nlk::sql
