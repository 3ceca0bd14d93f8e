// Writes a query's rows to an HTTP response in the negotiated format, under the per-query
// limits. Small results go out in one response with Content-Length (and a limit or error that
// strikes before the first megabyte still gets its proper status and JSON error); larger ones
// are streamed in chunks as batches are produced, and a limit that strikes mid-stream cuts the
// response short without its final chunk, so no client mistakes it for a complete answer.
//
// Pure functions over the given writer; thread-safe.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/status.h>

#include <chrono>
#include <cstdint>
#include <string_view>
#include <utility>

#include "format/output_format.h"
#include "server/http_server.h"

namespace nlk::server {

struct ResultLimits {
  int64_t max_rows = 0;
  int64_t max_bytes = 0;
  std::chrono::steady_clock::time_point deadline;
  std::chrono::milliseconds timeout{0};  // for messages
};

struct StreamedResult {
  int64_t rows = 0;
  int64_t bytes = 0;
  int status = 200;  // what the client was told (an error status when the query failed early)
};

// Negotiates the format from an Accept header, ROAPI-style: the first known media type wins;
// none (or */*) is JSON. Returns the format and the Content-Type to send.
std::pair<format::OutputFormat, std::string_view> NegotiateFormat(std::string_view accept);

// Streams `reader`; every failure (query errors, limits, timeouts) is answered here.
StreamedResult StreamResult(arrow::RecordBatchReader& reader, format::OutputFormat format,
                            std::string_view content_type, const ResultLimits& limits,
                            std::string_view error_code, ResponseWriter& writer);

// Sends `status` (an error) as ROAPI's JSON error.
int SendError(const arrow::Status& status, std::string_view default_code, ResponseWriter& writer);

}  // namespace nlk::server
