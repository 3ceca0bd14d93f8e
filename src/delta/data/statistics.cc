#include "delta/data/statistics.h"

#include <arrow/array.h>
#include <arrow/compute/api.h>
#include <arrow/util/bit_util.h>
#include <arrow/util/decimal.h>
#include <parquet/schema.h>
#include <parquet/statistics.h>

#include <charconv>
#include <cmath>

#include "common/json_writer.h"
#include "delta/data/array_conform.h"
#include "delta/data/compute_registry.h"
#include "delta/data/time_format.h"

namespace nlk::delta::data {
namespace {

bool HasMinMax(const arrow::DataType& type) {
  switch (type.id()) {
    case arrow::Type::INT8:
    case arrow::Type::INT16:
    case arrow::Type::INT32:
    case arrow::Type::INT64:
    case arrow::Type::FLOAT:
    case arrow::Type::DOUBLE:
    case arrow::Type::DECIMAL128:
    case arrow::Type::DATE32:
    case arrow::Type::TIMESTAMP:
    case arrow::Type::STRING:
    case arrow::Type::LARGE_STRING:
      return true;
    default:
      return false;
  }
}

int64_t ToMicros(int64_t value, arrow::TimeUnit::type unit) {
  switch (unit) {
    case arrow::TimeUnit::SECOND:
      return value * 1'000'000;
    case arrow::TimeUnit::MILLI:
      return value * 1'000;
    case arrow::TimeUnit::MICRO:
      return value;
    case arrow::TimeUnit::NANO:
      return value / 1'000 - (value % 1'000 < 0 ? 1 : 0);
  }
  return value;
}

// Byte length of the first `characters` UTF-8 code points of `text` (all of it if shorter).
size_t Utf8PrefixBytes(std::string_view text, int32_t characters) {
  size_t position = 0;
  for (int32_t i = 0; i < characters && position < text.size(); ++i) {
    ++position;
    while (position < text.size() && (static_cast<unsigned char>(text[position]) & 0xC0) == 0x80) {
      ++position;
    }
  }
  return position;
}

template <typename Float>
std::optional<std::string> FloatJson(Float value) {
  if (!std::isfinite(value)) return std::nullopt;
  if (value == 0) value = 0;  // -0 and +0 bound the same values; Parquet reports either
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

// The JSON text of a min (is_max=false) or max bound, or nullopt to omit it.
std::optional<std::string> BoundJson(const arrow::Scalar& scalar, bool is_max,
                                     const StatisticsOptions& options) {
  switch (scalar.type->id()) {
    case arrow::Type::INT8:
      return std::to_string(static_cast<const arrow::Int8Scalar&>(scalar).value);
    case arrow::Type::INT16:
      return std::to_string(static_cast<const arrow::Int16Scalar&>(scalar).value);
    case arrow::Type::INT32:
      return std::to_string(static_cast<const arrow::Int32Scalar&>(scalar).value);
    case arrow::Type::INT64:
      return std::to_string(static_cast<const arrow::Int64Scalar&>(scalar).value);
    case arrow::Type::FLOAT:
      return FloatJson(static_cast<const arrow::FloatScalar&>(scalar).value);
    case arrow::Type::DOUBLE:
      return FloatJson(static_cast<const arrow::DoubleScalar&>(scalar).value);
    case arrow::Type::DECIMAL128: {
      const auto& type = static_cast<const arrow::Decimal128Type&>(*scalar.type);
      return static_cast<const arrow::Decimal128Scalar&>(scalar).value.ToString(type.scale());
    }
    case arrow::Type::DATE32: {
      std::string json;
      AppendJsonString(&json, FormatDate(static_cast<const arrow::Date32Scalar&>(scalar).value));
      return json;
    }
    case arrow::Type::TIMESTAMP: {
      const auto& type = static_cast<const arrow::TimestampType&>(*scalar.type);
      int64_t micros =
          ToMicros(static_cast<const arrow::TimestampScalar&>(scalar).value, type.unit());
      // Millisecond text cannot hold the microseconds: round the maximum up to stay a bound.
      int64_t below_millisecond = ((micros % 1000) + 1000) % 1000;
      if (is_max && below_millisecond != 0) micros += 1000 - below_millisecond;
      std::string json;
      AppendJsonString(
          &json, FormatTimestamp(micros, type.timezone().empty() ? TimestampFormat::kIsoMillisLocal
                                                                 : TimestampFormat::kIsoMillisUtc));
      return json;
    }
    case arrow::Type::STRING:
    case arrow::Type::LARGE_STRING: {
      std::string_view text = static_cast<const arrow::BaseBinaryScalar&>(scalar).view();
      size_t prefix = Utf8PrefixBytes(text, options.string_prefix_length);
      std::string bound(text.substr(0, prefix));
      if (prefix < text.size() && is_max) {
        // prefix + U+10FFFF exceeds every string with that prefix whose next code point is
        // smaller; if the next one is U+10FFFF itself no short upper bound exists.
        static constexpr std::string_view kMaxCodePoint = "\xF4\x8F\xBF\xBF";
        if (text.substr(prefix).starts_with(kMaxCodePoint)) return std::nullopt;
        bound += kMaxCodePoint;
      }
      std::string json;
      AppendJsonString(&json, bound);
      return json;
    }
    default:
      return std::nullopt;
  }
}

// Whether a non-null value of `data` (float bits as Bits) is NaN or infinite. A float is finite
// exactly when its exponent bits are not all ones, which one branch-free pass over the bits
// tells for arrays without nulls.
template <typename Bits, Bits kExponent>
bool AnyNonFinite(const arrow::ArrayData& data) {
  const Bits* bits = data.GetValues<Bits>(1);
  if (data.GetNullCount() == 0) {
    int found = 0;
    for (int64_t i = 0; i < data.length; ++i) found |= (bits[i] & kExponent) == kExponent;
    return found != 0;
  }
  const uint8_t* validity = data.buffers[0]->data();
  for (int64_t i = 0; i < data.length; ++i) {
    if (arrow::bit_util::GetBit(validity, data.offset + i) && (bits[i] & kExponent) == kExponent) {
      return true;
    }
  }
  return false;
}

arrow::Result<bool> HasNonFinite(const arrow::Datum& column) {
  const arrow::Type::type id = column.type()->id();
  if (!arrow::is_floating(id)) return false;
  if ((id == arrow::Type::FLOAT || id == arrow::Type::DOUBLE) &&
      (column.is_array() || column.is_chunked_array())) {
    arrow::ArrayDataVector pieces;
    if (column.is_array()) {
      pieces.push_back(column.array());
    } else {
      for (const auto& chunk : column.chunked_array()->chunks()) pieces.push_back(chunk->data());
    }
    for (const auto& piece : pieces) {
      if (id == arrow::Type::FLOAT ? AnyNonFinite<uint32_t, 0x7f800000U>(*piece)
                                   : AnyNonFinite<uint64_t, 0x7ff0000000000000ULL>(*piece)) {
        return true;
      }
    }
    return false;
  }
  ARROW_ASSIGN_OR_RAISE(arrow::Datum finite, arrow::compute::CallFunction("is_finite", {column}));
  ARROW_ASSIGN_OR_RAISE(arrow::Datum all_finite, arrow::compute::CallFunction("all", {finite}));
  const auto& scalar = static_cast<const arrow::BooleanScalar&>(*all_finite.scalar());
  return scalar.is_valid && !scalar.value;
}

arrow::Result<bool> Less(const std::shared_ptr<arrow::Scalar>& left,
                         const std::shared_ptr<arrow::Scalar>& right) {
  ARROW_ASSIGN_OR_RAISE(arrow::Datum result, arrow::compute::CallFunction("less", {left, right}));
  const auto& scalar = static_cast<const arrow::BooleanScalar&>(*result.scalar());
  return scalar.is_valid && scalar.value;
}

enum class Section { kMin, kMax, kNullCount };

// The smallest and largest of the values seen, as views into arrays the caller keeps alive.
struct StringRange {
  std::string_view min;
  std::string_view max;
  bool any = false;

  void Add(std::string_view value) {
    if (!any) {
      min = max = value;
      any = true;
    } else if (value < min) {
      min = value;
    } else if (max < value) {
      max = value;
    }
  }
};

// The range of the valid values of `pieces`, each strings or dictionary<int32, string>. A
// dictionary piece adds the dictionary entries its valid rows reference, each once: its one
// entry if it has only one, else those marked in one pass over the indices. A piece of strings
// that repeats one value adds that value; other pieces of strings add every valid row.
arrow::Result<StringRange> StringRangeOf(const arrow::ArrayVector& pieces) {
  StringRange range;
  std::vector<uint8_t> referenced;
  for (const auto& piece : pieces) {
    if (piece->null_count() == piece->length()) continue;
    if (piece->type_id() == arrow::Type::STRING) {
      const auto& strings = static_cast<const arrow::StringArray&>(*piece);
      if (HoldsOneString(strings)) {
        range.Add(strings.GetView(0));
        continue;
      }
      for (int64_t i = 0; i < strings.length(); ++i) {
        if (strings.IsValid(i)) range.Add(strings.GetView(i));
      }
      continue;
    }
    if (!IsStringDictionary(*piece->type())) {
      return arrow::Status::TypeError("string statistics: a piece of type ",
                                      piece->type()->ToString());
    }
    const auto& encoded = static_cast<const arrow::DictionaryArray&>(*piece);
    const auto& dictionary = static_cast<const arrow::StringArray&>(*encoded.dictionary());
    const int64_t entries = dictionary.length();
    if (entries == 1) {
      if (dictionary.IsValid(0)) range.Add(dictionary.GetView(0));
      continue;
    }
    referenced.assign(static_cast<size_t>(entries), 0);
    const auto* indices = encoded.data()->GetValues<int32_t>(1);
    for (int64_t i = 0; i < encoded.length(); ++i) {
      if (!encoded.IsValid(i)) continue;
      if (indices[i] < 0 || indices[i] >= entries) {
        return arrow::Status::Invalid("string statistics: dictionary index ", indices[i],
                                      " out of ", entries, " entries");
      }
      referenced[static_cast<size_t>(indices[i])] = 1;
    }
    for (int64_t entry = 0; entry < entries; ++entry) {
      if (referenced[static_cast<size_t>(entry)] && dictionary.IsValid(entry)) {
        range.Add(dictionary.GetView(entry));
      }
    }
  }
  return range;
}

}  // namespace

struct StatisticsCollector::Leaf {
  std::string name;  // physical
  std::shared_ptr<arrow::DataType> type;
  std::vector<std::unique_ptr<Leaf>> children;  // struct fields
  int64_t null_count = 0;
  std::shared_ptr<arrow::Scalar> min;
  std::shared_ptr<arrow::Scalar> max;
  bool min_max_disabled = false;  // NaN or infinities seen
  // Row groups whose bounds ReadParquetBounds takes from the Parquet footer (top-level columns).
  std::vector<int> parquet_row_groups;
  // A top-level string column that the Parquet footer has no statistics for (see
  // MeasureStringBounds).
  bool strings_measured_here = false;

