// Reshapes Arrow arrays to a target type, matching struct fields by name or by Parquet field id.
//
// This one routine serves both directions of column mapping and schema evolution: a scan
// conforms what a data file holds to the logical table schema (renaming physical to logical,
// filling columns the file lacks with nulls, widening types), and a write conforms incoming data
// to the table schema and then to the physical names the file is written with.
#pragma once

#include <arrow/array.h>
#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/type.h>

#include <memory>
#include <string>

namespace nlk::delta::data {

enum class MatchBy {
  kName,     // struct fields match when their names are equal
  kFieldId,  // ... when their "PARQUET:field_id" metadata is equal
};

// Returns the index of the field in `candidates` that `wanted` refers to, or -1.
int FindMatchingField(const arrow::FieldVector& candidates, const arrow::Field& wanted,
                      MatchBy match_by);

// Rebuilds `source` as an array of `target.type()`. `lookup` has the same shape as `target` and
// gives the names/ids to find each target struct field among the source's; struct fields the
// source lacks become nulls, extra source fields are dropped, and primitives of another type are
// cast (safely, except that timestamps may lose sub-microsecond digits). `column` names the
// column in errors.
arrow::Result<std::shared_ptr<arrow::Array>> ConformArray(
    const std::shared_ptr<arrow::Array>& source, const arrow::Field& target,
    const arrow::Field& lookup, MatchBy match_by, const std::string& column);

// Whether `type` is dictionary<int32, string>: the form in which a top-level string column's
// values may reach a streaming write undecoded (one dictionary and its indices per message),
// see ConformToTableSchema and WriteOptions::dictionary_strings.
bool IsStringDictionary(const arrow::DataType& type);

// Whether `array` is dictionary<int32, string> without null entries in its dictionary (a null
// there would be a null that the array's null count does not show).
bool HoldsStringDictionary(const arrow::Array& array);

// Whether every row of `strings` holds the same value (and none is null), told with one memcmp
// rather than a comparison per row: the common case of a stream's device or session column
// within one message.
bool HoldsOneString(const arrow::StringArray& strings);

// `schema` with each field's type replaced by the type of its column in `columns` (the first
// columns.size() fields), as a batch of dictionary-encoded strings needs; `schema` itself when
// every type already matches.
std::shared_ptr<arrow::Schema> WithColumnTypes(const std::shared_ptr<arrow::Schema>& schema,
                                               const arrow::ArrayVector& columns);

// Bytes that the rows of `data` (of `batch`) take in its buffers, as
// arrow::util::ReferencedBufferSize counts them: validity bitmaps and values for the rows'
// range, dictionaries in full. Computed from lengths and offsets for the flat types a streaming
// writer sees (fixed width, strings and binaries, dictionaries of them), without Arrow's walk of
// every referenced buffer range, which costs a few builders per call; other types take that
// walk.
arrow::Result<int64_t> RowBytes(const arrow::ArrayData& data);
arrow::Result<int64_t> RowBytes(const arrow::RecordBatch& batch);

}  // namespace nlk::delta::data
