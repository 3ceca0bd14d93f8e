// Table::Merge (declared in delta/table.h): the table API's door to MERGE (merge.h).
#include <arrow/table.h>

#include "delta/dml/merge.h"
#include "delta/table.h"

namespace nlk::delta {

arrow::Result<dml::MergeResult> Table::Merge(
    const std::shared_ptr<arrow::RecordBatchReader>& source, const dml::MergeSpec& spec,
    const dml::DmlOptions& options) {
  return dml::MergeRows(log_, store_, source, spec, options);
}

arrow::Result<dml::MergeResult> Table::Merge(const std::shared_ptr<arrow::Table>& source,
                                             const dml::MergeSpec& spec,
                                             const dml::DmlOptions& options) {
  if (source == nullptr) return arrow::Status::Invalid("MERGE needs a source");
  return dml::MergeRows(log_, store_, std::make_shared<arrow::TableBatchReader>(source), spec,
                        options);
}

}  // namespace nlk::delta
