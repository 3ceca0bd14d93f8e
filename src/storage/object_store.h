// An object store rooted at one location (a local directory or an S3 prefix).
//
// Every path given to an ObjectStore is relative to its root and uses '/' separators, e.g.
// "_delta_log/00000000000000000003.json" or "date=2026-01-01/part-0001.parquet". The Delta layer
// only ever talks to this interface, so the protocol code does not know where bytes live.
//
// Thread-safety: implementations are safe for concurrent use from many threads.
#pragma once

#include <arrow/buffer.h>
#include <arrow/filesystem/filesystem.h>
#include <arrow/io/interfaces.h>
#include <arrow/result.h>
#include <arrow/status.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace nlk::storage {

struct ObjectInfo {
  std::string path;  // relative to the store root
  int64_t size = 0;
  int64_t last_modified_ms = 0;  // milliseconds since the Unix epoch
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // The URI of the root, as given by the user (e.g. "/data/t", "file:///data/t", "s3://b/p").
  virtual const std::string& root_uri() const = 0;

  // Whole-object read. A missing object is StatusCode::IOError with a message that names it;
  // IsNotFound() below tells the two apart.
  virtual arrow::Result<std::shared_ptr<arrow::Buffer>> Read(const std::string& path) = 0;
  // Up to `length` bytes from `offset`: fewer when the object ends first. An offset past the end
  // is Invalid.
  virtual arrow::Result<std::shared_ptr<arrow::Buffer>> ReadRange(const std::string& path,
                                                                  int64_t offset,
                                                                  int64_t length) = 0;
  // A random-access handle, e.g. for a Parquet reader that fetches only footers and row groups.
  virtual arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenForRead(
      const std::string& path) = 0;
  virtual arrow::Result<ObjectInfo> Head(const std::string& path) = 0;

  // Objects whose path starts with `prefix` and sorts strictly after `start_after` (if given),
  // in ascending byte order. Recursive: "a/" lists "a/b/c" too.
  virtual arrow::Result<std::vector<ObjectInfo>> List(const std::string& prefix,
                                                      const std::string& start_after = "") = 0;

  // Leftovers of writes that never finished (their process died mid-write) under `prefix`, which
  // List does not show. Only a store that stages writes in visible temporary objects has any;
  // an unfinished S3 PUT leaves nothing behind.
  virtual arrow::Result<std::vector<ObjectInfo>> ListUnfinishedWrites(
      [[maybe_unused]] const std::string& prefix) {
    return std::vector<ObjectInfo>{};
  }

  // Creates or replaces an object. Readers see either the old or the whole new object, never a
  // part of it.
  virtual arrow::Status Write(const std::string& path, std::shared_ptr<arrow::Buffer> data) = 0;
  // The object appears, whole, when Close() succeeds. A stream destroyed without Close() may
  // publish nothing (local store) or what was written (S3, like Arrow's streams): call Close().
  virtual arrow::Result<std::shared_ptr<arrow::io::OutputStream>> OpenForWrite(
      const std::string& path) = 0;

  // Atomically creates `path` only if nothing exists there. Returns true if this call created
  // it and false if the object already existed (nothing is changed then). This is the primitive
  // Delta commits rely on: two writers racing for the same version cannot both win.
  virtual arrow::Result<bool> PutIfAbsent(const std::string& path,
                                          std::shared_ptr<arrow::Buffer> data) = 0;

  // Deleting an absent object is not an error.
  virtual arrow::Status Delete(const std::string& path) = 0;

  // The Arrow filesystem and the root path inside it, for Arrow readers/writers (datasets).
  virtual std::shared_ptr<arrow::fs::FileSystem> arrow_filesystem() const = 0;
  virtual std::string arrow_path(const std::string& path) const = 0;
};

// Opens the store for a URI: a plain path, "file://...", or "s3://bucket/prefix".
// S3 settings come from the standard environment variables: AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION (or AWS_DEFAULT_REGION),
// AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_S3), and AWS_ALLOW_HTTP=true to permit an http://
// endpoint.
arrow::Result<std::shared_ptr<ObjectStore>> OpenObjectStore(std::string_view uri);

// True when `status` says an object does not exist: made by NotFound() below, or an Arrow
// filesystem error carrying ENOENT.
bool IsNotFound(const arrow::Status& status);
// An IOError "<what> does not exist" that IsNotFound() recognizes, e.g.
// NotFound("object '/data/t/_delta_log/00000000000000000003.json'").
arrow::Status NotFound(const std::string& what);

// Checks an object path: non-empty, relative, '/'-separated, with no empty, "." or ".." segment.
// Every store method calls it, so a path can never escape the store root.
arrow::Status ValidateObjectPath(const std::string& path);
// Checks a List prefix: empty (everything), or relative with no "." or ".." segment; it may end
// in '/' or in the middle of a name ("_delta_log/0000").
arrow::Status ValidateListPrefix(const std::string& prefix);

}  // namespace nlk::storage
