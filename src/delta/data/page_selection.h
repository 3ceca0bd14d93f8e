// Page-level pruning inside a Parquet row group, for selective scans.
//
// Row-group statistics leave a whole row group (102,400 rows by default) to decode for a point
// lookup. The Parquet page index (a column index with min/max/null counts per data page and an
// offset index with each page's first row) narrows that to the pages that may match:
// SelectRowsByPageIndex turns it into row ranges, and ReadRowRanges decodes only those rows of
// one column, skipping whole pages it does not need without decoding them. Arrow's Parquet
// reader has no row selection, so the second part reads flat columns of common types itself;
// anything else (nested, decimals, INT96, ...) is left to the caller's whole-row-group path.
#pragma once

#include <arrow/array.h>
#include <arrow/compute/expression.h>
#include <arrow/result.h>
#include <parquet/file_reader.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nlk::delta::data {

// Rows [begin, end) of a row group.
struct RowRange {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t size() const { return end - begin; }
};

// A column the filter refers to, as stored in the file.
struct PageIndexColumn {
  int leaf = -1;                                  // Parquet leaf column index
  std::string logical_name;                       // the name the filter uses
  std::shared_ptr<arrow::DataType> logical_type;  // bounds are cast to this type
};

// The rows of row group `group` whose pages may satisfy `filter` (unbound, logical names),
// merged and in order; an empty vector when none can. nullopt when no filter column has a
// page index, so nothing narrower than the row group is known.
std::optional<std::vector<RowRange>> SelectRowsByPageIndex(
    parquet::ParquetFileReader& file, int group, const arrow::compute::Expression& filter,
    const std::vector<PageIndexColumn>& columns);

// Whether ReadRowRanges reads `column` as `type` exactly as Arrow's reader would: flat columns
// (required or optional) of int32, date32, int64, timestamp (same unit as stored), float,
// double, boolean, string and binary.
bool CanReadRowRanges(const parquet::ColumnDescriptor& column, const arrow::DataType& type);

// The rows of `ranges` (ascending, disjoint) of leaf `leaf` in `group`, one array per range.
arrow::Result<arrow::ArrayVector> ReadRowRanges(parquet::RowGroupReader& group, int leaf,
                                                const std::shared_ptr<arrow::DataType>& type,
                                                const std::vector<RowRange>& ranges);

}  // namespace nlk::delta::data
