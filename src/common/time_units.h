// Arrow time units as numbers.
#pragma once

#include <arrow/type_fwd.h>

#include <cstdint>

namespace nlk {

// 1 for seconds, 1000 for milliseconds, 1'000'000 for microseconds, 1'000'000'000 for
// nanoseconds.
constexpr int64_t UnitsPerSecond(arrow::TimeUnit::type unit) {
  switch (unit) {
    case arrow::TimeUnit::SECOND:
      return 1;
    case arrow::TimeUnit::MILLI:
      return 1000;
    case arrow::TimeUnit::MICRO:
      return 1000000;
    case arrow::TimeUnit::NANO:
      return 1000000000;
  }
  return 1;
}

}  // namespace nlk
