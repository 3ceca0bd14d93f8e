#include "common/arrow_runtime.h"

#include <arrow/compute/initialize.h>

#include <mutex>

namespace nlk {

arrow::Status InitializeArrowCompute() {
  static std::once_flag once;
  static arrow::Status status;
  std::call_once(once, [] { status = arrow::compute::Initialize(); });
  return status;
}

}  // namespace nlk
