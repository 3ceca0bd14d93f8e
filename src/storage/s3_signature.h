// AWS Signature Version 4 for S3 requests, computed here rather than by libcurl: libcurl 7.88
// (Debian 12) orders the signed headers by "name:value" instead of by name, so a request that
// carries both x-amz-server-side-encryption and x-amz-server-side-encryption-aws-kms-key-id
// gets a signature S3 rejects.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace nlk::storage {

struct SigV4Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty unless temporary credentials
};

struct SigV4Request {
  std::string method;           // "GET", "PUT", ...
  std::string canonical_uri;    // the path as sent, already URI-encoded ("/bucket/key")
  std::string canonical_query;  // the query as sent: names sorted, names and values encoded
  // Headers to sign besides host and x-amz-date: "Name: value" lines as sent. Every x-amz-*
  // header a request carries must be here.
  std::vector<std::string> headers;
  std::string host;          // as sent in the Host header, with the port when not the default
  std::string payload_hash;  // hex SHA-256 of the body, or "UNSIGNED-PAYLOAD"
  std::string amz_date;      // "20260102T030405Z"
  std::string region;
  std::string service = "s3";
};

// The headers to add to the request: X-Amz-Date, the Authorization header, and
// X-Amz-Security-Token with temporary credentials.
std::vector<std::string> SignV4(const SigV4Request& request, const SigV4Credentials& credentials);

// The current time as SigV4 writes it ("20260102T030405Z").
std::string SigV4Now();

}  // namespace nlk::storage
