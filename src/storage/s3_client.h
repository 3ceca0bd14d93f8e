// A small signed-request S3 client for what Arrow's S3FileSystem does not offer: conditional
// PUT (If-None-Match: *), ListObjectsV2 with start-after, and plain DELETE.
#pragma once

#include <arrow/buffer.h>
#include <arrow/result.h>

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace nlk::storage {

// Server-side encryption requested for every object written.
enum class S3Encryption {
  kNone,    // the bucket's default applies
  kSseS3,   // x-amz-server-side-encryption: AES256 (keys managed by S3)
  kSseKms,  // x-amz-server-side-encryption: aws:kms, with sse_kms_key_id or the default key
};

// Where and as whom to talk to S3, read from the standard AWS environment variables.
struct S3Settings {
  std::string region;             // AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1
  std::string scheme;             // "https" or "http"
  std::string host;               // "host" or "host:port", e.g. "127.0.0.1:9000"
  std::string endpoint_override;  // the endpoint URL the user set; empty for AWS itself
  std::string ca_bundle;          // AWS_CA_BUNDLE, a PEM file of trusted CAs
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  S3Encryption encryption = S3Encryption::kNone;
  std::string sse_kms_key_id;  // with kSseKms; empty for the account's default KMS key

  // The request headers that ask for `encryption` on PUT and CreateMultipartUpload.
  std::vector<std::string> EncryptionHeaders() const;
};

// Reads S3Settings from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION,
// AWS_DEFAULT_REGION, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, AWS_ALLOW_HTTP and AWS_CA_BUNDLE,
// and the encryption from AWS_SERVER_SIDE_ENCRYPTION ("AES256" or "aws:kms") and
// AWS_SSE_KMS_KEY_ID (the names delta-rs's object store reads too).
// An http:// endpoint is refused unless AWS_ALLOW_HTTP=true, so credentials and data never
// cross a network unencrypted by accident.
arrow::Result<S3Settings> S3SettingsFromEnvironment();

// Percent-encodes as SigV4 canonical requests do: everything but A-Z a-z 0-9 - _ . ~, and '/'
// too unless `keep_slashes`.
std::string S3UriEncode(std::string_view text, bool keep_slashes);

struct S3Request {
  std::string method = "GET";  // GET, HEAD, PUT, POST or DELETE
  std::string bucket;
  std::string key;  // unencoded; empty for bucket-level requests such as listing
  std::vector<std::pair<std::string, std::string>> query;  // unencoded names and values
  std::vector<std::string> headers;                        // "Name: value"
  std::shared_ptr<arrow::Buffer> body;                     // PUT and POST only
};

struct S3Response {
  // The value of header `name` (lowercase), or "" when absent.
  std::string Header(std::string_view name) const;

  long status_code = 0;  // 0 when no HTTP response arrived
  std::string body;
  // The response's header lines, names lowercased, values trimmed.
  std::vector<std::pair<std::string, std::string>> headers;
  // Set when the exchange failed below HTTP (connection refused, timeout, reset).
  std::string transport_error;
  // With a transport error: whether the server may have received and acted on the request.
  bool maybe_delivered = false;
};

// Sends SigV4-signed requests (s3_signature.h) with path-style addressing, over libcurl.
//
// Thread-safety: safe for concurrent use; idle curl handles are pooled under a mutex so
// connections are reused across calls.
class S3Client {
 public:
  explicit S3Client(S3Settings settings);
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;

  const S3Settings& settings() const { return settings_; }

  // One attempt. Only local failures (e.g. out of memory) are errors; HTTP and transport
  // failures are reported in the response so callers can choose how to retry.
  arrow::Result<S3Response> Send(const S3Request& request);

  // The URL a request goes to, with the query in canonical (sorted, encoded) order.
  std::string Url(const S3Request& request) const;
  // Its path ("/bucket/key", encoded) and query (canonical, without '?').
  std::string Path(const S3Request& request) const;
  static std::string Query(const S3Request& request);

 private:
  void* AcquireHandle();
  void ReleaseHandle(void* handle);

  const S3Settings settings_;
  std::mutex mutex_;
  std::vector<void*> idle_handles_;  // CURL*, guarded by mutex_
};

}  // namespace nlk::storage
