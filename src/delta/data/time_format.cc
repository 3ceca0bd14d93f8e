#include "delta/data/time_format.h"

#include <algorithm>
#include <cstdio>

namespace nlk::delta::data {
namespace {

constexpr int64_t kMicrosPerSecond = 1'000'000;
constexpr int64_t kMicrosPerDay = 86'400 * kMicrosPerSecond;

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Days since 1970-01-01 -> civil date (Howard Hinnant's public-domain algorithm).
void CivilFromDays(int64_t days, int64_t* year, unsigned* month, unsigned* day) {
  days += 719468;
  const int64_t era = FloorDiv(days, 146097);
  const auto day_of_era = static_cast<unsigned>(days - era * 146097);
  const unsigned year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const unsigned day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const unsigned month_index = (5 * day_of_year + 2) / 153;
  *day = day_of_year - (153 * month_index + 2) / 5 + 1;
  *month = month_index < 10 ? month_index + 3 : month_index - 9;
  *year = static_cast<int64_t>(year_of_era) + era * 400 + (*month <= 2);
}

int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day) {
  year -= month <= 2;
  const int64_t era = FloorDiv(year, 400);
  const auto year_of_era = static_cast<unsigned>(year - era * 400);
  const unsigned day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + static_cast<int64_t>(day_of_era) - 719468;
}

bool IsLeap(int64_t year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

unsigned DaysInMonth(int64_t year, unsigned month) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeap(year) ? 29 : kDays[month - 1];
}

std::string FormatYearMonthDay(int64_t days) {
  int64_t year = 0;
  unsigned month = 0;
  unsigned day = 0;
  CivilFromDays(days, &year, &month, &day);
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%04lld-%02u-%02u", static_cast<long long>(year), month,
                day);
  return buffer;
}

// A cursor over the text being parsed.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}
  bool AtEnd() const { return position_ == text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[position_]; }
  bool Consume(char c) {
    if (Peek() != c) return false;
    ++position_;
    return true;
  }
  // Reads exactly `digits` decimal digits.
  bool Digits(int digits, int64_t* value) {
    *value = 0;
    for (int i = 0; i < digits; ++i) {
      char c = Peek();
      if (c < '0' || c > '9') return false;
      *value = *value * 10 + (c - '0');
      ++position_;
    }
    return true;
  }
  // Reads one or more digits, returning how many.
  int DigitRun(int64_t* value, int max_kept) {
    *value = 0;
    int count = 0;
    while (Peek() >= '0' && Peek() <= '9') {
      if (count < max_kept) *value = *value * 10 + (Peek() - '0');
      ++count;
      ++position_;
    }
    return count;
  }

 private:
  std::string_view text_;
  size_t position_ = 0;
};

arrow::Status DateError(std::string_view text, std::string_view expected) {
  return arrow::Status::Invalid("cannot parse '", text, "' as ", expected);
}

bool ParseDatePart(Cursor* cursor, int64_t* days) {
  bool negative = cursor->Consume('-');
  int64_t year = 0;
  int64_t month = 0;
  int64_t day = 0;
  int64_t digit = 0;
  int year_digits = 0;
  while (cursor->Peek() >= '0' && cursor->Peek() <= '9' && year_digits < 6) {
    cursor->Digits(1, &digit);
    year = year * 10 + digit;
    ++year_digits;
  }
  if (year_digits < 4 || !cursor->Consume('-') || !cursor->Digits(2, &month) ||
      !cursor->Consume('-') || !cursor->Digits(2, &day)) {
    return false;
  }
  if (negative) year = -year;
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, static_cast<unsigned>(month))) {
    return false;
  }
  *days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  return true;
}

}  // namespace

std::string FormatDate(int32_t days_since_epoch) { return FormatYearMonthDay(days_since_epoch); }

