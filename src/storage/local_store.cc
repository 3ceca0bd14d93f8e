#include "storage/local_store.h"

#include <arrow/util/io_util.h>
#include <arrow/util/uri.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace nlk::storage {
namespace {

// Longest piece of the target name kept in a temporary name, so it stays under NAME_MAX.
constexpr size_t kMaxNameInTemporary = 100;

arrow::Status ErrnoError(int error, std::string_view operation, const std::string& path) {
  return arrow::Status::IOError("error ", operation, " '", path, "': ", std::strerror(error));
}

std::string ParentDirectory(const std::string& file) {
  const size_t slash = file.rfind('/');
  return slash == 0 ? "/" : file.substr(0, slash);
}

std::string BaseName(const std::string& path) { return path.substr(path.rfind('/') + 1); }

arrow::Status WriteAll(int descriptor, const uint8_t* data, int64_t size, const std::string& path) {
  while (size > 0) {
    const ssize_t written = ::write(descriptor, data, static_cast<size_t>(size));
    if (written < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "writing", path);
    }
    data += written;
    size -= written;
  }
  return arrow::Status::OK();
}

// Makes a rename or link into `directory` durable.
arrow::Status SyncDirectory(const std::string& directory) {
  const int descriptor = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (descriptor < 0) return ErrnoError(errno, "opening directory", directory);
  const int result = ::fsync(descriptor);
  const int error = errno;
  ::close(descriptor);
  if (result != 0 && error != EINVAL) return ErrnoError(error, "syncing directory", directory);
  return arrow::Status::OK();
}

// fsync and close; the descriptor is closed even on failure.
arrow::Status SyncAndClose(int descriptor, const std::string& path) {
  int error = ::fsync(descriptor) == 0 ? 0 : errno;
  if (::close(descriptor) != 0 && error == 0) error = errno;
  if (error != 0) return ErrnoError(error, "syncing", path);
  return arrow::Status::OK();
}

// Writes to a temporary file and renames it over the target on Close(), so the object appears
// whole or not at all. Not thread-safe, like every Arrow stream.
class AtomicFileOutputStream : public arrow::io::OutputStream {
 public:
  AtomicFileOutputStream(int descriptor, std::string temporary_path, std::string target_path)
      : descriptor_(descriptor),
        temporary_path_(std::move(temporary_path)),
        target_path_(std::move(target_path)) {}

  ~AtomicFileOutputStream() override {
    if (!closed_) Discard();
  }

  arrow::Status Write(const void* data, int64_t size) override {
    if (closed_) return arrow::Status::Invalid("writing to closed stream for '", target_path_, "'");
    ARROW_RETURN_NOT_OK(
        WriteAll(descriptor_, static_cast<const uint8_t*>(data), size, temporary_path_));
    position_ += size;
    return arrow::Status::OK();
  }

  arrow::Status Close() override {
    if (closed_) return arrow::Status::OK();
    closed_ = true;
    const int descriptor = descriptor_;
    descriptor_ = -1;
    arrow::Status status = SyncAndClose(descriptor, temporary_path_);
    if (status.ok() && ::rename(temporary_path_.c_str(), target_path_.c_str()) != 0) {
      status = ErrnoError(errno, "renaming a temporary file onto", target_path_);
    }
    if (!status.ok()) {
      ::unlink(temporary_path_.c_str());
      return status;
    }
    return SyncDirectory(ParentDirectory(target_path_));
  }

  arrow::Status Abort() override {
    if (!closed_) Discard();
    return arrow::Status::OK();
  }

  arrow::Result<int64_t> Tell() const override { return position_; }
  bool closed() const override { return closed_; }

 private:
  void Discard() {
    closed_ = true;
    ::close(descriptor_);
    descriptor_ = -1;
    ::unlink(temporary_path_.c_str());
  }

  int descriptor_;
  std::string temporary_path_;
  std::string target_path_;
  int64_t position_ = 0;
  bool closed_ = false;
};

}  // namespace

LocalStore::LocalStore(std::string root_uri, std::string root_directory)
    : root_uri_(std::move(root_uri)),
      root_directory_(std::move(root_directory)),
      filesystem_(std::make_shared<arrow::fs::LocalFileSystem>()) {}

