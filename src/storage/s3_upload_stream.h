// An output stream that uploads one S3 object through S3Client, so every request carries the
// headers the store needs on writes (server-side encryption), which Arrow's S3 output stream
// cannot send.
//
// Bytes are buffered in memory. An object that fits in one part is sent with one PUT at Close;
// a larger one becomes a multipart upload with parts of `part_size` bytes, each sent as soon as
// it is full, and completed at Close. Nothing is visible under the key before Close succeeds;
// Abort (or destroying an unclosed stream) abandons the upload.
//
// Thread-safety: one stream is used by one thread at a time, as Arrow output streams are.
#pragma once

#include <arrow/io/interfaces.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "storage/s3_client.h"

namespace nlk::storage {

class S3UploadStream : public arrow::io::OutputStream {
 public:
  // S3 refuses parts under 5 MiB except the last.
  static constexpr int64_t kMinPartSize = 5 << 20;
  static constexpr int64_t kDefaultPartSize = 16 << 20;

  // Turns a failed response into the error the caller reports for `operation` on the object.
  using ErrorFormatter = std::function<arrow::Status(const S3Response&, const std::string&)>;

  S3UploadStream(std::shared_ptr<S3Client> client, std::string bucket, std::string key,
                 std::vector<std::string> headers, ErrorFormatter error,
                 int64_t part_size = kDefaultPartSize);
  ~S3UploadStream() override;

  arrow::Status Write(const void* data, int64_t nbytes) override;
  using arrow::io::OutputStream::Write;
  arrow::Status Flush() override { return arrow::Status::OK(); }
  arrow::Status Close() override;
  arrow::Status Abort() override;
  arrow::Result<int64_t> Tell() const override { return position_; }
  bool closed() const override { return closed_; }

 private:
  S3Request Request(std::string method) const;
  // Sends an idempotent request, retrying transport failures and 5xx answers.
  arrow::Result<S3Response> Send(const S3Request& request);
  arrow::Status StartUpload();
  arrow::Status UploadPart();
  arrow::Status CompleteUpload();
  arrow::Status PutWhole();

  std::shared_ptr<S3Client> client_;
  const std::string bucket_;
  const std::string key_;
  const std::vector<std::string> headers_;
  const ErrorFormatter error_;
  const int64_t part_size_;

  std::string buffer_;
  int64_t position_ = 0;
  bool closed_ = false;
  std::string upload_id_;           // set once a multipart upload has started
  std::vector<std::string> etags_;  // of parts 1..n
};

}  // namespace nlk::storage
