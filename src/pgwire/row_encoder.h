// Query results as PostgreSQL sees them: the RowDescription of an Arrow schema (types chosen by
// ColumnTypeFor) and DataRow messages of Arrow batches, each column in the text or binary format
// the client asked for. Nested values (lists, structs, maps) are sent as json text, the same
// JSON the HTTP API writes.
//
// A RowEncoder holds one batch; not thread-safe. The functions are pure and thread-safe.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pgwire/wire_format.h"

namespace nlk::pgwire {

std::vector<ResultColumn> DescribeColumns(const arrow::Schema& schema);

class RowEncoder {
 public:
  // `binary[i]`: column i in binary format.
  static arrow::Result<RowEncoder> Make(const arrow::RecordBatch& batch,
                                        const std::vector<bool>& binary);

  // Appends the DataRow message of `row`.
  void AppendRow(int64_t row, std::string* out) const;

  // Appends one value's bytes (no length); only called for non-null values.
  using ValueWriter = std::function<void(int64_t row, std::string* out)>;

 private:
  struct Column {
    std::shared_ptr<arrow::Array> array;
    ValueWriter write;
  };
  std::vector<Column> columns_;
};

}  // namespace nlk::pgwire
