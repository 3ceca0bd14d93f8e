#include "storage/s3_store.h"

#include <arrow/io/interfaces.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <initializer_list>
#include <thread>

#include "storage/s3_upload_stream.h"
#include "storage/s3_xml.h"

namespace nlk::storage {
namespace {

constexpr int kMaxAttempts = 5;

void Backoff(int attempt) { std::this_thread::sleep_for(std::chrono::milliseconds(50 << attempt)); }

// Arrow's S3 support needs one process-wide initialization before the first S3FileSystem.
arrow::Status EnsureArrowS3Initialized() {
  static const arrow::Status status = arrow::fs::EnsureS3Initialized();
  return status;
}

// ... and a matching finalization before exit, or the AWS SDK crashes while the process ends.
// Registered only once an S3FileSystem exists: Arrow creates a static "client finalizer" with the
// first filesystem, and exit handlers run in reverse order of registration, so ours must come
// after it to run while it is still alive.
void FinalizeArrowS3AtExit() {
  static const bool registered = [] {
    return std::atexit([] {
             // Nothing useful can be done with a failure while the process exits.
             arrow::Status finalized = arrow::fs::EnsureS3Finalized();
             (void)finalized;
           }) == 0;
  }();
  (void)registered;
}

bool Contains(std::string_view text, std::initializer_list<std::string_view> needles) {
  for (std::string_view needle : needles) {
    if (text.find(needle) != std::string_view::npos) return true;
  }
  return false;
}

std::string CredentialAdvice(const S3Settings& settings, const std::string& bucket) {
  const std::string endpoint = settings.endpoint_override.empty()
                                   ? settings.scheme + "://" + settings.host
                                   : settings.endpoint_override;
  return "check that AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for "
         "temporary credentials) are right for " +
         endpoint + " and grant access to bucket '" + bucket + "'";
}

arrow::Status ValidateBucketName(const std::string& bucket, std::string_view uri) {
  const bool length_ok = bucket.size() >= 3 && bucket.size() <= 63;
  const bool characters_ok = std::all_of(bucket.begin(), bucket.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
  });
  if (!length_ok || !characters_ok) {
    return arrow::Status::Invalid("invalid bucket name '", bucket, "' in '", uri,
                                  "': S3 bucket names have 3 to 63 lowercase letters, digits, "
                                  "'-' or '.'");
  }
  return arrow::Status::OK();
}

// An error for a failed S3 response about `target` (an s3:// URI), with advice for the failures
// users can fix.
arrow::Status S3ResponseError(const S3Response& response, const std::string& operation,
                              const std::string& target, const S3Settings& settings,
                              const std::string& bucket) {
  if (!response.transport_error.empty()) {
    if (response.transport_error.find("certificate") != std::string::npos) {
      return arrow::Status::IOError(
          "error ", operation, " '", target,
          "': the S3 endpoint's certificate does not verify: ", response.transport_error,
          settings.ca_bundle.empty()
              ? "; if a private CA signed it, set AWS_CA_BUNDLE to that CA's PEM file"
              : "; check that AWS_CA_BUNDLE (" + settings.ca_bundle +
                    ") holds the CA that signed it and the certificate names the endpoint's host");
    }
    return arrow::Status::IOError("error ", operation, " '", target,
                                  "': cannot reach S3: ", response.transport_error,
                                  "; check AWS_ENDPOINT_URL and that the server is running");
  }
  const S3ErrorBody error = ParseS3Error(response.body);
  const std::string said = "HTTP " + std::to_string(response.status_code) +
                           (error.code.empty() ? "" : " " + error.code) +
                           (error.message.empty() ? "" : ": " + error.message);
  if (response.status_code == 403) {
    return arrow::Status::IOError("access denied ", operation, " '", target,
                                  "': ", CredentialAdvice(settings, bucket), " (S3 said ", said,
                                  ")");
  }
  if (error.code == "NoSuchBucket") {
    return arrow::Status::IOError("error ", operation, " '", target, "': bucket '", bucket,
                                  "' does not exist; create it first (S3 said ", said, ")");
  }
  std::string code = error.code;
  std::transform(code.begin(), code.end(), code.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (settings.encryption != S3Encryption::kNone &&
      (code == "notimplemented" || code.find("kms") != std::string::npos ||
       code.find("encryption") != std::string::npos ||
       error.message.find("ncryption") != std::string::npos)) {
    return arrow::Status::IOError(
        "error ", operation, " '", target,
        "': the server refused the requested server-side encryption (AWS_SERVER_SIDE_ENCRYPTION",
        settings.sse_kms_key_id.empty() ? "" : ", AWS_SSE_KMS_KEY_ID",
        "); check that it supports it and the key exists (S3 said ", said, ")");
  }
  return arrow::Status::IOError("error ", operation, " '", target, "': S3 said ", said);
}

}  // namespace

S3Store::S3Store(std::string root_uri, std::string bucket, std::string key_prefix,
                 std::shared_ptr<arrow::fs::S3FileSystem> filesystem,
                 std::shared_ptr<S3Client> client, S3StoreOptions options)
    : root_uri_(std::move(root_uri)),
      bucket_(std::move(bucket)),
      key_prefix_(std::move(key_prefix)),
      filesystem_(std::move(filesystem)),
      client_(std::move(client)),
      options_(options) {}

std::string S3Store::Key(const std::string& path) const {
  return key_prefix_.empty() ? path : key_prefix_ + "/" + path;
}

std::string S3Store::arrow_path(const std::string& path) const { return bucket_ + "/" + Key(path); }

arrow::Status S3Store::ExplainError(const arrow::Status& status, const std::string& operation,
                                    const std::string& path) const {
  const std::string& message = status.message();
  if (Contains(message,
               {"ACCESS_DENIED", "AccessDenied", "InvalidAccessKeyId", "INVALID_ACCESS_KEY_ID",
                "SignatureDoesNotMatch", "SIGNATURE_DOES_NOT_MATCH", "response code: 403"})) {
    return arrow::Status::IOError("access denied ", operation, " '", ObjectUri(path),
                                  "': ", CredentialAdvice(client_->settings(), bucket_),
                                  " (S3 said: ", message, ")");
  }
  if (Contains(message, {"NoSuchBucket", "NO_SUCH_BUCKET"})) {
    return arrow::Status::IOError("error ", operation, " '", ObjectUri(path), "': bucket '",
                                  bucket_, "' does not exist; create it first (S3 said: ", message,
                                  ")");
  }
  return FileSystemStore::ExplainError(status, operation, path);
}

arrow::Status S3Store::ResponseError(const S3Response& response, const std::string& operation,
                                     const std::string& path) const {
  return S3ResponseError(response, operation, path.empty() ? root_uri_ : ObjectUri(path),
                         client_->settings(), bucket_);
}

arrow::Result<S3Response> S3Store::SendWithRetries(const S3Request& request) {
  S3Response response;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    if (attempt > 0) Backoff(attempt);
    ARROW_ASSIGN_OR_RAISE(response, client_->Send(request));
    const bool transient = !response.transport_error.empty() || response.status_code >= 500;
    if (!transient) break;
  }
  return response;
}

