#include "delta/data/array_conform.h"

#include <arrow/array/util.h>
#include <arrow/compute/api.h>
#include <arrow/util/byte_size.h>
#include <arrow/util/key_value_metadata.h>

#include <cstring>

#include "delta/data/column_mapping.h"
#include "delta/data/compute_registry.h"

namespace nlk::delta::data {
namespace {

std::optional<std::string> FieldIdOf(const arrow::Field& field) {
  if (field.metadata() == nullptr) return std::nullopt;
  auto id = field.metadata()->Get(kParquetFieldIdKey);
  if (!id.ok()) return std::nullopt;
  return *id;
}

arrow::Result<std::shared_ptr<arrow::ArrayData>> ConformData(
    const std::shared_ptr<arrow::ArrayData>& source, const arrow::Field& target,
    const arrow::Field& lookup, MatchBy match_by, const std::string& column);

// Conforms the children of a struct-shaped ArrayData (struct arrays and map entries).
arrow::Result<std::vector<std::shared_ptr<arrow::ArrayData>>> ConformChildren(
    const std::shared_ptr<arrow::ArrayData>& source, const arrow::FieldVector& target_fields,
    const arrow::FieldVector& lookup_fields, MatchBy match_by, bool by_position,
    const std::string& column) {
  // Children are stored unsliced: they span the parent's offset plus its length.
  const int64_t child_length = source->offset + source->length;
  std::vector<std::shared_ptr<arrow::ArrayData>> children;
  for (size_t i = 0; i < target_fields.size(); ++i) {
    const auto& target = *target_fields[i];
    std::string child_column = column + "." + target.name();
    int index = by_position
                    ? static_cast<int>(i)
                    : FindMatchingField(source->type->fields(), *lookup_fields[i], match_by);
    if (index < 0) {
      ARROW_ASSIGN_OR_RAISE(auto nulls, arrow::MakeArrayOfNull(target.type(), child_length));
      children.push_back(nulls->data());
      continue;
    }
    ARROW_ASSIGN_OR_RAISE(auto child, ConformData(source->child_data[index], target,
                                                  *lookup_fields[i], match_by, child_column));
    children.push_back(std::move(child));
  }
  return children;
}

arrow::Result<std::shared_ptr<arrow::ArrayData>> ConformData(
    const std::shared_ptr<arrow::ArrayData>& source, const arrow::Field& target,
    const arrow::Field& lookup, MatchBy match_by, const std::string& column) {
  const auto& target_type = target.type();
  if (source->type->id() == arrow::Type::NA) {
    ARROW_ASSIGN_OR_RAISE(auto nulls,
                          arrow::MakeArrayOfNull(target_type, source->offset + source->length));
    return nulls->Slice(source->offset, source->length)->data();
  }
  switch (target_type->id()) {
    case arrow::Type::STRUCT: {
      if (source->type->id() != arrow::Type::STRUCT) break;
      ARROW_ASSIGN_OR_RAISE(auto children,
                            ConformChildren(source, target_type->fields(), lookup.type()->fields(),
                                            match_by, false, column));
      auto result = source->Copy();
      result->type = target_type;
      result->child_data = std::move(children);
      return result;
    }
    case arrow::Type::LIST: {
      if (source->type->id() != arrow::Type::LIST) break;
      ARROW_ASSIGN_OR_RAISE(auto values,
                            ConformData(source->child_data[0], *target_type->field(0),
                                        *lookup.type()->field(0), match_by, column + ".element"));
      auto result = source->Copy();
      result->type = target_type;
      result->child_data = {std::move(values)};
      return result;
    }
    case arrow::Type::MAP: {
      if (source->type->id() != arrow::Type::MAP) break;
      const auto& target_map = static_cast<const arrow::MapType&>(*target_type);
      const auto& lookup_map = static_cast<const arrow::MapType&>(*lookup.type());
      const auto& entries = source->child_data[0];
      ARROW_ASSIGN_OR_RAISE(
          auto children, ConformChildren(entries, {target_map.key_field(), target_map.item_field()},
                                         {lookup_map.key_field(), lookup_map.item_field()},
                                         match_by, true, column));
      auto conformed_entries = entries->Copy();
      conformed_entries->type = target_map.value_type();
      conformed_entries->child_data = std::move(children);
      auto result = source->Copy();
      result->type = target_type;
      result->child_data = {std::move(conformed_entries)};
      return result;
    }
    default: {
      if (source->type->Equals(*target_type)) return source;
      if (arrow::is_nested(source->type->id())) break;
      arrow::compute::CastOptions options = arrow::compute::CastOptions::Safe(target_type);
      options.allow_time_truncate = true;
      auto cast = arrow::compute::Cast(arrow::MakeArray(source), options);
      if (!cast.ok()) {
        return arrow::Status::TypeError("column '", column, "': cannot convert ",
                                        source->type->ToString(), " to ", target_type->ToString(),
                                        ": ", cast.status().message());
      }
      return cast->array();
    }
  }
  return arrow::Status::TypeError("column '", column, "' holds ", source->type->ToString(),
                                  " where the table schema expects ", target_type->ToString());
}

}  // namespace

int FindMatchingField(const arrow::FieldVector& candidates, const arrow::Field& wanted,
                      MatchBy match_by) {
  std::optional<std::string> wanted_id;
  if (match_by == MatchBy::kFieldId) {
    wanted_id = FieldIdOf(wanted);
    if (!wanted_id) return -1;
  }
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (match_by == MatchBy::kName ? candidates[i]->name() == wanted.name()
                                   : FieldIdOf(*candidates[i]) == wanted_id) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

bool IsStringDictionary(const arrow::DataType& type) {
  if (type.id() != arrow::Type::DICTIONARY) return false;
  const auto& dictionary = static_cast<const arrow::DictionaryType&>(type);
  return dictionary.index_type()->id() == arrow::Type::INT32 &&
         dictionary.value_type()->id() == arrow::Type::STRING;
}

bool HoldsStringDictionary(const arrow::Array& array) {
  return IsStringDictionary(*array.type()) && array.data()->dictionary->null_count == 0;
}

bool HoldsOneString(const arrow::StringArray& strings) {
  const int64_t count = strings.length();
  if (count == 0 || strings.null_count() != 0) return false;
  // With equal lengths L, the values are equal exactly when their bytes repeat with period L:
  // the data against itself shifted by L.
  const int32_t* offsets = strings.raw_value_offsets();
  const int32_t length = offsets[1] - offsets[0];
  for (int64_t i = 1; i < count; ++i) {
    if (offsets[i + 1] - offsets[i] != length) return false;
  }
  const uint8_t* data = strings.raw_data() + offsets[0];
  const int64_t total = static_cast<int64_t>(offsets[count] - offsets[0]);
  return length == 0 || std::memcmp(data + length, data, static_cast<size_t>(total - length)) == 0;
}

std::shared_ptr<arrow::Schema> WithColumnTypes(const std::shared_ptr<arrow::Schema>& schema,
                                               const arrow::ArrayVector& columns) {
  arrow::FieldVector fields = schema->fields();
  bool changed = false;
  for (size_t i = 0; i < columns.size() && i < fields.size(); ++i) {
    if (fields[i]->type()->Equals(*columns[i]->type())) continue;
    fields[i] = fields[i]->WithType(columns[i]->type());
    changed = true;
  }
  return changed ? arrow::schema(std::move(fields), schema->metadata()) : schema;
}

arrow::Result<std::shared_ptr<arrow::Array>> ConformArray(
    const std::shared_ptr<arrow::Array>& source, const arrow::Field& target,
    const arrow::Field& lookup, MatchBy match_by, const std::string& column) {
  ARROW_RETURN_NOT_OK(EnsureComputeFunctions());
  ARROW_ASSIGN_OR_RAISE(auto data, ConformData(source->data(), target, lookup, match_by, column));
  return arrow::MakeArray(data);
}

arrow::Result<int64_t> RowBytes(const arrow::ArrayData& data) {
  const int64_t validity = data.buffers.empty() || data.buffers[0] == nullptr
                               ? 0
                               : (data.offset + data.length + 7) / 8 - data.offset / 8;
  const arrow::DataType& type = *data.type;
  if (type.id() != arrow::Type::BOOL) {
    if (const auto* fixed = dynamic_cast<const arrow::FixedWidthType*>(&type);
        fixed != nullptr && fixed->bit_width() % 8 == 0 && type.num_fields() == 0 &&
        type.id() != arrow::Type::DICTIONARY) {
      return validity + data.length * (fixed->bit_width() / 8);
    }
  }
  switch (type.id()) {
    case arrow::Type::STRING:
    case arrow::Type::BINARY: {
      const int32_t* offsets = data.GetValues<int32_t>(1);
      return validity + data.length * int64_t{4} + (offsets[data.length] - offsets[0]);
    }
    case arrow::Type::LARGE_STRING:
    case arrow::Type::LARGE_BINARY: {
      const int64_t* offsets = data.GetValues<int64_t>(1);
      return validity + data.length * int64_t{8} + (offsets[data.length] - offsets[0]);
    }
    case arrow::Type::DICTIONARY: {
      const auto& index = static_cast<const arrow::FixedWidthType&>(
          *static_cast<const arrow::DictionaryType&>(type).index_type());
      ARROW_ASSIGN_OR_RAISE(int64_t dictionary, RowBytes(*data.dictionary));
      return validity + data.length * (index.bit_width() / 8) + dictionary;
    }
    default:
      return arrow::util::ReferencedBufferSize(data);
  }
}

arrow::Result<int64_t> RowBytes(const arrow::RecordBatch& batch) {
  int64_t total = 0;
  for (const auto& column : batch.column_data()) {
    ARROW_ASSIGN_OR_RAISE(int64_t bytes, RowBytes(*column));
    total += bytes;
  }
  return total;
}

}  // namespace nlk::delta::data
