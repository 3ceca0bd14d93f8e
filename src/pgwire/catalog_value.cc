#include "pgwire/catalog_value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "pgwire/sql_state.h"
#include "pgwire/value_format.h"

namespace nlk::pgwire {
namespace {

std::string_view Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

std::string TypeName(int32_t type) { return FormatType(type, -1); }

arrow::Status InvalidText(int32_t type, std::string_view text) {
  return SqlStateError(
      sqlstate::kInvalidTextRepresentation,
      "invalid input syntax for type " + TypeName(type) + ": \"" + std::string(text) + "\"");
}

arrow::Status NoCast(int32_t from, int32_t to) {
  return SqlStateError(sqlstate::kCannotCoerce,
                       "cannot cast type " + TypeName(from) + " to " + TypeName(to));
}

arrow::Result<int64_t> ParseInteger(std::string_view text, int32_t type) {
  std::string_view trimmed = Trim(text);
  if (!trimmed.empty() && trimmed.front() == '+') trimmed.remove_prefix(1);
  int64_t value = 0;
  auto [end, error] = std::from_chars(trimmed.data(), trimmed.data() + trimmed.size(), value);
  if (error != std::errc() || end != trimmed.data() + trimmed.size() || trimmed.empty()) {
    return InvalidText(type, text);
  }
  return value;
}

arrow::Result<double> ParseFloat(std::string_view text, int32_t type) {
  std::string trimmed(Trim(text));
  std::string lower = trimmed;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "nan") return std::nan("");
  if (lower == "infinity" || lower == "+infinity" || lower == "inf") return HUGE_VAL;
  if (lower == "-infinity" || lower == "-inf") return -HUGE_VAL;
  if (!trimmed.empty() && trimmed.front() == '+') trimmed.erase(0, 1);
  double value = 0;
  auto [end, error] = std::from_chars(trimmed.data(), trimmed.data() + trimmed.size(), value);
  if (error != std::errc() || end != trimmed.data() + trimmed.size() || trimmed.empty()) {
    return InvalidText(type, text);
  }
  return value;
}

arrow::Result<bool> ParseBool(std::string_view text) {
  std::string lower(Trim(text));
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "t" || lower == "true" || lower == "y" || lower == "yes" || lower == "on" ||
      lower == "1") {
    return true;
  }
  if (lower == "f" || lower == "false" || lower == "n" || lower == "no" || lower == "off" ||
      lower == "0") {
    return false;
  }
  return InvalidText(kBoolOid, text);
}

bool IsIntegerType(int32_t type) {
  return type == kInt2Oid || type == kInt4Oid || type == kInt8Oid;
}

bool IsFloatType(int32_t type) {
  return type == kFloat4Oid || type == kFloat8Oid || type == kNumericOid;
}

bool IsVectorType(int32_t type) { return type == kInt2VectorOid || type == kOidVectorOid; }

int32_t ElementType(int32_t array_type) {
  if (array_type == kInt2VectorOid) return kInt2Oid;
  if (array_type == kOidVectorOid) return kOidOid;
  const PgType* type = FindType(array_type);
  return type == nullptr ? 0 : type->element;
}

bool IsArrayType(int32_t type) {
  if (IsVectorType(type)) return true;
  const PgType* info = FindType(type);
  return info != nullptr && info->category == 'A';
}

// Whether an array element must be quoted in an array's text form.
bool NeedsQuotes(std::string_view text) {
  if (text.empty()) return true;
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "null") return true;
  for (unsigned char c : text) {
    if (c == '{' || c == '}' || c == ',' || c == '"' || c == '\\' || std::isspace(c)) return true;
  }
  return false;
}

std::string NumericText(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value < 0 ? "-Infinity" : "Infinity";
  char text[400];
  auto [end, error] = std::to_chars(text, text + sizeof text, value, std::chars_format::fixed);
  (void)error;  // 400 characters hold any double in fixed form
  return std::string(text, end);
}

}  // namespace