arrow::Result<std::vector<ObjectInfo>> S3Store::List(const std::string& prefix,
                                                     const std::string& start_after) {
  ARROW_RETURN_NOT_OK(ValidateListPrefix(prefix));
  const std::string root = key_prefix_.empty() ? "" : key_prefix_ + "/";
  S3Request request;
  request.bucket = bucket_;
  std::string continuation_token;
  std::vector<ObjectInfo> objects;
  while (true) {
    request.query = {{"list-type", "2"},
                     {"prefix", root + prefix},
                     {"max-keys", std::to_string(options_.list_page_size)}};
    if (!start_after.empty()) request.query.emplace_back("start-after", root + start_after);
    if (!continuation_token.empty()) {
      request.query.emplace_back("continuation-token", continuation_token);
    }
    ARROW_ASSIGN_OR_RAISE(S3Response response, SendWithRetries(request));
    if (response.status_code != 200) return ResponseError(response, "listing", prefix);
    auto page = ParseListObjectsV2(response.body);
    if (!page.ok()) {
      return page.status().WithMessage("error listing '", ObjectUri(prefix),
                                       "': ", page.status().message());
    }
    for (S3ListedObject& listed : page->objects) {
      if (!listed.key.starts_with(root) || listed.key.back() == '/') continue;
      ObjectInfo object;
      object.path = listed.key.substr(root.size());
      if (object.path <= start_after) continue;
      object.size = listed.size;
      object.last_modified_ms = listed.last_modified_ms;
      objects.push_back(std::move(object));
    }
    if (!page->truncated) break;
    continuation_token = std::move(page->next_continuation_token);
  }
  return objects;
}

