// The local directory store: every ObjectStore method, plus put-if-absent races between threads
// and between processes.
#include <arrow/filesystem/localfs.h>
#include <arrow/io/interfaces.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "storage/local_store.h"
#include "storage/object_store.h"

namespace nlk::storage {
namespace {

std::shared_ptr<arrow::Buffer> Bytes(const std::string& text) {
  return arrow::Buffer::FromString(text);
}

std::string ReadText(ObjectStore& store, const std::string& path) {
  auto data = store.Read(path);
  EXPECT_TRUE(data.ok()) << data.status().ToString();
  return data.ok() ? (*data)->ToString() : std::string();
}

std::vector<std::string> Paths(const arrow::Result<std::vector<ObjectInfo>>& listing) {
  EXPECT_TRUE(listing.ok()) << listing.status().ToString();
  std::vector<std::string> paths;
  if (listing.ok()) {
    for (const ObjectInfo& object : *listing) paths.push_back(object.path);
  }
  return paths;
}

// Every file under `directory`, relative, including hidden temporary files.
std::vector<std::string> FilesOnDisk(const std::filesystem::path& directory) {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(directory)) {
    if (entry.is_regular_file()) {
      files.push_back(std::filesystem::relative(entry.path(), directory).string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

class LocalStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "nlk-local-store-XXXXXX");
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    auto store = OpenObjectStore(root_.string());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = *store;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  void Put(const std::string& path, const std::string& text) {
    ASSERT_TRUE(store_->Write(path, Bytes(text)).ok());
  }

  std::filesystem::path root_;
  std::shared_ptr<ObjectStore> store_;
};

TEST_F(LocalStoreTest, WriteThenReadCreatesParentDirectories) {
  ASSERT_TRUE(store_->Write("a/b/c/object.bin", Bytes("hello")).ok());
  EXPECT_EQ(ReadText(*store_, "a/b/c/object.bin"), "hello");
  EXPECT_TRUE(std::filesystem::is_regular_file(root_ / "a/b/c/object.bin"));
}

TEST_F(LocalStoreTest, WriteReplacesAndLeavesNoTemporaryFiles) {
  Put("x.json", "first");
  Put("x.json", "second, longer");
  EXPECT_EQ(ReadText(*store_, "x.json"), "second, longer");
  EXPECT_EQ(FilesOnDisk(root_), std::vector<std::string>{"x.json"});
}

TEST_F(LocalStoreTest, EmptyObject) {
  Put("empty", "");
  EXPECT_EQ(ReadText(*store_, "empty"), "");
  auto head = store_->Head("empty");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->size, 0);
}

TEST_F(LocalStoreTest, ReadMissingObjectIsNotFoundAndNamesIt) {
  auto data = store_->Read("_delta_log/00000000000000000007.json");
  ASSERT_FALSE(data.ok());
  EXPECT_TRUE(data.status().IsIOError());
  EXPECT_TRUE(IsNotFound(data.status()));
  EXPECT_NE(data.status().message().find(root_.string() + "/_delta_log/00000000000000000007.json"),
            std::string::npos)
      << data.status().ToString();
  EXPECT_TRUE(IsNotFound(store_->Head("missing").status()));
  EXPECT_TRUE(IsNotFound(store_->OpenForRead("missing").status()));
  EXPECT_TRUE(IsNotFound(store_->ReadRange("missing", 0, 1).status()));
}

TEST_F(LocalStoreTest, DirectoryIsNotAnObject) {
  Put("dir/inner", "x");
  EXPECT_TRUE(IsNotFound(store_->Read("dir").status()));
  EXPECT_TRUE(IsNotFound(store_->Head("dir").status()));
}

TEST_F(LocalStoreTest, ReadRange) {
  Put("r", "0123456789");
  auto middle = store_->ReadRange("r", 2, 3);
  ASSERT_TRUE(middle.ok());
  EXPECT_EQ((*middle)->ToString(), "234");
  auto tail = store_->ReadRange("r", 8, 100);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ((*tail)->ToString(), "89");
  auto at_end = store_->ReadRange("r", 10, 5);
  ASSERT_TRUE(at_end.ok());
  EXPECT_EQ((*at_end)->size(), 0);
  EXPECT_TRUE(store_->ReadRange("r", 11, 1).status().IsInvalid());
  EXPECT_TRUE(store_->ReadRange("r", -1, 1).status().IsInvalid());
  EXPECT_TRUE(store_->ReadRange("r", 0, -1).status().IsInvalid());
}

TEST_F(LocalStoreTest, OpenForReadGivesRandomAccess) {
  Put("f", "abcdefgh");
  auto file = store_->OpenForRead("f");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ((*file)->GetSize().ValueOrDie(), 8);
  EXPECT_EQ((*file)->ReadAt(5, 3).ValueOrDie()->ToString(), "fgh");
  EXPECT_EQ((*file)->ReadAt(0, 2).ValueOrDie()->ToString(), "ab");
}

TEST_F(LocalStoreTest, HeadReportsSizeAndModificationTime) {
  const auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  Put("h/obj", "12345");
  auto head = store_->Head("h/obj");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->path, "h/obj");
  EXPECT_EQ(head->size, 5);
  // Filesystem timestamps may be coarser than the clock; allow a little slack.
  EXPECT_GE(head->last_modified_ms, before - 2000);
  EXPECT_LE(head->last_modified_ms, before + 60000);
}

TEST_F(LocalStoreTest, ListIsRecursiveSortedAndRelative) {
  for (const char* path : {"b/2", "a/1", "a/nested/deep/3", "c", "B", "a/0"}) Put(path, path);
  EXPECT_EQ(Paths(store_->List("")),
            (std::vector<std::string>{"B", "a/0", "a/1", "a/nested/deep/3", "b/2", "c"}));
  EXPECT_EQ(Paths(store_->List("a/")), (std::vector<std::string>{"a/0", "a/1", "a/nested/deep/3"}));
  EXPECT_EQ(Paths(store_->List("a/nested")), (std::vector<std::string>{"a/nested/deep/3"}));
  auto listing = store_->List("a/");
  ASSERT_TRUE(listing.ok());
  EXPECT_EQ((*listing)[0].size, 3);
}

TEST_F(LocalStoreTest, ListPrefixMatchesPartOfAName) {
  Put("_delta_log/00000000000000000009.json", "{}");
  Put("_delta_log/00000000000000000010.json", "{}");
  Put("_delta_log/00000000000000000010.checkpoint.parquet", "p");
  Put("_delta_log/_last_checkpoint", "{}");
  EXPECT_EQ(Paths(store_->List("_delta_log/0000000000000000001")),
            (std::vector<std::string>{"_delta_log/00000000000000000010.checkpoint.parquet",
                                      "_delta_log/00000000000000000010.json"}));
  // "_d" names no directory and must still find files inside "_delta_log/".
  EXPECT_EQ(Paths(store_->List("_d")).size(), 4u);
}

TEST_F(LocalStoreTest, ListStartAfterIsExclusiveAndNeedNotExist) {
  for (const char* path : {"log/001", "log/002", "log/003", "log/010"}) Put(path, "x");
  EXPECT_EQ(Paths(store_->List("log/", "log/002")),
            (std::vector<std::string>{"log/003", "log/010"}));
  EXPECT_EQ(Paths(store_->List("log/", "log/0025")),
            (std::vector<std::string>{"log/003", "log/010"}));
  EXPECT_EQ(Paths(store_->List("log/", "log/")).size(), 4u);
  EXPECT_TRUE(Paths(store_->List("log/", "log/010")).empty());
  EXPECT_TRUE(Paths(store_->List("log/", "zzz")).empty());
}

TEST_F(LocalStoreTest, ListOrdersByUnsignedBytes) {
  // 'é' is 0xC3 0xA9 in UTF-8, above every ASCII byte; a signed-char sort would put it first.
  for (const char* path : {"k/\xC3\xA9", "k/Z", "k/a", "k/~"}) Put(path, "x");
  EXPECT_EQ(Paths(store_->List("k/")),
            (std::vector<std::string>{"k/Z", "k/a", "k/~", "k/\xC3\xA9"}));
}

TEST_F(LocalStoreTest, ListOfMissingPrefixIsEmpty) {
  EXPECT_TRUE(Paths(store_->List("nothing/here/")).empty());
  Put("file", "x");
  EXPECT_TRUE(Paths(store_->List("file/below")).empty());
}

TEST_F(LocalStoreTest, ListHidesInProgressWrites) {
  auto stream = store_->OpenForWrite("t/obj");
  ASSERT_TRUE(stream.ok());
  ASSERT_TRUE((*stream)->Write("partial", 7).ok());
  EXPECT_TRUE(Paths(store_->List("")).empty());
  EXPECT_TRUE(IsNotFound(store_->Read("t/obj").status()));
  ASSERT_TRUE((*stream)->Close().ok());
  EXPECT_EQ(Paths(store_->List("")), std::vector<std::string>{"t/obj"});
  EXPECT_EQ(ReadText(*store_, "t/obj"), "partial");
}

TEST_F(LocalStoreTest, OpenForWriteWithoutCloseOrWithAbortPublishesNothing) {
  {
    auto stream = store_->OpenForWrite("dropped");
    ASSERT_TRUE(stream.ok());
    ASSERT_TRUE((*stream)->Write("abc", 3).ok());
  }
  auto aborted = store_->OpenForWrite("aborted");
  ASSERT_TRUE(aborted.ok());
  ASSERT_TRUE((*aborted)->Write("abc", 3).ok());
  ASSERT_TRUE((*aborted)->Abort().ok());
  EXPECT_TRUE(FilesOnDisk(root_).empty());
}

TEST_F(LocalStoreTest, OpenForWriteStreamsAndReportsPosition) {
  auto stream = store_->OpenForWrite("s/big.bin");
  ASSERT_TRUE(stream.ok());
  std::string expected;
  for (int i = 0; i < 1000; ++i) {
    const std::string chunk = "chunk-" + std::to_string(i) + ";";
    ASSERT_TRUE((*stream)->Write(chunk.data(), static_cast<int64_t>(chunk.size())).ok());
    expected += chunk;
  }
  EXPECT_EQ((*stream)->Tell().ValueOrDie(), static_cast<int64_t>(expected.size()));
  ASSERT_TRUE((*stream)->Close().ok());
  EXPECT_TRUE((*stream)->closed());
  EXPECT_EQ(ReadText(*store_, "s/big.bin"), expected);
}

TEST_F(LocalStoreTest, PutIfAbsentCreatesOnceAndNeverOverwrites) {
  auto first = store_->PutIfAbsent("_delta_log/00000000000000000000.json", Bytes("winner"));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(*first);
  auto second = store_->PutIfAbsent("_delta_log/00000000000000000000.json", Bytes("loser"));
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(*second);
  EXPECT_EQ(ReadText(*store_, "_delta_log/00000000000000000000.json"), "winner");
  EXPECT_EQ(FilesOnDisk(root_), std::vector<std::string>{"_delta_log/00000000000000000000.json"});
}

TEST_F(LocalStoreTest, PutIfAbsentLosesToAnExistingWrite) {
  Put("v", "existing");
  auto created = store_->PutIfAbsent("v", Bytes("new"));
  ASSERT_TRUE(created.ok());
  EXPECT_FALSE(*created);
  EXPECT_EQ(ReadText(*store_, "v"), "existing");
}

TEST_F(LocalStoreTest, PutIfAbsentRaceBetweenThreadsHasExactlyOneWinner) {
  constexpr int kThreads = 8;
  constexpr int kVersions = 25;
  for (int version = 0; version < kVersions; ++version) {
    const std::string path = "_delta_log/" + std::to_string(version) + ".json";
    std::atomic<int> winners{0};
    std::atomic<int> winner_id{-1};
    std::atomic<int> errors{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int id = 0; id < kThreads; ++id) {
      threads.emplace_back([&, id] {
        // Start together so the calls overlap instead of running one after another.
        while (!go.load()) std::this_thread::yield();
        auto created = store_->PutIfAbsent(path, Bytes("writer " + std::to_string(id)));
        if (!created.ok()) {
          ++errors;
        } else if (*created) {
          ++winners;
          winner_id = id;
        }
      });
    }
    go = true;
    for (auto& thread : threads) thread.join();
    ASSERT_EQ(errors.load(), 0);
    ASSERT_EQ(winners.load(), 1) << "version " << version;
    EXPECT_EQ(ReadText(*store_, path), "writer " + std::to_string(winner_id.load()));
  }
  EXPECT_EQ(FilesOnDisk(root_).size(), static_cast<size_t>(kVersions));
}

TEST_F(LocalStoreTest, PutIfAbsentRaceBetweenProcessesHasExactlyOneWinner) {
  constexpr int kProcesses = 6;
  constexpr int kVersions = 10;
  constexpr int kWon = 10, kLost = 11, kFailed = 12;
  for (int version = 0; version < kVersions; ++version) {
    const std::string path = "_delta_log/" + std::to_string(version) + ".json";
    // Children block on this pipe until all exist, then race; closing it is the start signal.
    int start_pipe[2];
    ASSERT_EQ(::pipe(start_pipe), 0);
    std::vector<pid_t> children;
    for (int id = 0; id < kProcesses; ++id) {
      const pid_t pid = ::fork();
      ASSERT_GE(pid, 0);
      if (pid == 0) {
        ::close(start_pipe[1]);
        char byte;
        if (::read(start_pipe[0], &byte, 1) != 0) ::_exit(kFailed);
        // Each child opens its own store, as a separate writer process would.
        auto store = OpenObjectStore(root_.string());
        if (!store.ok()) ::_exit(kFailed);
        auto created = (*store)->PutIfAbsent(path, Bytes("process " + std::to_string(id)));
        ::_exit(!created.ok() ? kFailed : (*created ? kWon : kLost));
      }
      children.push_back(pid);
    }
    ::close(start_pipe[0]);
    ::close(start_pipe[1]);
    int winners = 0;
    int winner_id = -1;
    for (int id = 0; id < kProcesses; ++id) {
      int status = 0;
      ASSERT_EQ(::waitpid(children[id], &status, 0), children[id]);
      ASSERT_TRUE(WIFEXITED(status));
      ASSERT_NE(WEXITSTATUS(status), kFailed) << "child " << id << " failed";
      if (WEXITSTATUS(status) == kWon) {
        ++winners;
        winner_id = id;
      } else {
        ASSERT_EQ(WEXITSTATUS(status), kLost);
      }
    }
    ASSERT_EQ(winners, 1) << "version " << version;
    EXPECT_EQ(ReadText(*store_, path), "process " + std::to_string(winner_id));
  }
  EXPECT_EQ(FilesOnDisk(root_).size(), static_cast<size_t>(kVersions));
}

TEST_F(LocalStoreTest, DeleteRemovesAndToleratesAbsence) {
  Put("d/obj", "x");
  ASSERT_TRUE(store_->Delete("d/obj").ok());
  EXPECT_TRUE(IsNotFound(store_->Read("d/obj").status()));
  EXPECT_TRUE(store_->Delete("d/obj").ok());
  EXPECT_TRUE(store_->Delete("never/existed").ok());
  Put("dir/inner", "x");
  EXPECT_TRUE(store_->Delete("dir").IsInvalid());
  EXPECT_EQ(ReadText(*store_, "dir/inner"), "x");
}

TEST_F(LocalStoreTest, InvalidPathsAreRejectedEverywhere) {
  for (const std::string& path : std::vector<std::string>{
           "", "/etc/passwd", "../outside", "a/../../b", "a//b", "./a", "a/", "a/."}) {
    SCOPED_TRACE(path);
    EXPECT_TRUE(store_->Read(path).status().IsInvalid());
    EXPECT_TRUE(store_->ReadRange(path, 0, 1).status().IsInvalid());
    EXPECT_TRUE(store_->OpenForRead(path).status().IsInvalid());
    EXPECT_TRUE(store_->Head(path).status().IsInvalid());
    EXPECT_TRUE(store_->Write(path, Bytes("x")).IsInvalid());
    EXPECT_TRUE(store_->OpenForWrite(path).status().IsInvalid());
    EXPECT_TRUE(store_->PutIfAbsent(path, Bytes("x")).status().IsInvalid());
    EXPECT_TRUE(store_->Delete(path).IsInvalid());
  }
  EXPECT_TRUE(store_->List("../").status().IsInvalid());
  EXPECT_TRUE(store_->List("/abs").status().IsInvalid());
  EXPECT_TRUE(FilesOnDisk(root_).empty());
}

TEST_F(LocalStoreTest, ArrowFilesystemSeesTheSameObjects) {
  Put("p/data.bin", "arrow");
  auto file = store_->arrow_filesystem()->OpenInputFile(store_->arrow_path("p/data.bin"));
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ((*file)->ReadAt(0, 5).ValueOrDie()->ToString(), "arrow");
  EXPECT_EQ(store_->arrow_path("p/data.bin"), (root_ / "p/data.bin").string());
}

TEST_F(LocalStoreTest, FileUrisOpenTheSameDirectory) {
  Put("u/obj", "via path");
  for (const std::string& uri :
       std::vector<std::string>{"file://" + root_.string(), "file://localhost" + root_.string(),
                                "file://" + root_.string() + "/"}) {
    SCOPED_TRACE(uri);
    auto store = OpenObjectStore(uri);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    EXPECT_EQ((*store)->root_uri(), uri);
    EXPECT_EQ(ReadText(**store, "u/obj"), "via path");
  }
}

TEST_F(LocalStoreTest, FileUriIsPercentDecoded) {
  std::filesystem::create_directories(root_ / "with space");
  auto store = OpenObjectStore("file://" + root_.string() + "/with%20space");
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->Write("o", Bytes("x")).ok());
  EXPECT_TRUE(std::filesystem::exists(root_ / "with space" / "o"));
}

