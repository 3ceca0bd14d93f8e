#include "delta/data/compute_registry.h"

#include <arrow/compute/initialize.h>

namespace nlk::delta::data {

arrow::Status EnsureComputeFunctions() {
  // A function-local static runs the registration exactly once, even under concurrent calls.
  static const arrow::Status status = arrow::compute::Initialize();
  return status;
}

}  // namespace nlk::delta::data
