#include "common/arrow_runtime.h"

#include <arrow/compute/initialize.h>
#include <arrow/memory_pool.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

namespace nlk {

arrow::Status InitializeArrowCompute() {
  static std::once_flag once;
  static arrow::Status status;
  std::call_once(once, [] { status = arrow::compute::Initialize(); });
  return status;
}

void PreferJemallocMemoryPool() {
  if (std::getenv("ARROW_DEFAULT_MEMORY_POOL") != nullptr) return;
  const std::vector<std::string> backends = arrow::SupportedMemoryBackendNames();
  if (std::find(backends.begin(), backends.end(), "jemalloc") != backends.end()) {
    setenv("ARROW_DEFAULT_MEMORY_POOL", "jemalloc", /*overwrite=*/0);
  }
}

std::string DefaultMemoryPoolName() { return arrow::default_memory_pool()->backend_name(); }

}  // namespace nlk
