// Rows as an aligned text table for a terminal: what `nlk table read` and `nlk sql` print by
// default.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/status.h>

#include <ostream>

namespace nlk::format {

// Reads all of `reader` and writes its rows under a header of column names, followed by the
// row count.
arrow::Status WriteTextTable(arrow::RecordBatchReader& reader, std::ostream& out);

}  // namespace nlk::format