Value Value::Null(int32_t type) {
  Value value;
  value.type_ = type;
  return value;
}

Value Value::Bool(bool boolean) {
  Value value;
  value.kind_ = Kind::kBool;
  value.type_ = kBoolOid;
  value.boolean_ = boolean;
  return value;
}

Value Value::Integer(int64_t integer, int32_t type) {
  Value value;
  value.kind_ = Kind::kInteger;
  value.type_ = type;
  value.integer_ = integer;
  return value;
}

Value Value::Float(double number, int32_t type) {
  Value value;
  value.kind_ = Kind::kFloat;
  value.type_ = type;
  value.number_ = number;
  return value;
}

Value Value::Text(std::string text, int32_t type) {
  Value value;
  value.kind_ = Kind::kText;
  value.type_ = type;
  value.text_ = std::move(text);
  return value;
}

Value Value::Array(std::vector<Value> items, int32_t type) {
  Value value;
  value.kind_ = Kind::kArray;
  value.type_ = type;
  value.items_ = std::make_shared<const std::vector<Value>>(std::move(items));
  return value;
}

const std::vector<Value>& Value::items() const {
  static const std::vector<Value> kEmpty;
  return items_ ? *items_ : kEmpty;
}

Value Value::WithType(int32_t type) const {
  Value value = *this;
  value.type_ = type;
  return value;
}

bool IsNumericType(int32_t type) {
  return IsIntegerType(type) || IsFloatType(type) || IsOidType(type);
}

bool IsTextType(int32_t type) {
  return type == kTextOid || type == kNameOid || type == kVarcharOid || type == kBpcharOid ||
         type == kCharOid || type == kUnknownOid || type == kJsonOid;
}

bool IsOidType(int32_t type) {
  return type == kOidOid || type == kRegClassOid || type == kRegTypeOid ||
         type == kRegNamespaceOid || type == kRegRoleOid || type == kRegProcOid;
}

arrow::Result<Value> ParseArrayLiteral(std::string_view text, int32_t array_type,
                                       const NameResolver& resolver) {
  const int32_t element_type = ElementType(array_type);
  std::vector<Value> items;
  std::string_view body = Trim(text);
  if (IsVectorType(array_type)) {
    // int2vector and oidvector are written as space-separated numbers.
    size_t start = 0;
    while (start < body.size()) {
      size_t end = body.find(' ', start);
      if (end == std::string_view::npos) end = body.size();
      if (end > start) {
        ARROW_ASSIGN_OR_RAISE(int64_t number,
                              ParseInteger(body.substr(start, end - start), element_type));
        items.push_back(Value::Integer(number, element_type));
      }
      start = end + 1;
    }
    return Value::Array(std::move(items), array_type);
  }
  if (body.size() < 2 || body.front() != '{' || body.back() != '}') {
    return SqlStateError(sqlstate::kInvalidTextRepresentation,
                         "malformed array literal: \"" + std::string(text) + "\"");
  }
  body = body.substr(1, body.size() - 2);
  size_t position = 0;
  while (position < body.size()) {
    while (position < body.size() && std::isspace(static_cast<unsigned char>(body[position]))) {
      ++position;
    }
    std::string element;
    bool quoted = false;
    if (position < body.size() && body[position] == '"') {
      quoted = true;
      ++position;
      while (position < body.size() && body[position] != '"') {
        if (body[position] == '\\' && position + 1 < body.size()) ++position;
        element.push_back(body[position++]);
      }
      if (position >= body.size()) {
        return SqlStateError(sqlstate::kInvalidTextRepresentation,
                             "malformed array literal: \"" + std::string(text) + "\"");
      }
      ++position;  // closing quote
    } else {
      while (position < body.size() && body[position] != ',') {
        if (body[position] == '{') {
          return SqlStateError(sqlstate::kFeatureNotSupported,
                               "multidimensional arrays are not supported");
        }
        element.push_back(body[position++]);
      }
      element = std::string(Trim(element));
    }
    while (position < body.size() && body[position] != ',') ++position;
    ++position;  // the comma
    std::string lower = element;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (!quoted && lower == "null") {
      items.push_back(Value::Null(element_type));
      continue;
    }
    ARROW_ASSIGN_OR_RAISE(Value item, CastValue(Value::Text(std::move(element), kUnknownOid),
                                                element_type, resolver));
    items.push_back(std::move(item));
  }
  return Value::Array(std::move(items), array_type);
}

