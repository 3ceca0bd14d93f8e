#include "storage/object_store.h"

#include <arrow/util/io_util.h>

#include <cctype>
#include <cerrno>
#include <string_view>

#include "storage/local_store.h"
#include "storage/s3_store.h"

namespace nlk::storage {
namespace {

constexpr char kNotFoundTypeId[] = "nlk::storage::NotFound";

// Marks an IOError as "object does not exist" without callers having to parse messages.
class NotFoundDetail : public arrow::StatusDetail {
 public:
  const char* type_id() const override { return kNotFoundTypeId; }
  std::string ToString() const override { return "object not found"; }
};

arrow::Status InvalidPath(const std::string& path, std::string_view reason) {
  return arrow::Status::Invalid("invalid object path '", path, "': ", reason,
                                " (paths are relative to the store root and '/'-separated, "
                                "e.g. \"_delta_log/00000000000000000000.json\")");
}

// "scheme://..." where the scheme is letters, digits, '+', '-' or '.', as in RFC 3986.
bool HasUriScheme(std::string_view uri) {
  const size_t scheme_end = uri.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0) return false;
  for (char c : uri.substr(0, scheme_end)) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      return false;
    }
  }
  return true;
}

}  // namespace

bool IsNotFound(const arrow::Status& status) {
  if (!status.IsIOError()) return false;
  const auto& detail = status.detail();
  if (detail != nullptr && std::string_view(detail->type_id()) == kNotFoundTypeId) return true;
  return arrow::internal::ErrnoFromStatus(status) == ENOENT;
}

arrow::Status NotFound(const std::string& what) {
  return arrow::Status::IOError(what, " does not exist")
      .WithDetail(std::make_shared<NotFoundDetail>());
}

arrow::Status ValidateObjectPath(const std::string& path) {
  if (path.empty()) return InvalidPath(path, "it is empty");
  if (path.front() == '/') return InvalidPath(path, "it is absolute");
  if (path.find('\0') != std::string::npos) return InvalidPath(path, "it contains a NUL byte");
  size_t begin = 0;
  while (begin <= path.size()) {
    size_t end = path.find('/', begin);
    if (end == std::string::npos) end = path.size();
    std::string_view segment(path.data() + begin, end - begin);
    if (segment.empty()) return InvalidPath(path, "it has an empty segment");
    if (segment == "." || segment == "..") {
      return InvalidPath(path, "'.' and '..' segments are not allowed");
    }
    begin = end + 1;
  }
  return arrow::Status::OK();
}

arrow::Status ValidateListPrefix(const std::string& prefix) {
  if (prefix.empty()) return arrow::Status::OK();
  if (prefix.front() == '/') {
    return arrow::Status::Invalid("invalid list prefix '", prefix,
                                  "': it must be relative to the store root");
  }
  std::string_view rest = prefix;
  while (!rest.empty()) {
    const size_t slash = rest.find('/');
    const std::string_view segment = rest.substr(0, slash);
    if (segment == "." || segment == "..") {
      return arrow::Status::Invalid("invalid list prefix '", prefix,
                                    "': '.' and '..' segments are not allowed");
    }
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  return arrow::Status::OK();
}

arrow::Result<std::shared_ptr<ObjectStore>> OpenObjectStore(std::string_view uri) {
  if (uri.empty()) {
    return arrow::Status::Invalid(
        "empty storage location: give a directory, a file:// URI or s3://bucket/prefix");
  }
  if (uri.starts_with("s3://")) return OpenS3Store(uri);
  if (uri.starts_with("s3a://") || uri.starts_with("s3n://")) {
    return arrow::Status::Invalid("unsupported URI scheme in '", uri,
                                  "': write s3://bucket/prefix instead");
  }
  if (HasUriScheme(uri) && !uri.starts_with("file://")) {
    return arrow::Status::Invalid("unsupported URI scheme in '", uri,
                                  "': use a local path, file:// or s3://");
  }
  return OpenLocalStore(uri);
}

}  // namespace nlk::storage
