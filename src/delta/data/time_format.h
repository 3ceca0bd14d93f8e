// Calendar conversions for the text forms of dates and timestamps in partition values and
// statistics. Proleptic Gregorian calendar, as Spark and Arrow use.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace nlk::delta::data {

// "yyyy-MM-dd" for days since 1970-01-01.
std::string FormatDate(int32_t days_since_epoch);

// How a timestamp is written.
enum class TimestampFormat {
  // "yyyy-MM-dd HH:mm:ss" plus ".SSSSSS" when there are sub-second digits.
  kPartitionValue,
  // ISO 8601 in UTC with microseconds: "yyyy-MM-ddTHH:mm:ss.SSSSSSZ".
  kIsoMicrosUtc,
  // ISO 8601 with milliseconds, as Spark writes statistics: "yyyy-MM-ddTHH:mm:ss.SSSZ".
  kIsoMillisUtc,
  // The same without a zone, for timestamp_ntz statistics.
  kIsoMillisLocal,
};

// Formats microseconds since the epoch; the millisecond formats truncate toward -infinity.
std::string FormatTimestamp(int64_t micros_since_epoch, TimestampFormat format);

// Parses "yyyy-MM-dd".
arrow::Result<int32_t> ParseDate(std::string_view text);

// Parses "yyyy-MM-dd[( |T)HH:mm[:ss[.fraction]]][Z|(+|-)HH[:]mm]" into microseconds since the
// epoch, applying a zone offset when one is present (text without one is taken as UTC).
// Fractions finer than microseconds are truncated.
arrow::Result<int64_t> ParseTimestampMicros(std::string_view text);

}  // namespace nlk::delta::data
