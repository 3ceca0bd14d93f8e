#include "storage/s3_client.h"

#include "storage/s3_signature.h"

#include <arrow/status.h>
#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>

namespace nlk::storage {
namespace {

// Enough for a few threads' worth of kept-alive connections without hoarding sockets.
constexpr size_t kMaxIdleHandles = 8;
// A ListObjectsV2 page of 1000 keys is well under 1 MiB; anything far larger is not S3 talking.
constexpr size_t kMaxResponseBytes = 64 << 20;

std::string Environment(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

// curl_global_init is not thread-safe in every libcurl build, so run it once before any handle.
void EnsureCurlInitialized() {
  static const CURLcode result = curl_global_init(CURL_GLOBAL_DEFAULT);
  (void)result;  // A failure shows up as curl_easy_init returning null.
}

size_t AppendBody(char* data, size_t size, size_t count, void* user_data) {
  auto* body = static_cast<std::string*>(user_data);
  if (body->size() + size * count > kMaxResponseBytes) return 0;  // aborts the transfer
  body->append(data, size * count);
  return size * count;
}

// Collects "Name: value" header lines; the status line and the blank line end up ignored.
size_t AppendHeader(char* data, size_t size, size_t count, void* user_data) {
  auto* headers = static_cast<std::vector<std::pair<std::string, std::string>>*>(user_data);
  const std::string_view line(data, size * count);
  const size_t colon = line.find(':');
  if (colon != std::string_view::npos && colon > 0) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ' ||
                              value.back() == '\t')) {
      value.remove_suffix(1);
    }
    headers->emplace_back(std::move(name), std::string(value));
  }
  return size * count;
}

// Transport failures after which the server cannot have seen a complete request.
bool CertainlyNotDelivered(CURLcode code) {
  return code == CURLE_COULDNT_RESOLVE_HOST || code == CURLE_COULDNT_RESOLVE_PROXY ||
         code == CURLE_COULDNT_CONNECT || code == CURLE_SSL_CONNECT_ERROR ||
         code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_UNSUPPORTED_PROTOCOL ||
         code == CURLE_URL_MALFORMAT;
}

}  // namespace