arrow::Result<Value> CastValue(const Value& value, int32_t type, const NameResolver& resolver) {
  if (value.type() == type) return value;
  if (value.is_null()) return Value::Null(type);
  if (IsTextType(type)) {
    std::string text = ValueText(value, resolver);
    if (type == kCharOid) text = text.substr(0, 1);
    return Value::Text(std::move(text), type);
  }
  if (IsIntegerType(type) || IsOidType(type)) {
    switch (value.kind()) {
      case Value::Kind::kInteger:
        return Value::Integer(value.integer(), type);
      case Value::Kind::kFloat:
        return Value::Integer(static_cast<int64_t>(std::llround(value.number())), type);
      case Value::Kind::kBool:
        if (type == kInt4Oid) return Value::Integer(value.boolean() ? 1 : 0, type);
        return NoCast(value.type(), type);
      case Value::Kind::kText: {
        if (IsOidType(type) && type != kOidOid) {
          std::string_view trimmed = Trim(value.text());
          bool digits = !trimmed.empty() && std::all_of(trimmed.begin(), trimmed.end(), [](char c) {
            return std::isdigit(static_cast<unsigned char>(c));
          });
          if (!digits) {
            ARROW_ASSIGN_OR_RAISE(int64_t oid, resolver.oid_of(type, trimmed));
            return Value::Integer(oid, type);
          }
        }
        ARROW_ASSIGN_OR_RAISE(int64_t number, ParseInteger(value.text(), type));
        return Value::Integer(number, type);
      }
      default:
        return NoCast(value.type(), type);
    }
  }
  if (IsFloatType(type)) {
    switch (value.kind()) {
      case Value::Kind::kInteger:
        return Value::Float(static_cast<double>(value.integer()), type);
      case Value::Kind::kFloat:
        return Value::Float(value.number(), type);
      case Value::Kind::kText: {
        ARROW_ASSIGN_OR_RAISE(double number, ParseFloat(value.text(), type));
        return Value::Float(number, type);
      }
      default:
        return NoCast(value.type(), type);
    }
  }
  if (type == kBoolOid) {
    switch (value.kind()) {
      case Value::Kind::kBool:
        return value;
      case Value::Kind::kInteger:
        return Value::Bool(value.integer() != 0);
      case Value::Kind::kText: {
        ARROW_ASSIGN_OR_RAISE(bool boolean, ParseBool(value.text()));
        return Value::Bool(boolean);
      }
      default:
        return NoCast(value.type(), type);
    }
  }
  if (IsArrayType(type)) {
    if (value.kind() == Value::Kind::kText) return ParseArrayLiteral(value.text(), type, resolver);
    if (value.kind() == Value::Kind::kArray) {
      std::vector<Value> items;
      for (const Value& item : value.items()) {
        ARROW_ASSIGN_OR_RAISE(Value cast, CastValue(item, ElementType(type), resolver));
        items.push_back(std::move(cast));
      }
      return Value::Array(std::move(items), type);
    }
    return NoCast(value.type(), type);
  }
  if (type == kDateOid || type == kTimeOid || type == kTimestampOid || type == kTimestamptzOid ||
      type == kIntervalOid) {
    // Date and time values in catalog queries are only ever passed through as text.
    if (value.kind() == Value::Kind::kText) return Value::Text(value.text(), type);
  }
  return NoCast(value.type(), type);
}

