#include "pgwire/parameters.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <charconv>
#include <cmath>

#include "common/utf8.h"
#include "pgwire/pg_type.h"
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

std::string Describe(int number, int32_t type) {
  return "parameter $" + std::to_string(number) + " (" + FormatType(type, -1) + ")";
}

arrow::Status BadText(int number, int32_t type, std::string_view text) {
  std::string shown(text.substr(0, 100));
  return SqlStateError(
      sqlstate::kInvalidTextRepresentation,
      "invalid input syntax for " + Describe(number, type) + ": \"" + shown + "\"");
}

arrow::Status BadBinary(int number, int32_t type) {
  return SqlStateError(sqlstate::kInvalidBinaryRepresentation,
                       "incorrect binary data format in bind " + Describe(number, type));
}

// A literal in parentheses when negative, so "-" never joins a preceding operator ("x--1").
std::string Signed(std::string text) {
  if (!text.empty() && text.front() == '-') return "(" + text + ")";
  return text;
}

arrow::Result<std::string> Quoted(std::string_view text, int number) {
  std::string literal = "'";
  literal.reserve(text.size() + 2);
  for (size_t position = 0; position < text.size();) {
    // DecodeUtf8 reads multi-byte sequences; ASCII is one byte, and NUL has no place in text.
    const auto byte = static_cast<unsigned char>(text[position]);
    uint32_t code_point = 0;
    size_t length = byte < 0x80 ? (byte == 0 ? 0 : 1) : DecodeUtf8(text, position, &code_point);
    if (length == 0) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", static_cast<unsigned char>(text[position]));
      return SqlStateError(sqlstate::kCharacterNotInRepertoire,
                           "invalid byte sequence for encoding \"UTF8\": " + std::string(hex) +
                               " in parameter $" + std::to_string(number));
    }
    if (text[position] == '\'') literal.push_back('\'');
    literal.append(text.substr(position, length));
    position += length;
  }
  literal.push_back('\'');
  return literal;
}

arrow::Result<std::string> IntegerText(std::string_view text, int number, int32_t type) {
  std::string_view digits = Trim(text);
  const bool plus = !digits.empty() && digits.front() == '+';
  if (plus) digits.remove_prefix(1);
  std::string_view unsigned_digits = digits;
  if (!plus && !unsigned_digits.empty() && unsigned_digits.front() == '-') {
    unsigned_digits.remove_prefix(1);
  }
  int64_t value = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (unsigned_digits.empty() || !std::isdigit(static_cast<unsigned char>(unsigned_digits[0])) ||
      error != std::errc() || end != digits.data() + digits.size()) {
    return BadText(number, type, text);
  }
  return Signed(std::to_string(value));
}

// [+-]digits[.digits][e[+-]digits] or .digits; anything else is not a number.
bool IsDecimalNumber(std::string_view text) {
  size_t position = 0;
  if (position < text.size() && (text[position] == '+' || text[position] == '-')) ++position;
  size_t digits = 0;
  while (position < text.size() && std::isdigit(static_cast<unsigned char>(text[position]))) {
    ++position;
    ++digits;
  }
  if (position < text.size() && text[position] == '.') {
    ++position;
    while (position < text.size() && std::isdigit(static_cast<unsigned char>(text[position]))) {
      ++position;
      ++digits;
    }
  }
  if (digits == 0) return false;
  if (position < text.size() && (text[position] == 'e' || text[position] == 'E')) {
    ++position;
    if (position < text.size() && (text[position] == '+' || text[position] == '-')) ++position;
    size_t exponent = 0;
    while (position < text.size() && std::isdigit(static_cast<unsigned char>(text[position]))) {
      ++position;
      ++exponent;
    }
    if (exponent == 0) return false;
  }
  return position == text.size();
}

std::string SpecialFloat(double value) {
  const char* text = std::isnan(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
  return std::string("CAST('") + text + "' AS double precision)";
}

arrow::Result<std::string> FloatText(std::string_view text, int number, int32_t type) {
  std::string trimmed(Trim(text));
  std::string lower = trimmed;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "nan") return SpecialFloat(std::nan(""));
  if (lower == "infinity" || lower == "+infinity" || lower == "inf") return SpecialFloat(HUGE_VAL);
  if (lower == "-infinity" || lower == "-inf") return SpecialFloat(-HUGE_VAL);
  if (!IsDecimalNumber(trimmed)) return BadText(number, type, text);
  if (trimmed.front() == '+') trimmed.erase(0, 1);
  return Signed(trimmed);
}

std::string DoubleLiteral(double value) {
  if (!std::isfinite(value)) return SpecialFloat(value);
  std::string text;
  AppendFloat8Text(value, &text);
  return Signed(text);
}

