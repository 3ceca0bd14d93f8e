// Writing record batches out in the formats users ask for: JSON rows, CSV, Arrow IPC (stream
// and file) and Parquet. Shared by the command line and the query service. The text formats
// write each value as value_text.h describes (binary as hex, nested values as JSON, ...).
#pragma once

#include <arrow/io/interfaces.h>
#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/status.h>

#include <memory>
#include <string>
#include <string_view>

namespace nlk::format {

enum class OutputFormat { kJson, kNdjson, kCsv, kArrowStream, kArrowFile, kParquet };

// Accepts "json", "ndjson", "csv", "arrow" (stream), "arrow-file", "parquet".
arrow::Result<OutputFormat> ParseOutputFormat(std::string_view name);
std::string_view ContentType(OutputFormat format);

// Streams all batches of `reader` to `out` in `format`. JSON is an array of row objects
// ({"column": value, ...}); NDJSON is one such object per line. CSV (RFC 4180) has a header line
// of the quoted column names; NULL is an empty field, and strings, binary and nested values are
// always quoted, so an empty one ("") differs from NULL. Returns the number of rows.
arrow::Result<int64_t> WriteBatches(arrow::RecordBatchReader& reader, OutputFormat format,
                                    const std::shared_ptr<arrow::io::OutputStream>& out);

// Appends every row of `batch` as a JSON object followed by a newline.
arrow::Status AppendJsonRows(const arrow::RecordBatch& batch, std::string* out);

}  // namespace nlk::format