arrow::Result<std::optional<int>> CompareValues(const Value& left, const Value& right,
                                                const NameResolver& resolver) {
  if (left.is_null() || right.is_null()) return std::optional<int>();
  // An untyped literal takes the type of what it is compared with ('r' = relkind,
  // '16384' = oid, '{0}' = oid[]).
  if (left.type() == kUnknownOid && right.type() != kUnknownOid) {
    ARROW_ASSIGN_OR_RAISE(Value cast, CastValue(left, right.type(), resolver));
    return CompareValues(cast, right, resolver);
  }
  if (right.type() == kUnknownOid && left.type() != kUnknownOid) {
    ARROW_ASSIGN_OR_RAISE(Value cast, CastValue(right, left.type(), resolver));
    return CompareValues(left, cast, resolver);
  }
  auto sign = [](auto difference) { return difference < 0 ? -1 : difference > 0 ? 1 : 0; };
  using Kind = Value::Kind;
  const bool left_number = left.kind() == Kind::kInteger || left.kind() == Kind::kFloat;
  const bool right_number = right.kind() == Kind::kInteger || right.kind() == Kind::kFloat;
  if (left_number && right_number) {
    if (left.kind() == Kind::kInteger && right.kind() == Kind::kInteger) {
      return std::optional<int>(left.integer() < right.integer()   ? -1
                                : left.integer() > right.integer() ? 1
                                                                   : 0);
    }
    double a = left.kind() == Kind::kInteger ? static_cast<double>(left.integer()) : left.number();
    double b =
        right.kind() == Kind::kInteger ? static_cast<double>(right.integer()) : right.number();
    return std::optional<int>(sign(a - b));
  }
  if (left.kind() == Kind::kBool && right.kind() == Kind::kBool) {
    return std::optional<int>(sign(static_cast<int>(left.boolean()) - right.boolean()));
  }
  if (left.kind() == Kind::kText && right.kind() == Kind::kText) {
    int compared = left.text().compare(right.text());
    return std::optional<int>(sign(compared));
  }
  if (left.kind() == Kind::kArray && right.kind() == Kind::kArray) {
    const auto& a = left.items();
    const auto& b = right.items();
    for (size_t index = 0; index < std::min(a.size(), b.size()); ++index) {
      if (a[index].is_null() || b[index].is_null()) {
        if (a[index].is_null() && b[index].is_null()) continue;
        return std::optional<int>(a[index].is_null() ? 1 : -1);
      }
      ARROW_ASSIGN_OR_RAISE(auto compared, CompareValues(a[index], b[index], resolver));
      if (compared && *compared != 0) return compared;
    }
    return std::optional<int>(
        sign(static_cast<int64_t>(a.size()) - static_cast<int64_t>(b.size())));
  }
  // A number against a text (e.g. an oid against a text parameter): read the text as the other
  // side's type, as an implicit cast would.
  if (left.kind() == Kind::kText && right_number) {
    ARROW_ASSIGN_OR_RAISE(Value cast, CastValue(left, right.type(), resolver));
    return CompareValues(cast, right, resolver);
  }
  if (right.kind() == Kind::kText && left_number) {
    ARROW_ASSIGN_OR_RAISE(Value cast, CastValue(right, left.type(), resolver));
    return CompareValues(left, cast, resolver);
  }
  return SqlStateError(
      sqlstate::kUndefinedFunction,
      "operator does not exist: " + TypeName(left.type()) + " = " + TypeName(right.type()));
}