// The decimal text of a numeric in PostgreSQL's binary form (base-10000 digit groups).
arrow::Result<std::string> NumericFromBinary(std::string_view bytes, int number) {
  if (bytes.size() < 8) return BadBinary(number, kNumericOid);
  const int16_t count = ReadInt16(bytes);
  const int16_t weight = ReadInt16(bytes.substr(2));
  const uint16_t sign = static_cast<uint16_t>(ReadInt16(bytes.substr(4)));
  const int16_t scale = ReadInt16(bytes.substr(6));
  if (count < 0 || scale < 0 || bytes.size() != 8 + 2 * static_cast<size_t>(count)) {
    return BadBinary(number, kNumericOid);
  }
  if (sign == 0xC000) return std::string("CAST('NaN' AS double precision)");
  if (sign == 0xD000) return SpecialFloat(HUGE_VAL);
  if (sign == 0xF000) return SpecialFloat(-HUGE_VAL);
  if (sign != 0 && sign != 0x4000) return BadBinary(number, kNumericOid);
  std::vector<int> groups;
  for (int16_t index = 0; index < count; ++index) {
    int group = ReadInt16(bytes.substr(8 + 2 * static_cast<size_t>(index)));
    if (group < 0 || group > 9999) return BadBinary(number, kNumericOid);
    groups.push_back(group);
  }
  // Digits of groups 0..weight form the integer part; the rest the fraction.
  std::string integer;
  for (int index = 0; index <= weight; ++index) {
    int group = index < count ? groups[static_cast<size_t>(index)] : 0;
    char text[8];
    std::snprintf(text, sizeof text, integer.empty() ? "%d" : "%04d", group);
    if (integer.empty() && group == 0) continue;
    integer += text;
  }
  if (integer.empty()) integer = "0";
  std::string fraction;
  for (int index = std::max(0, weight + 1); index < count; ++index) {
    char text[8];
    std::snprintf(text, sizeof text, "%04d", groups[static_cast<size_t>(index)]);
    fraction += text;
  }
  if (weight < -1) fraction.insert(0, static_cast<size_t>(4 * (-1 - weight)), '0');
  fraction.resize(static_cast<size_t>(scale), '0');
  std::string text = (sign == 0x4000 ? "-" : "") + integer;
  if (!fraction.empty()) text += "." + fraction;
  return Signed(text);
}

}  // namespace

void CollectParameters(const JsonValue& node, int statement_offset,
                       std::vector<ParameterReference>* out) {
  if (node.type() == JsonValue::Type::kObject) {
    for (const auto& [key, value] : node.object()) {
      if (key == "ParamRef" && value.type() == JsonValue::Type::kObject) {
        const JsonValue* number = value.Find("number");
        const JsonValue* location = value.Find("location");
        if (number != nullptr && location != nullptr) {
          out->push_back({static_cast<int>(location->integer()) - statement_offset,
                          static_cast<int>(number->integer())});
        }
        continue;
      }
      CollectParameters(value, statement_offset, out);
    }
  } else if (node.type() == JsonValue::Type::kArray) {
    for (const JsonValue& item : node.array()) CollectParameters(item, statement_offset, out);
  }
}