arrow::Result<S3Settings> S3SettingsFromEnvironment() {
  S3Settings settings;
  settings.region = Environment("AWS_REGION");
  if (settings.region.empty()) settings.region = Environment("AWS_DEFAULT_REGION");
  if (settings.region.empty()) settings.region = "us-east-1";

  settings.access_key_id = Environment("AWS_ACCESS_KEY_ID");
  settings.secret_access_key = Environment("AWS_SECRET_ACCESS_KEY");
  settings.session_token = Environment("AWS_SESSION_TOKEN");
  if (settings.access_key_id.empty() || settings.secret_access_key.empty()) {
    return arrow::Status::Invalid(
        "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and "
        "AWS_SESSION_TOKEN for temporary credentials); for the local MinIO run "
        "eval \"$(scripts/minio.sh env)\"");
  }
  settings.ca_bundle = Environment("AWS_CA_BUNDLE");

  const std::string encryption = Environment("AWS_SERVER_SIDE_ENCRYPTION");
  settings.sse_kms_key_id = Environment("AWS_SSE_KMS_KEY_ID");
  if (encryption.empty()) {
    if (!settings.sse_kms_key_id.empty()) {
      return arrow::Status::Invalid(
          "AWS_SSE_KMS_KEY_ID is set but AWS_SERVER_SIDE_ENCRYPTION is not; set "
          "AWS_SERVER_SIDE_ENCRYPTION=aws:kms to encrypt with that key");
    }
  } else if (encryption == "AES256") {
    settings.encryption = S3Encryption::kSseS3;
    if (!settings.sse_kms_key_id.empty()) {
      return arrow::Status::Invalid(
          "AWS_SSE_KMS_KEY_ID names a KMS key but AWS_SERVER_SIDE_ENCRYPTION=AES256 asks for "
          "S3-managed keys; use AWS_SERVER_SIDE_ENCRYPTION=aws:kms for a KMS key");
    }
  } else if (encryption == "aws:kms") {
    settings.encryption = S3Encryption::kSseKms;
  } else {
    return arrow::Status::Invalid("AWS_SERVER_SIDE_ENCRYPTION='", encryption,
                                  "' is not supported: use AES256 (SSE-S3) or aws:kms (SSE-KMS, "
                                  "with AWS_SSE_KMS_KEY_ID for a key other than the default)");
  }

  // The service-specific variable wins, as in the AWS SDKs.
  const char* variable = "AWS_ENDPOINT_URL_S3";
  std::string endpoint = Environment(variable);
  if (endpoint.empty()) {
    variable = "AWS_ENDPOINT_URL";
    endpoint = Environment(variable);
  }
  if (endpoint.empty()) {
    settings.scheme = "https";
    settings.host = "s3." + settings.region + ".amazonaws.com";
    return settings;
  }
  settings.endpoint_override = endpoint;
  const size_t scheme_end = endpoint.find("://");
  if (scheme_end == std::string::npos) {
    return arrow::Status::Invalid(variable, "='", endpoint, "' has no scheme: write e.g. https://",
                                  endpoint);
  }
  settings.scheme = endpoint.substr(0, scheme_end);
  std::transform(settings.scheme.begin(), settings.scheme.end(), settings.scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string rest = endpoint.substr(scheme_end + 3);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.empty() || rest.find_first_of("/?#@") != std::string::npos) {
    return arrow::Status::Invalid(variable, "='", endpoint,
                                  "' must be scheme://host[:port] with no path, e.g. "
                                  "http://127.0.0.1:9000");
  }
  settings.host = rest;
  if (settings.scheme == "http") {
    if (Environment("AWS_ALLOW_HTTP") != "true") {
      return arrow::Status::Invalid(
          "S3 endpoint ", variable, "='", endpoint,
          "' uses plain HTTP, which sends data unencrypted; set AWS_ALLOW_HTTP=true to allow it "
          "(meant for a local MinIO), or use an https:// endpoint");
    }
  } else if (settings.scheme != "https") {
    return arrow::Status::Invalid(variable, "='", endpoint,
                                  "' has an unsupported scheme: use https:// (or http:// with "
                                  "AWS_ALLOW_HTTP=true)");
  }
  return settings;
}

std::vector<std::string> S3Settings::EncryptionHeaders() const {
  switch (encryption) {
    case S3Encryption::kNone:
      return {};
    case S3Encryption::kSseS3:
      return {"x-amz-server-side-encryption: AES256"};
    case S3Encryption::kSseKms:
      if (sse_kms_key_id.empty()) return {"x-amz-server-side-encryption: aws:kms"};
      return {"x-amz-server-side-encryption: aws:kms",
              "x-amz-server-side-encryption-aws-kms-key-id: " + sse_kms_key_id};
  }
  return {};
}

std::string S3Response::Header(std::string_view name) const {
  for (const auto& [header, value] : headers) {
    if (header == name) return value;
  }
  return "";
}

std::string S3UriEncode(std::string_view text, bool keep_slashes) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (keep_slashes && c == '/')) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0x0F]);
    }
  }
  return out;
}

S3Client::S3Client(S3Settings settings) : settings_(std::move(settings)) {
  EnsureCurlInitialized();
}

S3Client::~S3Client() {
  for (void* handle : idle_handles_) curl_easy_cleanup(handle);
}

void* S3Client::AcquireHandle() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!idle_handles_.empty()) {
      void* handle = idle_handles_.back();
      idle_handles_.pop_back();
      return handle;
    }
  }
  return curl_easy_init();
}

void S3Client::ReleaseHandle(void* handle) {
  // Reset drops the options but keeps the connection cache, which is the point of pooling.
  curl_easy_reset(handle);
  std::lock_guard<std::mutex> lock(mutex_);
  if (idle_handles_.size() < kMaxIdleHandles) {
    idle_handles_.push_back(handle);
    return;
  }
  curl_easy_cleanup(handle);
}

