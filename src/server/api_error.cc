#include "server/api_error.h"

#include "common/json_writer.h"

namespace nlk::server {

const char* ApiErrorDetail::type_id() const { return "nlk::server::ApiErrorDetail"; }

arrow::Status MakeApiError(int http_status, std::string code, const std::string& message) {
  return arrow::Status(arrow::StatusCode::Invalid, message,
                       std::make_shared<ApiErrorDetail>(http_status, std::move(code)));
}

arrow::Status WithApiError(const arrow::Status& status, int http_status, std::string code) {
  if (status.ok() || dynamic_cast<const ApiErrorDetail*>(status.detail().get()) != nullptr) {
    return status;
  }
  return status.WithDetail(std::make_shared<ApiErrorDetail>(http_status, std::move(code)));
}

ApiError DescribeError(const arrow::Status& status, std::string_view default_code) {
  ApiError error;
  error.message = status.message();
  if (auto* detail = dynamic_cast<const ApiErrorDetail*>(status.detail().get())) {
    error.http_status = detail->http_status();
    error.code = detail->code();
    return error;
  }
  switch (status.code()) {
    case arrow::StatusCode::Invalid:
    case arrow::StatusCode::TypeError:
    case arrow::StatusCode::KeyError:
    case arrow::StatusCode::IndexError:
    case arrow::StatusCode::NotImplemented:
      error.http_status = 400;
      error.code = std::string(default_code);
      break;
    case arrow::StatusCode::CapacityError:
    case arrow::StatusCode::OutOfMemory:
      error.http_status = 413;
      error.code = "result_too_large";
      break;
    case arrow::StatusCode::Cancelled:
      error.http_status = 408;
      error.code = "query_timeout";
      break;
    default:
      error.http_status = 500;
      error.code = "internal_error";
      break;
  }
  return error;
}

std::string ErrorJson(const ApiError& error) {
  JsonWriter writer;
  writer.BeginObject();
  writer.Key("code");
  writer.Int(error.http_status);
  writer.Key("error");
  writer.String(error.code);
  writer.Key("message");
  writer.String(error.message);
  writer.EndObject();
  return writer.Take();
}

}  // namespace nlk::server
