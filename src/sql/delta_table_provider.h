// A Delta table at one snapshot as a SQL table: scans go through the table's scan handle
// (delta::TableScan), which takes the projection, filter and limit, prunes partitions, skips
// files and row groups by statistics, and reports what it pruned and read for EXPLAIN and the
// query's metrics.
//
// Thread-safety: immutable after Make; scans of one provider may run concurrently.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "delta/log/snapshot.h"
#include "delta/table.h"
#include "sql/table_provider.h"

namespace nlk::sql {

class DeltaTableProvider : public TableProvider {
 public:
  // `description` defaults to "delta <uri> @ version <v>".
  static arrow::Result<std::shared_ptr<DeltaTableProvider>> Make(
      std::shared_ptr<delta::Table> table, std::shared_ptr<const delta::Snapshot> snapshot,
      std::optional<std::string> description = std::nullopt);

  std::shared_ptr<arrow::Schema> schema() const override { return schema_; }
  std::string description() const override { return description_; }
  bool columnar() const override { return true; }
  arrow::Result<std::shared_ptr<PlannedScan>> Scan(const ScanRequest& request) const override;

  // The table and the snapshot this provider reads (write statements commit on top of it).
  const std::shared_ptr<delta::Table>& table() const { return table_; }
  const std::shared_ptr<const delta::Snapshot>& snapshot() const { return snapshot_; }

 private:
  DeltaTableProvider() = default;

  std::shared_ptr<delta::Table> table_;
  std::shared_ptr<const delta::Snapshot> snapshot_;
  std::shared_ptr<arrow::Schema> schema_;
  std::string description_;
};

}  // namespace nlk::sql
