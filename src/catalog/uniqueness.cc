#include "catalog/uniqueness.h"

#include <arrow/dataset/scanner.h>
#include <arrow/record_batch.h>
#include <arrow/scalar.h>

#include <unordered_set>

#include "catalog/inspection.h"
#include "delta/table.h"

namespace nlk::catalog {
namespace {

constexpr size_t kMaxExamples = 5;

// One row's key: each value with its length, so that no two different keys read alike.
arrow::Result<std::string> RowKey(const arrow::RecordBatch& batch, int64_t row) {
  std::string key;
  for (int column = 0; column < batch.num_columns(); ++column) {
    ARROW_ASSIGN_OR_RAISE(auto scalar, batch.column(column)->GetScalar(row));
    const std::string text = scalar->is_valid ? scalar->ToString() : std::string();
    key += scalar->is_valid ? std::to_string(text.size()) + ":" + text : std::string("N");
    key += '|';
  }
  return key;
}

std::string ShowKey(const arrow::RecordBatch& batch, int64_t row) {
  std::string shown;
  for (int column = 0; column < batch.num_columns(); ++column) {
    auto scalar = batch.column(column)->GetScalar(row);
    if (!shown.empty()) shown += ", ";
    shown += batch.schema()->field(column)->name() + "=" +
             (scalar.ok() && (*scalar)->is_valid ? (*scalar)->ToString() : "NULL");
  }
  return shown;
}

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenRows(const Table& table,
                                                                  const std::string& uri,
                                                                  int64_t sample_rows) {
  if (table.kind == TableKind::kDelta) {
    ARROW_ASSIGN_OR_RAISE(auto delta_table, delta::Table::Open(uri));
    delta::ReadOptions options;
    options.columns = table.unique_columns;
    options.limit = sample_rows;
    return delta_table->Read(options);
  }
  ARROW_ASSIGN_OR_RAISE(ParquetDataset opened, OpenParquetDataset(uri, table));
  ARROW_ASSIGN_OR_RAISE(auto builder, opened.dataset->NewScan());
  ARROW_RETURN_NOT_OK(builder->Project(table.unique_columns));
  ARROW_RETURN_NOT_OK(builder->UseThreads(false));
  ARROW_ASSIGN_OR_RAISE(auto scanner, builder->Finish());
  return scanner->ToRecordBatchReader();
}

}  // namespace

arrow::Result<UniquenessReport> CheckUniqueColumns(const Table& table,
                                                   const std::string& resolved_uri,
                                                   int64_t sample_rows) {
  if (table.unique_columns.empty()) {
    return arrow::Status::Invalid("table ", table.name.view(), " declares no unique_columns");
  }
  if (table.kind == TableKind::kFunction) {
    return arrow::Status::NotImplemented("function tables are not checked for uniqueness");
  }
  if (sample_rows < 1) return arrow::Status::Invalid("the sample must have at least one row");
  ARROW_ASSIGN_OR_RAISE(auto reader, OpenRows(table, resolved_uri, sample_rows));
  UniquenessReport report;
  std::unordered_set<std::string> seen;
  std::unordered_set<std::string> shown;
  while (report.rows_checked < sample_rows) {
    ARROW_ASSIGN_OR_RAISE(auto batch, reader->Next());
    if (batch == nullptr) break;
    const int64_t rows = std::min(batch->num_rows(), sample_rows - report.rows_checked);
    for (int64_t row = 0; row < rows; ++row) {
      ARROW_ASSIGN_OR_RAISE(std::string key, RowKey(*batch, row));
      if (seen.insert(key).second) continue;
      ++report.duplicate_rows;
      if (report.examples.size() < kMaxExamples && shown.insert(key).second) {
        report.examples.push_back(ShowKey(*batch, row));
      }
    }
    report.rows_checked += rows;
  }
  ARROW_RETURN_NOT_OK(reader->Close());
  return report;
}

}  // namespace nlk::catalog
