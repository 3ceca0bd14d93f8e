#include "sql/execution_guard.h"

namespace nlk::sql {

arrow::Status ExecutionGuard::Check() const {
  ARROW_RETURN_NOT_OK(stop_token.Poll());
  if (deadline && std::chrono::steady_clock::now() > *deadline) {
    return arrow::Status::Cancelled("query timed out");
  }
  return arrow::Status::OK();
}

}  // namespace nlk::sql
