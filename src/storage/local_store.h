// An object store in a local directory.
#pragma once

#include <arrow/filesystem/localfs.h>

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "storage/file_system_store.h"

namespace nlk::storage {

// Objects are files under a root directory. Writes go to a temporary file in the target's
// directory (named ".nlk-tmp-...", hidden from List) and are published by rename(2), or by
// link(2) for PutIfAbsent, so readers never see a partial object and exactly one of several
// racing processes wins a PutIfAbsent. Data is fsync'ed before it is published.
//
// Thread-safety: safe for concurrent use from many threads and processes.
class LocalStore : public FileSystemStore {
 public:
  // `root_uri` as given by the user; `root_directory` absolute.
  LocalStore(std::string root_uri, std::string root_directory);

  const std::string& root_uri() const override { return root_uri_; }
  const std::string& root_directory() const { return root_directory_; }

  arrow::Result<std::vector<ObjectInfo>> List(const std::string& prefix,
                                              const std::string& start_after = "") override;
  // The ".nlk-tmp-*" files of writes whose process died before publishing them. A write still
  // in progress is listed too; callers judge by age (its modification time keeps advancing).
  arrow::Result<std::vector<ObjectInfo>> ListUnfinishedWrites(const std::string& prefix) override;
  arrow::Status Write(const std::string& path, std::shared_ptr<arrow::Buffer> data) override;
  arrow::Result<std::shared_ptr<arrow::io::OutputStream>> OpenForWrite(
      const std::string& path) override;
  arrow::Result<bool> PutIfAbsent(const std::string& path,
                                  std::shared_ptr<arrow::Buffer> data) override;
  arrow::Status Delete(const std::string& path) override;

  std::shared_ptr<arrow::fs::FileSystem> arrow_filesystem() const override { return filesystem_; }
  std::string arrow_path(const std::string& path) const override;

  // The file name prefix of in-progress writes.
  static constexpr std::string_view kTemporaryPrefix = ".nlk-tmp-";

 private:
  // List's walk; `temporaries` selects the ".nlk-tmp-*" files instead of the objects.
  arrow::Result<std::vector<ObjectInfo>> Walk(const std::string& prefix,
                                              const std::string& start_after, bool temporaries);

  struct TemporaryFile {
    std::string path;
    int descriptor = -1;
  };
  // Creates the parent directories of `path` and an empty temporary file beside it.
  arrow::Result<TemporaryFile> CreateTemporaryFile(const std::string& path);
  // Writes `data` to a new temporary file beside `path`, fsync'ed and closed.
  arrow::Result<std::string> WriteTemporaryFile(const std::string& path, const arrow::Buffer& data);

  std::string root_uri_;
  std::string root_directory_;
  std::shared_ptr<arrow::fs::LocalFileSystem> filesystem_;
  // Makes temporary names unique within this process; the pid separates processes.
  std::atomic<uint64_t> temporary_counter_{0};
};

// Opens a store for a local path or a file:// URI. The directory need not exist yet.
arrow::Result<std::shared_ptr<ObjectStore>> OpenLocalStore(std::string_view uri);

}  // namespace nlk::storage