std::string LocalStore::arrow_path(const std::string& path) const {
  if (root_directory_ == "/") return "/" + path;
  return root_directory_ + "/" + path;
}

arrow::Result<LocalStore::TemporaryFile> LocalStore::CreateTemporaryFile(const std::string& path) {
  ARROW_RETURN_NOT_OK(ValidateObjectPath(path));
  const std::string target = arrow_path(path);
  const std::string directory = ParentDirectory(target);
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) {
    return arrow::Status::IOError("error creating directory '", directory, "' for '",
                                  ObjectUri(path), "': ", error.message());
  }
  const std::string name = BaseName(target).substr(0, kMaxNameInTemporary);
  while (true) {
    TemporaryFile file;
    file.path = directory + "/" + std::string(kTemporaryPrefix) + std::to_string(::getpid()) + "-" +
                std::to_string(temporary_counter_.fetch_add(1)) + "-" + name;
    file.descriptor = ::open(file.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (file.descriptor >= 0) return file;
    // A leftover of a crashed process that had the same pid: take the next name.
    if (errno == EEXIST) continue;
    return ErrnoError(errno, "creating a temporary file for", target);
  }
}

arrow::Result<std::string> LocalStore::WriteTemporaryFile(const std::string& path,
                                                          const arrow::Buffer& data) {
  ARROW_ASSIGN_OR_RAISE(TemporaryFile file, CreateTemporaryFile(path));
  arrow::Status status = WriteAll(file.descriptor, data.data(), data.size(), file.path);
  if (!status.ok()) {
    ::close(file.descriptor);
  } else {
    status = SyncAndClose(file.descriptor, file.path);
  }
  if (!status.ok()) {
    ::unlink(file.path.c_str());
    return status;
  }
  return file.path;
}

arrow::Status LocalStore::Write(const std::string& path, std::shared_ptr<arrow::Buffer> data) {
  if (data == nullptr) return arrow::Status::Invalid("null buffer for '", ObjectUri(path), "'");
  ARROW_ASSIGN_OR_RAISE(std::string temporary, WriteTemporaryFile(path, *data));
  const std::string target = arrow_path(path);
  if (::rename(temporary.c_str(), target.c_str()) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    return ErrnoError(error, "writing", target);
  }
  return SyncDirectory(ParentDirectory(target));
}

arrow::Result<std::shared_ptr<arrow::io::OutputStream>> LocalStore::OpenForWrite(
    const std::string& path) {
  ARROW_ASSIGN_OR_RAISE(TemporaryFile file, CreateTemporaryFile(path));
  return std::make_shared<AtomicFileOutputStream>(file.descriptor, file.path, arrow_path(path));
}

arrow::Result<bool> LocalStore::PutIfAbsent(const std::string& path,
                                            std::shared_ptr<arrow::Buffer> data) {
  if (data == nullptr) return arrow::Status::Invalid("null buffer for '", ObjectUri(path), "'");
  ARROW_ASSIGN_OR_RAISE(std::string temporary, WriteTemporaryFile(path, *data));
  const std::string target = arrow_path(path);
  // link(2), unlike rename(2), fails when the target exists: the kernel decides the race.
  const int result = ::link(temporary.c_str(), target.c_str());
  const int error = errno;
  ::unlink(temporary.c_str());
  if (result == 0) {
    ARROW_RETURN_NOT_OK(SyncDirectory(ParentDirectory(target)));
    return true;
  }
  if (error == EEXIST) return false;
  if (error == EPERM || error == EOPNOTSUPP) {
    return arrow::Status::IOError(
        "error creating '", target, "': the filesystem does not support hard links (",
        std::strerror(error),
        "), which atomic put-if-absent needs; put the table on a local POSIX filesystem or S3");
  }
  return ErrnoError(error, "creating", target);
}

arrow::Status LocalStore::Delete(const std::string& path) {
  ARROW_RETURN_NOT_OK(ValidateObjectPath(path));
  const std::string target = arrow_path(path);
  if (::unlink(target.c_str()) == 0) return arrow::Status::OK();
  const int error = errno;
  if (error == ENOENT || error == ENOTDIR) return arrow::Status::OK();
  if (error == EISDIR) {
    return arrow::Status::Invalid("cannot delete '", target, "': it is a directory, not an object");
  }
  return ErrnoError(error, "deleting", target);
}

