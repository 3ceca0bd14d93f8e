#include "format/value_text.h"

#include <arrow/type.h>
#include <arrow/type_traits.h>
#include <arrow/visit_array_inline.h>
#include <arrow/visit_type_inline.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string_view>
#include <type_traits>

#include "common/time_units.h"

namespace nlk::format {
namespace {

constexpr int64_t kSecondsPerDay = 86400;
constexpr int64_t kMillisecondsPerDay = kSecondsPerDay * 1000;

// The quotient rounded down, so that instants before 1970 fall in the day or second they are
// in rather than the one after.
int64_t FloorDivide(int64_t value, int64_t divisor) {
  int64_t quotient = value / divisor;
  if (value % divisor < 0) --quotient;
  return quotient;
}

// Writes `value` (0 <= value < 10^digits) as exactly `digits` decimal digits.
char* PutDigits(char* out, int64_t value, int digits) {
  for (int i = digits - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return out + digits;
}

// Dates and times are formatted by hand: snprintf per value cost a third of the time of a JSON
// response of timestamps (measured on 19,200 rows).
void AppendDate(int64_t days, std::string* out) {
  std::chrono::sys_days day{std::chrono::days{days}};
  std::chrono::year_month_day ymd{day};
  const int year = static_cast<int>(ymd.year());
  const auto month = static_cast<unsigned>(ymd.month());
  const auto day_of_month = static_cast<unsigned>(ymd.day());
  if (year < 0 || year > 9999) {
    // ISO 8601's expanded years: a sign before the year when it is negative, never fewer than
    // four digits.
    char buffer[32];
    int length = std::snprintf(buffer, sizeof(buffer), "%s%04d-%02u-%02u", year < 0 ? "-" : "",
                               year < 0 ? -year : year, month, day_of_month);
    out->append(buffer, static_cast<size_t>(length));
    return;
  }
  char buffer[10];
  char* end = PutDigits(buffer, year, 4);
  *end++ = '-';
  end = PutDigits(end, month, 2);
  *end++ = '-';
  end = PutDigits(end, day_of_month, 2);
  out->append(buffer, end);
}

// How many decimal digits a fraction of a second in units of 1 / `per_second` has.
int DigitsOfFraction(int64_t per_second) {
  return per_second == 1000 ? 3 : per_second == 1000000 ? 6 : 9;
}

// The fraction of a second, `fraction` of `per_second` units, as "." and whole groups of three
// digits (milli, micro, nano) as arrow-rs and so ROAPI print them: .500 rather than .5 or
// .500000. Nothing for a whole second.
void AppendFraction(int64_t fraction, int64_t per_second, std::string* out) {
  if (fraction == 0) return;
  int digits = DigitsOfFraction(per_second);
  while (digits > 3 && fraction % 1000 == 0) {
    fraction /= 1000;
    digits -= 3;
  }
  char buffer[10];
  buffer[0] = '.';
  out->append(buffer, PutDigits(buffer + 1, fraction, digits));
}

// "HH:MM:SS", then the fraction.
void AppendTimeOfDay(int64_t second_of_day, int64_t fraction, int64_t per_second,
                     std::string* out) {
  char buffer[8];
  char* end = PutDigits(buffer, second_of_day / 3600, 2);
  *end++ = ':';
  end = PutDigits(end, second_of_day / 60 % 60, 2);
  *end++ = ':';
  end = PutDigits(end, second_of_day % 60, 2);
  out->append(buffer, end);
  AppendFraction(fraction, per_second, out);
}

// An ISO 8601 duration in seconds, as arrow-rs (chrono) and so ROAPI print it: "PT90061.001S",
// "-PT1.5S", and "P0D" for zero.
void AppendDuration(int64_t value, int64_t per_second, std::string* out) {
  if (value == 0) {
    out->append("P0D");
    return;
  }
  const uint64_t magnitude = value < 0 ? 0 - static_cast<uint64_t>(value) : value;
  out->append(value < 0 ? "-PT" : "PT");
  char buffer[32];
  auto [end, error] =
      std::to_chars(buffer, buffer + sizeof(buffer), magnitude / static_cast<uint64_t>(per_second));
  out->append(buffer, end);
  // Unlike a timestamp's, the fraction loses every trailing zero: ".5", not ".500".
  int64_t fraction = static_cast<int64_t>(magnitude % static_cast<uint64_t>(per_second));
  if (fraction != 0) {
    int digits = DigitsOfFraction(per_second);
    while (fraction % 10 == 0) {
      fraction /= 10;
      --digits;
    }
    buffer[0] = '.';
    out->append(buffer, PutDigits(buffer + 1, fraction, digits));
  }
  out->push_back('S');
}

void AppendTimestamp(int64_t value, const arrow::TimestampType& type, std::string* out) {
  const int64_t per_second = UnitsPerSecond(type.unit());
  const int64_t seconds = FloorDivide(value, per_second);
  const int64_t fraction = value - seconds * per_second;
  const int64_t days = FloorDivide(seconds, kSecondsPerDay);
  AppendDate(days, out);
  out->push_back('T');
  AppendTimeOfDay(seconds - days * kSecondsPerDay, fraction, per_second, out);
  if (!type.timezone().empty()) out->push_back('Z');  // Delta stores zoned timestamps in UTC
}

// An integer's digits, or the shortest text that reads back to the same finite float (the
// float's own digits, not those of the double it widens to), in `buffer`.
template <typename Number>
std::string_view NumberText(Number value, char (&buffer)[32]) {
  auto [end, error] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string_view(buffer, static_cast<size_t>(end - buffer));
}

template <typename Float>
void AppendFloat(Float value, std::string* out) {
  if (std::isnan(value)) {
    out->append("NaN");
  } else if (std::isinf(value)) {
    out->append(value < 0 ? "-Infinity" : "Infinity");
  } else {
    char buffer[32];
    out->append(NumberText(value, buffer));
  }
}

void AppendHex(std::string_view bytes, std::string* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  const size_t start = out->size();
  out->resize(start + 2 * bytes.size());
  char* hex = out->data() + start;
  for (unsigned char byte : bytes) {
    *hex++ = kDigits[byte >> 4];
    *hex++ = kDigits[byte & 0xF];
  }
}

// The values of one list-like row, whatever the list layout.
template <typename ArrayType>
std::shared_ptr<arrow::Array> ListValues(const ArrayType& array, int64_t row) {
  return array.values()->Slice(array.value_offset(row), array.value_length(row));
}

struct TextAppender {
  int64_t row;
  std::string* out;

  arrow::Status Visit(const arrow::BooleanArray& array) {
    out->append(array.Value(row) ? "true" : "false");
    return arrow::Status::OK();
  }
  template <typename ArrayType>
  std::enable_if_t<arrow::is_integer_type<typename ArrayType::TypeClass>::value, arrow::Status>
  Visit(const ArrayType& array) {
    char buffer[32];
    out->append(NumberText(array.Value(row), buffer));
    return arrow::Status::OK();
  }
  arrow::Status Visit(const arrow::FloatArray& array) {
    AppendFloat(array.Value(row), out);
    return arrow::Status::OK();
  }
  arrow::Status Visit(const arrow::DoubleArray& array) {
    AppendFloat(array.Value(row), out);
    return arrow::Status::OK();
  }
  template <typename ArrayType>
  std::enable_if_t<arrow::is_decimal_type<typename ArrayType::TypeClass>::value, arrow::Status>
  Visit(const ArrayType& array) {
    out->append(array.FormatValue(row));
    return arrow::Status::OK();
  }
  template <typename ArrayType>
  std::enable_if_t<arrow::is_base_binary_type<typename ArrayType::TypeClass>::value ||
                       arrow::is_binary_view_like_type<typename ArrayType::TypeClass>::value,
                   arrow::Status>
  Visit(const ArrayType& array) {
    if constexpr (ArrayType::TypeClass::is_utf8) {
      out->append(array.GetView(row));
    } else {
      AppendHex(array.GetView(row), out);
    }
    return arrow::Status::OK();
  }
  arrow::Status Visit(const arrow::FixedSizeBinaryArray& array) {
    AppendHex(array.GetView(row), out);
    return arrow::Status::OK();
  }
  arrow::Status Visit(const arrow::Date32Array& array) {
    AppendDate(array.Value(row), out);
    return arrow::Status::OK();
  }
  arrow::Status Visit(const arrow::Date64Array& array) {
    AppendDate(FloorDivide(array.Value(row), kMillisecondsPerDay), out);
    return arrow::Status::OK();
  }
  arrow::Status Visit(const arrow::TimestampArray& array) {
    AppendTimestamp(array.Value(row), static_cast<const arrow::TimestampType&>(*array.type()), out);
    return arrow::Status::OK();
  }
  template <typename ArrayType>
  std::enable_if_t<arrow::is_time_type<typename ArrayType::TypeClass>::value, arrow::Status> Visit(
      const ArrayType& array) {
    const auto& type = static_cast<const arrow::TimeType&>(*array.type());
    const int64_t per_second = UnitsPerSecond(type.unit());
    const int64_t value = array.Value(row);
    AppendTimeOfDay(value / per_second, value % per_second, per_second, out);
    return arrow::Status::OK();
  }
  arrow::Status Visit(const arrow::DurationArray& array) {
    const auto& type = static_cast<const arrow::DurationType&>(*array.type());
    AppendDuration(array.Value(row), UnitsPerSecond(type.unit()), out);
    return arrow::Status::OK();
  }
  arrow::Status Visit(const arrow::DictionaryArray& array) {
    return AppendText(*array.dictionary(), array.GetValueIndex(row), out);
  }
  // Nested values are their JSON text.
  arrow::Status Visit(const arrow::Array& array) {
    if (!arrow::is_nested(array.type_id())) {
      return arrow::Status::NotImplemented("no text form for values of type ",
                                           array.type()->ToString());
    }
    JsonWriter writer;
    ARROW_RETURN_NOT_OK(AppendJsonValue(array, row, writer));
    out->append(writer.str());
    return arrow::Status::OK();
  }
};

struct JsonAppender {
  int64_t row;
  JsonWriter& writer;

  arrow::Status Visit(const arrow::NullArray&) {
    writer.Null();
    return arrow::Status::OK();
  }
  arrow::Status Visit(const arrow::BooleanArray& array) {
    writer.Bool(array.Value(row));
    return arrow::Status::OK();
  }
  template <typename ArrayType>
  std::enable_if_t<arrow::is_integer_type<typename ArrayType::TypeClass>::value ||
                       arrow::is_floating_type<typename ArrayType::TypeClass>::value,
                   arrow::Status>
  Visit(const ArrayType& array) {
    if constexpr (std::is_same_v<ArrayType, arrow::HalfFloatArray>) {
      return Unsupported(array);
    } else {
      const auto value = array.Value(row);
      if constexpr (arrow::is_floating_type<typename ArrayType::TypeClass>::value) {
        if (!std::isfinite(value)) {
          writer.Null();  // JSON has no NaN or infinity
          return arrow::Status::OK();
        }
      }
      char buffer[32];
      writer.Raw(NumberText(value, buffer));
      return arrow::Status::OK();
    }
  }
  template <typename ArrayType>
  std::enable_if_t<arrow::is_decimal_type<typename ArrayType::TypeClass>::value, arrow::Status>
  Visit(const ArrayType& array) {
    writer.Raw(array.FormatValue(row));
    return arrow::Status::OK();
  }
  template <typename ArrayType>
  std::enable_if_t<arrow::is_string_like_type<typename ArrayType::TypeClass>::value ||
                       std::is_same_v<ArrayType, arrow::StringViewArray>,
                   arrow::Status>
  Visit(const ArrayType& array) {
    writer.String(array.GetView(row));
    return arrow::Status::OK();
  }
  template <typename ArrayType>
  std::enable_if_t<arrow::is_var_length_list_like_type<typename ArrayType::TypeClass>::value ||
                       arrow::is_fixed_size_list_type<typename ArrayType::TypeClass>::value,
                   arrow::Status>
  Visit(const ArrayType& array) {
    if constexpr (std::is_same_v<ArrayType, arrow::MapArray>) {
      // An object keyed by the keys' text (map keys are never null).
      writer.BeginObject();
      const int64_t end = array.value_offset(row) + array.value_length(row);
      std::string key;
      for (int64_t entry = array.value_offset(row); entry < end; ++entry) {
        key.clear();
        ARROW_RETURN_NOT_OK(AppendText(*array.keys(), entry, &key));
        writer.Key(key);
        ARROW_RETURN_NOT_OK(AppendJsonValue(*array.items(), entry, writer));
      }
      writer.EndObject();
    } else {
      writer.BeginArray();
      auto values = ListValues(array, row);
      for (int64_t i = 0; i < values->length(); ++i) {
        ARROW_RETURN_NOT_OK(AppendJsonValue(*values, i, writer));
      }
      writer.EndArray();
    }
    return arrow::Status::OK();
  }
  arrow::Status Visit(const arrow::StructArray& array) {
    writer.BeginObject();
    const auto& type = static_cast<const arrow::StructType&>(*array.type());
    for (int i = 0; i < type.num_fields(); ++i) {
      writer.Key(type.field(i)->name());
      ARROW_RETURN_NOT_OK(AppendJsonValue(*array.field(i), row, writer));
    }
    writer.EndObject();
    return arrow::Status::OK();
  }
  arrow::Status Visit(const arrow::DictionaryArray& array) {
    return AppendJsonValue(*array.dictionary(), array.GetValueIndex(row), writer);
  }
  // Binary, dates, times, timestamps and durations: their text as a JSON string.
  arrow::Status Visit(const arrow::Array& array) {
    if (arrow::is_nested(array.type_id())) return Unsupported(array);
    std::string text;
    ARROW_RETURN_NOT_OK(AppendText(array, row, &text));
    writer.String(text);
    return arrow::Status::OK();
  }

  static arrow::Status Unsupported(const arrow::Array& array) {
    return arrow::Status::NotImplemented("JSON output of type ", array.type()->ToString());
  }
};

struct CsvQuoting {
  bool quoted = false;

  template <typename Type>
  arrow::Status Visit(const Type&) {
    // Decimal types derive from the fixed-size binary type, but their text is a number.
    if constexpr (arrow::is_decimal_type<Type>::value) {
      quoted = false;
    } else if constexpr (arrow::is_base_binary_type<Type>::value ||
                         arrow::is_binary_view_like_type<Type>::value ||
                         arrow::is_fixed_size_binary_type<Type>::value) {
      quoted = true;
    } else {
      quoted = arrow::is_nested_type<Type>::value;
    }
    return arrow::Status::OK();
  }
};

}  // namespace

bool IsNullValue(const arrow::Array& array, int64_t row) {
  if (array.IsNull(row)) return true;
  if (array.type_id() != arrow::Type::DICTIONARY) return false;
  const auto& dictionary = static_cast<const arrow::DictionaryArray&>(array);
  return dictionary.dictionary()->IsNull(dictionary.GetValueIndex(row));
}

arrow::Status AppendJsonValue(const arrow::Array& array, int64_t row, JsonWriter& writer) {
  if (IsNullValue(array, row)) {
    writer.Null();
    return arrow::Status::OK();
  }
  JsonAppender appender{row, writer};
  return arrow::VisitArrayInline(array, &appender);
}

arrow::Status AppendText(const arrow::Array& array, int64_t row, std::string* out) {
  TextAppender appender{row, out};
  return arrow::VisitArrayInline(array, &appender);
}

bool QuotedInCsv(const arrow::DataType& type) {
  // A dictionary's values are written, so they decide.
  if (type.id() == arrow::Type::DICTIONARY) {
    return QuotedInCsv(*static_cast<const arrow::DictionaryType&>(type).value_type());
  }
  CsvQuoting quoting;
  return arrow::VisitTypeInline(type, &quoting).ok() && quoting.quoted;
}

}  // namespace nlk::format
