#include "delta/data/statistics.h"

#include <arrow/scalar.h>
#include <arrow/util/decimal.h>

#include <cmath>
#include <limits>

#include "common/json_value.h"
#include "delta/data/time_format.h"

namespace nlk::delta::data {
namespace {

// `json` is a bound as written in minValues/maxValues; nullptr when it cannot be read exactly.
std::shared_ptr<arrow::Scalar> ParseBound(const JsonValue& json,
                                          const std::shared_ptr<arrow::DataType>& type,
                                          bool is_max) {
  if (json.is_null()) return nullptr;
  auto integer = [&](int64_t low, int64_t high) -> std::shared_ptr<arrow::Scalar> {
    if (json.type() != JsonValue::Type::kInteger) return nullptr;
    const int64_t parsed = json.integer();
    if (parsed < low || parsed > high) return nullptr;
    auto scalar = arrow::MakeScalar(arrow::int64(), parsed);
    if (!scalar.ok()) return nullptr;
    auto cast = (*scalar)->CastTo(type);
    return cast.ok() ? *cast : nullptr;
  };
  switch (type->id()) {
    case arrow::Type::INT8:
      return integer(INT8_MIN, INT8_MAX);
    case arrow::Type::INT16:
      return integer(INT16_MIN, INT16_MAX);
    case arrow::Type::INT32:
      return integer(INT32_MIN, INT32_MAX);
    case arrow::Type::INT64:
      return integer(INT64_MIN, INT64_MAX);
    case arrow::Type::FLOAT:
    case arrow::Type::DOUBLE: {
      if (json.type() != JsonValue::Type::kInteger && json.type() != JsonValue::Type::kDouble) {
        return nullptr;
      }
      const double parsed = json.number();
      if (type->id() == arrow::Type::DOUBLE) return std::make_shared<arrow::DoubleScalar>(parsed);
      // Widen by one float step so rounding from double can never tighten the bound.
      auto narrowed = static_cast<float>(parsed);
      if (is_max && static_cast<double>(narrowed) < parsed) {
        narrowed = std::nextafter(narrowed, std::numeric_limits<float>::infinity());
      } else if (!is_max && static_cast<double>(narrowed) > parsed) {
        narrowed = std::nextafter(narrowed, -std::numeric_limits<float>::infinity());
      }
      return std::make_shared<arrow::FloatScalar>(narrowed);
    }
    case arrow::Type::DECIMAL128: {
      // Writers emit decimals as numbers or as strings; either way the text is parsed exactly.
      std::string_view token;
      if (json.type() == JsonValue::Type::kString) {
        token = json.string();
      } else if (json.type() == JsonValue::Type::kInteger ||
                 json.type() == JsonValue::Type::kDouble) {
        token = json.raw();
      } else {
        return nullptr;
      }
      arrow::Decimal128 decimal;
      int32_t precision = 0;
      int32_t scale = 0;
      if (!arrow::Decimal128::FromString(token, &decimal, &precision, &scale).ok()) return nullptr;
      const auto& decimal_type = static_cast<const arrow::Decimal128Type&>(*type);
      auto rescaled = decimal.Rescale(scale, decimal_type.scale());
      if (!rescaled.ok()) return nullptr;
      return std::make_shared<arrow::Decimal128Scalar>(*rescaled, type);
    }
    case arrow::Type::DATE32: {
      if (json.type() != JsonValue::Type::kString) return nullptr;
      auto days = ParseDate(json.string());
      if (!days.ok()) return nullptr;
      return std::make_shared<arrow::Date32Scalar>(*days);
    }
    case arrow::Type::TIMESTAMP: {
      if (json.type() != JsonValue::Type::kString) return nullptr;
      auto micros = ParseTimestampMicros(json.string());
      if (!micros.ok()) return nullptr;
      const auto& timestamp_type = static_cast<const arrow::TimestampType&>(*type);
      if (timestamp_type.unit() != arrow::TimeUnit::MICRO) return nullptr;
      return std::make_shared<arrow::TimestampScalar>(*micros + (is_max ? 999 : 0), type);
    }
    case arrow::Type::STRING:
    case arrow::Type::LARGE_STRING: {
      if (json.type() != JsonValue::Type::kString) return nullptr;
      auto scalar = arrow::MakeScalar(type, arrow::Buffer::FromString(json.string()));
      return scalar.ok() ? *scalar : nullptr;
    }
    default:
      return nullptr;
  }
}

enum class ParseSection { kMin, kMax, kNullCount };

// Reads one section object (or a struct column's object inside it). Members that are not
// tracked columns, or whose values do not fit the column, are skipped rather than errors: stats
// are an optimization and must never make a table unreadable.
void ParseObject(const JsonValue& json, const std::map<std::string, StatisticsParser::Node>& nodes,
                 ColumnPath* path, ParseSection section, FileStatistics* out) {
  for (const auto& [key, child] : json.object()) {
    auto node = nodes.find(key);
    if (node == nodes.end()) continue;  // a dropped column or one this reader does not track
    path->push_back(node->second.logical_name);
    if (!node->second.children.empty()) {
      if (child.type() == JsonValue::Type::kObject) {
        ParseObject(child, node->second.children, path, section, out);
      }
    } else if (section == ParseSection::kNullCount) {
      if (child.type() == JsonValue::Type::kInteger && child.integer() >= 0) {
        out->columns[*path].null_count = child.integer();
      }
    } else {
      bool is_max = section == ParseSection::kMax;
      auto bound = ParseBound(child, node->second.type, is_max);
      if (bound != nullptr) {
        auto& column = out->columns[*path];
        (is_max ? column.max : column.min) = std::move(bound);
      }
    }
    path->pop_back();
  }
}

StatisticsParser::Node MakeNode(const arrow::Field& field, ColumnMappingMode mode,
                                arrow::Status* status);

void AddChildren(const arrow::FieldVector& fields, ColumnMappingMode mode,
                 std::map<std::string, StatisticsParser::Node>* nodes, arrow::Status* status) {
  for (const auto& field : fields) {
    auto name = PhysicalName(*field, mode);
    if (!name.ok()) {
      *status = name.status();
      return;
    }
    (*nodes)[*name] = MakeNode(*field, mode, status);
  }
}

StatisticsParser::Node MakeNode(const arrow::Field& field, ColumnMappingMode mode,
                                arrow::Status* status) {
  StatisticsParser::Node node;
  node.logical_name = field.name();
  node.type = field.type();
  if (field.type()->id() == arrow::Type::STRUCT) {
    AddChildren(field.type()->fields(), mode, &node.children, status);
  }
  return node;
}

}  // namespace

const ColumnStatistics* FileStatistics::Find(const ColumnPath& path) const {
  auto it = columns.find(path);
  return it == columns.end() ? nullptr : &it->second;
}

arrow::Result<StatisticsParser> StatisticsParser::Make(const arrow::Schema& logical_schema,
                                                       ColumnMappingMode mode) {
  StatisticsParser parser;
  arrow::Status status;
  AddChildren(logical_schema.fields(), mode, &parser.root_, &status);
  ARROW_RETURN_NOT_OK(status);
  return parser;
}

arrow::Result<FileStatistics> StatisticsParser::Parse(std::string_view stats_json) const {
  auto root = ParseJson(stats_json);
  if (!root.ok()) {
    return arrow::Status::Invalid("statistics are not valid JSON: ", root.status().message());
  }
  if (root->type() != JsonValue::Type::kObject) {
    return arrow::Status::Invalid("statistics are not a JSON object but ", root->TypeName());
  }
  FileStatistics statistics;
  ColumnPath path;
  for (const auto& [key, child] : root->object()) {
    if (key == "numRecords") {
      if (child.type() == JsonValue::Type::kInteger && child.integer() >= 0) {
        statistics.num_records = child.integer();
      }
    } else if (key == "tightBounds") {
      if (child.type() == JsonValue::Type::kBool) statistics.tight_bounds = child.boolean();
    } else if (key == "minValues" || key == "maxValues" || key == "nullCount") {
      ParseSection section = key == "minValues"   ? ParseSection::kMin
                             : key == "maxValues" ? ParseSection::kMax
                                                  : ParseSection::kNullCount;
      if (child.type() == JsonValue::Type::kObject) {
        ParseObject(child, root_, &path, section, &statistics);
      }
    }
  }
  return statistics;
}

}  // namespace nlk::delta::data
