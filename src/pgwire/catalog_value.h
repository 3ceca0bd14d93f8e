// One value of a catalog query (pg_catalog, information_schema, SHOW): a small dynamically typed
// datum carrying the PostgreSQL type it has, so that results are described with PostgreSQL's
// type OIDs and written in its text and binary forms. Catalog values are names, numbers, flags
// and arrays of those; data queries never come here (they stay Arrow, see row_encoder.h).
//
// Values are immutable once built; thread-safe to share.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgwire/pg_type.h"

namespace nlk::pgwire {

class Value {
 public:
  enum class Kind : uint8_t { kNull, kBool, kInteger, kFloat, kText, kArray };

  // A NULL of `type` (kUnknownOid when nothing says which).
  static Value Null(int32_t type = kUnknownOid);
  static Value Bool(bool value);
  // int2, int4, int8, oid and the reg* types (an OID shown by name).
  static Value Integer(int64_t value, int32_t type = kInt4Oid);
  // float4, float8 and numeric.
  static Value Float(double value, int32_t type = kFloat8Oid);
  // text, name, varchar, "char", unknown (an untyped literal), json, and date/time values kept
  // as their text.
  static Value Text(std::string value, int32_t type = kTextOid);
  // An array of `type` (an array type OID, e.g. kTextArrayOid, or int2vector/oidvector).
  static Value Array(std::vector<Value> items, int32_t type);

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::kNull; }
  int32_t type() const { return type_; }
  bool boolean() const { return boolean_; }
  int64_t integer() const { return integer_; }
  double number() const { return number_; }
  const std::string& text() const { return text_; }
  const std::vector<Value>& items() const;

  // The same value seen as another type of the same kind (e.g. int4 -> oid).
  Value WithType(int32_t type) const;

 private:
  Kind kind_ = Kind::kNull;
  int32_t type_ = kUnknownOid;
  bool boolean_ = false;
  int64_t integer_ = 0;
  double number_ = 0;
  std::string text_;
  std::shared_ptr<const std::vector<Value>> items_;
};

using Row = std::vector<Value>;

// Looks names up for the reg* types: regclass and regtype print as names and are written as
// names ('pg_class'::regclass).
struct NameResolver {
  // OID -> name as PostgreSQL prints it (qualified when not visible); nullopt when unknown.
  std::function<std::optional<std::string>(int32_t type, int64_t oid)> name_of;
  // Name -> OID; an error (with SQLSTATE) when there is no such object.
  std::function<arrow::Result<int64_t>(int32_t type, std::string_view name)> oid_of;
};

// Casts as PostgreSQL would for the types catalog queries use; errors carry SQLSTATE 22P02
// (invalid text), 42846 (no such cast) or the resolver's codes.
arrow::Result<Value> CastValue(const Value& value, int32_t type, const NameResolver& resolver);

// Three-way comparison; nullopt when either side is NULL. Numbers compare as numbers, texts by
// bytes, arrays element by element. An untyped literal is first read as the other side's type.
arrow::Result<std::optional<int>> CompareValues(const Value& left, const Value& right,
                                                const NameResolver& resolver);

// The text form PostgreSQL's output function gives (booleans t/f, arrays {a,"b c"}, ...).
std::string ValueText(const Value& value, const NameResolver& resolver);

// Appends the binary form of `value` as `type`. Types without a binary form here (date/time
// kept as text) are an error with SQLSTATE 0A000.
arrow::Status AppendValueBinary(const Value& value, int32_t type, const NameResolver& resolver,
                                std::string* out);

// Parses an array literal ('{a,"b c",NULL}') into elements of `element_type`.
arrow::Result<Value> ParseArrayLiteral(std::string_view text, int32_t array_type,
                                       const NameResolver& resolver);

// Integers, floats and numeric.
bool IsNumericType(int32_t type);
// text, name, varchar, bpchar, "char", unknown and json.
bool IsTextType(int32_t type);
// oid and the reg* types.
bool IsOidType(int32_t type);

}  // namespace nlk::pgwire
