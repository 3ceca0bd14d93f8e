#include "delta/data/partition_values.h"

#include <arrow/util/decimal.h>

#include <charconv>
#include <cmath>

#include "delta/data/time_format.h"

namespace nlk::delta::data {
namespace {

int64_t TimestampToMicros(int64_t value, arrow::TimeUnit::type unit) {
  switch (unit) {
    case arrow::TimeUnit::SECOND:
      return value * 1'000'000;
    case arrow::TimeUnit::MILLI:
      return value * 1'000;
    case arrow::TimeUnit::MICRO:
      return value;
    case arrow::TimeUnit::NANO:
      return value / 1'000 - (value % 1'000 < 0 ? 1 : 0);
  }
  return value;
}

template <typename Float>
std::string FormatFloating(Float value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

template <typename Integer>
arrow::Result<Integer> ParseInteger(std::string_view text, std::string_view type_name) {
  Integer value{};
  auto result = std::from_chars(text.data(), text.data() + text.size(), value);
  if (result.ec != std::errc() || result.ptr != text.data() + text.size()) {
    return arrow::Status::Invalid("partition value '", text, "' is not a valid ", type_name);
  }
  return value;
}

template <typename Float>
arrow::Result<Float> ParseFloating(std::string_view text) {
  if (text == "NaN") return std::numeric_limits<Float>::quiet_NaN();
  if (text == "Infinity" || text == "+Infinity" || text == "inf") {
    return std::numeric_limits<Float>::infinity();
  }
  if (text == "-Infinity" || text == "-inf") return -std::numeric_limits<Float>::infinity();
  Float value{};
  auto result = std::from_chars(text.data(), text.data() + text.size(), value);
  if (result.ec != std::errc() || result.ptr != text.data() + text.size()) {
    return arrow::Status::Invalid("partition value '", text, "' is not a valid number");
  }
  return value;
}

bool NeedsEscape(unsigned char c) {
  if (c < 0x20 || c == 0x7F) return true;
  switch (c) {
    case '"':
    case '#':
    case '%':
    case '\'':
    case '*':
    case '/':
    case ':':
    case '=':
    case '?':
    case '\\':
    case '{':
    case '[':
    case ']':
    case '^':
      return true;
    default:
      return false;
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

arrow::Result<std::optional<std::string>> SerializePartitionValue(const arrow::Scalar& value) {
  if (!value.is_valid) return std::nullopt;
  std::string text;
  switch (value.type->id()) {
    case arrow::Type::STRING:
    case arrow::Type::LARGE_STRING:
    case arrow::Type::STRING_VIEW:
    case arrow::Type::BINARY:
    case arrow::Type::LARGE_BINARY:
    case arrow::Type::BINARY_VIEW:
    case arrow::Type::FIXED_SIZE_BINARY:
      text = static_cast<const arrow::BaseBinaryScalar&>(value).value->ToString();
      break;
    case arrow::Type::BOOL:
      text = static_cast<const arrow::BooleanScalar&>(value).value ? "true" : "false";
      break;
    case arrow::Type::INT8:
      text = std::to_string(static_cast<const arrow::Int8Scalar&>(value).value);
      break;
    case arrow::Type::INT16:
      text = std::to_string(static_cast<const arrow::Int16Scalar&>(value).value);
      break;
    case arrow::Type::INT32:
      text = std::to_string(static_cast<const arrow::Int32Scalar&>(value).value);
      break;
    case arrow::Type::INT64:
      text = std::to_string(static_cast<const arrow::Int64Scalar&>(value).value);
      break;
    case arrow::Type::FLOAT:
      text = FormatFloating(static_cast<const arrow::FloatScalar&>(value).value);
      break;
    case arrow::Type::DOUBLE:
      text = FormatFloating(static_cast<const arrow::DoubleScalar&>(value).value);
      break;
    case arrow::Type::DECIMAL128: {
      const auto& decimal = static_cast<const arrow::Decimal128Scalar&>(value);
      text = decimal.value.ToString(static_cast<const arrow::Decimal128Type&>(*value.type).scale());
      break;
    }
    case arrow::Type::DATE32:
      text = FormatDate(static_cast<const arrow::Date32Scalar&>(value).value);
      break;
    case arrow::Type::DATE64:
      text = FormatDate(
          static_cast<int32_t>(static_cast<const arrow::Date64Scalar&>(value).value / 86'400'000));
      break;
    case arrow::Type::TIMESTAMP: {
      const auto& type = static_cast<const arrow::TimestampType&>(*value.type);
      int64_t micros =
          TimestampToMicros(static_cast<const arrow::TimestampScalar&>(value).value, type.unit());
      text = FormatTimestamp(micros, type.timezone().empty() ? TimestampFormat::kPartitionValue
                                                             : TimestampFormat::kIsoMicrosUtc);
      break;
    }
    default:
      return arrow::Status::NotImplemented("cannot use a column of type ", value.type->ToString(),
                                           " as a partition column");
  }
  if (text.empty()) return std::nullopt;
  return text;
}

arrow::Result<std::shared_ptr<arrow::Scalar>> ParsePartitionValue(
    const std::optional<std::string>& text, const std::shared_ptr<arrow::DataType>& type) {
  if (!text || text->empty()) return arrow::MakeNullScalar(type);
  const std::string& value = *text;
  switch (type->id()) {
    case arrow::Type::STRING:
    case arrow::Type::BINARY:
    case arrow::Type::LARGE_STRING:
    case arrow::Type::LARGE_BINARY:
      return arrow::MakeScalar(type, arrow::Buffer::FromString(value));
    case arrow::Type::BOOL: {
      std::string lower;
      for (char c : value) lower.push_back(static_cast<char>(std::tolower(c)));
      if (lower == "true") return arrow::MakeScalar(true);
      if (lower == "false") return arrow::MakeScalar(false);
      return arrow::Status::Invalid("partition value '", value, "' is not a valid boolean");
    }
    case arrow::Type::INT8: {
      ARROW_ASSIGN_OR_RAISE(auto parsed, ParseInteger<int8_t>(value, "byte"));
      return arrow::MakeScalar(type, parsed);
    }
    case arrow::Type::INT16: {
      ARROW_ASSIGN_OR_RAISE(auto parsed, ParseInteger<int16_t>(value, "short"));
      return arrow::MakeScalar(type, parsed);
    }
    case arrow::Type::INT32: {
      ARROW_ASSIGN_OR_RAISE(auto parsed, ParseInteger<int32_t>(value, "integer"));
      return arrow::MakeScalar(type, parsed);
    }
    case arrow::Type::INT64: {
      ARROW_ASSIGN_OR_RAISE(auto parsed, ParseInteger<int64_t>(value, "long"));
      return arrow::MakeScalar(type, parsed);
    }
    case arrow::Type::FLOAT: {
      ARROW_ASSIGN_OR_RAISE(auto parsed, ParseFloating<float>(value));
      return arrow::MakeScalar(type, parsed);
    }
    case arrow::Type::DOUBLE: {
      ARROW_ASSIGN_OR_RAISE(auto parsed, ParseFloating<double>(value));
      return arrow::MakeScalar(type, parsed);
    }
    case arrow::Type::DECIMAL128: {
      const auto& decimal_type = static_cast<const arrow::Decimal128Type&>(*type);
      arrow::Decimal128 decimal;
      int32_t precision = 0;
      int32_t scale = 0;
      auto status = arrow::Decimal128::FromString(value, &decimal, &precision, &scale);
      if (!status.ok()) {
        return arrow::Status::Invalid("partition value '", value, "' is not a valid decimal");
      }
      ARROW_ASSIGN_OR_RAISE(decimal, decimal.Rescale(scale, decimal_type.scale()));
      if (!decimal.FitsInPrecision(decimal_type.precision())) {
        return arrow::Status::Invalid("partition value '", value, "' does not fit ",
                                      type->ToString());
      }
      return std::make_shared<arrow::Decimal128Scalar>(decimal, type);
    }
    case arrow::Type::DATE32: {
      ARROW_ASSIGN_OR_RAISE(int32_t days, ParseDate(value));
      return arrow::MakeScalar(type, days);
    }
    case arrow::Type::TIMESTAMP: {
      const auto& timestamp_type = static_cast<const arrow::TimestampType&>(*type);
      if (timestamp_type.unit() != arrow::TimeUnit::MICRO) {
        return arrow::Status::NotImplemented("partition timestamps are read as microseconds, not ",
                                             type->ToString());
      }
      ARROW_ASSIGN_OR_RAISE(int64_t micros, ParseTimestampMicros(value));
      return arrow::MakeScalar(type, micros);
    }
    default:
      return arrow::Status::NotImplemented("cannot read a partition column of type ",
                                           type->ToString());
  }
}

std::string EscapePartitionPathComponent(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string escaped;
  escaped.reserve(text.size());
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (NeedsEscape(byte)) {
      escaped.push_back('%');
      escaped.push_back(kHex[byte >> 4]);
      escaped.push_back(kHex[byte & 0x0F]);
    } else {
      escaped.push_back(c);
    }
  }
  return escaped;
}

std::string UnescapePartitionPathComponent(std::string_view text) {
  std::string unescaped;
  unescaped.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      int high = HexValue(text[i + 1]);
      int low = HexValue(text[i + 2]);
      if (high >= 0 && low >= 0) {
        unescaped.push_back(static_cast<char>(high << 4 | low));
        i += 2;
        continue;
      }
    }
    unescaped.push_back(text[i]);
  }
  return unescaped;
}

std::string HivePartitionDirectory(
    const std::vector<std::pair<std::string, std::optional<std::string>>>& values) {
  std::string directory;
  for (const auto& [column, value] : values) {
    if (!directory.empty()) directory.push_back('/');
    directory += EscapePartitionPathComponent(column);
    directory.push_back('=');
    if (value && !value->empty()) {
      directory += EscapePartitionPathComponent(*value);
    } else {
      directory += kHiveDefaultPartition;
    }
  }
  return directory;
}

arrow::Result<std::shared_ptr<arrow::Array>> MakePartitionArray(
    const std::optional<std::string>& text, const std::shared_ptr<arrow::DataType>& type,
    int64_t length) {
  ARROW_ASSIGN_OR_RAISE(auto scalar, ParsePartitionValue(text, type));
  return arrow::MakeArrayFromScalar(*scalar, length);
}

}  // namespace nlk::delta::data