TEST_F(LocalStoreTest, RelativePathsResolveAgainstTheWorkingDirectory) {
  const auto previous = std::filesystem::current_path();
  std::filesystem::current_path(root_);
  auto store = OpenObjectStore("relative/table");
  std::filesystem::current_path(previous);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->Write("o", Bytes("x")).ok());
  EXPECT_TRUE(std::filesystem::exists(root_ / "relative/table/o"));
}

TEST(OpenObjectStoreTest, RejectsBadLocations) {
  EXPECT_TRUE(OpenObjectStore("").status().IsInvalid());
  EXPECT_TRUE(OpenObjectStore("ftp://host/x").status().IsInvalid());
  EXPECT_TRUE(OpenObjectStore("s3a://bucket/x").status().IsInvalid());
  EXPECT_TRUE(OpenObjectStore("file://relative/path").status().IsInvalid());
  EXPECT_TRUE(OpenObjectStore("/etc/hostname").status().IsInvalid());
}

TEST(NotFoundTest, HelpersAgree) {
  const arrow::Status missing = NotFound("object 'x'");
  EXPECT_TRUE(missing.IsIOError());
  EXPECT_TRUE(IsNotFound(missing));
  EXPECT_EQ(missing.message(), "object 'x' does not exist");
  EXPECT_FALSE(IsNotFound(arrow::Status::IOError("disk on fire")));
  EXPECT_FALSE(IsNotFound(arrow::Status::OK()));
  // Arrow's own filesystem errors for a missing file count too.
  arrow::fs::LocalFileSystem filesystem;
  auto file = filesystem.OpenInputFile("/nonexistent/nlk/file");
  EXPECT_TRUE(IsNotFound(file.status())) << file.status().ToString();
}

}  // namespace
}  // namespace nlk::storage
