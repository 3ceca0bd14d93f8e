// Schema enforcement and evolution for writes: does incoming data fit the table, and what is the
// table schema once new columns are merged in.
#pragma once

#include <arrow/result.h>
#include <arrow/table.h>

#include <memory>
#include <string>

#include "delta/data/column_mapping.h"

namespace nlk::delta::data {

// Checks `incoming` against the table's logical schema. Missing nullable columns are allowed
// (they are written as nulls); anything else is an error that lists, by column path, every
// missing non-nullable column, every column the table does not have, and every type mismatch.
arrow::Status CheckWriteSchema(const arrow::Schema& table_schema, const arrow::Schema& incoming);

// Checks `batch` and returns it reshaped to the table schema: columns reordered, missing
// nullable ones filled with nulls, types cast to the table's (e.g. timestamp units). Nulls in a
// non-nullable column are an error naming it.
//
// With `keep_string_dictionaries`, a top-level string column that arrives as
// dictionary<int32, string> is passed through undecoded (its field in the result has the
// dictionary type); otherwise, as any other type, it is cast to the table's.
arrow::Result<std::shared_ptr<arrow::RecordBatch>> ConformToTableSchema(
    const arrow::RecordBatch& batch, const arrow::Schema& table_schema,
    bool keep_string_dictionaries = false);

// Schema evolution: the table schema with every column of `incoming` it lacks appended (also
// inside structs), always nullable since existing files hold no values for them. Type mismatches
// on existing columns are an error. With column mapping, new columns get physical names and ids
// and `*max_column_id` is advanced (it must be non-null then). Returns the Delta schema string.
arrow::Result<std::string> MergeSchemas(const arrow::Schema& table_schema,
                                        const arrow::Schema& incoming, ColumnMappingMode mode,
                                        int64_t* max_column_id);

}  // namespace nlk::delta::data
