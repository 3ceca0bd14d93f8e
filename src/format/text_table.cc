#include "format/text_table.h"

#include <arrow/array.h>
#include <arrow/type.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "format/value_text.h"

namespace nlk::format {
namespace {

// Control characters would break the layout or drive the terminal: they are shown escaped, as
// \n, \r, \t or \xNN.
void AppendEscaped(std::string_view text, std::string* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (char character : text) {
    const auto byte = static_cast<unsigned char>(character);
    if (byte >= 0x20 && byte != 0x7f) {
      out->push_back(character);
    } else if (byte == '\n') {
      out->append("\\n");
    } else if (byte == '\r') {
      out->append("\\r");
    } else if (byte == '\t') {
      out->append("\\t");
    } else {
      out->append("\\x");
      out->push_back(kDigits[byte >> 4]);
      out->push_back(kDigits[byte & 0xF]);
    }
  }
}

arrow::Result<std::string> CellText(const arrow::Array& array, int64_t row) {
  if (IsNullValue(array, row)) return "NULL";
  std::string text;
  ARROW_RETURN_NOT_OK(AppendText(array, row, &text));
  std::string cell;
  AppendEscaped(text, &cell);
  return cell;
}

// The width of `text` on a terminal, counted in characters (UTF-8 lead bytes), not bytes.
size_t DisplayWidth(std::string_view text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char character) {
    return (static_cast<unsigned char>(character) & 0xC0) != 0x80;
  }));
}

}  // namespace

arrow::Status WriteTextTable(arrow::RecordBatchReader& reader, std::ostream& out) {
  auto schema = reader.schema();
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header;
  for (const auto& field : schema->fields()) {
    header.emplace_back();
    AppendEscaped(field->name(), &header.back());
  }
  std::vector<size_t> widths;
  for (const auto& name : header) widths.push_back(DisplayWidth(name));
  std::shared_ptr<arrow::RecordBatch> batch;
  while (true) {
    ARROW_RETURN_NOT_OK(reader.ReadNext(&batch));
    if (!batch) break;
    for (int64_t row = 0; row < batch->num_rows(); ++row) {
      std::vector<std::string> cells;
      for (int column = 0; column < batch->num_columns(); ++column) {
        ARROW_ASSIGN_OR_RAISE(std::string cell, CellText(*batch->column(column), row));
        widths[column] = std::max(widths[column], DisplayWidth(cell));
        cells.push_back(std::move(cell));
      }
      rows.push_back(std::move(cells));
    }
  }
  auto print_row = [&](const std::vector<std::string>& cells) {
    for (size_t i = 0; i < cells.size(); ++i) {
      out << (i ? " | " : "") << cells[i] << std::string(widths[i] - DisplayWidth(cells[i]), ' ');
    }
    out << '\n';
  };
  print_row(header);
  std::vector<std::string> rule;
  for (size_t width : widths) rule.push_back(std::string(width, '-'));
  print_row(rule);
  for (const auto& row : rows) print_row(row);
  out << "(" << rows.size() << (rows.size() == 1 ? " row)" : " rows)") << std::endl;
  return arrow::Status::OK();
}

}  // namespace nlk::format
