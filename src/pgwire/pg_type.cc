#include "pgwire/pg_type.h"

#include <arrow/type.h>

#include <algorithm>
#include <cctype>
#include <map>

#include "common/ascii.h"

namespace nlk::pgwire {
namespace {

// Numeric's type modifier packs precision and scale after a 4-byte header (VARHDRSZ).
constexpr int32_t kModifierHeader = 4;

}  // namespace

const std::vector<PgType>& BuiltinTypes() {
  // Copied from PostgreSQL 15's pg_type (oid, typname, format_type, typlen, typcategory,
  // typelem, typarray, typbyval, typalign, typispreferred).
  static const std::vector<PgType> kTypes = {
      {16, "bool", "boolean", 1, 'B', 0, 1000, true, 'c', true},
      {17, "bytea", "bytea", -1, 'U', 0, 1001, false, 'i', false},
      {18, "char", "\"char\"", 1, 'Z', 0, 1002, true, 'c', false},
      {19, "name", "name", 64, 'S', 18, 1003, false, 'c', false},
      {20, "int8", "bigint", 8, 'N', 0, 1016, true, 'd', false},
      {21, "int2", "smallint", 2, 'N', 0, 1005, true, 's', false},
      {22, "int2vector", "int2vector", -1, 'A', 21, 1006, false, 'i', false},
      {23, "int4", "integer", 4, 'N', 0, 1007, true, 'i', false},
      {24, "regproc", "regproc", 4, 'N', 0, 1008, true, 'i', false},
      {25, "text", "text", -1, 'S', 0, 1009, false, 'i', true},
      {26, "oid", "oid", 4, 'N', 0, 1028, true, 'i', true},
      {30, "oidvector", "oidvector", -1, 'A', 26, 1013, false, 'i', false},
      {114, "json", "json", -1, 'U', 0, 199, false, 'i', false},
      {199, "_json", "json[]", -1, 'A', 114, 0, false, 'i', false},
      {700, "float4", "real", 4, 'N', 0, 1021, true, 'i', false},
      {701, "float8", "double precision", 8, 'N', 0, 1022, true, 'd', true},
      {705, "unknown", "unknown", -2, 'X', 0, 0, false, 'c', false},
      {1000, "_bool", "boolean[]", -1, 'A', 16, 0, false, 'i', false},
      {1001, "_bytea", "bytea[]", -1, 'A', 17, 0, false, 'i', false},
      {1002, "_char", "\"char\"[]", -1, 'A', 18, 0, false, 'i', false},
      {1003, "_name", "name[]", -1, 'A', 19, 0, false, 'i', false},
      {1005, "_int2", "smallint[]", -1, 'A', 21, 0, false, 'i', false},
      {1006, "_int2vector", "int2vector[]", -1, 'A', 22, 0, false, 'i', false},
      {1007, "_int4", "integer[]", -1, 'A', 23, 0, false, 'i', false},
      {1008, "_regproc", "regproc[]", -1, 'A', 24, 0, false, 'i', false},
      {1009, "_text", "text[]", -1, 'A', 25, 0, false, 'i', false},
      {1013, "_oidvector", "oidvector[]", -1, 'A', 30, 0, false, 'i', false},
      {1014, "_bpchar", "character[]", -1, 'A', 1042, 0, false, 'i', false},
      {1015, "_varchar", "character varying[]", -1, 'A', 1043, 0, false, 'i', false},
      {1016, "_int8", "bigint[]", -1, 'A', 20, 0, false, 'd', false},
      {1021, "_float4", "real[]", -1, 'A', 700, 0, false, 'i', false},
      {1022, "_float8", "double precision[]", -1, 'A', 701, 0, false, 'd', false},
      {1028, "_oid", "oid[]", -1, 'A', 26, 0, false, 'i', false},
      {1033, "aclitem", "aclitem", 12, 'U', 0, 1034, false, 'i', false},
      {1034, "_aclitem", "aclitem[]", -1, 'A', 1033, 0, false, 'i', false},
      {1042, "bpchar", "character", -1, 'S', 0, 1014, false, 'i', false},
      {1043, "varchar", "character varying", -1, 'S', 0, 1015, false, 'i', false},
      {1082, "date", "date", 4, 'D', 0, 1182, true, 'i', false},
      {1083, "time", "time without time zone", 8, 'D', 0, 1183, true, 'd', false},
      {1114, "timestamp", "timestamp without time zone", 8, 'D', 0, 1115, true, 'd', false},
      {1115, "_timestamp", "timestamp without time zone[]", -1, 'A', 1114, 0, false, 'd', false},
      {1182, "_date", "date[]", -1, 'A', 1082, 0, false, 'i', false},
      {1183, "_time", "time without time zone[]", -1, 'A', 1083, 0, false, 'd', false},
      {1184, "timestamptz", "timestamp with time zone", 8, 'D', 0, 1185, true, 'd', true},
      {1185, "_timestamptz", "timestamp with time zone[]", -1, 'A', 1184, 0, false, 'd', false},
      {1186, "interval", "interval", 16, 'T', 0, 1187, false, 'd', true},
      {1187, "_interval", "interval[]", -1, 'A', 1186, 0, false, 'd', false},
      {1231, "_numeric", "numeric[]", -1, 'A', 1700, 0, false, 'i', false},
      {1700, "numeric", "numeric", -1, 'N', 0, 1231, false, 'i', false},
      {2205, "regclass", "regclass", 4, 'N', 0, 2210, true, 'i', false},
      {2206, "regtype", "regtype", 4, 'N', 0, 2211, true, 'i', false},
      {2210, "_regclass", "regclass[]", -1, 'A', 2205, 0, false, 'i', false},
      {2211, "_regtype", "regtype[]", -1, 'A', 2206, 0, false, 'i', false},
      {2249, "record", "record", -1, 'P', 0, 2287, false, 'd', false},
      {2950, "uuid", "uuid", 16, 'U', 0, 2951, false, 'c', false},
      {2951, "_uuid", "uuid[]", -1, 'A', 2950, 0, false, 'i', false},
      {3802, "jsonb", "jsonb", -1, 'U', 0, 3807, false, 'i', false},
      {3807, "_jsonb", "jsonb[]", -1, 'A', 3802, 0, false, 'i', false},
      {4089, "regnamespace", "regnamespace", 4, 'N', 0, 4090, true, 'i', false},
      {4090, "_regnamespace", "regnamespace[]", -1, 'A', 4089, 0, false, 'i', false},
      {4096, "regrole", "regrole", 4, 'N', 0, 4097, true, 'i', false},
      {4097, "_regrole", "regrole[]", -1, 'A', 4096, 0, false, 'i', false},
  };
  return kTypes;
}

const PgType* FindType(int32_t oid) {
  static const std::map<int32_t, const PgType*> kByOid = [] {
    std::map<int32_t, const PgType*> by_oid;
    for (const PgType& type : BuiltinTypes()) by_oid[type.oid] = &type;
    return by_oid;
  }();
  auto found = kByOid.find(oid);
  return found == kByOid.end() ? nullptr : found->second;
}

const PgType* FindTypeByName(std::string_view name) {
  static const std::map<std::string, const PgType*> kByName = [] {
    std::map<std::string, const PgType*> by_name;
    for (const PgType& type : BuiltinTypes()) {
      by_name[type.name] = &type;
      by_name.emplace(AsciiLower(type.sql_name), &type);
    }
    // Spellings the grammar or users write that are neither typname nor format_type's.
    const std::pair<const char*, int32_t> kAliases[] = {
        {"int", kInt4Oid},         {"integer", kInt4Oid},    {"float", kFloat8Oid},
        {"double", kFloat8Oid},    {"decimal", kNumericOid}, {"boolean", kBoolOid},
        {"character", kBpcharOid}, {"string", kTextOid},     {"timestamp", kTimestampOid},
        {"time", kTimeOid}};
    for (const auto& [alias, oid] : kAliases) by_name[alias] = FindType(oid);
    return by_name;
  }();
  std::string key = AsciiLower(name);
  if (key.size() > 2 && key.ends_with("[]")) {
    const PgType* element = FindTypeByName(std::string_view(key).substr(0, key.size() - 2));
    return element == nullptr || element->array == 0 ? nullptr : FindType(element->array);
  }
  auto found = kByName.find(key);
  return found == kByName.end() ? nullptr : found->second;
}

std::string FormatType(int32_t oid, int32_t modifier) {
  const PgType* type = FindType(oid);
  if (type == nullptr) return "???";
  if (type->element != 0 && type->category == 'A' && std::string_view(type->name).front() == '_') {
    return FormatType(type->element, modifier) + "[]";
  }
  std::string name = type->sql_name;
  if (modifier < 0) return name;
  switch (oid) {
    case kNumericOid: {
      int32_t packed = modifier - kModifierHeader;
      return name + "(" + std::to_string((packed >> 16) & 0xffff) + "," +
             std::to_string(packed & 0xffff) + ")";
    }
    case kVarcharOid:
    case kBpcharOid:
      return name + "(" + std::to_string(modifier - kModifierHeader) + ")";
    case kTimestampOid:
      return "timestamp(" + std::to_string(modifier) + ") without time zone";
    case kTimestamptzOid:
      return "timestamp(" + std::to_string(modifier) + ") with time zone";
    case kTimeOid:
      return "time(" + std::to_string(modifier) + ") without time zone";
    default:
      return name;
  }
}

PgColumnType ColumnTypeFor(const arrow::DataType& type) {
  using arrow::Type;
  switch (type.id()) {
    case Type::BOOL:
      return {kBoolOid, 1, -1};
    case Type::INT8:
    case Type::UINT8:
    case Type::INT16:
      return {kInt2Oid, 2, -1};
    case Type::UINT16:
    case Type::INT32:
      return {kInt4Oid, 4, -1};
    case Type::UINT32:
    case Type::INT64:
      return {kInt8Oid, 8, -1};
    case Type::UINT64:
      return {kNumericOid, -1, -1};
    case Type::HALF_FLOAT:
    case Type::FLOAT:
      return {kFloat4Oid, 4, -1};
    case Type::DOUBLE:
      return {kFloat8Oid, 8, -1};
    case Type::DECIMAL32:
    case Type::DECIMAL64:
    case Type::DECIMAL128:
    case Type::DECIMAL256: {
      const auto& decimal = static_cast<const arrow::DecimalType&>(type);
      if (decimal.scale() < 0) return {kNumericOid, -1, -1};
      return {kNumericOid, -1, ((decimal.precision() << 16) | decimal.scale()) + kModifierHeader};
    }
    case Type::STRING:
    case Type::LARGE_STRING:
    case Type::STRING_VIEW:
      return {kTextOid, -1, -1};
    case Type::BINARY:
    case Type::LARGE_BINARY:
    case Type::BINARY_VIEW:
    case Type::FIXED_SIZE_BINARY:
      return {kByteaOid, -1, -1};
    case Type::DATE32:
    case Type::DATE64:
      return {kDateOid, 4, -1};
    case Type::TIME32:
    case Type::TIME64:
      return {kTimeOid, 8, -1};
    case Type::TIMESTAMP:
      return static_cast<const arrow::TimestampType&>(type).timezone().empty()
                 ? PgColumnType{kTimestampOid, 8, -1}
                 : PgColumnType{kTimestamptzOid, 8, -1};
    case Type::DURATION:
    case Type::INTERVAL_MONTHS:
    case Type::INTERVAL_DAY_TIME:
    case Type::INTERVAL_MONTH_DAY_NANO:
      return {kIntervalOid, 16, -1};
    case Type::LIST:
    case Type::LARGE_LIST:
    case Type::LIST_VIEW:
    case Type::LARGE_LIST_VIEW:
    case Type::FIXED_SIZE_LIST:
    case Type::STRUCT:
    case Type::MAP:
      return {kJsonOid, -1, -1};
    case Type::DICTIONARY:
      return ColumnTypeFor(*static_cast<const arrow::DictionaryType&>(type).value_type());
    default:
      return {kTextOid, -1, -1};
  }
}

}  // namespace nlk::pgwire
