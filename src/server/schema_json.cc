#include "server/schema_json.h"

#include <arrow/type.h>
#include <arrow/util/key_value_metadata.h>

#include "common/json_writer.h"

namespace nlk::server {
namespace {

const char* TimeUnitName(arrow::TimeUnit::type unit) {
  switch (unit) {
    case arrow::TimeUnit::SECOND:
      return "Second";
    case arrow::TimeUnit::MILLI:
      return "Millisecond";
    case arrow::TimeUnit::MICRO:
      return "Microsecond";
    case arrow::TimeUnit::NANO:
      return "Nanosecond";
  }
  return "Microsecond";
}

void WriteField(JsonWriter& writer, const arrow::Field& field);

// Simple types are a bare name; parameterized ones an object {"Name": parameters}.
void WriteDataType(JsonWriter& writer, const arrow::DataType& type) {
  switch (type.id()) {
    case arrow::Type::NA:
      return writer.String("Null");
    case arrow::Type::BOOL:
      return writer.String("Boolean");
    case arrow::Type::INT8:
      return writer.String("Int8");
    case arrow::Type::INT16:
      return writer.String("Int16");
    case arrow::Type::INT32:
      return writer.String("Int32");
    case arrow::Type::INT64:
      return writer.String("Int64");
    case arrow::Type::UINT8:
      return writer.String("UInt8");
    case arrow::Type::UINT16:
      return writer.String("UInt16");
    case arrow::Type::UINT32:
      return writer.String("UInt32");
    case arrow::Type::UINT64:
      return writer.String("UInt64");
    case arrow::Type::HALF_FLOAT:
      return writer.String("Float16");
    case arrow::Type::FLOAT:
      return writer.String("Float32");
    case arrow::Type::DOUBLE:
      return writer.String("Float64");
    case arrow::Type::STRING:
      return writer.String("Utf8");
    case arrow::Type::LARGE_STRING:
      return writer.String("LargeUtf8");
    case arrow::Type::STRING_VIEW:
      return writer.String("Utf8View");
    case arrow::Type::BINARY:
      return writer.String("Binary");
    case arrow::Type::LARGE_BINARY:
      return writer.String("LargeBinary");
    case arrow::Type::DATE32:
      return writer.String("Date32");
    case arrow::Type::DATE64:
      return writer.String("Date64");
    default:
      break;
  }
  writer.BeginObject();
  switch (type.id()) {
    case arrow::Type::TIMESTAMP: {
      const auto& timestamp = static_cast<const arrow::TimestampType&>(type);
      writer.Key("Timestamp");
      writer.BeginArray();
      writer.String(TimeUnitName(timestamp.unit()));
      if (timestamp.timezone().empty()) {
        writer.Null();
      } else {
        writer.String(timestamp.timezone());
      }
      writer.EndArray();
      break;
    }
    case arrow::Type::TIME32:
    case arrow::Type::TIME64: {
      writer.Key(type.id() == arrow::Type::TIME32 ? "Time32" : "Time64");
      writer.String(TimeUnitName(static_cast<const arrow::TimeType&>(type).unit()));
      break;
    }
    case arrow::Type::DURATION:
      writer.Key("Duration");
      writer.String(TimeUnitName(static_cast<const arrow::DurationType&>(type).unit()));
      break;
    case arrow::Type::DECIMAL128:
    case arrow::Type::DECIMAL256: {
      const auto& decimal = static_cast<const arrow::DecimalType&>(type);
      writer.Key(type.id() == arrow::Type::DECIMAL128 ? "Decimal128" : "Decimal256");
      writer.BeginArray();
      writer.Int(decimal.precision());
      writer.Int(decimal.scale());
      writer.EndArray();
      break;
    }
    case arrow::Type::FIXED_SIZE_BINARY:
      writer.Key("FixedSizeBinary");
      writer.Int(static_cast<const arrow::FixedSizeBinaryType&>(type).byte_width());
      break;
    case arrow::Type::LIST:
    case arrow::Type::LARGE_LIST:
      writer.Key(type.id() == arrow::Type::LIST ? "List" : "LargeList");
      WriteField(writer, *type.field(0));
      break;
    case arrow::Type::STRUCT:
      writer.Key("Struct");
      writer.BeginArray();
      for (const auto& child : type.fields()) WriteField(writer, *child);
      writer.EndArray();
      break;
    case arrow::Type::MAP:
      writer.Key("Map");
      writer.BeginArray();
      WriteField(writer, *type.field(0));
      writer.Bool(static_cast<const arrow::MapType&>(type).keys_sorted());
      writer.EndArray();
      break;
    case arrow::Type::DICTIONARY: {
      const auto& dictionary = static_cast<const arrow::DictionaryType&>(type);
      writer.Key("Dictionary");
      writer.BeginArray();
      WriteDataType(writer, *dictionary.index_type());
      WriteDataType(writer, *dictionary.value_type());
      writer.EndArray();
      break;
    }
    default:
      writer.Key(type.ToString());
      writer.Null();
      break;
  }
  writer.EndObject();
}

void WriteMetadata(JsonWriter& writer, const arrow::KeyValueMetadata* metadata) {
  writer.BeginObject();
  if (metadata != nullptr) {
    for (int64_t i = 0; i < metadata->size(); ++i) {
      writer.Key(metadata->key(i));
      writer.String(metadata->value(i));
    }
  }
  writer.EndObject();
}

void WriteField(JsonWriter& writer, const arrow::Field& field) {
  writer.BeginObject();
  writer.Key("name");
  writer.String(field.name());
  writer.Key("data_type");
  WriteDataType(writer, *field.type());
  writer.Key("nullable");
  writer.Bool(field.nullable());
  writer.Key("dict_id");
  writer.Int(0);
  writer.Key("dict_is_ordered");
  writer.Bool(false);
  writer.Key("metadata");
  WriteMetadata(writer, field.metadata().get());
  writer.EndObject();
}

}  // namespace

std::string SchemaJson(const arrow::Schema& schema) {
  JsonWriter writer;
  writer.BeginObject();
  writer.Key("fields");
  writer.BeginArray();
  for (const auto& field : schema.fields()) WriteField(writer, *field);
  writer.EndArray();
  writer.Key("metadata");
  WriteMetadata(writer, schema.metadata().get());
  writer.EndObject();
  return writer.Take();
}

}  // namespace nlk::server
