// Reading the Parquet files given with --input as one stream of record batches.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>

#include <memory>
#include <string>
#include <vector>

namespace nlk::cli {

// All files must share one schema; the stream reads them in order, a row group at a time.
arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenParquetInputs(
    const std::vector<std::string>& paths);

}  // namespace nlk::cli