arrow::Status S3Store::Write(const std::string& path, std::shared_ptr<arrow::Buffer> data) {
  if (data == nullptr) return arrow::Status::Invalid("null buffer for '", ObjectUri(path), "'");
  ARROW_ASSIGN_OR_RAISE(auto stream, OpenForWrite(path));
  // S3UploadStream's errors already name the object and say what S3 answered.
  const bool explained = client_->settings().encryption != S3Encryption::kNone;
  arrow::Status status = stream->Write(data);
  if (!status.ok()) {
    // Abort so that no partial object is published.
    arrow::Status aborted = stream->Abort();
    (void)aborted;
    return explained ? status : ExplainError(status, "writing", path);
  }
  status = stream->Close();
  if (!status.ok()) return explained ? status : ExplainError(status, "writing", path);
  return arrow::Status::OK();
}

arrow::Result<std::shared_ptr<arrow::io::OutputStream>> S3Store::OpenForWrite(
    const std::string& path) {
  ARROW_RETURN_NOT_OK(ValidateObjectPath(path));
  if (client_->settings().encryption != S3Encryption::kNone) {
    return std::make_shared<S3UploadStream>(
        client_, bucket_, Key(path), client_->settings().EncryptionHeaders(),
        // The stream may outlive the store, so its errors are built from copies.
        [client = client_, bucket = bucket_, target = ObjectUri(path)](
            const S3Response& response, const std::string& operation) {
          return S3ResponseError(response, operation, target, client->settings(), bucket);
        });
  }
  auto stream = filesystem_->OpenOutputStream(arrow_path(path));
  if (!stream.ok()) return ExplainError(stream.status(), "writing", path);
  return stream;
}

arrow::Result<bool> S3Store::PutIfAbsent(const std::string& path,
                                         std::shared_ptr<arrow::Buffer> data) {
  ARROW_RETURN_NOT_OK(ValidateObjectPath(path));
  if (data == nullptr) return arrow::Status::Invalid("null buffer for '", ObjectUri(path), "'");
  S3Request request;
  request.method = "PUT";
  request.bucket = bucket_;
  request.key = Key(path);
  request.headers = client_->settings().EncryptionHeaders();
  request.headers.push_back("If-None-Match: *");
  request.headers.push_back("Content-Type: application/octet-stream");
  request.body = data;
  // Set once an attempt may have created the object without us hearing the answer: a later 412
  // may then be our own object.
  bool maybe_created = false;
  S3Response response;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    if (attempt > 0) Backoff(attempt);
    ARROW_ASSIGN_OR_RAISE(response, client_->Send(request));
    if (!response.transport_error.empty()) {
      maybe_created = maybe_created || response.maybe_delivered;
      continue;
    }
    switch (response.status_code) {
      case 200:
        return true;
      case 412: {
        if (!maybe_created) return false;
        // Same bytes: our earlier attempt landed. Commit contents are unique in practice
        // (they carry a transaction id and timestamp), so equal bytes mean it was ours.
        ARROW_ASSIGN_OR_RAISE(auto existing, Read(path));
        return existing->Equals(*data) ? arrow::Result<bool>(true) : arrow::Result<bool>(false);
      }
      case 409:
        // ConditionalRequestConflict: another conditional write to this key is in flight.
        // Its outcome decides ours, so ask again rather than guess.
        continue;
      case 501:
        return arrow::Status::NotImplemented(
            "error creating '", ObjectUri(path),
            "': this S3 endpoint does not support conditional writes (If-None-Match), which "
            "safe concurrent commits need; use AWS S3 or a recent MinIO");
      default:
        if (response.status_code >= 500) {
          maybe_created = true;
          continue;
        }
        return ResponseError(response, "creating", path);
    }
  }
  if (response.status_code == 409) {
    return arrow::Status::IOError("error creating '", ObjectUri(path),
                                  "': another writer's "
                                  "conditional write to it was still in progress after ",
                                  kMaxAttempts, " attempts; retry later");
  }
  return ResponseError(response, "creating", path);
}

