// An in-memory ObjectStore for unit tests of the Delta log logic: counts calls so tests can
// assert how much I/O an operation does, and stamps objects with a controllable clock.
// Thread-safe.
#pragma once

#include <arrow/buffer.h>
#include <arrow/io/memory.h>

#include <atomic>
#include <map>
#include <mutex>

#include "storage/object_store.h"

namespace nlk::delta::testing {

class MemoryStore : public storage::ObjectStore {
 public:
  explicit MemoryStore(std::string root = "memory://table") : root_(std::move(root)) {}

  const std::string& root_uri() const override { return root_; }

  arrow::Result<std::shared_ptr<arrow::Buffer>> Read(const std::string& path) override {
    ++reads;
    std::lock_guard lock(mutex_);
    auto it = objects_.find(path);
    if (it == objects_.end()) return storage::NotFound(path);
    return it->second.data;
  }
  arrow::Result<std::shared_ptr<arrow::Buffer>> ReadRange(const std::string& path, int64_t offset,
                                                          int64_t length) override {
    ARROW_ASSIGN_OR_RAISE(auto buffer, Read(path));
    return arrow::SliceBuffer(buffer, offset, std::min(length, buffer->size() - offset));
  }
  arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenForRead(
      const std::string& path) override {
    ARROW_ASSIGN_OR_RAISE(auto buffer, Read(path));
    return std::make_shared<arrow::io::BufferReader>(buffer);
  }
  arrow::Result<storage::ObjectInfo> Head(const std::string& path) override {
    std::lock_guard lock(mutex_);
    auto it = objects_.find(path);
    if (it == objects_.end()) return storage::NotFound(path);
    return storage::ObjectInfo{path, it->second.data->size(), it->second.modified_ms};
  }
  arrow::Result<std::vector<storage::ObjectInfo>> List(const std::string& prefix,
                                                       const std::string& start_after) override {
    ++lists;
    std::lock_guard lock(mutex_);
    std::vector<storage::ObjectInfo> listed;
    for (auto it = objects_.lower_bound(prefix); it != objects_.end(); ++it) {
      if (it->first.compare(0, prefix.size(), prefix) != 0) break;
      if (!start_after.empty() && it->first <= start_after) continue;
      listed.push_back({it->first, it->second.data->size(), it->second.modified_ms});
    }
    return listed;
  }
  arrow::Status Write(const std::string& path, std::shared_ptr<arrow::Buffer> data) override {
    ++writes;
    std::lock_guard lock(mutex_);
    objects_[path] = Object{std::move(data), NextTimestamp()};
    return arrow::Status::OK();
  }
  arrow::Result<std::shared_ptr<arrow::io::OutputStream>> OpenForWrite(
      const std::string&) override {
    return arrow::Status::NotImplemented("MemoryStore::OpenForWrite");
  }
  arrow::Result<bool> PutIfAbsent(const std::string& path,
                                  std::shared_ptr<arrow::Buffer> data) override {
    ++writes;
    std::lock_guard lock(mutex_);
    if (objects_.count(path) > 0) return false;
    objects_[path] = Object{std::move(data), NextTimestamp()};
    return true;
  }
  arrow::Status Delete(const std::string& path) override {
    std::lock_guard lock(mutex_);
    objects_.erase(path);
    return arrow::Status::OK();
  }
  std::shared_ptr<arrow::fs::FileSystem> arrow_filesystem() const override { return nullptr; }
  std::string arrow_path(const std::string& path) const override { return path; }

  // Test helpers.
  void Put(const std::string& path, const std::string& contents) {
    (void)Write(path, arrow::Buffer::FromString(contents));
  }
  bool Exists(const std::string& path) {
    std::lock_guard lock(mutex_);
    return objects_.count(path) > 0;
  }
  void SetModified(const std::string& path, int64_t modified_ms) {
    std::lock_guard lock(mutex_);
    objects_.at(path).modified_ms = modified_ms;
  }
  std::vector<std::string> Paths() {
    std::lock_guard lock(mutex_);
    std::vector<std::string> paths;
    for (const auto& [path, object] : objects_) paths.push_back(path);
    return paths;
  }
  // Objects written from now on get this modification time, then +1000 ms per write.
  void SetClock(int64_t now_ms) {
    std::lock_guard lock(mutex_);
    clock_ms_ = now_ms;
  }
  void ResetCounters() {
    reads = 0;
    lists = 0;
    writes = 0;
  }

  std::atomic<int> reads{0};
  std::atomic<int> lists{0};
  std::atomic<int> writes{0};

 private:
  struct Object {
    std::shared_ptr<arrow::Buffer> data;
    int64_t modified_ms = 0;
  };
  int64_t NextTimestamp() {
    const int64_t now = clock_ms_;
    clock_ms_ += 1000;
    return now;
  }

  std::string root_;
  std::mutex mutex_;
  std::map<std::string, Object> objects_;
  int64_t clock_ms_ = 1'700'000'000'000;
};

}  // namespace nlk::delta::testing
