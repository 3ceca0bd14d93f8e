// The S3 store against a real S3 API (MinIO). Needs a running server:
//   scripts/minio.sh start && eval "$(scripts/minio.sh env)"
// or NLK_TEST_S3_ENDPOINT=http://127.0.0.1:9000 (credentials then default to MinIO's
// minioadmin/minioadmin). NLK_TEST_S3_BUCKET picks the bucket (default "neuralake").
// Without an endpoint the server tests skip; the configuration tests always run. The encryption
// tests need a server with a KMS key (scripts/minio.sh with NLK_MINIO_KMS=1) named by
// NLK_TEST_S3_KMS_KEY, and skip without one.
#include <arrow/filesystem/s3fs.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <thread>

#include "storage/object_store.h"
#include "storage/s3_store.h"
#include "storage/s3_upload_stream.h"

namespace nlk::storage {
namespace {

std::shared_ptr<arrow::Buffer> Bytes(const std::string& text) {
  return arrow::Buffer::FromString(text);
}

std::string Environment(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

// Sets environment variables for one scope and restores them after.
class ScopedEnvironment {
 public:
  ScopedEnvironment(
      std::initializer_list<std::pair<const char*, std::optional<std::string>>> settings) {
    for (const auto& [name, value] : settings) {
      const char* old = std::getenv(name);
      saved_[name] = old == nullptr ? std::nullopt : std::optional<std::string>(old);
      if (value) {
        ::setenv(name, value->c_str(), 1);
      } else {
        ::unsetenv(name);
      }
    }
  }
  ~ScopedEnvironment() {
    for (const auto& [name, value] : saved_) {
      if (value) {
        ::setenv(name.c_str(), value->c_str(), 1);
      } else {
        ::unsetenv(name.c_str());
      }
    }
  }

 private:
  std::map<std::string, std::optional<std::string>> saved_;
};

std::vector<std::string> Paths(const arrow::Result<std::vector<ObjectInfo>>& listing) {
  EXPECT_TRUE(listing.ok()) << listing.status().ToString();
  std::vector<std::string> paths;
  if (listing.ok()) {
    for (const ObjectInfo& object : *listing) paths.push_back(object.path);
  }
  return paths;
}

class S3StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string endpoint = Environment("NLK_TEST_S3_ENDPOINT");
    if (!endpoint.empty()) {
      ::setenv("AWS_ENDPOINT_URL", endpoint.c_str(), 1);
      ::setenv("AWS_ALLOW_HTTP", "true", 0);
      ::setenv("AWS_ACCESS_KEY_ID", "minioadmin", 0);
      ::setenv("AWS_SECRET_ACCESS_KEY", "minioadmin", 0);
      ::setenv("AWS_REGION", "us-east-1", 0);
    } else {
      endpoint = Environment("AWS_ENDPOINT_URL");
    }
    if (endpoint.empty()) {
      GTEST_SKIP() << "no S3 endpoint: run `scripts/minio.sh start && eval \"$(scripts/minio.sh "
                      "env)\"` or set NLK_TEST_S3_ENDPOINT to test against MinIO";
    }
    bucket_ = Environment("NLK_TEST_S3_BUCKET");
    if (bucket_.empty()) bucket_ = "neuralake";
    const auto now = std::chrono::system_clock::now().time_since_epoch().count();
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    root_ = "s3://" + bucket_ + "/nlk-tests/" + test->name() + "-" + std::to_string(::getpid()) +
            "-" + std::to_string(now);
    store_ = Open(root_);
  }

  void TearDown() override {
    if (store_ == nullptr) return;
    auto listing = store_->List("");
    if (!listing.ok()) return;
    for (const ObjectInfo& object : *listing) {
      EXPECT_TRUE(store_->Delete(object.path).ok());
    }
  }

