// Arrow >= 21 ships most compute kernels (min_max, comparisons, filter, take, ...) in a separate
// library whose functions must be registered once before first use.
#pragma once

#include <arrow/status.h>

namespace nlk::delta::data {

// Registers Arrow's compute functions; cheap after the first call. Thread-safe.
arrow::Status EnsureComputeFunctions();

}  // namespace nlk::delta::data
