// PostgreSQL's built-in types as clients know them: the fixed OIDs of pg_type, their names and
// sizes, the SQL spelling format_type() gives them, and which PostgreSQL type stands for each
// Arrow type a query returns. Clients pick their decoders by these OIDs, so they must be
// PostgreSQL's own numbers (src/include/catalog/pg_type.dat).
//
// Pure data and functions; thread-safe.
#pragma once

#include <arrow/type_fwd.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nlk::pgwire {

inline constexpr int32_t kBoolOid = 16;
inline constexpr int32_t kByteaOid = 17;
inline constexpr int32_t kCharOid = 18;
inline constexpr int32_t kNameOid = 19;
inline constexpr int32_t kInt8Oid = 20;
inline constexpr int32_t kInt2Oid = 21;
inline constexpr int32_t kInt2VectorOid = 22;
inline constexpr int32_t kInt4Oid = 23;
inline constexpr int32_t kRegProcOid = 24;
inline constexpr int32_t kTextOid = 25;
inline constexpr int32_t kOidOid = 26;
inline constexpr int32_t kOidVectorOid = 30;
inline constexpr int32_t kJsonOid = 114;
inline constexpr int32_t kFloat4Oid = 700;
inline constexpr int32_t kFloat8Oid = 701;
inline constexpr int32_t kUnknownOid = 705;
inline constexpr int32_t kAclItemOid = 1033;
inline constexpr int32_t kBpcharOid = 1042;
inline constexpr int32_t kVarcharOid = 1043;
inline constexpr int32_t kDateOid = 1082;
inline constexpr int32_t kTimeOid = 1083;
inline constexpr int32_t kTimestampOid = 1114;
inline constexpr int32_t kTimestamptzOid = 1184;
inline constexpr int32_t kIntervalOid = 1186;
inline constexpr int32_t kNumericOid = 1700;
inline constexpr int32_t kRegClassOid = 2205;
inline constexpr int32_t kRegTypeOid = 2206;
inline constexpr int32_t kRegNamespaceOid = 4089;
inline constexpr int32_t kRegRoleOid = 4096;

// Array types used by the catalog.
inline constexpr int32_t kCharArrayOid = 1002;
inline constexpr int32_t kNameArrayOid = 1003;
inline constexpr int32_t kInt2ArrayOid = 1005;
inline constexpr int32_t kInt4ArrayOid = 1007;
inline constexpr int32_t kTextArrayOid = 1009;
inline constexpr int32_t kOidArrayOid = 1028;
inline constexpr int32_t kAclItemArrayOid = 1034;

// The namespace every built-in type and catalog table lives in.
inline constexpr int32_t kPgCatalogNamespaceOid = 11;
// The default collation's OID (typcollation of the text types).
inline constexpr int32_t kDefaultCollationOid = 100;

struct PgType {
  int32_t oid;
  const char* name;      // typname: "int4", "_text"
  const char* sql_name;  // format_type's spelling without modifiers: "integer"
  int16_t length;        // typlen: bytes, -1 variable, -2 C string
  char category;         // typcategory: 'N' numeric, 'S' string, 'A' array, ...
  int32_t element;       // typelem: an array's element type, else 0
  int32_t array;         // typarray: this type's array type, else 0
  bool by_value;
  char alignment;  // typalign
  bool preferred;  // typispreferred
};

// Every built-in type the server can name (result columns, catalog columns, casts).
const std::vector<PgType>& BuiltinTypes();
// nullptr when `oid` is not one of them.
const PgType* FindType(int32_t oid);
// By typname or SQL spelling ("int4", "integer", "varchar", "character varying",
// "timestamp with time zone", "_int4", "int4[]"), case-insensitive; nullptr when unknown.
const PgType* FindTypeByName(std::string_view name);

// format_type(oid, typmod): "integer", "numeric(10,2)", "character varying(20)", "text[]";
// `modifier` -1 means none. Unknown OIDs give "???" as PostgreSQL does.
std::string FormatType(int32_t oid, int32_t modifier);

// How one result column is described to the client (RowDescription).
struct PgColumnType {
  int32_t oid = kTextOid;
  int16_t length = -1;
  int32_t modifier = -1;
};

// The PostgreSQL type that stands for `type`: booleans, integers (widened where PostgreSQL has
// no unsigned or one-byte type; uint64 is numeric), floats, decimals (numeric with precision
// and scale), strings (text), binary (bytea), date, time, timestamps (timestamptz when the Arrow
// type has a zone), durations and intervals (interval), and nested types as json.
// Dictionaries take their value type.
PgColumnType ColumnTypeFor(const arrow::DataType& type);

}  // namespace nlk::pgwire
