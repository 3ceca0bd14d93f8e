// An Arrow table held in memory as a SQL table: what programs register directly, what function
// tables (catalog functions run when a query names them) return, and what the query service
// serves for tables it keeps in memory. Scans filter and project the rows in an Acero plan.
//
// Thread-safety: immutable; scans of one provider may run concurrently.
#pragma once

#include <arrow/table.h>

#include <memory>
#include <string>

#include "sql/table_provider.h"

namespace nlk::sql {

class MemoryTableProvider : public TableProvider {
 public:
  MemoryTableProvider(std::shared_ptr<arrow::Table> table, std::string description)
      : table_(std::move(table)), description_(std::move(description)) {}

  std::shared_ptr<arrow::Schema> schema() const override { return table_->schema(); }
  std::string description() const override { return description_; }
  arrow::Result<std::shared_ptr<PlannedScan>> Scan(const ScanRequest& request) const override;

 private:
  std::shared_ptr<arrow::Table> table_;
  std::string description_;
};

}  // namespace nlk::sql
