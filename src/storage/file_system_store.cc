#include "storage/file_system_store.h"

#include <arrow/io/interfaces.h>
#include <arrow/util/io_util.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

namespace nlk::storage {

std::string FileSystemStore::ObjectUri(const std::string& path) const {
  const std::string& root = root_uri();
  if (!root.empty() && root.back() == '/') return root + path;
  return root + "/" + path;
}

arrow::Status FileSystemStore::ExplainError(const arrow::Status& status,
                                            const std::string& operation,
                                            const std::string& path) const {
  return status.WithMessage("error ", operation, " '", ObjectUri(path), "': ", status.message());
}

arrow::Result<arrow::fs::FileInfo> FileSystemStore::StatObject(const std::string& path) {
  ARROW_RETURN_NOT_OK(ValidateObjectPath(path));
  auto info = arrow_filesystem()->GetFileInfo(arrow_path(path));
  if (!info.ok()) return ExplainError(info.status(), "reading", path);
  // A directory (or an S3 prefix with objects below it) is not an object.
  if (info->type() != arrow::fs::FileType::File) {
    return NotFound("object '" + ObjectUri(path) + "'");
  }
  return info;
}

arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> FileSystemStore::OpenForRead(
    const std::string& path) {
  ARROW_ASSIGN_OR_RAISE(auto info, StatObject(path));
  auto file = arrow_filesystem()->OpenInputFile(info);
  if (!file.ok()) {
    // Deleted between the stat and the open.
    if (arrow::internal::ErrnoFromStatus(file.status()) == ENOENT) {
      return NotFound("object '" + ObjectUri(path) + "'");
    }
    return ExplainError(file.status(), "opening", path);
  }
  return file;
}

arrow::Result<std::shared_ptr<arrow::Buffer>> FileSystemStore::Read(const std::string& path) {
  ARROW_ASSIGN_OR_RAISE(auto file, OpenForRead(path));
  // The size of the open file, not of the stat: a concurrent Write may have replaced the object.
  auto size = file->GetSize();
  if (!size.ok()) return ExplainError(size.status(), "reading", path);
  auto data = file->ReadAt(0, *size);
  if (!data.ok()) return ExplainError(data.status(), "reading", path);
  return data;
}

arrow::Result<std::shared_ptr<arrow::Buffer>> FileSystemStore::ReadRange(const std::string& path,
                                                                         int64_t offset,
                                                                         int64_t length) {
  if (offset < 0 || length < 0) {
    return arrow::Status::Invalid("invalid range of '", ObjectUri(path), "': offset ", offset,
                                  " and length ", length, " must not be negative");
  }
  ARROW_ASSIGN_OR_RAISE(auto file, OpenForRead(path));
  auto size = file->GetSize();
  if (!size.ok()) return ExplainError(size.status(), "reading", path);
  if (offset > *size) {
    return arrow::Status::Invalid("range starting at ", offset, " is past the end of '",
                                  ObjectUri(path), "', which has ", *size, " bytes");
  }
  auto data = file->ReadAt(offset, std::min(length, *size - offset));
  if (!data.ok()) return ExplainError(data.status(), "reading", path);
  return data;
}

arrow::Result<ObjectInfo> FileSystemStore::Head(const std::string& path) {
  ARROW_ASSIGN_OR_RAISE(auto info, StatObject(path));
  ObjectInfo object;
  object.path = path;
  object.size = info.size();
  object.last_modified_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(info.mtime().time_since_epoch())
          .count();
  return object;
}

}  // namespace nlk::storage