arrow::Status S3Store::Delete(const std::string& path) {
  ARROW_RETURN_NOT_OK(ValidateObjectPath(path));
  S3Request request;
  request.method = "DELETE";
  request.bucket = bucket_;
  request.key = Key(path);
  ARROW_ASSIGN_OR_RAISE(S3Response response, SendWithRetries(request));
  if (response.status_code == 204 || response.status_code == 200) return arrow::Status::OK();
  if (response.status_code == 404 && ParseS3Error(response.body).code == "NoSuchKey") {
    return arrow::Status::OK();
  }
  return ResponseError(response, "deleting", path);
}

arrow::Result<std::shared_ptr<ObjectStore>> OpenS3Store(std::string_view uri,
                                                        const S3StoreOptions& options) {
  if (!uri.starts_with("s3://")) {
    return arrow::Status::Invalid("not an S3 URI: '", uri, "' (expected s3://bucket/prefix)");
  }
  if (uri.find_first_of("?#") != std::string_view::npos) {
    return arrow::Status::Invalid("S3 URI '", uri,
                                  "' has a query or fragment; settings come from AWS_* "
                                  "environment variables instead");
  }
  if (options.list_page_size < 1 || options.list_page_size > 1000) {
    return arrow::Status::Invalid("S3 list page size ", options.list_page_size,
                                  " is outside 1..1000");
  }
  const std::string_view rest = uri.substr(5);
  const size_t slash = rest.find('/');
  const std::string bucket(rest.substr(0, slash));
  std::string prefix(slash == std::string_view::npos ? "" : rest.substr(slash + 1));
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  ARROW_RETURN_NOT_OK(ValidateBucketName(bucket, uri));
  if (!prefix.empty()) {
    const arrow::Status valid = ValidateObjectPath(prefix);
    if (!valid.ok()) return valid.WithMessage("in S3 URI '", uri, "': ", valid.message());
  }

  auto settings = S3SettingsFromEnvironment();
  if (!settings.ok()) {
    return settings.status().WithMessage("cannot open '", uri, "': ", settings.status().message());
  }
  ARROW_RETURN_NOT_OK(EnsureArrowS3Initialized());
  arrow::fs::S3Options s3_options = arrow::fs::S3Options::FromAccessKey(
      settings->access_key_id, settings->secret_access_key, settings->session_token);
  s3_options.region = settings->region;
  s3_options.scheme = settings->scheme;
  if (!settings->endpoint_override.empty()) s3_options.endpoint_override = settings->host;
  if (!settings->ca_bundle.empty()) s3_options.tls_ca_file_path = settings->ca_bundle;
  auto filesystem = arrow::fs::S3FileSystem::Make(s3_options);
  if (!filesystem.ok()) {
    return filesystem.status().WithMessage("cannot open '", uri,
                                           "': ", filesystem.status().message());
  }
  FinalizeArrowS3AtExit();
  return std::make_shared<S3Store>(std::string(uri), bucket, std::move(prefix),
                                   std::move(*filesystem),
                                   std::make_shared<S3Client>(std::move(*settings)), options);
}

}  // namespace nlk::storage
