// Parquet files (or any Arrow dataset) as a SQL table: scans go through Arrow Datasets, which
// take the projection and the filter (row groups are skipped by their statistics).
//
// Thread-safety: immutable; scans of one provider may run concurrently.
#pragma once

#include <arrow/dataset/dataset.h>

#include <memory>
#include <string>

#include "sql/table_provider.h"

namespace nlk::sql {

class DatasetTableProvider : public TableProvider {
 public:
  DatasetTableProvider(std::shared_ptr<arrow::dataset::Dataset> dataset, std::string description)
      : dataset_(std::move(dataset)), description_(std::move(description)) {}

  // A Parquet file or a directory of them (searched recursively), described as "parquet <uri>".
  // An IOError when there is neither at `uri`.
  static arrow::Result<std::shared_ptr<DatasetTableProvider>> Parquet(const std::string& uri);

  std::shared_ptr<arrow::Schema> schema() const override { return dataset_->schema(); }
  std::string description() const override { return description_; }
  bool columnar() const override { return true; }
  arrow::Result<std::shared_ptr<PlannedScan>> Scan(const ScanRequest& request) const override;

 private:
  std::shared_ptr<arrow::dataset::Dataset> dataset_;
  std::string description_;
};

}  // namespace nlk::sql
