#include "delta/data/page_selection.h"

#include <arrow/array/builder_binary.h>
#include <arrow/buffer.h>
#include <arrow/util/bit_util.h>
#include <parquet/arrow/reader.h>
#include <parquet/column_reader.h>
#include <parquet/exception.h>
#include <parquet/metadata.h>
#include <parquet/page_index.h>
#include <parquet/statistics.h>

#include <algorithm>

#include "delta/data/data_skipping.h"
#include "delta/data/statistics.h"

namespace nlk::delta::data {
namespace {

// One filter column's pages: where each starts and what it holds.
struct PagedColumn {
  const PageIndexColumn* column = nullptr;
  std::vector<int64_t> first_rows;
  std::vector<ColumnStatistics> pages;
  std::vector<bool> has_nulls;  // unknown counts as true
  std::vector<bool> all_null;
};

std::optional<PagedColumn> ReadPages(parquet::RowGroupPageIndexReader& index,
                                     const parquet::ColumnDescriptor& descriptor,
                                     const PageIndexColumn& column, int64_t group_rows) {
  std::shared_ptr<parquet::ColumnIndex> column_index = index.GetColumnIndex(column.leaf);
  std::shared_ptr<parquet::OffsetIndex> offset_index = index.GetOffsetIndex(column.leaf);
  if (column_index == nullptr || offset_index == nullptr) return std::nullopt;
  const auto& locations = offset_index->page_locations();
  const size_t count = locations.size();
  if (count == 0 || column_index->null_pages().size() != count ||
      column_index->encoded_min_values().size() != count ||
      column_index->encoded_max_values().size() != count ||
      (column_index->has_null_counts() && column_index->null_counts().size() != count)) {
    return std::nullopt;
  }
  PagedColumn paged;
  paged.column = &column;
  for (size_t page = 0; page < count; ++page) {
    paged.first_rows.push_back(locations[page].first_row_index);
    const int64_t end = page + 1 < count ? locations[page + 1].first_row_index : group_rows;
    const int64_t rows = end - locations[page].first_row_index;
    ColumnStatistics bounds;
    const bool all_null = column_index->null_pages()[page];
    const bool has_nulls =
        all_null || !column_index->has_null_counts() || column_index->null_counts()[page] > 0;
    if (!all_null) {
      auto statistics = parquet::Statistics::Make(
          &descriptor, column_index->encoded_min_values()[page],
          column_index->encoded_max_values()[page], rows, 0, 0, /*has_min_max=*/true,
          /*has_null_count=*/false, /*has_distinct_count=*/false);
      std::shared_ptr<arrow::Scalar> min;
      std::shared_ptr<arrow::Scalar> max;
      if (statistics != nullptr &&
          parquet::arrow::StatisticsAsScalars(*statistics, &min, &max).ok() && min && max) {
        const auto& type = column.logical_type;
        auto min_cast = min->type->Equals(*type) ? min : min->CastTo(type).ValueOr(nullptr);
        auto max_cast = max->type->Equals(*type) ? max : max->CastTo(type).ValueOr(nullptr);
        if (min_cast && max_cast) {
          bounds.min = std::move(min_cast);
          bounds.max = std::move(max_cast);
        }
      }
    }
    paged.pages.push_back(std::move(bounds));
    paged.has_nulls.push_back(has_nulls);
    paged.all_null.push_back(all_null);
  }
  if (paged.first_rows.front() != 0 ||
      !std::is_sorted(paged.first_rows.begin(), paged.first_rows.end())) {
    return std::nullopt;
  }
  return paged;
}

// Reads `ranges` of a flat column of physical type DType into arrays of `type`.
template <typename DType>
arrow::Result<arrow::ArrayVector> ReadFixedWidth(parquet::ColumnReader& reader,
                                                 const std::shared_ptr<arrow::DataType>& type,
                                                 const std::vector<RowRange>& ranges) {
  using Value = typename DType::c_type;
  auto& typed = static_cast<parquet::TypedColumnReader<DType>&>(reader);
  const int16_t max_definition = reader.descr()->max_definition_level();
  constexpr bool kBoolean = std::is_same_v<Value, bool>;
  arrow::ArrayVector arrays;
  int64_t position = 0;
  std::vector<int16_t> definitions;
  for (const RowRange& range : ranges) {
    if (range.begin > position) {
      const int64_t skipped = typed.Skip(range.begin - position);
      if (skipped != range.begin - position) {
        return arrow::Status::IOError("column chunk ended before row ", range.begin);
      }
    }
    const int64_t rows = range.size();
    ARROW_ASSIGN_OR_RAISE(auto values, arrow::AllocateBuffer(rows * sizeof(Value)));
    auto* data = reinterpret_cast<Value*>(values->mutable_data());
    definitions.assign(max_definition > 0 ? rows : 0, 0);
    int64_t levels_read = 0;
    int64_t values_read = 0;
    while (levels_read < rows) {
      int64_t batch_values = 0;
      int64_t levels = typed.ReadBatch(
          rows - levels_read, max_definition > 0 ? definitions.data() + levels_read : nullptr,
          nullptr, data + values_read, &batch_values);
      if (levels <= 0) return arrow::Status::IOError("column chunk ended before its last row");
      levels_read += levels;
      values_read += batch_values;
    }
    position = range.end;
    std::shared_ptr<arrow::Buffer> validity;
    int64_t null_count = 0;
    if (max_definition > 0 && values_read < rows) {
      // Spread the dense non-null values to their rows, back to front.
      ARROW_ASSIGN_OR_RAISE(auto bitmap, arrow::AllocateEmptyBitmap(rows));
      int64_t next_value = values_read;
      for (int64_t row = rows - 1; row >= 0; --row) {
        if (definitions[row] == max_definition) {
          data[row] = data[--next_value];
          arrow::bit_util::SetBit(bitmap->mutable_data(), row);
        } else {
          data[row] = Value{};
          ++null_count;
        }
      }
      validity = std::move(bitmap);
    }
    std::shared_ptr<arrow::Buffer> stored = std::move(values);
    if constexpr (kBoolean) {
      ARROW_ASSIGN_OR_RAISE(auto bits, arrow::AllocateEmptyBitmap(rows));
      for (int64_t row = 0; row < rows; ++row) {
        if (data[row]) arrow::bit_util::SetBit(bits->mutable_data(), row);
      }
      stored = std::move(bits);
    }
    arrays.push_back(arrow::MakeArray(
        arrow::ArrayData::Make(type, rows, {std::move(validity), std::move(stored)}, null_count)));
  }
  return arrays;
}

arrow::Result<arrow::ArrayVector> ReadByteArrays(parquet::ColumnReader& reader,
                                                 const std::shared_ptr<arrow::DataType>& type,
                                                 const std::vector<RowRange>& ranges) {
  auto& typed = static_cast<parquet::ByteArrayReader&>(reader);
  const int16_t max_definition = reader.descr()->max_definition_level();
  constexpr int64_t kChunk = 4096;
  std::vector<parquet::ByteArray> values(kChunk);
  std::vector<int16_t> definitions(kChunk);
  arrow::ArrayVector arrays;
  int64_t position = 0;
  for (const RowRange& range : ranges) {
    if (range.begin > position) {
      const int64_t skipped = typed.Skip(range.begin - position);
      if (skipped != range.begin - position) {
        return arrow::Status::IOError("column chunk ended before row ", range.begin);
      }
    }
    arrow::BinaryBuilder builder;  // the same layout as StringBuilder; the type is set below
    ARROW_RETURN_NOT_OK(builder.Reserve(range.size()));
    int64_t levels_read = 0;
    while (levels_read < range.size()) {
      int64_t batch_values = 0;
      // Values point into the current page, so each batch is copied before the next read.
      int64_t levels = typed.ReadBatch(std::min(kChunk, range.size() - levels_read),
                                       max_definition > 0 ? definitions.data() : nullptr, nullptr,
                                       values.data(), &batch_values);
      if (levels <= 0) return arrow::Status::IOError("column chunk ended before its last row");
      int64_t next_value = 0;
      for (int64_t level = 0; level < levels; ++level) {
        if (max_definition > 0 && definitions[level] != max_definition) {
          ARROW_RETURN_NOT_OK(builder.AppendNull());
          continue;
        }
        const parquet::ByteArray& value = values[next_value++];
        ARROW_RETURN_NOT_OK(builder.Append(value.ptr, static_cast<int32_t>(value.len)));
      }
      levels_read += levels;
    }
    position = range.end;
    std::shared_ptr<arrow::ArrayData> data;
    ARROW_RETURN_NOT_OK(builder.FinishInternal(&data));
    data->type = type;
    arrays.push_back(arrow::MakeArray(std::move(data)));
  }
  return arrays;
}

}  // namespace

std::optional<std::vector<RowRange>> SelectRowsByPageIndex(
    parquet::ParquetFileReader& file, int group, const arrow::compute::Expression& filter,
    const std::vector<PageIndexColumn>& columns) {
  const auto file_metadata = file.metadata();
  const int64_t group_rows = file_metadata->RowGroup(group)->num_rows();
  std::vector<PagedColumn> paged;
  try {
    std::shared_ptr<parquet::PageIndexReader> index = file.GetPageIndexReader();
    if (index == nullptr) return std::nullopt;
    std::shared_ptr<parquet::RowGroupPageIndexReader> group_index = index->RowGroup(group);
    if (group_index == nullptr) return std::nullopt;
    for (const PageIndexColumn& column : columns) {
      auto pages = ReadPages(*group_index, *file_metadata->schema()->Column(column.leaf), column,
                             group_rows);
      if (pages) paged.push_back(std::move(*pages));
    }
  } catch (const parquet::ParquetException&) {
    return std::nullopt;  // an unreadable page index only costs the pruning
  }
  if (paged.empty()) return std::nullopt;

  // Cut the row group where any filter column's page starts; within a piece each column's
  // bounds are those of one page.
  std::vector<int64_t> cuts = {group_rows};
  for (const PagedColumn& column : paged) {
    cuts.insert(cuts.end(), column.first_rows.begin(), column.first_rows.end());
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  std::vector<RowRange> selected;
  std::vector<size_t> page_of(paged.size(), 0);
  for (size_t cut = 0; cut + 1 < cuts.size(); ++cut) {
    const int64_t begin = cuts[cut];
    const int64_t end = cuts[cut + 1];
    if (begin >= group_rows) break;
    FileStatistics bounds;
    bounds.num_records = end - begin;
    for (size_t i = 0; i < paged.size(); ++i) {
      const PagedColumn& column = paged[i];
      while (page_of[i] + 1 < column.first_rows.size() &&
             column.first_rows[page_of[i] + 1] <= begin) {
        ++page_of[i];
      }
      ColumnStatistics piece = column.pages[page_of[i]];
      // A page's null count may not describe a piece of it; only "none" and "all" carry over.
      if (column.all_null[page_of[i]]) {
        piece.null_count = end - begin;
      } else if (!column.has_nulls[page_of[i]]) {
        piece.null_count = 0;
      }
      bounds.columns[{column.column->logical_name}] = std::move(piece);
    }
    if (!MightMatch(filter, bounds)) continue;
    if (!selected.empty() && selected.back().end == begin) {
      selected.back().end = end;
    } else {
      selected.push_back({begin, end});
    }
  }
  return selected;
}

bool CanReadRowRanges(const parquet::ColumnDescriptor& column, const arrow::DataType& type) {
  if (column.max_repetition_level() != 0 || column.max_definition_level() > 1) return false;
  const auto& logical = column.logical_type();
  const bool plain = logical == nullptr || logical->is_none();
  auto is_int = [&](int bits) {
    if (plain) return true;
    if (!logical->is_int()) return false;
    const auto& integer = static_cast<const parquet::IntLogicalType&>(*logical);
    return integer.bit_width() == bits && integer.is_signed();
  };
  switch (column.physical_type()) {
    case parquet::Type::INT32:
      if (type.id() == arrow::Type::INT32) return is_int(32);
      return type.id() == arrow::Type::DATE32 && !plain && logical->is_date();
    case parquet::Type::INT64: {
      if (type.id() == arrow::Type::INT64) return is_int(64);
      if (type.id() != arrow::Type::TIMESTAMP || plain || !logical->is_timestamp()) return false;
      const auto unit = static_cast<const parquet::TimestampLogicalType&>(*logical).time_unit();
      const auto arrow_unit = static_cast<const arrow::TimestampType&>(type).unit();
      return (unit == parquet::LogicalType::TimeUnit::MILLIS &&
              arrow_unit == arrow::TimeUnit::MILLI) ||
             (unit == parquet::LogicalType::TimeUnit::MICROS &&
              arrow_unit == arrow::TimeUnit::MICRO) ||
             (unit == parquet::LogicalType::TimeUnit::NANOS && arrow_unit == arrow::TimeUnit::NANO);
    }
    case parquet::Type::FLOAT:
      return type.id() == arrow::Type::FLOAT && plain;
    case parquet::Type::DOUBLE:
      return type.id() == arrow::Type::DOUBLE && plain;
    case parquet::Type::BOOLEAN:
      return type.id() == arrow::Type::BOOL && plain;
    case parquet::Type::BYTE_ARRAY:
      if (type.id() == arrow::Type::STRING) return !plain && logical->is_string();
      return type.id() == arrow::Type::BINARY && plain;
    default:
      return false;
  }
}

arrow::Result<arrow::ArrayVector> ReadRowRanges(parquet::RowGroupReader& group, int leaf,
                                                const std::shared_ptr<arrow::DataType>& type,
                                                const std::vector<RowRange>& ranges) {
  try {
    std::shared_ptr<parquet::ColumnReader> reader = group.Column(leaf);
    switch (reader->descr()->physical_type()) {
      case parquet::Type::INT32:
        return ReadFixedWidth<parquet::Int32Type>(*reader, type, ranges);
      case parquet::Type::INT64:
        return ReadFixedWidth<parquet::Int64Type>(*reader, type, ranges);
      case parquet::Type::FLOAT:
        return ReadFixedWidth<parquet::FloatType>(*reader, type, ranges);
      case parquet::Type::DOUBLE:
        return ReadFixedWidth<parquet::DoubleType>(*reader, type, ranges);
      case parquet::Type::BOOLEAN:
        return ReadFixedWidth<parquet::BooleanType>(*reader, type, ranges);
      case parquet::Type::BYTE_ARRAY:
        return ReadByteArrays(*reader, type, ranges);
      default:
        return arrow::Status::NotImplemented("reading row ranges of ", type->ToString());
    }
  } catch (const parquet::ParquetException& error) {
    return arrow::Status::IOError(error.what());
  }
}

}  // namespace nlk::delta::data
