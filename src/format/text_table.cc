#include "format/text_table.h"

#include <arrow/array.h>
#include <arrow/scalar.h>
#include <arrow/type.h>

#include <algorithm>
#include <iomanip>
#include <string>
#include <vector>

namespace nlk::format {
namespace {

std::string CellText(const arrow::Array& array, int64_t row) {
  if (array.IsNull(row)) return "NULL";
  auto scalar = array.GetScalar(row);
  if (!scalar.ok()) return "?";
  if ((*scalar)->type->id() == arrow::Type::STRING) {
    return std::string(static_cast<const arrow::StringScalar&>(**scalar).view());
  }
  return (*scalar)->ToString();
}

}  // namespace

arrow::Status WriteTextTable(arrow::RecordBatchReader& reader, std::ostream& out) {
  auto schema = reader.schema();
  std::vector<std::vector<std::string>> rows;
  std::vector<size_t> widths;
  for (const auto& field : schema->fields()) widths.push_back(field->name().size());
  std::shared_ptr<arrow::RecordBatch> batch;
  while (true) {
    ARROW_RETURN_NOT_OK(reader.ReadNext(&batch));
    if (!batch) break;
    for (int64_t row = 0; row < batch->num_rows(); ++row) {
      std::vector<std::string> cells;
      for (int column = 0; column < batch->num_columns(); ++column) {
        cells.push_back(CellText(*batch->column(column), row));
        widths[column] = std::max(widths[column], cells.back().size());
      }
      rows.push_back(std::move(cells));
    }
  }
  auto print_row = [&](const std::vector<std::string>& cells) {
    for (size_t i = 0; i < cells.size(); ++i) {
      out << (i ? " | " : "") << std::left << std::setw(static_cast<int>(widths[i])) << cells[i];
    }
    out << '\n';
  };
  std::vector<std::string> header;
  for (const auto& field : schema->fields()) header.push_back(field->name());
  print_row(header);
  std::vector<std::string> rule;
  for (size_t width : widths) rule.push_back(std::string(width, '-'));
  print_row(rule);
  for (const auto& row : rows) print_row(row);
  out << "(" << rows.size() << (rows.size() == 1 ? " row)" : " rows)") << std::endl;
  return arrow::Status::OK();
}

}  // namespace nlk::format