std::string ValueText(const Value& value, const NameResolver& resolver) {
  switch (value.kind()) {
    case Value::Kind::kNull:
      return "";
    case Value::Kind::kBool:
      return value.boolean() ? "t" : "f";
    case Value::Kind::kInteger: {
      const int32_t type = value.type();
      if (IsOidType(type) && type != kOidOid) {
        if (value.integer() == 0) return "-";
        if (resolver.name_of) {
          if (auto name = resolver.name_of(type, value.integer())) return *name;
        }
      }
      return std::to_string(value.integer());
    }
    case Value::Kind::kFloat: {
      std::string text;
      if (value.type() == kFloat4Oid) {
        AppendFloat4Text(static_cast<float>(value.number()), &text);
      } else if (value.type() == kNumericOid) {
        text = NumericText(value.number());
      } else {
        AppendFloat8Text(value.number(), &text);
      }
      return text;
    }
    case Value::Kind::kText:
      return value.text();
    case Value::Kind::kArray: {
      std::string text;
      if (IsVectorType(value.type())) {
        for (const Value& item : value.items()) {
          if (!text.empty()) text.push_back(' ');
          text += ValueText(item, resolver);
        }
        return text;
      }
      text.push_back('{');
      bool first = true;
      for (const Value& item : value.items()) {
        if (!first) text.push_back(',');
        first = false;
        if (item.is_null()) {
          text += "NULL";
          continue;
        }
        std::string element = ValueText(item, resolver);
        if (!NeedsQuotes(element)) {
          text += element;
          continue;
        }
        text.push_back('"');
        for (char c : element) {
          if (c == '"' || c == '\\') text.push_back('\\');
          text.push_back(c);
        }
        text.push_back('"');
      }
      text.push_back('}');
      return text;
    }
  }
  return "";
}

arrow::Status AppendValueBinary(const Value& value, int32_t type, const NameResolver& resolver,
                                std::string* out) {
  ARROW_ASSIGN_OR_RAISE(Value cast, CastValue(value, type, resolver));
  switch (type) {
    case kBoolOid:
      out->push_back(cast.boolean() ? 1 : 0);
      return arrow::Status::OK();
    case kInt2Oid:
      AppendInt16Binary(static_cast<int16_t>(cast.integer()), out);
      return arrow::Status::OK();
    case kInt4Oid:
    case kOidOid:
    case kRegClassOid:
    case kRegTypeOid:
    case kRegNamespaceOid:
    case kRegRoleOid:
    case kRegProcOid:
      AppendInt32Binary(static_cast<int32_t>(cast.integer()), out);
      return arrow::Status::OK();
    case kInt8Oid:
      AppendInt64Binary(cast.integer(), out);
      return arrow::Status::OK();
    case kFloat4Oid:
      AppendFloat4Binary(static_cast<float>(cast.number()), out);
      return arrow::Status::OK();
    case kFloat8Oid:
      AppendFloat8Binary(cast.number(), out);
      return arrow::Status::OK();
    case kNumericOid:
      AppendNumericBinary(NumericText(cast.number()), out);
      return arrow::Status::OK();
    default:
      break;
  }
  if (IsTextType(type)) {
    out->append(cast.text());
    return arrow::Status::OK();
  }
  if (IsArrayType(type)) {
    const int32_t element_type = ElementType(type);
    const auto& items = cast.items();
    bool has_null =
        std::any_of(items.begin(), items.end(), [](const Value& item) { return item.is_null(); });
    AppendInt32Binary(items.empty() ? 0 : 1, out);
    AppendInt32Binary(has_null ? 1 : 0, out);
    AppendInt32Binary(element_type, out);
    if (!items.empty()) {
      AppendInt32Binary(static_cast<int32_t>(items.size()), out);
      AppendInt32Binary(IsVectorType(type) ? 0 : 1, out);  // vectors count from 0
    }
    for (const Value& item : items) {
      if (item.is_null()) {
        AppendInt32Binary(-1, out);
        continue;
      }
      std::string element;
      ARROW_RETURN_NOT_OK(AppendValueBinary(item, element_type, resolver, &element));
      AppendInt32Binary(static_cast<int32_t>(element.size()), out);
      out->append(element);
    }
    return arrow::Status::OK();
  }
  return SqlStateError(sqlstate::kFeatureNotSupported,
                       "binary format is not supported for catalog values of type " +
                           TypeName(type) + "; request text format");
}

}  // namespace nlk::pgwire
