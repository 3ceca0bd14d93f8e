#include "storage/s3_upload_stream.h"

#include <arrow/buffer.h>
#include <arrow/status.h>

#include <chrono>
#include <thread>

#include "common/markup.h"
#include "storage/s3_xml.h"

namespace nlk::storage {
namespace {

constexpr int kMaxAttempts = 5;

// CompleteMultipartUpload may answer 200 and still fail: the error is then in the body.
bool IsErrorDocument(const std::string& body) { return body.find("<Error>") != std::string::npos; }

}  // namespace

S3UploadStream::S3UploadStream(std::shared_ptr<S3Client> client, std::string bucket,
                               std::string key, std::vector<std::string> headers,
                               ErrorFormatter error, int64_t part_size)
    : client_(std::move(client)),
      bucket_(std::move(bucket)),
      key_(std::move(key)),
      headers_(std::move(headers)),
      error_(std::move(error)),
      part_size_(std::max(part_size, kMinPartSize)) {}

S3UploadStream::~S3UploadStream() {
  if (!closed_) {
    arrow::Status aborted = Abort();
    (void)aborted;  // nothing to report to from a destructor; the upload is abandoned either way
  }
}

S3Request S3UploadStream::Request(std::string method) const {
  S3Request request;
  request.method = std::move(method);
  request.bucket = bucket_;
  request.key = key_;
  return request;
}

arrow::Result<S3Response> S3UploadStream::Send(const S3Request& request) {
  S3Response response;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50 << attempt));
    ARROW_ASSIGN_OR_RAISE(response, client_->Send(request));
    const bool transient = !response.transport_error.empty() || response.status_code >= 500 ||
                           (response.status_code == 200 && IsErrorDocument(response.body) &&
                            ParseS3Error(response.body).code == "InternalError");
    if (!transient) break;
  }
  return response;
}

arrow::Status S3UploadStream::Write(const void* data, int64_t nbytes) {
  if (closed_) return arrow::Status::Invalid("write to a closed S3 upload of '", key_, "'");
  if (nbytes < 0) return arrow::Status::Invalid("negative write size");
  const char* bytes = static_cast<const char*>(data);
  while (nbytes > 0) {
    const int64_t room = part_size_ - static_cast<int64_t>(buffer_.size());
    const int64_t take = std::min(room, nbytes);
    buffer_.append(bytes, static_cast<size_t>(take));
    bytes += take;
    nbytes -= take;
    position_ += take;
    if (static_cast<int64_t>(buffer_.size()) == part_size_ && nbytes > 0) {
      // A full part with more to come: only then is it certainly not the last one.
      if (upload_id_.empty()) ARROW_RETURN_NOT_OK(StartUpload());
      ARROW_RETURN_NOT_OK(UploadPart());
    }
  }
  return arrow::Status::OK();
}

arrow::Status S3UploadStream::StartUpload() {
  S3Request request = Request("POST");
  request.query = {{"uploads", ""}};
  request.headers = headers_;
  request.headers.push_back("Content-Type: application/octet-stream");
  ARROW_ASSIGN_OR_RAISE(S3Response response, Send(request));
  if (response.status_code != 200) return error_(response, "starting an upload of");
  ARROW_ASSIGN_OR_RAISE(upload_id_, ParseInitiateMultipartUpload(response.body));
  return arrow::Status::OK();
}

arrow::Status S3UploadStream::UploadPart() {
  S3Request request = Request("PUT");
  request.query = {{"partNumber", std::to_string(etags_.size() + 1)}, {"uploadId", upload_id_}};
  request.headers = {"Content-Type: application/octet-stream"};
  request.body = arrow::Buffer::FromString(std::move(buffer_));
  buffer_.clear();
  ARROW_ASSIGN_OR_RAISE(S3Response response, Send(request));
  if (response.status_code != 200) return error_(response, "uploading a part of");
  std::string etag = response.Header("etag");
  if (etag.empty()) {
    return arrow::Status::IOError("S3 accepted part ", etags_.size() + 1, " of '", key_,
                                  "' without an ETag");
  }
  etags_.push_back(std::move(etag));
  return arrow::Status::OK();
}

arrow::Status S3UploadStream::CompleteUpload() {
  std::string xml = "<CompleteMultipartUpload>";
  for (size_t i = 0; i < etags_.size(); ++i) {
    xml += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" +
           EscapeMarkup(etags_[i]) + "</ETag></Part>";
  }
  xml += "</CompleteMultipartUpload>";
  S3Request request = Request("POST");
  request.query = {{"uploadId", upload_id_}};
  request.headers = {"Content-Type: application/xml"};
  request.body = arrow::Buffer::FromString(std::move(xml));
  ARROW_ASSIGN_OR_RAISE(S3Response response, Send(request));
  if (response.status_code != 200 || IsErrorDocument(response.body)) {
    if (response.status_code == 200) response.status_code = 500;  // an error in a 200 body
    return error_(response, "completing the upload of");
  }
  return arrow::Status::OK();
}

arrow::Status S3UploadStream::PutWhole() {
  S3Request request = Request("PUT");
  request.headers = headers_;
  request.headers.push_back("Content-Type: application/octet-stream");
  request.body = arrow::Buffer::FromString(std::move(buffer_));
  buffer_.clear();
  ARROW_ASSIGN_OR_RAISE(S3Response response, Send(request));
  if (response.status_code != 200) return error_(response, "writing");
  return arrow::Status::OK();
}

arrow::Status S3UploadStream::Close() {
  if (closed_) return arrow::Status::OK();
  arrow::Status status;
  if (upload_id_.empty()) {
    status = PutWhole();
  } else {
    status = UploadPart();  // the last part, which may be short (or even empty)
    if (status.ok()) status = CompleteUpload();
  }
  if (!status.ok()) {
    arrow::Status aborted = Abort();
    (void)aborted;  // the write's own error is the one to report
    return status;
  }
  closed_ = true;
  return arrow::Status::OK();
}

arrow::Status S3UploadStream::Abort() {
  if (closed_) return arrow::Status::OK();
  closed_ = true;
  buffer_.clear();
  if (upload_id_.empty()) return arrow::Status::OK();
  S3Request request = Request("DELETE");
  request.query = {{"uploadId", upload_id_}};
  ARROW_ASSIGN_OR_RAISE(S3Response response, Send(request));
  if (response.status_code != 204 && response.status_code != 200 && response.status_code != 404) {
    return error_(response, "abandoning the upload of");
  }
  return arrow::Status::OK();
}

}  // namespace nlk::storage
