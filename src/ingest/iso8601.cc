#include "ingest/iso8601.h"

#include <arrow/status.h>
#include <arrow/type_fwd.h>

#include <chrono>
#include <string>

#include "common/time_units.h"

namespace nlk::ingest {
namespace {

// Reads exactly `count` decimal digits at `position`, advancing past them.
bool ReadDigits(std::string_view text, size_t& position, size_t count, int& value) {
  if (position + count > text.size()) return false;
  value = 0;
  for (size_t i = 0; i < count; ++i) {
    char c = text[position + i];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  position += count;
  return true;
}

bool Expect(std::string_view text, size_t& position, char expected) {
  if (position >= text.size() || text[position] != expected) return false;
  ++position;
  return true;
}

// Parses YYYY-MM-DD at the start of `text` into days since the epoch.
bool ReadDate(std::string_view text, size_t& position, int64_t& days) {
  int year = 0;
  int month = 0;
  int day = 0;
  if (!ReadDigits(text, position, 4, year) || !Expect(text, position, '-') ||
      !ReadDigits(text, position, 2, month) || !Expect(text, position, '-') ||
      !ReadDigits(text, position, 2, day)) {
    return false;
  }
  std::chrono::year_month_day date{std::chrono::year{year},
                                   std::chrono::month{static_cast<unsigned>(month)},
                                   std::chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok()) return false;
  days = std::chrono::sys_days{date}.time_since_epoch().count();
  return true;
}

arrow::Status NotATimestamp(std::string_view text) {
  return arrow::Status::Invalid("'", text,
                                "' is not an ISO-8601 timestamp (expected e.g. "
                                "2026-01-01T12:00:00.123456Z or 2026-01-01T13:00:00+01:00)");
}

}  // namespace

arrow::Result<EpochInstant> ParseIso8601Timestamp(std::string_view text) {
  size_t position = 0;
  int64_t days = 0;
  if (!ReadDate(text, position, days)) return NotATimestamp(text);
  int64_t seconds_of_day = 0;
  int32_t nanoseconds = 0;
  if (position < text.size() &&
      (text[position] == 'T' || text[position] == 't' || text[position] == ' ')) {
    ++position;
    int hour = 0;
    int minute = 0;
    int second = 0;
    if (!ReadDigits(text, position, 2, hour) || !Expect(text, position, ':') ||
        !ReadDigits(text, position, 2, minute) || hour > 23 || minute > 59) {
      return NotATimestamp(text);
    }
    if (Expect(text, position, ':')) {
      if (!ReadDigits(text, position, 2, second) || second > 59) return NotATimestamp(text);
      if (position < text.size() && (text[position] == '.' || text[position] == ',')) {
        ++position;
        int digits = 0;
        while (position < text.size() && text[position] >= '0' && text[position] <= '9') {
          if (++digits > 9) return NotATimestamp(text);
          nanoseconds = nanoseconds * 10 + (text[position] - '0');
          ++position;
        }
        if (digits == 0) return NotATimestamp(text);
        for (int i = digits; i < 9; ++i) nanoseconds *= 10;
      }
    }
    seconds_of_day = hour * 3600 + minute * 60 + second;
  }
  int64_t offset_seconds = 0;
  if (position < text.size()) {
    char sign = text[position];
    if (sign == 'Z' || sign == 'z') {
      ++position;
    } else if (sign == '+' || sign == '-') {
      ++position;
      int offset_hours = 0;
      int offset_minutes = 0;
      if (!ReadDigits(text, position, 2, offset_hours) || offset_hours > 23) {
        return NotATimestamp(text);
      }
      if (position < text.size()) {
        Expect(text, position, ':');
        if (!ReadDigits(text, position, 2, offset_minutes) || offset_minutes > 59) {
          return NotATimestamp(text);
        }
      }
      offset_seconds = (offset_hours * 3600 + offset_minutes * 60) * (sign == '-' ? -1 : 1);
    }
  }
  if (position != text.size()) return NotATimestamp(text);
  return EpochInstant{days * 86400 + seconds_of_day - offset_seconds, nanoseconds};
}

arrow::Result<int32_t> ParseIso8601Date(std::string_view text) {
  size_t position = 0;
  int64_t days = 0;
  if (!ReadDate(text, position, days) || position != text.size()) {
    return arrow::Status::Invalid("'", text, "' is not an ISO-8601 date (expected YYYY-MM-DD)");
  }
  return static_cast<int32_t>(days);
}

arrow::Result<int64_t> ToTimestampUnits(const EpochInstant& instant, arrow::TimeUnit::type unit) {
  const int64_t per_second = UnitsPerSecond(unit);
  int64_t units = 0;
  if (__builtin_mul_overflow(instant.seconds, per_second, &units) ||
      __builtin_add_overflow(units, instant.nanoseconds / (1000000000 / per_second), &units)) {
    return arrow::Status::Invalid("the timestamp is out of range for its column's unit");
  }
  return units;
}

}  // namespace nlk::ingest