  std::shared_ptr<ObjectStore> Open(const std::string& uri, S3StoreOptions options = {}) {
    auto store = OpenS3Store(uri, options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? *store : nullptr;
  }

  std::string ReadText(const std::string& path) {
    auto data = store_->Read(path);
    EXPECT_TRUE(data.ok()) << data.status().ToString();
    return data.ok() ? (*data)->ToString() : std::string();
  }

  std::string bucket_;
  std::string root_;
  std::shared_ptr<ObjectStore> store_;
};

TEST_F(S3StoreTest, WriteReadRangeAndHead) {
  ASSERT_TRUE(store_->Write("a/b/object.bin", Bytes("0123456789")).ok());
  EXPECT_EQ(ReadText("a/b/object.bin"), "0123456789");
  auto range = store_->ReadRange("a/b/object.bin", 3, 4);
  ASSERT_TRUE(range.ok()) << range.status().ToString();
  EXPECT_EQ((*range)->ToString(), "3456");
  auto tail = store_->ReadRange("a/b/object.bin", 8, 100);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ((*tail)->ToString(), "89");
  EXPECT_TRUE(store_->ReadRange("a/b/object.bin", 11, 1).status().IsInvalid());

  auto head = store_->Head("a/b/object.bin");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->size, 10);
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  EXPECT_NEAR(static_cast<double>(head->last_modified_ms), static_cast<double>(now_ms), 120000);

  auto file = store_->OpenForRead("a/b/object.bin");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ((*file)->ReadAt(5, 2).ValueOrDie()->ToString(), "56");

