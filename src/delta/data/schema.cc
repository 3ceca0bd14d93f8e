#include "delta/data/schema.h"

#include <arrow/util/key_value_metadata.h>

#include <charconv>

#include "common/json_value.h"
#include "common/json_writer.h"

namespace nlk::delta::data {
namespace {

std::string ChildPath(std::string_view parent, std::string_view child) {
  if (parent.empty()) return std::string(child);
  std::string path(parent);
  path += '.';
  path += child;
  return path;
}

arrow::Status SchemaError(std::string_view column, std::string_view what) {
  return arrow::Status::Invalid("Delta schema: column '", column, "': ", what);
}

// `parent` is a JSON object; the result points into it.
arrow::Result<const JsonValue*> RequiredMember(const JsonValue& parent, std::string_view key,
                                               std::string_view column) {
  const JsonValue* value = parent.Find(key);
  if (value == nullptr) return SchemaError(column, "missing \"" + std::string(key) + "\"");
  return value;
}

arrow::Result<bool> OptionalBool(const JsonValue& parent, std::string_view key, bool fallback,
                                 std::string_view column) {
  const JsonValue* value = parent.Find(key);
  if (value == nullptr) return fallback;
  if (value->type() != JsonValue::Type::kBool) {
    return SchemaError(column, "\"" + std::string(key) + "\" must be true or false");
  }
  return value->boolean();
}

// Parses "decimal(p,s)" (or bare "decimal", Spark's decimal(10,0)).
arrow::Result<std::shared_ptr<arrow::DataType>> ParseDecimal(std::string_view name,
                                                             std::string_view column) {
  if (name == "decimal") return arrow::decimal128(10, 0);
  std::string_view inner = name.substr(std::string_view("decimal(").size());
  if (inner.empty() || inner.back() != ')') {
    return SchemaError(column, "malformed decimal type '" + std::string(name) + "'");
  }
  inner.remove_suffix(1);
  size_t comma = inner.find(',');
  if (comma == std::string_view::npos) {
    return SchemaError(column, "malformed decimal type '" + std::string(name) + "'");
  }
  auto parse_int = [](std::string_view text, int32_t* out) {
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
    auto result = std::from_chars(text.data(), text.data() + text.size(), *out);
    return result.ec == std::errc() && result.ptr == text.data() + text.size();
  };
  int32_t precision = 0;
  int32_t scale = 0;
  if (!parse_int(inner.substr(0, comma), &precision) ||
      !parse_int(inner.substr(comma + 1), &scale) || precision < 1 || precision > 38 || scale < 0 ||
      scale > precision) {
    return SchemaError(column, "invalid decimal type '" + std::string(name) +
                                   "' (precision 1-38, 0 <= scale <= precision)");
  }
  return arrow::decimal128(precision, scale);
}

arrow::Result<std::shared_ptr<arrow::DataType>> ParsePrimitive(std::string_view name,
                                                               std::string_view column) {
  if (name == "string") return arrow::utf8();
  if (name == "long") return arrow::int64();
  if (name == "integer") return arrow::int32();
  if (name == "short") return arrow::int16();
  if (name == "byte") return arrow::int8();
  if (name == "float") return arrow::float32();
  if (name == "double") return arrow::float64();
  if (name == "boolean") return arrow::boolean();
  if (name == "binary") return arrow::binary();
  if (name == "date") return arrow::date32();
  if (name == "timestamp") return arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
  if (name == "timestamp_ntz") return arrow::timestamp(arrow::TimeUnit::MICRO);
  if (name == "void") return arrow::null();
  if (name.starts_with("decimal")) return ParseDecimal(name, column);
  return SchemaError(column, "unsupported Delta type '" + std::string(name) +
                                 "' (this reader handles primitives, struct, array and map)");
}

arrow::Result<std::shared_ptr<arrow::Field>> ParseField(const JsonValue& field_json,
                                                        std::string_view parent);

arrow::Result<std::shared_ptr<arrow::DataType>> ParseType(const JsonValue& type_json,
                                                          std::string_view column) {
  if (type_json.type() == JsonValue::Type::kString) {
    return ParsePrimitive(type_json.string(), column);
  }
  if (type_json.type() != JsonValue::Type::kObject) {
    return SchemaError(column, "\"type\" must be a type name or an object");
  }
  ARROW_ASSIGN_OR_RAISE(const JsonValue* kind_json, RequiredMember(type_json, "type", column));
  if (kind_json->type() != JsonValue::Type::kString) {
    return SchemaError(column, "nested \"type\" must be a string");
  }
  const std::string& kind = kind_json->string();
  if (kind == "struct") {
    ARROW_ASSIGN_OR_RAISE(const JsonValue* fields_json,
                          RequiredMember(type_json, "fields", column));
    if (fields_json->type() != JsonValue::Type::kArray) {
      return SchemaError(column, "\"fields\" must be an array");
    }
    arrow::FieldVector fields;
    fields.reserve(fields_json->array().size());
    for (const JsonValue& child : fields_json->array()) {
      ARROW_ASSIGN_OR_RAISE(auto field, ParseField(child, column));
      fields.push_back(std::move(field));
    }
    return arrow::struct_(std::move(fields));
  }
  if (kind == "array") {
    std::string element_path = ChildPath(column, "element");
    ARROW_ASSIGN_OR_RAISE(const JsonValue* element_json,
                          RequiredMember(type_json, "elementType", column));
    ARROW_ASSIGN_OR_RAISE(auto element_type, ParseType(*element_json, element_path));
    ARROW_ASSIGN_OR_RAISE(bool contains_null,
                          OptionalBool(type_json, "containsNull", true, column));
    return arrow::list(arrow::field("element", element_type, contains_null));
  }
  if (kind == "map") {
    ARROW_ASSIGN_OR_RAISE(const JsonValue* key_json, RequiredMember(type_json, "keyType", column));
    ARROW_ASSIGN_OR_RAISE(const JsonValue* value_json,
                          RequiredMember(type_json, "valueType", column));
    ARROW_ASSIGN_OR_RAISE(auto key_type, ParseType(*key_json, ChildPath(column, "key")));
    ARROW_ASSIGN_OR_RAISE(auto value_type, ParseType(*value_json, ChildPath(column, "value")));
    ARROW_ASSIGN_OR_RAISE(bool value_contains_null,
                          OptionalBool(type_json, "valueContainsNull", true, column));
    return std::make_shared<arrow::MapType>(arrow::field("key", key_type, false),
                                            arrow::field("value", value_type, value_contains_null));
  }
  return SchemaError(column, "unsupported Delta type '" + kind +
                                 "' (this reader handles primitives, struct, array and map)");
}

arrow::Result<std::shared_ptr<arrow::Field>> ParseField(const JsonValue& field_json,
                                                        std::string_view parent) {
  if (field_json.type() != JsonValue::Type::kObject) {
    return SchemaError(parent.empty() ? "<root>" : parent, "each field must be a JSON object");
  }
  const JsonValue* name_json = field_json.Find("name");
  if (name_json == nullptr || name_json->type() != JsonValue::Type::kString) {
    return SchemaError(parent.empty() ? "<root>" : parent, "a field has no string \"name\"");
  }
  const std::string& name = name_json->string();
  std::string path = ChildPath(parent, name);
  ARROW_ASSIGN_OR_RAISE(const JsonValue* type_json, RequiredMember(field_json, "type", path));
  ARROW_ASSIGN_OR_RAISE(auto type, ParseType(*type_json, path));
  ARROW_ASSIGN_OR_RAISE(bool nullable, OptionalBool(field_json, "nullable", true, path));
  auto field = arrow::field(name, std::move(type), nullable);
  if (const JsonValue* metadata_json = field_json.Find("metadata")) {
    if (metadata_json->type() != JsonValue::Type::kObject) {
      return SchemaError(path, "\"metadata\" must be a JSON object");
    }
    if (!metadata_json->object().empty()) {
      field = WithDeltaFieldMetadata(field, metadata_json->CompactRaw());
    }
  }
  return field;
}

void WriteField(const arrow::Field& field, const std::string& type_json, JsonWriter* writer) {
  writer->BeginObject();
  writer->Key("name");
  writer->String(field.name());
  writer->Key("type");
  writer->Raw(type_json);
  writer->Key("nullable");
  writer->Bool(field.nullable());
  writer->Key("metadata");
  writer->Raw(DeltaFieldMetadata(field));
  writer->EndObject();
}

}  // namespace

std::string DeltaFieldMetadata(const arrow::Field& field) {
  if (field.metadata() != nullptr) {
    auto value = field.metadata()->Get(kDeltaMetadataKey);
    if (value.ok()) return *value;
  }
  return "{}";
}

std::shared_ptr<arrow::Field> WithDeltaFieldMetadata(const std::shared_ptr<arrow::Field>& field,
                                                     std::string metadata_json) {
  auto metadata = field->metadata() != nullptr ? field->metadata()->Copy()
                                               : std::make_shared<arrow::KeyValueMetadata>();
  metadata->Append(std::string(kDeltaMetadataKey), std::move(metadata_json));
  // Append keeps an older value for the same key; rebuild without duplicates.
  auto deduplicated = std::make_shared<arrow::KeyValueMetadata>();
  for (int64_t i = metadata->size() - 1; i >= 0; --i) {
    if (deduplicated->Contains(metadata->key(i))) continue;
    deduplicated->Append(metadata->key(i), metadata->value(i));
  }
  return field->WithMetadata(deduplicated);
}

arrow::Result<std::shared_ptr<arrow::Schema>> ParseDeltaSchema(std::string_view schema_json) {
  auto root = ParseJson(schema_json);
  if (!root.ok()) {
    return arrow::Status::Invalid("Delta schema string is not valid JSON: ",
                                  root.status().message());
  }
  ARROW_ASSIGN_OR_RAISE(auto type, ParseType(*root, ""));
  if (type->id() != arrow::Type::STRUCT) {
    return arrow::Status::Invalid("Delta schema string must be a \"struct\" at the top level");
  }
  return arrow::schema(type->fields());
}

arrow::Result<std::string> DeltaTypeJson(const arrow::DataType& type, std::string_view column) {
  switch (type.id()) {
    case arrow::Type::STRING:
    case arrow::Type::LARGE_STRING:
    case arrow::Type::STRING_VIEW:
      return "\"string\"";
    case arrow::Type::INT64:
      return "\"long\"";
    case arrow::Type::INT32:
      return "\"integer\"";
    case arrow::Type::INT16:
      return "\"short\"";
    case arrow::Type::INT8:
      return "\"byte\"";
    case arrow::Type::FLOAT:
      return "\"float\"";
    case arrow::Type::DOUBLE:
      return "\"double\"";
    case arrow::Type::BOOL:
      return "\"boolean\"";
    case arrow::Type::BINARY:
    case arrow::Type::LARGE_BINARY:
    case arrow::Type::BINARY_VIEW:
    case arrow::Type::FIXED_SIZE_BINARY:
      return "\"binary\"";
    case arrow::Type::DATE32:
    case arrow::Type::DATE64:
      return "\"date\"";
    case arrow::Type::TIMESTAMP: {
      const auto& timestamp = static_cast<const arrow::TimestampType&>(type);
      return timestamp.timezone().empty() ? "\"timestamp_ntz\"" : "\"timestamp\"";
    }
    case arrow::Type::DECIMAL32:
    case arrow::Type::DECIMAL64:
    case arrow::Type::DECIMAL128:
    case arrow::Type::DECIMAL256: {
      const auto& decimal = static_cast<const arrow::DecimalType&>(type);
      if (decimal.precision() > 38) {
        return SchemaError(column, "decimal precision " + std::to_string(decimal.precision()) +
                                       " exceeds Delta's maximum of 38");
      }
      return "\"decimal(" + std::to_string(decimal.precision()) + "," +
             std::to_string(decimal.scale()) + ")\"";
    }
    case arrow::Type::DICTIONARY:
      return DeltaTypeJson(*static_cast<const arrow::DictionaryType&>(type).value_type(), column);
    case arrow::Type::STRUCT: {
      JsonWriter writer;
      writer.BeginObject();
      writer.Key("type");
      writer.String("struct");
      writer.Key("fields");
      writer.BeginArray();
      for (const auto& child : type.fields()) {
        ARROW_ASSIGN_OR_RAISE(std::string child_type,
                              DeltaTypeJson(*child->type(), ChildPath(column, child->name())));
        WriteField(*child, child_type, &writer);
      }
      writer.EndArray();
      writer.EndObject();
      return writer.Take();
    }
    case arrow::Type::LIST:
    case arrow::Type::LARGE_LIST:
    case arrow::Type::FIXED_SIZE_LIST:
    case arrow::Type::LIST_VIEW:
    case arrow::Type::LARGE_LIST_VIEW: {
      const auto& element = type.field(0);
      ARROW_ASSIGN_OR_RAISE(std::string element_type,
                            DeltaTypeJson(*element->type(), ChildPath(column, "element")));
      JsonWriter writer;
      writer.BeginObject();
      writer.Key("type");
      writer.String("array");
      writer.Key("elementType");
      writer.Raw(element_type);
      writer.Key("containsNull");
      writer.Bool(element->nullable());
      writer.EndObject();
      return writer.Take();
    }
    case arrow::Type::MAP: {
      const auto& map = static_cast<const arrow::MapType&>(type);
      ARROW_ASSIGN_OR_RAISE(std::string key_type,
                            DeltaTypeJson(*map.key_type(), ChildPath(column, "key")));
      ARROW_ASSIGN_OR_RAISE(std::string value_type,
                            DeltaTypeJson(*map.item_type(), ChildPath(column, "value")));
      JsonWriter writer;
      writer.BeginObject();
      writer.Key("type");
      writer.String("map");
      writer.Key("keyType");
      writer.Raw(key_type);
      writer.Key("valueType");
      writer.Raw(value_type);
      writer.Key("valueContainsNull");
      writer.Bool(map.item_field()->nullable());
      writer.EndObject();
      return writer.Take();
    }
    case arrow::Type::NA:
      return "\"void\"";
    default:
      return SchemaError(column, "Arrow type " + type.ToString() +
                                     " has no Delta equivalent; cast it to a signed integer, "
                                     "string, binary, decimal or timestamp type first");
  }
}

arrow::Result<std::string> SerializeDeltaSchema(const arrow::Schema& schema) {
  JsonWriter writer;
  writer.BeginObject();
  writer.Key("type");
  writer.String("struct");
  writer.Key("fields");
  writer.BeginArray();
  for (const auto& field : schema.fields()) {
    ARROW_ASSIGN_OR_RAISE(std::string type_json, DeltaTypeJson(*field->type(), field->name()));
    WriteField(*field, type_json, &writer);
  }
  writer.EndArray();
  writer.EndObject();
  return writer.Take();
}

arrow::Result<std::shared_ptr<arrow::DataType>> NormalizeToDeltaType(
    const std::shared_ptr<arrow::DataType>& type, std::string_view column) {
  ARROW_ASSIGN_OR_RAISE(std::string type_json, DeltaTypeJson(*type, column));
  std::string schema_json = R"({"type":"struct","fields":[{"name":"x","type":)" + type_json +
                            R"(,"nullable":true,"metadata":{}}]})";
  auto parsed = ParseDeltaSchema(schema_json);
  if (!parsed.ok())
    return parsed.status().WithMessage("column '", column, "': ", parsed.status().message());
  return (*parsed)->field(0)->type();
}

}  // namespace nlk::delta::data