std::string S3Client::Path(const S3Request& request) const {
  std::string path = "/" + S3UriEncode(request.bucket, /*keep_slashes=*/false);
  if (!request.key.empty()) path += "/" + S3UriEncode(request.key, /*keep_slashes=*/true);
  return path;
}

std::string S3Client::Query(const S3Request& request) {
  // SigV4 signs the query sorted by name with names and values encoded; send it that way too.
  auto query = request.query;
  std::sort(query.begin(), query.end());
  std::string out;
  for (const auto& [name, value] : query) {
    if (!out.empty()) out += '&';
    out += S3UriEncode(name, false) + "=" + S3UriEncode(value, false);
  }
  return out;
}

std::string S3Client::Url(const S3Request& request) const {
  const std::string query = Query(request);
  return settings_.scheme + "://" + settings_.host + Path(request) +
         (query.empty() ? "" : "?" + query);
}

arrow::Result<S3Response> S3Client::Send(const S3Request& request) {
  CURL* curl = AcquireHandle();
  if (curl == nullptr) return arrow::Status::OutOfMemory("cannot create a libcurl handle");

  const std::string url = Url(request);
  SigV4Request signing;
  signing.method = request.method;
  signing.canonical_uri = Path(request);
  signing.canonical_query = Query(request);
  signing.host = settings_.host;
  // The payload is not hashed into the signature; S3 accepts that over TLS, and a local
  // MinIO over loopback HTTP needs no integrity protection against the network.
  signing.payload_hash = "UNSIGNED-PAYLOAD";
  signing.headers = request.headers;
  signing.headers.push_back("x-amz-content-sha256: UNSIGNED-PAYLOAD");
  signing.amz_date = SigV4Now();
  signing.region = settings_.region;
  const std::vector<std::string> signature = SignV4(
      signing, {settings_.access_key_id, settings_.secret_access_key, settings_.session_token});
  curl_slist* headers = nullptr;
  auto add_header = [&headers](const std::string& header) {
    curl_slist* extended = curl_slist_append(headers, header.c_str());
    if (extended != nullptr) headers = extended;
    return extended != nullptr;
  };
  bool headers_ok = true;
  for (const std::string& header : signing.headers) headers_ok &= add_header(header);
  for (const std::string& header : signature) headers_ok &= add_header(header);
  if (!headers_ok) {
    curl_slist_free_all(headers);
    ReleaseHandle(curl);
    return arrow::Status::OutOfMemory("cannot build HTTP headers for ", url);
  }

  S3Response response;
  char error_buffer[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  // Give up on a stalled transfer rather than on a slow but moving one.
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, AppendHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response.headers);
  if (!settings_.ca_bundle.empty()) {
    curl_easy_setopt(curl, CURLOPT_CAINFO, settings_.ca_bundle.c_str());
  }
  if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (request.method == "PUT" || request.method == "POST") {
    // A body from memory rather than CURLOPT_UPLOAD: libcurl then sends "Expect: 100-continue"
    // only for bodies over 1 MiB, and waits for it at most briefly (below).
    static constexpr char kEmpty[] = "";
    const bool has_body = request.body != nullptr && request.body->size() > 0;
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS,
                     has_body ? reinterpret_cast<const char*>(request.body->data()) : kEmpty);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(has_body ? request.body->size() : 0));
    curl_easy_setopt(curl, CURLOPT_EXPECT_100_TIMEOUT_MS, 200L);
  }
  if (request.method != "GET" && request.method != "HEAD") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }

  const CURLcode code = curl_easy_perform(curl);
  if (code == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status_code);
  } else {
    response.transport_error = std::string(request.method) + " " + url + ": " +
                               (error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code));
    response.maybe_delivered = !CertainlyNotDelivered(code);
  }
  curl_slist_free_all(headers);
  ReleaseHandle(curl);
  return response;
}

}  // namespace nlk::storage
