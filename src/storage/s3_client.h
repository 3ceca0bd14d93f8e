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
};

// Reads S3Settings from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION,
// AWS_DEFAULT_REGION, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, AWS_ALLOW_HTTP and AWS_CA_BUNDLE.
// An http:// endpoint is refused unless AWS_ALLOW_HTTP=true, so credentials and data never
// cross a network unencrypted by accident.
arrow::Result<S3Settings> S3SettingsFromEnvironment();

// Percent-encodes as SigV4 canonical requests do: everything but A-Z a-z 0-9 - _ . ~, and '/'
// too unless `keep_slashes`.
std::string S3UriEncode(std::string_view text, bool keep_slashes);

struct S3Request {
  std::string method = "GET";  // GET, PUT or DELETE
  std::string bucket;
  std::string key;  // unencoded; empty for bucket-level requests such as listing
  std::vector<std::pair<std::string, std::string>> query;  // unencoded names and values
  std::vector<std::string> headers;                        // "Name: value"
  std::shared_ptr<arrow::Buffer> body;                     // PUT only
};

struct S3Response {
  long status_code = 0;  // 0 when no HTTP response arrived
  std::string body;
  // Set when the exchange failed below HTTP (connection refused, timeout, reset).
  std::string transport_error;
  // With a transport error: whether the server may have received and acted on the request.
  bool maybe_delivered = false;
};

// Sends SigV4-signed requests (libcurl's CURLOPT_AWS_SIGV4) with path-style addressing.
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

 private:
  void* AcquireHandle();
  void ReleaseHandle(void* handle);

  const S3Settings settings_;
  std::mutex mutex_;
  std::vector<void*> idle_handles_;  // CURL*, guarded by mutex_
};

}  // namespace nlk::storage