std::string FormatTimestamp(int64_t micros, TimestampFormat format) {
  int64_t days = FloorDiv(micros, kMicrosPerDay);
  int64_t micros_of_day = micros - days * kMicrosPerDay;
  int64_t seconds_of_day = micros_of_day / kMicrosPerSecond;
  int64_t fraction = micros_of_day % kMicrosPerSecond;
  char time[48];
  char separator = format == TimestampFormat::kPartitionValue ? ' ' : 'T';
  std::snprintf(time, sizeof(time), "%c%02lld:%02lld:%02lld", separator,
                static_cast<long long>(seconds_of_day / 3600),
                static_cast<long long>(seconds_of_day / 60 % 60),
                static_cast<long long>(seconds_of_day % 60));
  std::string text = FormatYearMonthDay(days) + time;
  char digits[16];
  switch (format) {
    case TimestampFormat::kPartitionValue:
      if (fraction != 0) {
        std::snprintf(digits, sizeof(digits), ".%06lld", static_cast<long long>(fraction));
        text += digits;
      }
      break;
    case TimestampFormat::kIsoMicrosUtc:
      std::snprintf(digits, sizeof(digits), ".%06lldZ", static_cast<long long>(fraction));
      text += digits;
      break;
    case TimestampFormat::kIsoMillisUtc:
    case TimestampFormat::kIsoMillisLocal:
      std::snprintf(digits, sizeof(digits), ".%03lld", static_cast<long long>(fraction / 1000));
      text += digits;
      if (format == TimestampFormat::kIsoMillisUtc) text += 'Z';
      break;
  }
  return text;
}

arrow::Result<int32_t> ParseDate(std::string_view text) {
  Cursor cursor(text);
  int64_t days = 0;
  if (!ParseDatePart(&cursor, &days) || !cursor.AtEnd()) {
    return DateError(text, "a date (expected yyyy-MM-dd)");
  }
  return static_cast<int32_t>(days);
}

arrow::Result<int64_t> ParseTimestampMicros(std::string_view text) {
  static constexpr std::string_view kExpected =
      "a timestamp (expected yyyy-MM-dd HH:mm:ss[.ffffff] or ISO 8601)";
  Cursor cursor(text);
  int64_t days = 0;
  if (!ParseDatePart(&cursor, &days)) return DateError(text, kExpected);
  int64_t micros = days * kMicrosPerDay;
  if (cursor.AtEnd()) return micros;
  if (!cursor.Consume(' ') && !cursor.Consume('T')) return DateError(text, kExpected);
  int64_t hour = 0;
  int64_t minute = 0;
  int64_t second = 0;
  if (!cursor.Digits(2, &hour) || !cursor.Consume(':') || !cursor.Digits(2, &minute)) {
    return DateError(text, kExpected);
  }
  if (cursor.Consume(':') && !cursor.Digits(2, &second)) return DateError(text, kExpected);
  if (hour > 23 || minute > 59 || second > 59) return DateError(text, kExpected);
  micros += ((hour * 60 + minute) * 60 + second) * kMicrosPerSecond;
  if (cursor.Consume('.')) {
    int64_t fraction = 0;
    int digits = cursor.DigitRun(&fraction, 6);
    if (digits == 0) return DateError(text, kExpected);
    for (int i = std::min(digits, 6); i < 6; ++i) fraction *= 10;
    micros += fraction;
  }
  if (cursor.Consume('Z') || cursor.AtEnd()) {
    if (!cursor.AtEnd()) return DateError(text, kExpected);
    return micros;
  }
  int sign = 0;
  if (cursor.Consume('+')) {
    sign = 1;
  } else if (cursor.Consume('-')) {
    sign = -1;
  } else {
    return DateError(text, kExpected);
  }
  int64_t offset_hours = 0;
  int64_t offset_minutes = 0;
  if (!cursor.Digits(2, &offset_hours)) return DateError(text, kExpected);
  cursor.Consume(':');
  if (!cursor.AtEnd() && !cursor.Digits(2, &offset_minutes)) return DateError(text, kExpected);
  if (!cursor.AtEnd() || offset_hours > 18 || offset_minutes > 59) {
    return DateError(text, kExpected);
  }
  // Local time = UTC + offset, so UTC = local - offset.
  return micros - sign * (offset_hours * 60 + offset_minutes) * 60 * kMicrosPerSecond;
}

}  // namespace nlk::delta::data
