// ISO-8601 dates and timestamps as JSON messages carry them, parsed without locale or time zone
// database: only UTC and fixed offsets can appear in the text, so neither is needed.
#pragma once

#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <cstdint>
#include <string_view>

namespace nlk::ingest {

// An instant as whole seconds since the Unix epoch plus a sub-second part, so that any unit from
// seconds to nanoseconds can be derived exactly.
struct EpochInstant {
  int64_t seconds = 0;
  int32_t nanoseconds = 0;  // [0, 1e9)
};

// Accepts YYYY-MM-DD, optionally followed by 'T' (or a space) and hh:mm[:ss[.fraction]] with up
// to nine fraction digits, optionally followed by 'Z' or an offset +hh:mm, +hhmm or +hh. Text
// without an offset is taken as UTC. Anything else, or an impossible calendar date, is Invalid.
arrow::Result<EpochInstant> ParseIso8601Timestamp(std::string_view text);

// Accepts exactly YYYY-MM-DD; returns days since 1970-01-01.
arrow::Result<int32_t> ParseIso8601Date(std::string_view text);

// The instant as a count of `unit` since the epoch, rounded toward negative infinity when the
// unit is coarser than the text; Invalid when it does not fit in 64 bits.
arrow::Result<int64_t> ToTimestampUnits(const EpochInstant& instant, arrow::TimeUnit::type unit);

}  // namespace nlk::ingest
