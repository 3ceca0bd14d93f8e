// Just enough XML reading for the S3 responses we request ourselves (ListObjectsV2, errors).
//
// S3 responses are flat, machine-written documents whose element text never holds a raw '<'
// (it is escaped), so finding "<Tag>" and "</Tag>" is exact; a general XML parser would add a
// dependency for nothing.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nlk::storage {

struct S3ListedObject {
  std::string key;
  int64_t size = 0;
  int64_t last_modified_ms = 0;
};

struct S3ListPage {
  std::vector<S3ListedObject> objects;
  bool truncated = false;
  std::string next_continuation_token;
};

struct S3ErrorBody {
  std::string code;     // e.g. "AccessDenied", "NoSuchBucket"; empty if the body had none
  std::string message;  // S3's human-readable message
};

// Parses a ListObjectsV2 response (a <ListBucketResult> document).
arrow::Result<S3ListPage> ParseListObjectsV2(std::string_view xml);

// Reads <Code> and <Message> from an S3 <Error> document; empty fields when absent.
S3ErrorBody ParseS3Error(std::string_view xml);

// The UploadId of an InitiateMultipartUploadResult document.
arrow::Result<std::string> ParseInitiateMultipartUpload(std::string_view xml);

// Replaces the five predefined entities and numeric character references (&#34; &#x22;).
arrow::Result<std::string> XmlUnescape(std::string_view text);

// "2026-01-02T03:04:05.678Z" to milliseconds since the Unix epoch.
arrow::Result<int64_t> ParseIso8601Milliseconds(std::string_view text);

}  // namespace nlk::storage