  bool is_struct() const { return type->id() == arrow::Type::STRUCT; }
  bool is_string() const {
    return type->id() == arrow::Type::STRING || type->id() == arrow::Type::LARGE_STRING;
  }

  // Widens the bounds to take in [low, high]; invalid or absent ends are ignored.
  arrow::Status Merge(const std::shared_ptr<arrow::Scalar>& low,
                      const std::shared_ptr<arrow::Scalar>& high) {
    if (low && low->is_valid) {
      ARROW_ASSIGN_OR_RAISE(bool smaller, min ? Less(low, min) : arrow::Result<bool>(true));
      if (smaller) min = low;
    }
    if (high && high->is_valid) {
      ARROW_ASSIGN_OR_RAISE(bool larger, max ? Less(max, high) : arrow::Result<bool>(true));
      if (larger) max = high;
    }
    return arrow::Status::OK();
  }

  arrow::Status Update(const std::shared_ptr<arrow::Array>& array) {
    if (is_struct()) {
      const auto& struct_array = static_cast<const arrow::StructArray&>(*array);
      for (size_t i = 0; i < children.size(); ++i) {
        // Flattening folds the parent's nulls into the child, as readers see them.
        ARROW_ASSIGN_OR_RAISE(auto child, struct_array.GetFlattenedField(static_cast<int>(i)));
        ARROW_RETURN_NOT_OK(children[i]->Update(child));
      }
      return arrow::Status::OK();
    }
    return UpdateValues(array, array->null_count(), array->length());
  }

