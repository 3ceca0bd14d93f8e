// Process-wide Arrow setup that must happen before compute functions are used.
#pragma once

#include <arrow/status.h>

namespace nlk {

// Registers Arrow's compute kernels (Arrow >= 21 keeps them in a separate library that must be
// initialized explicitly). Safe to call from many threads and many times; only the first call
// does work.
arrow::Status InitializeArrowCompute();

}  // namespace nlk
