// An object store under an S3 prefix (AWS S3 or MinIO).
#pragma once

#include <arrow/filesystem/s3fs.h>

#include <memory>
#include <string>
#include <string_view>

#include "storage/file_system_store.h"
#include "storage/s3_client.h"

namespace nlk::storage {

struct S3StoreOptions {
  // Keys per ListObjectsV2 request (S3 allows at most 1000). Tests lower it to exercise
  // continuation tokens without creating thousands of objects.
  int list_page_size = 1000;
};

// Reads go through Arrow's S3FileSystem, and so do writes unless server-side encryption is
// configured (AWS_SERVER_SIDE_ENCRYPTION): then writes go through S3UploadStream, which sends
// the encryption headers on every PUT and multipart upload. PutIfAbsent (a PUT with If-None-Match:
// *), List (ListObjectsV2, which supports start-after) and Delete use S3Client, since Arrow offers
// neither conditional writes nor start-after. Keys ending in '/' (directory markers written by
// some tools) are not objects and are never listed.
//
// Thread-safety: safe for concurrent use from many threads.
class S3Store : public FileSystemStore {
 public:
  S3Store(std::string root_uri, std::string bucket, std::string key_prefix,
          std::shared_ptr<arrow::fs::S3FileSystem> filesystem, std::shared_ptr<S3Client> client,
          S3StoreOptions options);

  const std::string& root_uri() const override { return root_uri_; }
  const std::string& bucket() const { return bucket_; }

  arrow::Result<std::vector<ObjectInfo>> List(const std::string& prefix,
                                              const std::string& start_after = "") override;
  arrow::Status Write(const std::string& path, std::shared_ptr<arrow::Buffer> data) override;
  arrow::Result<std::shared_ptr<arrow::io::OutputStream>> OpenForWrite(
      const std::string& path) override;
  arrow::Result<bool> PutIfAbsent(const std::string& path,
                                  std::shared_ptr<arrow::Buffer> data) override;
  arrow::Status Delete(const std::string& path) override;

  std::shared_ptr<arrow::fs::FileSystem> arrow_filesystem() const override { return filesystem_; }
  std::string arrow_path(const std::string& path) const override;

 protected:
  arrow::Status ExplainError(const arrow::Status& status, const std::string& operation,
                             const std::string& path) const override;

 private:
  // The bucket key of a store path.
  std::string Key(const std::string& path) const;
  // An error for a failed S3 response, with advice for the failures users can fix.
  arrow::Status ResponseError(const S3Response& response, const std::string& operation,
                              const std::string& path) const;
  // Sends an idempotent request, retrying transport failures and 5xx answers.
  arrow::Result<S3Response> SendWithRetries(const S3Request& request);

  std::string root_uri_;
  std::string bucket_;
  std::string key_prefix_;  // "" or "some/prefix" (no trailing '/')
  std::shared_ptr<arrow::fs::S3FileSystem> filesystem_;
  std::shared_ptr<S3Client> client_;
  S3StoreOptions options_;
};

// Opens "s3://bucket" or "s3://bucket/prefix" with settings from S3SettingsFromEnvironment().
// Nothing is sent to S3 until the first call.
arrow::Result<std::shared_ptr<ObjectStore>> OpenS3Store(std::string_view uri,
                                                        const S3StoreOptions& options = {});

}  // namespace nlk::storage
