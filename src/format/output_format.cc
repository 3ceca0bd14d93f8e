#include "format/output_format.h"

#include <arrow/array.h>
#include <arrow/ipc/writer.h>
#include <arrow/type.h>
#include <parquet/arrow/writer.h>

#include <string>
#include <vector>

#include "common/json_writer.h"
#include "format/value_text.h"

namespace nlk::format {
namespace {

// A batch's rows as JSON objects, each followed by `separator`. Each column is rendered on its
// own, value after value, and the rows are then assembled from those pieces and the keys escaped
// once per batch: formatting row by row re-escaped every key and dispatched on the type of every
// value, which was most of the time of a 19,200-row response.
arrow::Status AppendJsonObjects(const arrow::RecordBatch& batch, char separator, std::string* out) {
  const int columns = batch.num_columns();
  const int64_t rows = batch.num_rows();
  std::vector<std::string> prefixes(static_cast<size_t>(columns));
  std::vector<std::string> values(static_cast<size_t>(columns));
  std::vector<std::vector<size_t>> ends(static_cast<size_t>(columns));
  size_t total = 0;
  for (int column = 0; column < columns; ++column) {
    std::string& prefix = prefixes[static_cast<size_t>(column)];
    prefix = column == 0 ? "{" : ",";
    AppendJsonString(&prefix, batch.schema()->field(column)->name());
    prefix += ':';
    // No container is open, so the writer puts no separators between the values.
    JsonWriter writer;
    std::vector<size_t>& column_ends = ends[static_cast<size_t>(column)];
    column_ends.reserve(static_cast<size_t>(rows));
    const arrow::Array& array = *batch.column(column);
    for (int64_t row = 0; row < rows; ++row) {
      ARROW_RETURN_NOT_OK(AppendJsonValue(array, row, writer));
      column_ends.push_back(writer.str().size());
    }
    values[static_cast<size_t>(column)] = writer.Take();
    total += values[static_cast<size_t>(column)].size() + prefix.size() * static_cast<size_t>(rows);
  }
  out->reserve(out->size() + total + 2 * static_cast<size_t>(rows));
  for (int64_t row = 0; row < rows; ++row) {
    if (columns == 0) out->push_back('{');
    for (size_t column = 0; column < static_cast<size_t>(columns); ++column) {
      const size_t begin = row == 0 ? 0 : ends[column][static_cast<size_t>(row) - 1];
      out->append(prefixes[column]);
      out->append(values[column], begin, ends[column][static_cast<size_t>(row)] - begin);
    }
    out->push_back('}');
    out->push_back(separator);
  }
  return arrow::Status::OK();
}

arrow::Result<int64_t> WriteJson(arrow::RecordBatchReader& reader, bool lines,
                                 arrow::io::OutputStream& out) {
  int64_t rows = 0;
  if (!lines) ARROW_RETURN_NOT_OK(out.Write("[", 1));
  std::shared_ptr<arrow::RecordBatch> batch;
  while (true) {
    ARROW_RETURN_NOT_OK(reader.ReadNext(&batch));
    if (!batch) break;
    if (batch->num_rows() == 0) continue;
    // An array's elements are separated by commas: the batch's first row gets one before it
    // when rows came before, and its last row's comma is dropped.
    std::string text = !lines && rows > 0 ? "," : "";
    ARROW_RETURN_NOT_OK(AppendJsonObjects(*batch, lines ? '\n' : ',', &text));
    if (!lines) text.pop_back();
    rows += batch->num_rows();
    ARROW_RETURN_NOT_OK(out.Write(text.data(), static_cast<int64_t>(text.size())));
  }
  if (!lines) ARROW_RETURN_NOT_OK(out.Write("]", 1));
  return rows;
}

// Appends `text` as a CSV field in double quotes, doubling the quotes inside (RFC 4180).
void AppendQuoted(std::string_view text, std::string* out) {
  out->push_back('"');
  size_t start = 0;
  for (size_t quote = text.find('"'); quote != std::string_view::npos;
       quote = text.find('"', start)) {
    out->append(text, start, quote + 1 - start);
    out->push_back('"');
    start = quote + 1;
  }
  out->append(text, start);
  out->push_back('"');
}

// A batch's rows as CSV lines. As for JSON, each column is rendered on its own and the lines
// assembled from the pieces. NULL is an empty field; values that can hold commas, quotes or line
// breaks (strings, nested values) are always quoted, and binary too, so that an empty string or
// empty bytes ("") differ from NULL.
arrow::Status AppendCsvLines(const arrow::RecordBatch& batch, std::string* out) {
  const int columns = batch.num_columns();
  const int64_t rows = batch.num_rows();
  std::vector<std::string> values(static_cast<size_t>(columns));
  std::vector<std::vector<size_t>> ends(static_cast<size_t>(columns));
  size_t total = 0;
  std::string text;
  for (int column = 0; column < columns; ++column) {
    const arrow::Array& array = *batch.column(column);
    const bool quoted = QuotedInCsv(*array.type());
    std::string& column_values = values[static_cast<size_t>(column)];
    std::vector<size_t>& column_ends = ends[static_cast<size_t>(column)];
    column_ends.reserve(static_cast<size_t>(rows));
    for (int64_t row = 0; row < rows; ++row) {
      if (!IsNullValue(array, row)) {
        if (quoted) {
          text.clear();
          ARROW_RETURN_NOT_OK(AppendText(array, row, &text));
          AppendQuoted(text, &column_values);
        } else {
          ARROW_RETURN_NOT_OK(AppendText(array, row, &column_values));
        }
      }
      column_ends.push_back(column_values.size());
    }
    total += column_values.size();
  }
  out->reserve(out->size() + total + static_cast<size_t>(rows * columns));
  for (int64_t row = 0; row < rows; ++row) {
    for (size_t column = 0; column < static_cast<size_t>(columns); ++column) {
      if (column > 0) out->push_back(',');
      const size_t begin = row == 0 ? 0 : ends[column][static_cast<size_t>(row) - 1];
      out->append(values[column], begin, ends[column][static_cast<size_t>(row)] - begin);
    }
    out->push_back('\n');
  }
  return arrow::Status::OK();
}

// A header line of the column names, then one line per row.
arrow::Result<int64_t> WriteCsv(arrow::RecordBatchReader& reader, arrow::io::OutputStream& out) {
  std::string header;
  for (const auto& field : reader.schema()->fields()) {
    if (!header.empty()) header.push_back(',');
    AppendQuoted(field->name(), &header);
  }
  header.push_back('\n');
  ARROW_RETURN_NOT_OK(out.Write(header.data(), static_cast<int64_t>(header.size())));
  int64_t rows = 0;
  std::shared_ptr<arrow::RecordBatch> batch;
  while (true) {
    ARROW_RETURN_NOT_OK(reader.ReadNext(&batch));
    if (!batch) break;
    std::string text;
    ARROW_RETURN_NOT_OK(AppendCsvLines(*batch, &text));
    rows += batch->num_rows();
    ARROW_RETURN_NOT_OK(out.Write(text.data(), static_cast<int64_t>(text.size())));
  }
  return rows;
}

template <typename WriterFactory>
arrow::Result<int64_t> WriteWith(arrow::RecordBatchReader& reader, WriterFactory make_writer) {
  ARROW_ASSIGN_OR_RAISE(auto writer, make_writer());
  int64_t rows = 0;
  std::shared_ptr<arrow::RecordBatch> batch;
  while (true) {
    ARROW_RETURN_NOT_OK(reader.ReadNext(&batch));
    if (!batch) break;
    rows += batch->num_rows();
    ARROW_RETURN_NOT_OK(writer->WriteRecordBatch(*batch));
  }
  ARROW_RETURN_NOT_OK(writer->Close());
  return rows;
}

}  // namespace

arrow::Result<OutputFormat> ParseOutputFormat(std::string_view name) {
  if (name == "json") return OutputFormat::kJson;
  if (name == "ndjson") return OutputFormat::kNdjson;
  if (name == "csv") return OutputFormat::kCsv;
  if (name == "arrow" || name == "arrow-stream") return OutputFormat::kArrowStream;
  if (name == "arrow-file") return OutputFormat::kArrowFile;
  if (name == "parquet") return OutputFormat::kParquet;
  return arrow::Status::Invalid("unknown output format '", name,
                                "' (expected json, ndjson, csv, arrow, arrow-file or parquet)");
}

std::string_view ContentType(OutputFormat format) {
  switch (format) {
    case OutputFormat::kJson:
      return "application/json";
    case OutputFormat::kNdjson:
      return "application/x-ndjson";
    case OutputFormat::kCsv:
      return "text/csv";
    case OutputFormat::kArrowStream:
      return "application/vnd.apache.arrow.stream";
    case OutputFormat::kArrowFile:
      return "application/vnd.apache.arrow.file";
    case OutputFormat::kParquet:
      return "application/vnd.apache.parquet";
  }
  return "application/octet-stream";
}

arrow::Status AppendJsonRows(const arrow::RecordBatch& batch, std::string* out) {
  return AppendJsonObjects(batch, '\n', out);
}

arrow::Result<int64_t> WriteBatches(arrow::RecordBatchReader& reader, OutputFormat format,
                                    const std::shared_ptr<arrow::io::OutputStream>& out) {
  auto schema = reader.schema();
  switch (format) {
    case OutputFormat::kJson:
      return WriteJson(reader, false, *out);
    case OutputFormat::kNdjson:
      return WriteJson(reader, true, *out);
    case OutputFormat::kCsv:
      return WriteCsv(reader, *out);
    case OutputFormat::kArrowStream:
      return WriteWith(reader, [&] { return arrow::ipc::MakeStreamWriter(out, schema); });
    case OutputFormat::kArrowFile:
      return WriteWith(reader, [&] { return arrow::ipc::MakeFileWriter(out, schema); });
    case OutputFormat::kParquet:
      return WriteWith(reader, [&] {
        auto properties =
            parquet::WriterProperties::Builder().compression(parquet::Compression::SNAPPY)->build();
        return parquet::arrow::FileWriter::Open(*schema, arrow::default_memory_pool(), out,
                                                properties);
      });
  }
  return arrow::Status::Invalid("unknown output format");
}

}  // namespace nlk::format