  // A leaf that is not a struct, from the pieces of a row group at once: one pass of each
  // kernel instead of one per piece.
  arrow::Status Update(const std::shared_ptr<arrow::ChunkedArray>& pieces) {
    return UpdateValues(pieces, pieces->null_count(), pieces->length());
  }

  arrow::Status UpdateValues(const arrow::Datum& values, int64_t nulls, int64_t length) {
    null_count += nulls;
    if (!HasMinMax(*type) || min_max_disabled || nulls == length) {
      return arrow::Status::OK();
    }
    ARROW_ASSIGN_OR_RAISE(bool non_finite, HasNonFinite(values));
    if (non_finite) {
      min_max_disabled = true;
      min = max = nullptr;
      return arrow::Status::OK();
    }
    ARROW_ASSIGN_OR_RAISE(arrow::Datum min_max, arrow::compute::MinMax(values));
    const auto& pair = static_cast<const arrow::StructScalar&>(*min_max.scalar());
    return Merge(pair.value[0], pair.value[1]);
  }

  std::optional<std::string> Json(Section section, const StatisticsOptions& options) const {
    switch (section) {
      case Section::kMin:
        return min ? BoundJson(*min, false, options) : std::nullopt;
      case Section::kMax:
        return max ? BoundJson(*max, true, options) : std::nullopt;
      case Section::kNullCount:
        return std::to_string(null_count);
    }
    return std::nullopt;
  }
};

namespace {

arrow::Result<std::unique_ptr<StatisticsCollector::Leaf>> MakeLeaf(const arrow::Field& field,
                                                                   ColumnMappingMode mode) {
  auto leaf = std::make_unique<StatisticsCollector::Leaf>();
  ARROW_ASSIGN_OR_RAISE(leaf->name, PhysicalName(field, mode));
  leaf->type = field.type();
  if (leaf->is_struct()) {
    for (const auto& child : field.type()->fields()) {
      ARROW_ASSIGN_OR_RAISE(auto child_leaf, MakeLeaf(*child, mode));
      leaf->children.push_back(std::move(child_leaf));
    }
  }
  return leaf;
}

// Writes one section ("minValues", ...) and returns whether it wrote any member.
bool WriteSection(const std::vector<std::unique_ptr<StatisticsCollector::Leaf>>& leaves,
                  Section section, const StatisticsOptions& options, std::string* out) {
  JsonWriter writer;
  writer.BeginObject();
  bool any = false;
  for (const auto& leaf : leaves) {
    if (leaf->is_struct()) {
      std::string nested;
      if (WriteSection(leaf->children, section, options, &nested)) {
        writer.Key(leaf->name);
        writer.Raw(nested);
        any = true;
      }
    } else if (auto json = leaf->Json(section, options)) {
      writer.Key(leaf->name);
      writer.Raw(*json);
      any = true;
    }
  }
  writer.EndObject();
  *out = writer.Take();
  return any;
}

}  // namespace

StatisticsCollector::~StatisticsCollector() = default;

arrow::Result<std::unique_ptr<StatisticsCollector>> StatisticsCollector::Make(
    const arrow::Schema& schema, ColumnMappingMode mode, const StatisticsOptions& options) {
  ARROW_RETURN_NOT_OK(EnsureComputeFunctions());
  std::unique_ptr<StatisticsCollector> collector(new StatisticsCollector());
  collector->options_ = options;
  collector->schema_ = std::make_shared<arrow::Schema>(schema.fields());
  for (const auto& field : schema.fields()) {
    ARROW_ASSIGN_OR_RAISE(auto leaf, MakeLeaf(*field, mode));
    collector->roots_.push_back(std::move(leaf));
  }
  return collector;
}

arrow::Status StatisticsCollector::CheckColumns(const arrow::RecordBatch& batch) const {
  if (batch.num_columns() != static_cast<int>(roots_.size())) {
    return arrow::Status::Invalid("statistics: batch has ", batch.num_columns(),
                                  " columns, the file schema ", roots_.size());
  }
  return arrow::Status::OK();
}

arrow::Status StatisticsCollector::Update(const arrow::RecordBatch& batch) {
  ARROW_RETURN_NOT_OK(CheckColumns(batch));
  for (size_t i = 0; i < roots_.size(); ++i) {
    ARROW_RETURN_NOT_OK(roots_[i]->Update(batch.column(static_cast<int>(i))));
  }
  num_records_ += batch.num_rows();
  return arrow::Status::OK();
}

namespace {

template <typename Offset>
bool AnyLonger(const Offset* offsets, int64_t count, int64_t limit) {
  for (int64_t i = 0; i < count; ++i) {
    if (offsets[i + 1] - offsets[i] > limit) return true;
  }
  return false;
}

// Whether some string in `batches` (column `index`) is longer than `limit` bytes.
bool HasLongString(const std::vector<std::shared_ptr<arrow::RecordBatch>>& batches, int index,
                   int64_t limit) {
  for (const auto& batch : batches) {
    const arrow::ArrayData* column = batch->column_data(index).get();
    // A dictionary-encoded piece: its values are the dictionary's.
    const arrow::ArrayData& data =
        column->type->id() == arrow::Type::DICTIONARY ? *column->dictionary : *column;
    const bool longer = data.type->id() == arrow::Type::LARGE_STRING
                            ? AnyLonger(data.GetValues<int64_t>(1), data.length, limit)
                            : AnyLonger(data.GetValues<int32_t>(1), data.length, limit);
    if (longer) return true;
  }
  return false;
}

// Top-level columns whose bounds Parquet's column chunk statistics give exactly, as values of
// the column's own type: integers (Parquet's INT32 and INT64 keep their signed order), dates,
// floating point (Parquet leaves NaN out; the collector itself drops the bounds of a column
// with NaN or infinities), and timestamps in units every Parquet version stores unchanged.
bool BoundsFromParquetFooter(const arrow::DataType& type) {
  switch (type.id()) {
    case arrow::Type::INT8:
    case arrow::Type::INT16:
    case arrow::Type::INT32:
    case arrow::Type::INT64:
    case arrow::Type::DATE32:
    case arrow::Type::FLOAT:
    case arrow::Type::DOUBLE:
      return true;
    case arrow::Type::TIMESTAMP: {
      auto unit = static_cast<const arrow::TimestampType&>(type).unit();
      return unit == arrow::TimeUnit::MILLI || unit == arrow::TimeUnit::MICRO;
    }
    default:
      return false;
  }
}

using Bounds = std::pair<std::shared_ptr<arrow::Scalar>, std::shared_ptr<arrow::Scalar>>;

// The bounds of Parquet statistics of physical kind ParquetStatistics, as scalars of `type`.
template <typename ParquetStatistics>
arrow::Result<std::optional<Bounds>> TypedBounds(
    const std::shared_ptr<parquet::Statistics>& statistics,
    const std::shared_ptr<arrow::DataType>& type) {
  auto typed = std::dynamic_pointer_cast<ParquetStatistics>(statistics);
  if (typed == nullptr) return std::nullopt;
  ARROW_ASSIGN_OR_RAISE(auto low, arrow::MakeScalar(type, typed->min()));
  ARROW_ASSIGN_OR_RAISE(auto high, arrow::MakeScalar(type, typed->max()));
  return Bounds{std::move(low), std::move(high)};
}

// A column chunk's min and max as scalars of `type`, or nullopt when the chunk's statistics are
// not of the kind `type` is stored as (or the timestamp unit differs).
arrow::Result<std::optional<Bounds>> FooterBounds(
    const std::shared_ptr<parquet::Statistics>& statistics, const parquet::ColumnDescriptor& column,
    const std::shared_ptr<arrow::DataType>& type) {
  switch (type->id()) {
    case arrow::Type::STRING:
    case arrow::Type::LARGE_STRING: {
      auto typed = std::dynamic_pointer_cast<parquet::ByteArrayStatistics>(statistics);
      if (typed == nullptr) return std::nullopt;
      auto scalar = [&](const parquet::ByteArray& bytes) {
        return arrow::MakeScalar(type, arrow::Buffer::FromString(std::string(
                                           reinterpret_cast<const char*>(bytes.ptr), bytes.len)));
      };
      ARROW_ASSIGN_OR_RAISE(auto low, scalar(typed->min()));
      ARROW_ASSIGN_OR_RAISE(auto high, scalar(typed->max()));
      return Bounds{std::move(low), std::move(high)};
    }
    case arrow::Type::INT8:
    case arrow::Type::INT16:
    case arrow::Type::INT32:
    case arrow::Type::DATE32:
      return TypedBounds<parquet::Int32Statistics>(statistics, type);
    case arrow::Type::INT64:
      return TypedBounds<parquet::Int64Statistics>(statistics, type);
    case arrow::Type::FLOAT:
      return TypedBounds<parquet::FloatStatistics>(statistics, type);
    case arrow::Type::DOUBLE:
      return TypedBounds<parquet::DoubleStatistics>(statistics, type);
    case arrow::Type::TIMESTAMP: {
      const auto* logical =
          dynamic_cast<const parquet::TimestampLogicalType*>(column.logical_type().get());
      const auto unit = static_cast<const arrow::TimestampType&>(*type).unit();
      const bool same_unit =
          logical != nullptr && ((unit == arrow::TimeUnit::MILLI &&
                                  logical->time_unit() == parquet::LogicalType::TimeUnit::MILLIS) ||
                                 (unit == arrow::TimeUnit::MICRO &&
                                  logical->time_unit() == parquet::LogicalType::TimeUnit::MICROS));
      if (!same_unit) return std::nullopt;
      return TypedBounds<parquet::Int64Statistics>(statistics, type);
    }
    default:
      return std::nullopt;
  }
}

}  // namespace

arrow::Status StatisticsCollector::UpdateRowGroup(
    const std::vector<std::shared_ptr<arrow::RecordBatch>>& batches) {
  const int row_group = static_cast<int>(row_group_rows_.size());
  for (const auto& batch : batches) ARROW_RETURN_NOT_OK(CheckColumns(*batch));
  for (size_t i = 0; i < roots_.size(); ++i) {
    Leaf& leaf = *roots_[i];
    const int index = static_cast<int>(i);
    if (leaf.is_struct()) {
      for (const auto& batch : batches) ARROW_RETURN_NOT_OK(leaf.Update(batch->column(index)));
      continue;
    }
    if (leaf.strings_measured_here) {
      arrow::ArrayVector pieces;
      pieces.reserve(batches.size());
      for (const auto& batch : batches) {
        leaf.null_count += batch->column(index)->null_count();
        pieces.push_back(batch->column(index));
      }
      ARROW_ASSIGN_OR_RAISE(StringRange range, StringRangeOf(pieces));
      if (range.any) {
        auto scalar = [&](std::string_view value) {
          return arrow::MakeScalar(leaf.type, arrow::Buffer::FromString(std::string(value)));
        };
        ARROW_ASSIGN_OR_RAISE(auto low, scalar(range.min));
        ARROW_ASSIGN_OR_RAISE(auto high, scalar(range.max));
        ARROW_RETURN_NOT_OK(leaf.Merge(low, high));
      }
      continue;
    }
    const bool from_parquet =
        (leaf.is_string() && !HasLongString(batches, index, kParquetBoundLimit)) ||
        BoundsFromParquetFooter(*leaf.type);
    arrow::ArrayVector pieces;
    pieces.reserve(batches.size());
    for (const auto& batch : batches) {
      std::shared_ptr<arrow::Array> piece = batch->column(index);
      if (!from_parquet && piece->type_id() == arrow::Type::DICTIONARY) {
        // Strings kept dictionary-encoded (see ConformToTableSchema), measured here as strings.
        ARROW_ASSIGN_OR_RAISE(arrow::Datum decoded, arrow::compute::Cast(piece, leaf.type));
        piece = decoded.make_array();
      }
      pieces.push_back(std::move(piece));
    }
    auto column = std::make_shared<arrow::ChunkedArray>(std::move(pieces), leaf.type);
    if (!from_parquet) {
      ARROW_RETURN_NOT_OK(leaf.Update(column));
      continue;
    }
    leaf.null_count += column->null_count();
    if (!leaf.min_max_disabled) {
      // Parquet's bounds leave NaN out; the file's must not exist at all then.
      ARROW_ASSIGN_OR_RAISE(bool non_finite, HasNonFinite(column));
      if (non_finite) {
        leaf.min_max_disabled = true;
        leaf.min = leaf.max = nullptr;
      }
    }
    leaf.parquet_row_groups.push_back(row_group);
  }
  int64_t rows = 0;
  for (const auto& batch : batches) rows += batch->num_rows();
  num_records_ += rows;
  row_group_rows_.push_back(rows);
  return arrow::Status::OK();
}

arrow::Status StatisticsCollector::ReadParquetBounds(const parquet::FileMetaData& metadata) {
  const parquet::SchemaDescriptor& schema = *metadata.schema();
  bool same_row_groups = metadata.num_row_groups() == static_cast<int>(row_group_rows_.size());
  for (int i = 0; same_row_groups && i < metadata.num_row_groups(); ++i) {
    same_row_groups = metadata.RowGroup(i)->num_rows() == row_group_rows_[i];
  }
  for (const auto& root : roots_) {
    Leaf& leaf = *root;
    if (leaf.parquet_row_groups.empty()) continue;
    std::vector<int> row_groups = std::move(leaf.parquet_row_groups);
    leaf.parquet_row_groups.clear();
    const int column = schema.ColumnIndex(leaf.name);
    const bool found = column >= 0 && schema.Column(column)->path()->ToDotVector() ==
                                          std::vector<std::string>{leaf.name};
    for (int row_group : row_groups) {
      std::shared_ptr<parquet::Statistics> chunk;
      int64_t values = 0;
      if (found && same_row_groups) {
        auto chunk_metadata = metadata.RowGroup(row_group)->ColumnChunk(column);
        values = chunk_metadata->num_values();
        if (chunk_metadata->is_stats_set()) chunk = chunk_metadata->statistics();
      }
      std::optional<Bounds> bounds;
      if (chunk != nullptr && chunk->HasMinMax()) {
        ARROW_ASSIGN_OR_RAISE(bounds, FooterBounds(chunk, *schema.Column(column), leaf.type));
      }
      const bool only_nulls =
          chunk != nullptr && !chunk->HasMinMax() && chunk->null_count() == values;
      if (!bounds && !only_nulls) {
        // Without this row group's bounds the file's would be too narrow: none at all.
        leaf.min_max_disabled = true;
        leaf.min = leaf.max = nullptr;
        break;
      }
      if (!bounds) continue;  // only nulls
      const auto& [low, high] = *bounds;
      if (!leaf.min_max_disabled) ARROW_RETURN_NOT_OK(leaf.Merge(low, high));
    }
  }
  return arrow::Status::OK();
}

arrow::Status StatisticsCollector::MeasureStringBounds(const std::string& physical_name) {
  for (const auto& root : roots_) {
    if (root->name != physical_name) continue;
    if (root->type->id() != arrow::Type::STRING) {
      return arrow::Status::TypeError("statistics: column '", physical_name, "' is ",
                                      root->type->ToString(), ", not string");
    }
    root->strings_measured_here = true;
    return arrow::Status::OK();
  }
  return arrow::Status::KeyError("statistics: no top-level column '", physical_name, "'");
}

std::string StatisticsCollector::ToJson() const {
  JsonWriter writer;
  writer.BeginObject();
  writer.Key("numRecords");
  writer.Int(num_records_);
  std::string section;
  WriteSection(roots_, Section::kMin, options_, &section);
  writer.Key("minValues");
  writer.Raw(section);
  WriteSection(roots_, Section::kMax, options_, &section);
  writer.Key("maxValues");
  writer.Raw(section);
  WriteSection(roots_, Section::kNullCount, options_, &section);
  writer.Key("nullCount");
  writer.Raw(section);
  writer.EndObject();
  return writer.Take();
}

arrow::Result<std::string> ComputeStatisticsJson(const arrow::Table& data, ColumnMappingMode mode,
                                                 const StatisticsOptions& options) {
  ARROW_ASSIGN_OR_RAISE(auto collector, StatisticsCollector::Make(*data.schema(), mode, options));
  arrow::TableBatchReader reader(data);
  std::shared_ptr<arrow::RecordBatch> batch;
  while (true) {
    ARROW_RETURN_NOT_OK(reader.ReadNext(&batch));
    if (batch == nullptr) break;
    ARROW_RETURN_NOT_OK(collector->Update(*batch));
  }
  return collector->ToJson();
}

}  // namespace nlk::delta::data
