// The read side shared by stores whose bytes an Arrow FileSystem can read (local and S3).
#pragma once

#include <arrow/filesystem/filesystem.h>

#include <memory>
#include <string>

#include "storage/object_store.h"

namespace nlk::storage {

// Implements Read, ReadRange, OpenForRead and Head on top of arrow_filesystem() and
// arrow_path(); subclasses supply the rest.
//
// Thread-safety: as safe as the Arrow FileSystem underneath, which for local and S3 is safe for
// concurrent use.
class FileSystemStore : public ObjectStore {
 public:
  arrow::Result<std::shared_ptr<arrow::Buffer>> Read(const std::string& path) override;
  arrow::Result<std::shared_ptr<arrow::Buffer>> ReadRange(const std::string& path, int64_t offset,
                                                          int64_t length) override;
  arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenForRead(
      const std::string& path) override;
  arrow::Result<ObjectInfo> Head(const std::string& path) override;

 protected:
  // The full URI of an object, for error messages.
  std::string ObjectUri(const std::string& path) const;

  // Lets a store reword an Arrow error (e.g. S3 access denied) so it says how to fix it.
  // `operation` is a verb phrase such as "reading".
  virtual arrow::Status ExplainError(const arrow::Status& status, const std::string& operation,
                                     const std::string& path) const;

 private:
  arrow::Result<arrow::fs::FileInfo> StatObject(const std::string& path);
};

}  // namespace nlk::storage
