#include "pgwire/value_format.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <system_error>
#include <vector>

namespace nlk::pgwire {
namespace {

constexpr int64_t kMicrosPerSecond = 1'000'000;
constexpr int64_t kMicrosPerDay = 86'400 * kMicrosPerSecond;

// Floor division, so times before 1970 land on the day before, not after.
int64_t FloorDivide(int64_t value, int64_t divisor) {
  int64_t quotient = value / divisor;
  return (value % divisor != 0 && (value < 0) != (divisor < 0)) ? quotient - 1 : quotient;
}

struct CivilDate {
  int64_t year;
  int month;
  int day;
};

// Proleptic Gregorian calendar from days since 1970-01-01 (eras of 400 years, March-based
// years so the leap day comes last).
CivilDate CivilFromDays(int64_t days) {
  const int64_t shifted = days + 719'468;  // days from 0000-03-01
  const int64_t era = FloorDivide(shifted, 146'097);
  const int64_t day_of_era = shifted - era * 146'097;
  const int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36'524 - day_of_era / 146'096) / 365;
  const int64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t month_index = (5 * day_of_year + 2) / 153;  // 0 = March
  CivilDate date;
  date.day = static_cast<int>(day_of_year - (153 * month_index + 2) / 5 + 1);
  date.month = static_cast<int>(month_index < 10 ? month_index + 3 : month_index - 9);
  date.year = year_of_era + era * 400 + (date.month <= 2 ? 1 : 0);
  return date;
}

void AppendPadded(int64_t value, int width, std::string* out) {
  char digits[24];
  auto [end, error] = std::to_chars(digits, digits + sizeof digits, value);
  (void)error;  // 24 characters hold any int64
  for (int64_t length = end - digits; length < width; ++length) out->push_back('0');
  out->append(digits, end);
}

// PostgreSQL writes year N BC (astronomical year 1 - N) with a " BC" suffix.
void AppendYearMonthDay(const CivilDate& date, std::string* out) {
  AppendPadded(date.year > 0 ? date.year : 1 - date.year, 4, out);
  out->push_back('-');
  AppendPadded(date.month, 2, out);
  out->push_back('-');
  AppendPadded(date.day, 2, out);
}

// "HH:MM:SS[.ffffff]" of a non-negative time; hours are not wrapped at 24.
void AppendClock(int64_t micros, std::string* out) {
  const int64_t seconds = micros / kMicrosPerSecond;
  const int64_t fraction = micros % kMicrosPerSecond;
  AppendPadded(seconds / 3600, 2, out);
  out->push_back(':');
  AppendPadded(seconds / 60 % 60, 2, out);
  out->push_back(':');
  AppendPadded(seconds % 60, 2, out);
  if (fraction != 0) {
    std::string digits;
    AppendPadded(fraction, 6, &digits);
    digits.erase(digits.find_last_not_of('0') + 1);
    out->push_back('.');
    out->append(digits);
  }
}

// PostgreSQL's float output (extra_float_digits >= 1): the shortest exact digits, in exponent
// form when the decimal exponent is below -4 or at least `precision` (DBL_DIG or FLT_DIG).
template <typename Float>
void AppendFloatText(Float value, int precision, std::string* out) {
  if (std::isnan(value)) {
    out->append("NaN");
    return;
  }
  if (std::isinf(value)) {
    out->append(value < 0 ? "-Infinity" : "Infinity");
    return;
  }
  char text[64];
  auto [end, error] = std::to_chars(text, text + sizeof text, value, std::chars_format::scientific);
  (void)error;  // 64 characters hold any float in scientific form
  const char* exponent_mark = static_cast<const char*>(std::memchr(text, 'e', end - text));
  const char* exponent_start = exponent_mark + (exponent_mark[1] == '+' ? 2 : 1);
  int exponent = 0;
  std::from_chars(exponent_start, end, exponent);
  if (exponent < -4 || exponent >= precision) {
    out->append(text, end);
    return;
  }
  auto [fixed_end, fixed_error] =
      std::to_chars(text, text + sizeof text, value, std::chars_format::fixed);
  (void)fixed_error;  // below 10^precision a fixed form is short
  out->append(text, fixed_end);
}

template <typename Integer>
void AppendBigEndian(Integer value, std::string* out) {
  using Unsigned = std::make_unsigned_t<Integer>;
  Unsigned bits = static_cast<Unsigned>(value);
  char bytes[sizeof(Integer)];
  for (size_t index = 0; index < sizeof(Integer); ++index) {
    bytes[sizeof(Integer) - 1 - index] = static_cast<char>(bits & 0xff);
    bits = static_cast<Unsigned>(bits >> 8);
  }
  out->append(bytes, sizeof bytes);
}

template <typename Integer>
Integer ReadBigEndian(std::string_view bytes) {
  using Unsigned = std::make_unsigned_t<Integer>;
  Unsigned bits = 0;
  for (size_t index = 0; index < sizeof(Integer); ++index) {
    bits = static_cast<Unsigned>((bits << 8) | static_cast<unsigned char>(bytes[index]));
  }
  return static_cast<Integer>(bits);
}

// One "N unit(s)" part of a postgres-style interval; a positive part after a negative one
// gets an explicit '+'.
void AppendIntervalPart(int64_t value, const char* unit, bool* first, bool* negative_before,
                        std::string* out) {
  if (value == 0) return;
  if (!*first) out->push_back(' ');
  if (*negative_before && value > 0) out->push_back('+');
  out->append(std::to_string(value));
  out->push_back(' ');
  out->append(unit);
  if (value != 1) out->push_back('s');
  *negative_before = value < 0;
  *first = false;
}

}  // namespace

void AppendFloat8Text(double value, std::string* out) { AppendFloatText(value, 15, out); }

void AppendFloat4Text(float value, std::string* out) { AppendFloatText(value, 6, out); }

void AppendDateText(int64_t days, std::string* out) {
  CivilDate date = CivilFromDays(days);
  AppendYearMonthDay(date, out);
  if (date.year <= 0) out->append(" BC");
}

void AppendTimestampText(int64_t micros, bool with_zone, std::string* out) {
  const int64_t days = FloorDivide(micros, kMicrosPerDay);
  CivilDate date = CivilFromDays(days);
  AppendYearMonthDay(date, out);
  out->push_back(' ');
  AppendClock(micros - days * kMicrosPerDay, out);
  if (with_zone) out->append("+00");
  if (date.year <= 0) out->append(" BC");
}

void AppendTimeText(int64_t micros, std::string* out) { AppendClock(micros, out); }

void AppendIntervalText(int32_t months, int32_t days, int64_t micros, std::string* out) {
  bool first = true;
  bool negative_before = false;
  AppendIntervalPart(months / 12, "year", &first, &negative_before, out);
  AppendIntervalPart(months % 12, "mon", &first, &negative_before, out);
  AppendIntervalPart(days, "day", &first, &negative_before, out);
  if (first || micros != 0) {
    if (!first) out->push_back(' ');
    if (micros < 0) {
      out->push_back('-');
    } else if (negative_before) {
      out->push_back('+');
    }
    // The magnitude of INT64_MIN does not fit; it is 292 thousand years, never a real result.
    AppendClock(micros < 0 ? (micros == INT64_MIN ? INT64_MAX : -micros) : micros, out);
  }
}

void AppendByteaText(std::string_view bytes, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->reserve(out->size() + 2 + 2 * bytes.size());
  out->append("\\x");
  for (unsigned char byte : bytes) {
    out->push_back(kHex[byte >> 4]);
    out->push_back(kHex[byte & 0xf]);
  }
}

void AppendInt16Binary(int16_t value, std::string* out) { AppendBigEndian(value, out); }
void AppendInt32Binary(int32_t value, std::string* out) { AppendBigEndian(value, out); }
void AppendInt64Binary(int64_t value, std::string* out) { AppendBigEndian(value, out); }

void AppendFloat4Binary(float value, std::string* out) {
  AppendBigEndian(std::bit_cast<int32_t>(value), out);
}

void AppendFloat8Binary(double value, std::string* out) {
  AppendBigEndian(std::bit_cast<int64_t>(value), out);
}

void AppendIntervalBinary(int32_t months, int32_t days, int64_t micros, std::string* out) {
  AppendBigEndian(micros, out);
  AppendBigEndian(days, out);
  AppendBigEndian(months, out);
}

void AppendNumericBinary(std::string_view decimal, std::string* out) {
  constexpr int16_t kPositive = 0x0000;
  constexpr int16_t kNegative = 0x4000;
  const bool negative = !decimal.empty() && decimal.front() == '-';
  if (negative) decimal.remove_prefix(1);
  size_t point = decimal.find('.');
  std::string_view integer = decimal.substr(0, point);
  std::string_view fraction =
      point == std::string_view::npos ? std::string_view() : decimal.substr(point + 1);
  while (!integer.empty() && integer.front() == '0') integer.remove_prefix(1);
  // Base-10000 groups aligned on the decimal point: the integer part padded on the left, the
  // fraction on the right.
  std::string padded_integer(static_cast<size_t>((4 - integer.size() % 4) % 4), '0');
  padded_integer.append(integer);
  std::string padded_fraction(fraction);
  padded_fraction.append((4 - fraction.size() % 4) % 4, '0');
  std::vector<int16_t> groups;
  auto add_groups = [&groups](const std::string& digits) {
    for (size_t index = 0; index < digits.size(); index += 4) {
      groups.push_back(static_cast<int16_t>(std::stoi(digits.substr(index, 4))));
    }
  };
  add_groups(padded_integer);
  add_groups(padded_fraction);
  int weight = static_cast<int>(padded_integer.size() / 4) - 1;
  size_t leading = 0;
  while (leading < groups.size() && groups[leading] == 0) ++leading;
  groups.erase(groups.begin(), groups.begin() + static_cast<std::ptrdiff_t>(leading));
  weight -= static_cast<int>(leading);
  while (!groups.empty() && groups.back() == 0) groups.pop_back();
  if (groups.empty()) weight = 0;
  AppendBigEndian(static_cast<int16_t>(groups.size()), out);
  AppendBigEndian(static_cast<int16_t>(weight), out);
  AppendBigEndian(groups.empty() || !negative ? kPositive : kNegative, out);
  AppendBigEndian(static_cast<int16_t>(fraction.size()), out);
  for (int16_t group : groups) AppendBigEndian(group, out);
}

int16_t ReadInt16(std::string_view bytes) { return ReadBigEndian<int16_t>(bytes); }
int32_t ReadInt32(std::string_view bytes) { return ReadBigEndian<int32_t>(bytes); }
int64_t ReadInt64(std::string_view bytes) { return ReadBigEndian<int64_t>(bytes); }

}  // namespace nlk::pgwire
