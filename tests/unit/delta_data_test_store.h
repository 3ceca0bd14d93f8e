// A local-directory ObjectStore for delta/data unit tests, on Arrow's LocalFileSystem. The real
// stores live in src/storage; this double only has to be faithful enough for data files.
#pragma once

#include <arrow/filesystem/localfs.h>
#include <arrow/io/memory.h>
#include <arrow/util/io_util.h>

#include <filesystem>
#include <memory>
#include <string>

#include "storage/object_store.h"

namespace nlk::delta::data::testing {

class LocalTestStore : public storage::ObjectStore {
 public:
  explicit LocalTestStore(std::string root)
      : root_(std::move(root)), filesystem_(std::make_shared<arrow::fs::LocalFileSystem>()) {}

  const std::string& root_uri() const override { return root_; }

  arrow::Result<std::shared_ptr<arrow::Buffer>> Read(const std::string& path) override {
    ARROW_ASSIGN_OR_RAISE(auto file, OpenForRead(path));
    ARROW_ASSIGN_OR_RAISE(int64_t size, file->GetSize());
    return file->Read(size);
  }
  arrow::Result<std::shared_ptr<arrow::Buffer>> ReadRange(const std::string& path, int64_t offset,
                                                          int64_t length) override {
    ARROW_ASSIGN_OR_RAISE(auto file, OpenForRead(path));
    return file->ReadAt(offset, length);
  }
  arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenForRead(
      const std::string& path) override {
    return filesystem_->OpenInputFile(arrow_path(path));
  }
  arrow::Result<storage::ObjectInfo> Head(const std::string& path) override {
    ARROW_ASSIGN_OR_RAISE(auto info, filesystem_->GetFileInfo(arrow_path(path)));
    if (info.type() != arrow::fs::FileType::File) return arrow::Status::IOError("no ", path);
    storage::ObjectInfo object;
    object.path = path;
    object.size = info.size();
    object.last_modified_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(info.mtime().time_since_epoch())
            .count();
    return object;
  }
  arrow::Result<std::vector<storage::ObjectInfo>> List(const std::string&,
                                                       const std::string&) override {
    return arrow::Status::NotImplemented("List");
  }
  arrow::Status Write(const std::string& path, std::shared_ptr<arrow::Buffer> data) override {
    ARROW_ASSIGN_OR_RAISE(auto stream, OpenForWrite(path));
    ARROW_RETURN_NOT_OK(stream->Write(data));
    return stream->Close();
  }
  arrow::Result<std::shared_ptr<arrow::io::OutputStream>> OpenForWrite(
      const std::string& path) override {
    std::string full = arrow_path(path);
    ARROW_RETURN_NOT_OK(filesystem_->CreateDir(std::filesystem::path(full).parent_path().string()));
    return filesystem_->OpenOutputStream(full);
  }
  arrow::Result<bool> PutIfAbsent(const std::string&, std::shared_ptr<arrow::Buffer>) override {
    return arrow::Status::NotImplemented("PutIfAbsent");
  }
  arrow::Status Delete(const std::string& path) override {
    return filesystem_->DeleteFile(arrow_path(path));
  }
  std::shared_ptr<arrow::fs::FileSystem> arrow_filesystem() const override { return filesystem_; }
  std::string arrow_path(const std::string& path) const override { return root_ + "/" + path; }

 private:
  std::string root_;
  std::shared_ptr<arrow::fs::LocalFileSystem> filesystem_;
};

// A fresh temporary directory, removed when the object goes away.
class TempDirectory {
 public:
  TempDirectory() {
    auto created = arrow::internal::TemporaryDir::Make("nlk-delta-data-");
    directory_ = std::move(*created);
  }
  std::string path() const {
    std::string text = directory_->path().ToString();
    while (text.size() > 1 && text.back() == '/') text.pop_back();
    return text;
  }

 private:
  std::unique_ptr<arrow::internal::TemporaryDir> directory_;
};

}  // namespace nlk::delta::data::testing