  ASSERT_TRUE(store_->Write("a/b/object.bin", Bytes("replaced")).ok());
  EXPECT_EQ(ReadText("a/b/object.bin"), "replaced");
  ASSERT_TRUE(store_->Write("empty", Bytes("")).ok());
  EXPECT_EQ(ReadText("empty"), "");
}

TEST_F(S3StoreTest, MissingObjectIsNotFoundAndNamesTheUri) {
  auto data = store_->Read("_delta_log/00000000000000000042.json");
  ASSERT_FALSE(data.ok());
  EXPECT_TRUE(IsNotFound(data.status())) << data.status().ToString();
  EXPECT_NE(data.status().message().find(root_ + "/_delta_log/00000000000000000042.json"),
            std::string::npos)
      << data.status().ToString();
  EXPECT_TRUE(IsNotFound(store_->Head("missing").status()));
  EXPECT_TRUE(IsNotFound(store_->OpenForRead("missing").status()));
}

TEST_F(S3StoreTest, OpenForWriteStreams) {
  auto stream = store_->OpenForWrite("stream/data.bin");
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  std::string expected;
  for (int i = 0; i < 200; ++i) {
    const std::string chunk = "piece " + std::to_string(i) + "\n";
    ASSERT_TRUE((*stream)->Write(chunk.data(), static_cast<int64_t>(chunk.size())).ok());
    expected += chunk;
  }
  ASSERT_TRUE((*stream)->Close().ok());
  EXPECT_EQ(ReadText("stream/data.bin"), expected);
}

TEST_F(S3StoreTest, ListPagesWithContinuationTokensAndStartAfter) {
  // A page size of 2 forces several ListObjectsV2 round trips with continuation tokens.
  auto store = Open(root_, S3StoreOptions{2});
  ASSERT_NE(store, nullptr);
  const std::vector<std::string> paths = {"_delta_log/00000000000000000000.json",
                                          "_delta_log/00000000000000000001.json",
                                          "_delta_log/00000000000000000002.json",
                                          "_delta_log/00000000000000000010.checkpoint.parquet",
                                          "_delta_log/00000000000000000010.json",
                                          "_delta_log/_last_checkpoint",
                                          "part-0.parquet",
                                          "x/y/z/deep.parquet"};
  for (const auto& path : paths) ASSERT_TRUE(store->Write(path, Bytes(path)).ok());

  EXPECT_EQ(Paths(store->List("")), paths);
  EXPECT_EQ(Paths(store->List("_delta_log/")),
            std::vector<std::string>(paths.begin(), paths.begin() + 6));
  EXPECT_EQ(Paths(store->List("_delta_log/0000000000000000001")),
            (std::vector<std::string>{paths[3], paths[4]}));
  EXPECT_EQ(Paths(store->List("_delta_log/", "_delta_log/00000000000000000001.json")),
            std::vector<std::string>(paths.begin() + 2, paths.begin() + 6));
  // start_after need not exist and is exclusive.
  EXPECT_EQ(Paths(store->List("_delta_log/", "_delta_log/00000000000000000005")),
            (std::vector<std::string>{paths[3], paths[4], paths[5]}));
  EXPECT_TRUE(Paths(store->List("_delta_log/", "_delta_log/_last_checkpoint")).empty());
  EXPECT_EQ(Paths(store->List("x/")), std::vector<std::string>{"x/y/z/deep.parquet"});
  EXPECT_TRUE(Paths(store->List("nothing/")).empty());

  auto listing = store->List("part-");
  ASSERT_TRUE(listing.ok());
  ASSERT_EQ(listing->size(), 1u);
  EXPECT_EQ((*listing)[0].size, static_cast<int64_t>(std::string("part-0.parquet").size()));
  EXPECT_GT((*listing)[0].last_modified_ms, 0);
}

TEST_F(S3StoreTest, KeysWithCharactersThatNeedEscaping) {
  // Exercises SigV4 path/query encoding and XML unescaping of listed keys.
  const std::vector<std::string> paths = {"date=2026-01-01/a b+c.parquet", "q/&<>\"'.txt", "q/100%",
                                          "q/\xC3\xA9t\xC3\xA9", "q/~tilde"};
  for (const auto& path : paths) {
    ASSERT_TRUE(store_->Write(path, Bytes(path)).ok()) << path;
    EXPECT_EQ(ReadText(path), path);
    auto created = store_->PutIfAbsent(path, Bytes("again"));
    ASSERT_TRUE(created.ok()) << path << ": " << created.status().ToString();
    EXPECT_FALSE(*created);
  }
  std::vector<std::string> sorted = paths;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(Paths(store_->List("")), sorted);
  EXPECT_EQ(Paths(store_->List("q/", "q/&<>\"'.txt")),
            (std::vector<std::string>{"q/100%", "q/~tilde", "q/\xC3\xA9t\xC3\xA9"}));
}

TEST_F(S3StoreTest, DirectoryMarkersAreNotListed) {
  ASSERT_TRUE(store_->Write("real/object", Bytes("x")).ok());
  // Hadoop-style tools write empty "dir/" objects; Arrow's CreateDir does the same.
  ASSERT_TRUE(store_->arrow_filesystem()->CreateDir(store_->arrow_path("marker")).ok());
  EXPECT_EQ(Paths(store_->List("")), std::vector<std::string>{"real/object"});
  // Remove the marker so TearDown leaves nothing behind.
  auto s3 = std::dynamic_pointer_cast<arrow::fs::S3FileSystem>(store_->arrow_filesystem());
  ASSERT_NE(s3, nullptr);
  EXPECT_TRUE(s3->DeleteDir(store_->arrow_path("marker")).ok());
}

TEST_F(S3StoreTest, PutIfAbsentCreatesOnce) {
  auto first = store_->PutIfAbsent("_delta_log/00000000000000000000.json", Bytes("winner"));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(*first);
  auto second = store_->PutIfAbsent("_delta_log/00000000000000000000.json", Bytes("loser"));
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_FALSE(*second);
  EXPECT_EQ(ReadText("_delta_log/00000000000000000000.json"), "winner");

  ASSERT_TRUE(store_->Write("plain", Bytes("existing")).ok());
  auto over_write = store_->PutIfAbsent("plain", Bytes("new"));
  ASSERT_TRUE(over_write.ok());
  EXPECT_FALSE(*over_write);
  EXPECT_EQ(ReadText("plain"), "existing");
}

TEST_F(S3StoreTest, PutIfAbsentRaceHasExactlyOneWinner) {
  constexpr int kThreads = 8;
  constexpr int kVersions = 5;
  for (int version = 0; version < kVersions; ++version) {
    const std::string path = "_delta_log/" + std::to_string(version) + ".json";
    std::atomic<int> winners{0}, winner_id{-1}, errors{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int id = 0; id < kThreads; ++id) {
      threads.emplace_back([&, id] {
        while (!go.load()) std::this_thread::yield();
        auto created = store_->PutIfAbsent(path, Bytes("writer " + std::to_string(id)));
        if (!created.ok()) {
          ADD_FAILURE() << created.status().ToString();
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
    EXPECT_EQ(ReadText(path), "writer " + std::to_string(winner_id.load()));
  }
}

TEST_F(S3StoreTest, DeleteRemovesAndToleratesAbsence) {
  ASSERT_TRUE(store_->Write("d/object", Bytes("x")).ok());
  ASSERT_TRUE(store_->Delete("d/object").ok());
  EXPECT_TRUE(IsNotFound(store_->Read("d/object").status()));
  EXPECT_TRUE(store_->Delete("d/object").ok());
  EXPECT_TRUE(store_->Delete("never/existed").ok());
  EXPECT_TRUE(Paths(store_->List("")).empty());
}

TEST_F(S3StoreTest, InvalidPathsAreRejected) {
  for (const std::string& path : std::vector<std::string>{"", "/abs", "../x", "a//b"}) {
    EXPECT_TRUE(store_->Write(path, Bytes("x")).IsInvalid()) << path;
    EXPECT_TRUE(store_->PutIfAbsent(path, Bytes("x")).status().IsInvalid()) << path;
    EXPECT_TRUE(store_->Read(path).status().IsInvalid()) << path;
    EXPECT_TRUE(store_->Delete(path).IsInvalid()) << path;
  }
}

TEST_F(S3StoreTest, ArrowFilesystemSeesTheSameObjects) {
  ASSERT_TRUE(store_->Write("p/data.bin", Bytes("arrow")).ok());
  EXPECT_EQ(store_->arrow_path("p/data.bin"), root_.substr(5) + "/p/data.bin");
  auto file = store_->arrow_filesystem()->OpenInputFile(store_->arrow_path("p/data.bin"));
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ((*file)->ReadAt(0, 5).ValueOrDie()->ToString(), "arrow");
}

TEST_F(S3StoreTest, DispatchFromOpenObjectStore) {
  auto store = OpenObjectStore(root_ + "/");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)->Write("via-dispatch", Bytes("x")).ok());
  EXPECT_EQ(ReadText("via-dispatch"), "x");
}

TEST_F(S3StoreTest, WrongCredentialsSayAccessDeniedAndHowToFix) {
  ScopedEnvironment environment{{"AWS_ACCESS_KEY_ID", "not-a-real-key"},
                                {"AWS_SECRET_ACCESS_KEY", "wrong-secret"},
                                {"AWS_SESSION_TOKEN", std::nullopt}};
  auto store = OpenS3Store(root_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const arrow::Status write = (*store)->Write("denied", Bytes("x"));
  const arrow::Status put = (*store)->PutIfAbsent("denied", Bytes("x")).status();
  const arrow::Status list = (*store)->List("").status();
  for (const arrow::Status& status : {write, put, list}) {
    ASSERT_FALSE(status.ok());
    EXPECT_NE(status.message().find("access denied"), std::string::npos) << status.ToString();
    EXPECT_NE(status.message().find("AWS_ACCESS_KEY_ID"), std::string::npos) << status.ToString();
    EXPECT_NE(status.message().find("bucket '" + bucket_ + "'"), std::string::npos)
        << status.ToString();
  }
}

TEST_F(S3StoreTest, MissingBucketIsNamed) {
  auto store = OpenS3Store("s3://nlk-no-such-bucket-" + std::to_string(::getpid()) + "/t");
  ASSERT_TRUE(store.ok());
  const arrow::Status put = (*store)->PutIfAbsent("x", Bytes("x")).status();
  EXPECT_NE(put.message().find("does not exist"), std::string::npos) << put.ToString();
  const arrow::Status list = (*store)->List("").status();
  EXPECT_NE(list.message().find("does not exist"), std::string::npos) << list.ToString();
}

TEST(S3ConfigurationTest, PlainHttpEndpointNeedsOptIn) {
  ScopedEnvironment environment{{"AWS_ENDPOINT_URL", "http://127.0.0.1:1"},
                                {"AWS_ENDPOINT_URL_S3", std::nullopt},
                                {"AWS_ALLOW_HTTP", std::nullopt},
                                {"AWS_ACCESS_KEY_ID", "key"},
                                {"AWS_SECRET_ACCESS_KEY", "secret"}};
  auto store = OpenObjectStore("s3://bucket/table");
  ASSERT_FALSE(store.ok());
  EXPECT_TRUE(store.status().IsInvalid());
  EXPECT_NE(store.status().message().find("AWS_ALLOW_HTTP=true"), std::string::npos)
      << store.status().ToString();
  EXPECT_NE(store.status().message().find("http://127.0.0.1:1"), std::string::npos);
}

TEST(S3ConfigurationTest, MissingCredentialsAreExplained) {
  ScopedEnvironment environment{{"AWS_ENDPOINT_URL", "https://s3.example.com"},
                                {"AWS_ACCESS_KEY_ID", std::nullopt},
                                {"AWS_SECRET_ACCESS_KEY", std::nullopt}};
  auto store = OpenObjectStore("s3://bucket/table");
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("AWS_ACCESS_KEY_ID"), std::string::npos)
      << store.status().ToString();
}

TEST(S3ConfigurationTest, BadUrisAreRejected) {
  ScopedEnvironment environment{{"AWS_ENDPOINT_URL", "https://s3.example.com"},
                                {"AWS_ACCESS_KEY_ID", "key"},
                                {"AWS_SECRET_ACCESS_KEY", "secret"}};
  for (const char* uri :
       {"s3://", "s3://Upper/x", "s3://b/x", "s3://bucket/a/../b", "s3://bucket/x?versionId=1"}) {
    EXPECT_TRUE(OpenObjectStore(uri).status().IsInvalid()) << uri;
  }
  EXPECT_TRUE(OpenObjectStore("s3://bucket").ok());
  EXPECT_TRUE(OpenObjectStore("s3://bucket/prefix/").ok());
}

TEST(S3ConfigurationTest, UnreachableEndpointIsReported) {
  ScopedEnvironment environment{{"AWS_ENDPOINT_URL", "http://127.0.0.1:1"},
                                {"AWS_ALLOW_HTTP", "true"},
                                {"AWS_ACCESS_KEY_ID", "key"},
                                {"AWS_SECRET_ACCESS_KEY", "secret"}};
  auto store = OpenObjectStore("s3://bucket/table");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const arrow::Status put = (*store)->PutIfAbsent("x", Bytes("x")).status();
  ASSERT_FALSE(put.ok());
  EXPECT_NE(put.message().find("cannot reach S3"), std::string::npos) << put.ToString();
  EXPECT_NE(put.message().find("127.0.0.1:1"), std::string::npos) << put.ToString();
}

TEST(S3ConfigurationTest, EncryptionSettingsAreValidated) {
  ScopedEnvironment base{{"AWS_ENDPOINT_URL", "https://s3.example.com"},
                         {"AWS_ACCESS_KEY_ID", "key"},
                         {"AWS_SECRET_ACCESS_KEY", "secret"}};
  {
    ScopedEnvironment sse{{"AWS_SERVER_SIDE_ENCRYPTION", "aws:kms"},
                          {"AWS_SSE_KMS_KEY_ID", "alias/neural"}};
    auto settings = S3SettingsFromEnvironment();
    ASSERT_TRUE(settings.ok()) << settings.status().ToString();
    EXPECT_EQ(settings->encryption, S3Encryption::kSseKms);
    EXPECT_EQ(settings->EncryptionHeaders(),
              (std::vector<std::string>{"x-amz-server-side-encryption: aws:kms",
                                        "x-amz-server-side-encryption-aws-kms-key-id: "
                                        "alias/neural"}));
  }
  {
    ScopedEnvironment sse{{"AWS_SERVER_SIDE_ENCRYPTION", "AES256"},
                          {"AWS_SSE_KMS_KEY_ID", std::nullopt}};
    auto settings = S3SettingsFromEnvironment();
    ASSERT_TRUE(settings.ok()) << settings.status().ToString();
    EXPECT_EQ(settings->EncryptionHeaders(),
              std::vector<std::string>{"x-amz-server-side-encryption: AES256"});
  }
  {
    ScopedEnvironment sse{{"AWS_SERVER_SIDE_ENCRYPTION", std::nullopt},
                          {"AWS_SSE_KMS_KEY_ID", std::nullopt}};
    auto settings = S3SettingsFromEnvironment();
    ASSERT_TRUE(settings.ok());
    EXPECT_TRUE(settings->EncryptionHeaders().empty());
  }
  // Settings that cannot mean what the user wants are refused, never ignored.
  for (const auto& [algorithm, key] :
       std::vector<std::pair<std::optional<std::string>, std::optional<std::string>>>{
           {"aes256", std::nullopt},
           {"sse-c", std::nullopt},
           {"AES256", "alias/neural"},
           {std::nullopt, "alias/neural"}}) {
    ScopedEnvironment sse{{"AWS_SERVER_SIDE_ENCRYPTION", algorithm}, {"AWS_SSE_KMS_KEY_ID", key}};
    auto store = OpenObjectStore("s3://bucket/table");
    ASSERT_FALSE(store.ok()) << algorithm.value_or("-") << " " << key.value_or("-");
    EXPECT_TRUE(store.status().IsInvalid());
    EXPECT_NE(store.status().message().find("AWS_SERVER_SIDE_ENCRYPTION"), std::string::npos)
        << store.status().ToString();
  }
}

// Every object written with encryption configured, whatever the path (a plain write, a
// streamed write in one part or several, a conditional create), is stored encrypted with the
// configured key, and reads back unchanged.
class S3EncryptedStoreTest : public S3StoreTest {
 protected:
  void SetUp() override {
    kms_key_ = Environment("NLK_TEST_S3_KMS_KEY");
    if (kms_key_.empty()) {
      GTEST_SKIP() << "no KMS key: start MinIO with NLK_MINIO_KMS=1 and set "
                      "NLK_TEST_S3_KMS_KEY=neuralake";
    }
    encryption_.emplace(std::initializer_list<std::pair<const char*, std::optional<std::string>>>{
        {"AWS_SERVER_SIDE_ENCRYPTION", "aws:kms"}, {"AWS_SSE_KMS_KEY_ID", kms_key_}});
    S3StoreTest::SetUp();
    auto settings = S3SettingsFromEnvironment();
    ASSERT_TRUE(settings.ok()) << settings.status().ToString();
    client_ = std::make_shared<S3Client>(*settings);
  }
  void TearDown() override {
    S3StoreTest::TearDown();
    encryption_.reset();
  }

  std::string Key(const std::string& path) const {
    return root_.substr(std::string("s3://").size() + bucket_.size() + 1) + "/" + path;
  }

  // The object's encryption headers, as S3 reports them.
  std::pair<std::string, std::string> Encryption(const std::string& path) {
    S3Request head;
    head.method = "HEAD";
    head.bucket = bucket_;
    head.key = Key(path);
    auto response = client_->Send(head);
    EXPECT_TRUE(response.ok());
    if (!response.ok()) return {};
    EXPECT_EQ(response->status_code, 200) << path;
    return {response->Header("x-amz-server-side-encryption"),
            response->Header("x-amz-server-side-encryption-aws-kms-key-id")};
  }

  void ExpectEncrypted(const std::string& path) {
    const auto [algorithm, key] = Encryption(path);
    EXPECT_EQ(algorithm, "aws:kms") << path;
    // MinIO reports the key as its ARN form ("arn:aws:kms:" + name); AWS reports the full ARN.
    EXPECT_NE(key.find(kms_key_), std::string::npos) << path << ": " << key;
  }

  std::string kms_key_;
  std::optional<ScopedEnvironment> encryption_;
  std::shared_ptr<S3Client> client_;
};

TEST_F(S3EncryptedStoreTest, EveryWritePathEncrypts) {
  ASSERT_TRUE(store_->Write("plain.bin", Bytes("0123456789")).ok());
  ASSERT_EQ(
      store_->PutIfAbsent("_delta_log/00000000000000000000.json", Bytes("{}\n")).ValueOr(false),
      true);
  auto stream = store_->OpenForWrite("part-0.parquet");
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  ASSERT_TRUE((*stream)->Write("streamed", 8).ok());
  ASSERT_TRUE((*stream)->Close().ok());
  for (const char* path : {"plain.bin", "_delta_log/00000000000000000000.json", "part-0.parquet"}) {
    ExpectEncrypted(path);
  }
  EXPECT_EQ(ReadText("plain.bin"), "0123456789");
  EXPECT_EQ(ReadText("part-0.parquet"), "streamed");
}

TEST_F(S3EncryptedStoreTest, LargeObjectsUploadInEncryptedParts) {
  // 11 MiB + 3 bytes in uneven writes: two full 5 MiB parts and a short last one.
  std::string expected;
  S3UploadStream stream(
      client_, bucket_, Key("big.bin"), client_->settings().EncryptionHeaders(),
      [](const S3Response& response, const std::string& operation) {
        return arrow::Status::IOError(operation, " HTTP ", response.status_code, " ",
                                      response.body);
      },
      S3UploadStream::kMinPartSize);
  for (int i = 0; expected.size() < (11u << 20) + 3; ++i) {
    std::string chunk(std::min<size_t>(700001, (11u << 20) + 3 - expected.size()),
                      static_cast<char>('a' + i % 26));
    ASSERT_TRUE(stream.Write(chunk.data(), static_cast<int64_t>(chunk.size())).ok());
    expected += chunk;
  }
  EXPECT_TRUE(IsNotFound(store_->Head("big.bin").status()));  // nothing visible before Close
  ASSERT_TRUE(stream.Close().ok());
  EXPECT_EQ(stream.Tell().ValueOr(0), static_cast<int64_t>(expected.size()));
  EXPECT_EQ(ReadText("big.bin"), expected);
  ExpectEncrypted("big.bin");
}

TEST_F(S3EncryptedStoreTest, AnAbortedUploadLeavesNothing) {
  S3UploadStream stream(
      client_, bucket_, Key("aborted.bin"), client_->settings().EncryptionHeaders(),
      [](const S3Response&, const std::string&) { return arrow::Status::IOError("failed"); },
      S3UploadStream::kMinPartSize);
  const std::string chunk((6u << 20), 'x');  // more than one part: the upload has started
  ASSERT_TRUE(stream.Write(chunk.data(), static_cast<int64_t>(chunk.size())).ok());
  ASSERT_TRUE(stream.Abort().ok());
  EXPECT_TRUE(stream.closed());
  EXPECT_FALSE(stream.Write("x", 1).ok());
  EXPECT_TRUE(IsNotFound(store_->Head("aborted.bin").status()));
}

TEST_F(S3EncryptedStoreTest, AnUnknownKeyFailsTheWriteAndSaysWhy) {
  ScopedEnvironment wrong_key{{"AWS_SSE_KMS_KEY_ID", "nlk-no-such-key"}};
  auto store = OpenS3Store(root_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  for (const arrow::Status& status :
       {(*store)->Write("refused.bin", Bytes("data")),
        (*store)->PutIfAbsent("refused.json", Bytes("{}")).status()}) {
    ASSERT_FALSE(status.ok());
    EXPECT_NE(status.message().find("server-side encryption"), std::string::npos)
        << status.ToString();
  }
  EXPECT_TRUE(IsNotFound(store_->Head("refused.bin").status()));
  EXPECT_TRUE(IsNotFound(store_->Head("refused.json").status()));
}

}  // namespace
}  // namespace nlk::storage
