// How one value is written as text. Every text format (JSON, NDJSON, CSV and the text table)
// goes through here, so a value reads the same in each of them:
//
//   binary              lowercase hex, two digits a byte: "00ff". ROAPI (arrow-rs) prints
//                       binary this way, and PostgreSQL's hex output is the same digits after
//                       its "\x" marker.
//   date                "1969-12-31"
//   timestamp           ISO 8601 with the fraction in whole groups of three digits, as arrow-rs
//                       prints it: "1969-12-31T23:59:58.500". A timestamp with a time zone
//                       (Delta's TIMESTAMP, stored in UTC) ends in "Z"; one without
//                       (TIMESTAMP_NTZ, a wall-clock reading) has no zone.
//   float, double       the shortest text that reads back to the same value; NaN and the
//                       infinities as "NaN", "Infinity" and "-Infinity" (PostgreSQL's and
//                       Spark's spelling), except in JSON, which has no such numbers: null there,
//                       as ROAPI writes them.
//   duration            ISO 8601 in seconds, as arrow-rs prints it: "PT90061.001S", "-PT1.5S",
//                       "P0D"
//   decimal             exact, at the column's scale: "1.50"
//   list, struct, map   JSON text: an array, an object, an object keyed by the keys' text
//
// Pure functions; thread-safe.
#pragma once

#include <arrow/array.h>
#include <arrow/status.h>

#include <cstdint>
#include <string>

#include "common/json_writer.h"

namespace nlk::format {

// Whether `array[row]` is null, or a dictionary index to a null entry.
bool IsNullValue(const arrow::Array& array, int64_t row);

// Appends the JSON value of `array[row]`, null included.
arrow::Status AppendJsonValue(const arrow::Array& array, int64_t row, JsonWriter& writer);

// Appends the text of `array[row]`, which must not be null (IsNullValue): a string as it is,
// anything else in the form above.
arrow::Status AppendText(const arrow::Array& array, int64_t row, std::string* out);

// Whether the text of a value of `type` is quoted in CSV: strings, binary (whose empty value
// must differ from NULL) and nested values (whose JSON holds commas and quotes).
bool QuotedInCsv(const arrow::DataType& type);

}  // namespace nlk::format