arrow::Result<std::vector<ObjectInfo>> LocalStore::List(const std::string& prefix,
                                                        const std::string& start_after) {
  return Walk(prefix, start_after, /*temporaries=*/false);
}

arrow::Result<std::vector<ObjectInfo>> LocalStore::ListUnfinishedWrites(const std::string& prefix) {
  return Walk(prefix, "", /*temporaries=*/true);
}

arrow::Result<std::vector<ObjectInfo>> LocalStore::Walk(const std::string& prefix,
                                                        const std::string& start_after,
                                                        bool temporaries) {
  ARROW_RETURN_NOT_OK(ValidateListPrefix(prefix));
  // Walk only the deepest directory the prefix names, e.g. "_delta_log/" for "_delta_log/0000",
  // and stat only the entries that pass the prefix and start_after filters: a Delta log
  // directory holds tens of thousands of files, and an incremental snapshot update needs the
  // few newest.
  const size_t slash = prefix.rfind('/');
  const std::string base_relative = slash == std::string::npos ? "" : prefix.substr(0, slash + 1);
  std::vector<ObjectInfo> objects;
  std::vector<std::string> pending = {base_relative};
  while (!pending.empty()) {
    const std::string directory_relative = std::move(pending.back());
    pending.pop_back();
    const std::string directory =
        directory_relative.empty() ? root_directory_ : arrow_path(directory_relative);
    std::error_code error;
    std::filesystem::directory_iterator entries(directory, error);
    if (error) {
      // Missing, or a prefix through a regular file ("a/b/" where "a" is a file): nothing there.
      if (error == std::errc::no_such_file_or_directory || error == std::errc::not_a_directory) {
        continue;
      }
      return arrow::Status::IOError("error listing '", ObjectUri(prefix), "': ", error.message());
    }
    for (const std::filesystem::directory_entry& entry : entries) {
      std::string relative = directory_relative + entry.path().filename().string();
      // readdir's d_type answers this without a stat on common file systems.
      if (entry.is_directory(error)) {
        std::string as_prefix = relative + "/";
        if (as_prefix.starts_with(prefix) || prefix.starts_with(as_prefix)) {
          pending.push_back(std::move(as_prefix));
        }
        continue;
      }
      if (!relative.starts_with(prefix) || relative <= start_after) continue;
      if (BaseName(relative).starts_with(kTemporaryPrefix) != temporaries) continue;
      struct stat status;
      if (::stat(entry.path().c_str(), &status) != 0 || !S_ISREG(status.st_mode)) continue;
      ObjectInfo object;
      object.path = std::move(relative);
      object.size = status.st_size;
      object.last_modified_ms =
          static_cast<int64_t>(status.st_mtim.tv_sec) * 1000 + status.st_mtim.tv_nsec / 1000000;
      objects.push_back(std::move(object));
    }
  }
  // std::string compares as unsigned bytes, which is the order S3 lists in too.
  std::sort(objects.begin(), objects.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.path < b.path; });
  return objects;
}

arrow::Result<std::shared_ptr<ObjectStore>> OpenLocalStore(std::string_view uri) {
  std::string path;
  if (uri.starts_with("file://")) {
    std::string_view rest = uri.substr(7);
    if (rest.starts_with("localhost/")) rest.remove_prefix(9);
    if (!rest.starts_with("/")) {
      return arrow::Status::Invalid("invalid file URI '", uri,
                                    "': write file:///absolute/path (three slashes)");
    }
    path = arrow::util::UriUnescape(rest);
  } else {
    path = std::string(uri);
  }
  std::error_code error;
  std::filesystem::path absolute = std::filesystem::absolute(path, error);
  if (error) {
    return arrow::Status::IOError("cannot resolve local path '", uri, "': ", error.message());
  }
  std::string directory = absolute.lexically_normal().string();
  while (directory.size() > 1 && directory.back() == '/') directory.pop_back();
  if (std::filesystem::exists(directory, error) &&
      !std::filesystem::is_directory(directory, error)) {
    return arrow::Status::Invalid("storage location '", uri, "' is a file, not a directory");
  }
  return std::make_shared<LocalStore>(std::string(uri), std::move(directory));
}

}  // namespace nlk::storage
