#include "delta/data/column_mapping.h"

#include <arrow/util/key_value_metadata.h>

#include "common/json_value.h"
#include "common/json_writer.h"
#include "common/parse_number.h"
#include "delta/data/schema.h"
#include "delta/data/uuid.h"

namespace nlk::delta::data {
namespace {

// Rebuilds `type` with every struct field inside it transformed by `transform`.
template <typename Transform>
arrow::Result<std::shared_ptr<arrow::DataType>> TransformNested(
    const std::shared_ptr<arrow::DataType>& type, Transform&& transform) {
  switch (type->id()) {
    case arrow::Type::STRUCT: {
      arrow::FieldVector fields;
      for (const auto& child : type->fields()) {
        ARROW_ASSIGN_OR_RAISE(auto transformed, transform(*child));
        fields.push_back(std::move(transformed));
      }
      return arrow::struct_(std::move(fields));
    }
    case arrow::Type::LIST: {
      const auto& element = type->field(0);
      ARROW_ASSIGN_OR_RAISE(auto element_type, TransformNested(element->type(), transform));
      return arrow::list(element->WithType(element_type));
    }
    case arrow::Type::MAP: {
      const auto& map = static_cast<const arrow::MapType&>(*type);
      ARROW_ASSIGN_OR_RAISE(auto key_type, TransformNested(map.key_type(), transform));
      ARROW_ASSIGN_OR_RAISE(auto item_type, TransformNested(map.item_type(), transform));
      return std::make_shared<arrow::MapType>(map.key_field()->WithType(key_type),
                                              map.item_field()->WithType(item_type));
    }
    default:
      return type;
  }
}

}  // namespace

arrow::Result<ColumnMappingMode> ColumnMappingModeOf(const StringMap& configuration) {
  auto it = configuration.find(std::string(kColumnMappingModeKey));
  if (it == configuration.end() || it->second == "none") return ColumnMappingMode::kNone;
  if (it->second == "name") return ColumnMappingMode::kName;
  if (it->second == "id") return ColumnMappingMode::kId;
  return arrow::Status::Invalid("table property ", kColumnMappingModeKey, " has unknown value '",
                                it->second, "' (expected none, name or id)");
}

arrow::Result<int64_t> MaxColumnIdOf(const StringMap& configuration) {
  auto it = configuration.find(std::string(kMaxColumnIdKey));
  if (it == configuration.end()) return 0;
  std::optional<int64_t> value = ParseNumber<int64_t>(it->second);
  if (!value || *value < 0) {
    return arrow::Status::Invalid("table property ", kMaxColumnIdKey, " has invalid value '",
                                  it->second, "' (expected a non-negative integer)");
  }
  return *value;
}

arrow::Result<ColumnMappingInfo> ColumnMappingOf(const arrow::Field& field) {
  ColumnMappingInfo info;
  std::string metadata = DeltaFieldMetadata(field);
  if (metadata == "{}") return info;
  auto parsed = ParseJson(metadata);
  if (!parsed.ok() || parsed->type() != JsonValue::Type::kObject) {
    return arrow::Status::Invalid("column '", field.name(), "': metadata is not a JSON object");
  }
  if (const JsonValue* name = parsed->Find(kPhysicalNameKey)) {
    if (name->type() != JsonValue::Type::kString || name->string().empty()) {
      return arrow::Status::Invalid("column '", field.name(), "': ", kPhysicalNameKey,
                                    " must be a non-empty string");
    }
    info.physical_name = name->string();
  }
  if (const JsonValue* id = parsed->Find(kColumnIdKey)) {
    if (id->type() != JsonValue::Type::kInteger || id->integer() < 0 || id->integer() > INT32_MAX) {
      return arrow::Status::Invalid("column '", field.name(), "': ", kColumnIdKey,
                                    " must be a 32-bit non-negative integer");
    }
    info.field_id = static_cast<int32_t>(id->integer());
  }
  return info;
}

arrow::Result<std::string> PhysicalName(const arrow::Field& field, ColumnMappingMode mode) {
  if (mode == ColumnMappingMode::kNone) return field.name();
  ARROW_ASSIGN_OR_RAISE(ColumnMappingInfo info, ColumnMappingOf(field));
  if (!info.physical_name) {
    return arrow::Status::Invalid("column '", field.name(),
                                  "' has no physical name although the table uses column "
                                  "mapping; the schema lacks ",
                                  kPhysicalNameKey);
  }
  return *info.physical_name;
}

arrow::Result<std::shared_ptr<arrow::Field>> PhysicalField(const arrow::Field& logical,
                                                           ColumnMappingMode mode) {
  ARROW_ASSIGN_OR_RAISE(std::string name, PhysicalName(logical, mode));
  ARROW_ASSIGN_OR_RAISE(auto type,
                        TransformNested(logical.type(), [mode](const arrow::Field& child) {
                          return PhysicalField(child, mode);
                        }));
  std::shared_ptr<const arrow::KeyValueMetadata> metadata;
  if (mode != ColumnMappingMode::kNone) {
    ARROW_ASSIGN_OR_RAISE(ColumnMappingInfo info, ColumnMappingOf(logical));
    if (mode == ColumnMappingMode::kId && !info.field_id) {
      return arrow::Status::Invalid("column '", logical.name(),
                                    "' has no column id although the table uses id column "
                                    "mapping; the schema lacks ",
                                    kColumnIdKey);
    }
    if (info.field_id) {
      metadata = arrow::key_value_metadata({std::string(kParquetFieldIdKey)},
                                           {std::to_string(*info.field_id)});
    }
  }
  return arrow::field(std::move(name), std::move(type), logical.nullable(), std::move(metadata));
}

arrow::Result<std::shared_ptr<arrow::Schema>> PhysicalSchema(const arrow::Schema& logical,
                                                             ColumnMappingMode mode) {
  arrow::FieldVector fields;
  for (const auto& field : logical.fields()) {
    ARROW_ASSIGN_OR_RAISE(auto physical, PhysicalField(*field, mode));
    fields.push_back(std::move(physical));
  }
  return arrow::schema(std::move(fields));
}

namespace {

arrow::Result<std::shared_ptr<arrow::Field>> AssignField(const arrow::Field& field,
                                                         int64_t* max_column_id) {
  ARROW_ASSIGN_OR_RAISE(auto type,
                        TransformNested(field.type(), [max_column_id](const arrow::Field& child) {
                          return AssignField(child, max_column_id);
                        }));
  auto result = field.WithType(type);
  ARROW_ASSIGN_OR_RAISE(ColumnMappingInfo info, ColumnMappingOf(field));
  if (info.physical_name && info.field_id) return result;

  // Merge the two keys into the existing metadata object, keeping every other entry.
  std::string metadata = DeltaFieldMetadata(field);
  std::string additions;
  JsonWriter writer;
  writer.BeginObject();
  if (!info.field_id) {
    writer.Key(kColumnIdKey);
    writer.Int(++*max_column_id);
  }
  if (!info.physical_name) {
    writer.Key(kPhysicalNameKey);
    writer.String("col-" + UuidToString(RandomUuid()));
  }
  writer.EndObject();
  additions = writer.Take();
  std::string merged;
  if (metadata == "{}") {
    merged = additions;
  } else {
    merged = metadata.substr(0, metadata.size() - 1) + "," + additions.substr(1);
  }
  return WithDeltaFieldMetadata(result, std::move(merged));
}

}  // namespace

arrow::Result<std::shared_ptr<arrow::Schema>> AssignColumnMapping(const arrow::Schema& logical,
                                                                  int64_t* max_column_id) {
  arrow::FieldVector fields;
  for (const auto& field : logical.fields()) {
    ARROW_ASSIGN_OR_RAISE(auto assigned, AssignField(*field, max_column_id));
    fields.push_back(std::move(assigned));
  }
  return arrow::schema(std::move(fields));
}

}  // namespace nlk::delta::data
