#include "server/result_stream.h"

#include <arrow/io/interfaces.h>

#include <string>

#include "server/api_error.h"

namespace nlk::server {
namespace {

// Results up to this size are sent whole, with Content-Length and a truthful status.
constexpr size_t kBufferBeforeStreaming = 1 << 20;
// Once streaming, bytes are sent in chunks of about this size.
constexpr size_t kChunkBytes = 256 << 10;

// Counts rows against the row limit and checks the deadline between batches.
class LimitedReader : public arrow::RecordBatchReader {
 public:
  LimitedReader(arrow::RecordBatchReader& source, const ResultLimits& limits)
      : source_(source), limits_(limits) {}

  std::shared_ptr<arrow::Schema> schema() const override { return source_.schema(); }

  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* batch) override {
    if (std::chrono::steady_clock::now() > limits_.deadline) return Timeout();
    ARROW_RETURN_NOT_OK(source_.ReadNext(batch));
    if (std::chrono::steady_clock::now() > limits_.deadline) return Timeout();
    if (*batch) {
      rows_ += (*batch)->num_rows();
      if (rows_ > limits_.max_rows) {
        return MakeApiError(413, "result_too_large",
                            "the result has more than " + std::to_string(limits_.max_rows) +
                                " rows (max_result_rows); add a LIMIT, a filter or an aggregate");
      }
    }
    return arrow::Status::OK();
  }

  int64_t rows() const { return rows_; }

 private:
  arrow::Status Timeout() const {
    return MakeApiError(408, "query_timeout",
                        "the query ran longer than " + std::to_string(limits_.timeout.count()) +
                            " ms (query_timeout)");
  }

  arrow::RecordBatchReader& source_;
  const ResultLimits& limits_;
  int64_t rows_ = 0;
};

// An Arrow output stream whose bytes become the HTTP response body.
class ResponseStream : public arrow::io::OutputStream {
 public:
  ResponseStream(ResponseWriter& writer, std::string_view content_type, int64_t max_bytes)
      : writer_(writer), content_type_(content_type), max_bytes_(max_bytes) {}

  arrow::Status Write(const void* data, int64_t nbytes) override {
    position_ += nbytes;
    if (position_ > max_bytes_) {
      return MakeApiError(413, "result_too_large",
                          "the result is larger than " + std::to_string(max_bytes_) +
                              " bytes (max_result_bytes); add a LIMIT, a filter or fewer columns");
    }
    buffer_.append(static_cast<const char*>(data), static_cast<size_t>(nbytes));
    if (!writer_.started() && buffer_.size() >= kBufferBeforeStreaming) {
      ARROW_RETURN_NOT_OK(writer_.BeginStream(200, content_type_));
    }
    if (writer_.started() && buffer_.size() >= kChunkBytes) return Flush();
    return arrow::Status::OK();
  }

  arrow::Status Flush() override {
    if (!writer_.started() || buffer_.empty()) return arrow::Status::OK();
    std::string chunk;
    chunk.swap(buffer_);
    return writer_.SendChunk(std::move(chunk));
  }

  // Sends what is left: the whole response, or the last chunks and the stream's end.
  arrow::Status Finish() {
    if (!writer_.started()) return writer_.Send(200, content_type_, std::move(buffer_));
    ARROW_RETURN_NOT_OK(Flush());
    return writer_.EndStream();
  }

  arrow::Status Close() override {
    closed_ = true;
    return arrow::Status::OK();
  }
  bool closed() const override { return closed_; }
  arrow::Result<int64_t> Tell() const override { return position_; }

 private:
  ResponseWriter& writer_;
  std::string_view content_type_;
  int64_t max_bytes_;
  std::string buffer_;
  int64_t position_ = 0;
  bool closed_ = false;
};

}  // namespace

std::pair<format::OutputFormat, std::string_view> NegotiateFormat(std::string_view accept) {
  using format::OutputFormat;
  while (!accept.empty()) {
    size_t comma = accept.find(',');
    std::string_view item = accept.substr(0, comma);
    accept = comma == std::string_view::npos ? std::string_view() : accept.substr(comma + 1);
    item = item.substr(0, item.find(';'));
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item == "application/json") return {OutputFormat::kJson, "application/json"};
    if (item == "text/csv") return {OutputFormat::kCsv, "text/csv"};
    if (item == "application/x-ndjson") return {OutputFormat::kNdjson, "application/x-ndjson"};
    if (item == "application/vnd.apache.arrow.stream") {
      return {OutputFormat::kArrowStream, "application/vnd.apache.arrow.stream"};
    }
    if (item == "application/vnd.apache.arrow.file") {
      return {OutputFormat::kArrowFile, "application/vnd.apache.arrow.file"};
    }
    if (item == "application/parquet" || item == "application/vnd.apache.parquet") {
      return {OutputFormat::kParquet, "application/parquet"};
    }
  }
  return {OutputFormat::kJson, "application/json"};
}

int SendError(const arrow::Status& status, std::string_view default_code, ResponseWriter& writer) {
  ApiError error = DescribeError(status, default_code);
  (void)writer.Send(error.http_status, "application/json", ErrorJson(error));
  return error.http_status;
}

StreamedResult StreamResult(arrow::RecordBatchReader& reader, format::OutputFormat format,
                            std::string_view content_type, const ResultLimits& limits,
                            std::string_view error_code, ResponseWriter& writer) {
  StreamedResult result;
  auto limited = std::make_shared<LimitedReader>(reader, limits);
  auto stream = std::make_shared<ResponseStream>(writer, content_type, limits.max_bytes);
  auto written = format::WriteBatches(*limited, format, stream);
  arrow::Status status = written.status();
  if (status.ok()) status = stream->Finish();
  result.rows = limited->rows();
  result.bytes = *stream->Tell();
  if (status.ok()) return result;
  if (writer.started()) {
    // The status line is out; only an incomplete body can still signal the failure.
    writer.Abort();
    result.status = DescribeError(status, error_code).http_status;
    return result;
  }
  result.status = SendError(status, error_code, writer);
  return result;
}

}  // namespace nlk::server