arrow::Result<std::string> ParameterLiteral(const BoundParameter& parameter, int number) {
  if (parameter.is_null) return std::string("NULL");
  const int32_t type = parameter.type;
  const std::string_view bytes = parameter.bytes;
  if (!parameter.binary) {
    switch (type) {
      case kInt2Oid:
      case kInt4Oid:
      case kInt8Oid:
      case kOidOid:
        return IntegerText(bytes, number, type);
      case kFloat4Oid:
      case kFloat8Oid:
      case kNumericOid:
        return FloatText(bytes, number, type);
      case kBoolOid: {
        std::string lower(Trim(bytes));
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (lower == "t" || lower == "true" || lower == "yes" || lower == "on" || lower == "1" ||
            lower == "y") {
          return std::string("true");
        }
        if (lower == "f" || lower == "false" || lower == "no" || lower == "off" || lower == "0" ||
            lower == "n") {
          return std::string("false");
        }
        return BadText(number, type, bytes);
      }
      case kIntervalOid: {
        ARROW_ASSIGN_OR_RAISE(std::string quoted, Quoted(bytes, number));
        return "INTERVAL " + quoted;
      }
      case kByteaOid:
        return SqlStateError(
            sqlstate::kFeatureNotSupported,
            "bytea parameters are not supported ($" + std::to_string(number) + ")");
      default: {
        const PgType* info = FindType(type);
        if (info != nullptr && info->category == 'A') {
          return SqlStateError(
              sqlstate::kFeatureNotSupported,
              "array parameters are not supported ($" + std::to_string(number) + ")");
        }
        // Text, unspecified, dates and times, json, uuid, ...: a string literal, read by the
        // engine as the type it meets.
        return Quoted(bytes, number);
      }
    }
  }
  switch (type) {
    case kInt2Oid:
      if (bytes.size() != 2) return BadBinary(number, type);
      return Signed(std::to_string(ReadInt16(bytes)));
    case kInt4Oid:
      if (bytes.size() != 4) return BadBinary(number, type);
      return Signed(std::to_string(ReadInt32(bytes)));
    case kOidOid:
      if (bytes.size() != 4) return BadBinary(number, type);
      return std::to_string(static_cast<uint32_t>(ReadInt32(bytes)));
    case kInt8Oid:
      if (bytes.size() != 8) return BadBinary(number, type);
      return Signed(std::to_string(ReadInt64(bytes)));
    case kFloat4Oid:
      if (bytes.size() != 4) return BadBinary(number, type);
      return DoubleLiteral(std::bit_cast<float>(ReadInt32(bytes)));
    case kFloat8Oid:
      if (bytes.size() != 8) return BadBinary(number, type);
      return DoubleLiteral(std::bit_cast<double>(ReadInt64(bytes)));
    case kNumericOid:
      return NumericFromBinary(bytes, number);
    case kBoolOid:
      if (bytes.size() != 1 || static_cast<unsigned char>(bytes[0]) > 1) {
        return BadBinary(number, type);
      }
      return std::string(bytes[0] ? "true" : "false");
    case kDateOid: {
      if (bytes.size() != 4) return BadBinary(number, type);
      std::string text;
      AppendDateText(static_cast<int64_t>(ReadInt32(bytes)) + kPostgresEpochDays, &text);
      return Quoted(text, number);
    }
    case kTimestampOid:
    case kTimestamptzOid: {
      if (bytes.size() != 8) return BadBinary(number, type);
      int64_t micros = ReadInt64(bytes);
      if (micros > INT64_MAX - kPostgresEpochMicros) return BadBinary(number, type);
      std::string text;
      AppendTimestampText(micros + kPostgresEpochMicros, type == kTimestamptzOid, &text);
      return Quoted(text, number);
    }
    case kTimeOid: {
      if (bytes.size() != 8) return BadBinary(number, type);
      std::string text;
      AppendTimeText(ReadInt64(bytes), &text);
      return Quoted(text, number);
    }
    case kIntervalOid: {
      if (bytes.size() != 16) return BadBinary(number, type);
      const int64_t micros = ReadInt64(bytes);
      const int32_t days = ReadInt32(bytes.substr(8));
      const int32_t months = ReadInt32(bytes.substr(12));
      if (months != 0) {
        return SqlStateError(
            sqlstate::kFeatureNotSupported,
            "interval parameters with months are not supported ($" + std::to_string(number) + ")");
      }
      return "INTERVAL '" + std::to_string(static_cast<int64_t>(days) * 86'400'000'000 + micros) +
             " microseconds'";
    }
    case 0:
    case kTextOid:
    case kVarcharOid:
    case kBpcharOid:
    case kNameOid:
    case kUnknownOid:
    case kJsonOid:
      return Quoted(bytes, number);
    default:
      return SqlStateError(
          sqlstate::kFeatureNotSupported,
          "binary format is not supported for " + Describe(number, type) + "; send it as text");
  }
}

std::string PlaceholderLiteral(int32_t type) {
  switch (type) {
    case kInt2Oid:
    case kInt4Oid:
    case kInt8Oid:
    case kOidOid:
    case kFloat4Oid:
    case kFloat8Oid:
    case kNumericOid:
      return "0";
    default:
      return "NULL";
  }
}

arrow::Result<std::string> SubstituteParameters(std::string_view text,
                                                const std::vector<ParameterReference>& references,
                                                const std::vector<std::string>& literals) {
  std::vector<ParameterReference> sorted = references;
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.location < b.location; });
  std::string result;
  size_t copied = 0;
  for (const ParameterReference& reference : sorted) {
    const size_t start = static_cast<size_t>(reference.location);
    // The parser put a ParamRef here; check the text agrees before replacing "$<digits>".
    if (reference.location < 0 || start < copied || start >= text.size() || text[start] != '$') {
      return SqlStateError(
          sqlstate::kInternalError,
          "parameter $" + std::to_string(reference.number) + " is not where the parser put it");
    }
    size_t end = start + 1;
    while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
    if (reference.number < 1 || static_cast<size_t>(reference.number) > literals.size()) {
      return SqlStateError("42P02", "there is no parameter $" + std::to_string(reference.number));
    }
    result.append(text.substr(copied, start - copied));
    result.append(literals[static_cast<size_t>(reference.number - 1)]);
    copied = end;
  }
  result.append(text.substr(copied));
  return result;
}

}  // namespace nlk::pgwire
