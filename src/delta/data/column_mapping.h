// Column mapping (PROTOCOL.md "Column Mapping"): the physical name and field id behind each
// logical column, and the physical Arrow schema that data files are written and read with.
#pragma once

#include <arrow/result.h>
#include <arrow/type.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "delta/log/actions.h"

namespace nlk::delta::data {

enum class ColumnMappingMode { kNone, kId, kName };

// Column metadata keys defined by the protocol.
inline constexpr std::string_view kPhysicalNameKey = "delta.columnMapping.physicalName";
inline constexpr std::string_view kColumnIdKey = "delta.columnMapping.id";
inline constexpr std::string_view kColumnMappingModeKey = "delta.columnMapping.mode";
inline constexpr std::string_view kMaxColumnIdKey = "delta.columnMapping.maxColumnId";
// Arrow's Parquet reader and writer carry a Parquet field_id in this field-metadata key.
inline constexpr std::string_view kParquetFieldIdKey = "PARQUET:field_id";

// Reads `delta.columnMapping.mode` from the table configuration (absent means none).
arrow::Result<ColumnMappingMode> ColumnMappingModeOf(const StringMap& configuration);

// Reads `delta.columnMapping.maxColumnId` (absent means 0); a value that is not a non-negative
// integer is an error.
arrow::Result<int64_t> MaxColumnIdOf(const StringMap& configuration);

// The column mapping facts of one logical field.
struct ColumnMappingInfo {
  std::optional<std::string> physical_name;
  std::optional<int32_t> field_id;
};

// Reads `delta.columnMapping.physicalName` and `delta.columnMapping.id` from the field's Delta
// column metadata. Malformed values are an error naming the field.
arrow::Result<ColumnMappingInfo> ColumnMappingOf(const arrow::Field& field);

// The name a field has in data files, statistics and partition values: the logical name in
// mode none, the physical name otherwise (an error if the schema lacks one).
arrow::Result<std::string> PhysicalName(const arrow::Field& field, ColumnMappingMode mode);

// The schema to write and read Parquet files with: every field (nested ones too) renamed to its
// physical name, Delta metadata dropped, and in modes id and name the column id attached as
// "PARQUET:field_id" (the writer requirement; id-mode readers resolve columns by it).
arrow::Result<std::shared_ptr<arrow::Schema>> PhysicalSchema(const arrow::Schema& logical,
                                                             ColumnMappingMode mode);
arrow::Result<std::shared_ptr<arrow::Field>> PhysicalField(const arrow::Field& logical,
                                                           ColumnMappingMode mode);

// Gives every field without column mapping metadata a fresh physical name ("col-<uuid>") and
// the next column id after `*max_column_id`, which is advanced. Used when enabling column mapping
// or adding columns; existing assignments are kept.
arrow::Result<std::shared_ptr<arrow::Schema>> AssignColumnMapping(const arrow::Schema& logical,
                                                                  int64_t* max_column_id);

}  // namespace nlk::delta::data
