// Errors as the HTTP API reports them: ROAPI's JSON shape {"code": <HTTP status>, "error":
// <machine-readable code>, "message": <what went wrong>}. Library calls return arrow::Status;
// an ApiErrorDetail attached to it fixes the HTTP status and code, otherwise they follow from
// the status kind (never 500 for a problem in what the user sent).
//
// Pure; thread-safe.
#pragma once

#include <arrow/status.h>

#include <memory>
#include <string>
#include <string_view>

namespace nlk::server {

class ApiErrorDetail : public arrow::StatusDetail {
 public:
  ApiErrorDetail(int http_status, std::string code)
      : http_status_(http_status), code_(std::move(code)) {}
  const char* type_id() const override;
  std::string ToString() const override { return code_; }
  int http_status() const { return http_status_; }
  const std::string& code() const { return code_; }

 private:
  int http_status_;
  std::string code_;
};

struct ApiError {
  int http_status = 400;
  std::string code;
  std::string message;
};

// An Invalid status carrying the HTTP status and code.
arrow::Status MakeApiError(int http_status, std::string code, const std::string& message);
// Re-labels `status` with an HTTP status and code unless it already carries one.
arrow::Status WithApiError(const arrow::Status& status, int http_status, std::string code);

// How a failed status is reported: its ApiErrorDetail, else by kind (Invalid, TypeError,
// KeyError, NotImplemented: 400 with `default_code`; CapacityError, OutOfMemory: 413;
// Cancelled: 408; IOError and others: 500 internal_error).
ApiError DescribeError(const arrow::Status& status, std::string_view default_code);
std::string ErrorJson(const ApiError& error);

}  // namespace nlk::server
