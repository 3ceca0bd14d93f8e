// PostgreSQL's text and binary forms of single values, as its output functions write them with
// the settings the server reports (DateStyle ISO, IntervalStyle postgres, TimeZone UTC,
// extra_float_digits 1). Clients parse these forms, so they follow PostgreSQL to the character:
//
//   float8   shortest text that reads back exactly; exponent form below 1e-4 or from 1e15
//            ("1e+15", "1e-05"), and for float4 from 1e6; "NaN", "Infinity", "-Infinity"
//   date     "2026-01-02", "0001-01-01 BC"
//   timestamp "2026-01-02 03:04:05.12" (fraction without trailing zeros), with "+00" when it
//            has a zone
//   time     "12:00:01.5"
//   interval "1 year 2 mons 3 days 04:05:06.7", hours past 24 kept as hours ("25:01:01.001")
//
// Binary forms are PostgreSQL's send functions: big-endian integers, IEEE floats, dates as days
// and timestamps as microseconds since 2000-01-01, intervals as (microseconds, days, months),
// numerics as base-10000 digit groups.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace nlk::pgwire {

// Days and microseconds between the Unix epoch and PostgreSQL's (2000-01-01).
inline constexpr int32_t kPostgresEpochDays = 10957;
inline constexpr int64_t kPostgresEpochMicros = 946'684'800'000'000;

void AppendFloat8Text(double value, std::string* out);
void AppendFloat4Text(float value, std::string* out);
// `days` since 1970-01-01.
void AppendDateText(int64_t days, std::string* out);
// `micros` since 1970-01-01 00:00:00 (UTC when `with_zone`).
void AppendTimestampText(int64_t micros, bool with_zone, std::string* out);
// `micros` since midnight.
void AppendTimeText(int64_t micros, std::string* out);
void AppendIntervalText(int32_t months, int32_t days, int64_t micros, std::string* out);
// "\x" and two lowercase hex digits a byte (bytea_output = hex).
void AppendByteaText(std::string_view bytes, std::string* out);

void AppendInt16Binary(int16_t value, std::string* out);
void AppendInt32Binary(int32_t value, std::string* out);
void AppendInt64Binary(int64_t value, std::string* out);
void AppendFloat4Binary(float value, std::string* out);
void AppendFloat8Binary(double value, std::string* out);
void AppendIntervalBinary(int32_t months, int32_t days, int64_t micros, std::string* out);
// `decimal` is plain decimal text: an optional '-', digits, optionally '.' and digits
// ("-123.4500"); the digits after the point set the display scale.
void AppendNumericBinary(std::string_view decimal, std::string* out);

// Reads a big-endian integer from the first bytes of `bytes` (which must be long enough).
int16_t ReadInt16(std::string_view bytes);
int32_t ReadInt32(std::string_view bytes);
int64_t ReadInt64(std::string_view bytes);

}  // namespace nlk::pgwire
