// Table::Delete and Table::Update (declared in delta/table.h): the table API's door to the
// row-level operations of row_level_operation.h.
#include "delta/dml/row_level_operation.h"
#include "delta/table.h"

namespace nlk::delta {

arrow::Result<dml::DmlResult> Table::Delete(
    const std::optional<arrow::compute::Expression>& predicate, const dml::DmlOptions& options) {
  return dml::DeleteRows(log_, store_, predicate, options);
}

arrow::Result<dml::DmlResult> Table::Update(
    const std::vector<dml::Assignment>& assignments,
    const std::optional<arrow::compute::Expression>& predicate, const dml::DmlOptions& options) {
  return dml::UpdateRows(log_, store_, assignments, predicate, options);
}

}  // namespace nlk::delta
