// The access gate's decisions and the tokens file, without a server.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "server/access_control.h"
#include "server/token_store.h"

namespace nlk::server {
namespace {

namespace fs = std::filesystem;

class AccessControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = fs::temp_directory_path() /
                 ("nlk-access-" + std::to_string(::getpid()) + "-" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(directory_);
    fs::create_directories(directory_);
    tokens_ = (directory_ / "tokens.tsv").string();
  }
  void TearDown() override { fs::remove_all(directory_); }

  std::shared_ptr<AccessGate> Gate(AccessConfig config) {
    auto gate = AccessGate::Make(std::move(config));
    EXPECT_TRUE(gate.ok()) << gate.status().ToString();
    return *gate;
  }

  fs::path directory_;
  std::string tokens_;
};

TEST_F(AccessControlTest, TokensAuthenticateUntilRevoked) {
  TokenFile file(tokens_);
  auto alice = file.Create("alice", {"lab", "site-1"});
  ASSERT_TRUE(alice.ok()) << alice.status().ToString();
  auto bob = file.Create("bob", {});
  ASSERT_TRUE(bob.ok());
  auto store = TokenStore::Open(tokens_, std::chrono::milliseconds(0));
  ASSERT_TRUE(store.ok()) << store.status().ToString();

  auto identity = (*store)->Authenticate(*alice);
  ASSERT_TRUE(identity.has_value());
  EXPECT_EQ(identity->principal, "alice");
  EXPECT_EQ(identity->groups, (std::vector<std::string>{"lab", "site-1"}));
  // One changed character, a truncated token, or another shape: nobody.
  std::string altered = *alice;
  altered.back() = altered.back() == '0' ? '1' : '0';
  EXPECT_FALSE((*store)->Authenticate(altered).has_value());
  EXPECT_FALSE((*store)->Authenticate(alice->substr(0, alice->size() - 1)).has_value());
  EXPECT_FALSE((*store)->Authenticate("").has_value());

  ASSERT_TRUE(file.Revoke(identity->token_id).ok());
  EXPECT_FALSE((*store)->Authenticate(*alice).has_value());
  EXPECT_TRUE((*store)->Authenticate(*bob).has_value());
  EXPECT_FALSE(file.Revoke(identity->token_id).ok());
  EXPECT_TRUE(file.Revoke("000000000000").IsKeyError());
}

TEST_F(AccessControlTest, TheFileHoldsHashesOnlyWithOwnerOnlyMode) {
  auto token = TokenFile(tokens_).Create("alice", {});
  ASSERT_TRUE(token.ok());
  std::ifstream in(tokens_);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find(token->substr(token->rfind('_') + 1)), std::string::npos);
  EXPECT_NE(text.find(Sha256Hex(*token)), std::string::npos);
  struct stat info {};
  ASSERT_EQ(::stat(tokens_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600);
}

TEST_F(AccessControlTest, BadNamesAndBrokenFilesAreRefused) {
  TokenFile file(tokens_);
  EXPECT_FALSE(file.Create("al ice", {}).ok());
  EXPECT_FALSE(file.Create("alice", {"a,b"}).ok());
  EXPECT_FALSE(file.Create("", {}).ok());
  auto token = file.Create("alice", {});
  ASSERT_TRUE(token.ok());
  auto store = TokenStore::Open(tokens_, std::chrono::milliseconds(0));
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->Authenticate(*token).has_value());
  {
    std::ofstream out(tokens_, std::ios::app);
    out << "not\ta token line\n";
  }
  // A file that no longer parses refuses every token, and says why.
  EXPECT_FALSE((*store)->Authenticate(*token).has_value());
  EXPECT_NE((*store)->load_error().find(":3:"), std::string::npos) << (*store)->load_error();
  EXPECT_FALSE(TokenStore::Open(tokens_).ok());
  EXPECT_FALSE(TokenStore::Open((directory_ / "missing").string()).ok());
}

TEST_F(AccessControlTest, HostsOtherThanAddressesAndListedNamesAreRefused) {
  AccessConfig config;
  config.allowed_hosts = {"Lake.Example.org"};
  auto gate = Gate(config);
  for (std::string_view host : {"127.0.0.1:8080", "localhost", "LOCALHOST:1", "[::1]:8080",
                                "10.1.2.3", "lake.example.org:443", "lakebox:8080", ""}) {
    EXPECT_FALSE(gate->Decide({"GET", "/api/schema", host, "", ""}).status.has_value()) << host;
  }
  for (std::string_view host : {"evil.example:8080", "127.0.0.1.nip.io", "localhost.evil"}) {
    GateDecision decision = gate->Decide({"GET", "/api/schema", host, "", ""});
    ASSERT_TRUE(decision.status.has_value()) << host;
    EXPECT_EQ(*decision.status, 403);
    EXPECT_EQ(decision.error_code, "host_not_allowed");
  }
}

TEST_F(AccessControlTest, OriginsMustBeTheServerOrListed) {
  AccessConfig config;
  config.allowed_origins = {"https://grafana.example.org"};
  auto gate = Gate(config);
  GateDecision same =
      gate->Decide({"POST", "/api/sql", "127.0.0.1:8080", "http://127.0.0.1:8080", ""});
  EXPECT_FALSE(same.status.has_value());
  GateDecision listed =
      gate->Decide({"POST", "/api/sql", "127.0.0.1:8080", "https://grafana.example.org", ""});
  EXPECT_FALSE(listed.status.has_value());
  EXPECT_NE(listed.headers.find("Access-Control-Allow-Origin: https://grafana.example.org"),
            std::string::npos);
  GateDecision preflight =
      gate->Decide({"OPTIONS", "/api/sql", "127.0.0.1:8080", "https://grafana.example.org", ""});
  ASSERT_TRUE(preflight.status.has_value());
  EXPECT_EQ(*preflight.status, 204);
  for (std::string_view origin : {"http://evil.example", "null", "http://127.0.0.1:9999",
                                  "https://grafana.example.org.evil"}) {
    GateDecision decision = gate->Decide({"POST", "/api/sql", "127.0.0.1:8080", origin, ""});
    ASSERT_TRUE(decision.status.has_value()) << origin;
    EXPECT_EQ(decision.error_code, "origin_not_allowed");
    EXPECT_EQ(decision.headers, "");
  }
  config.allowed_origins = {"*"};
  EXPECT_FALSE(Gate(config)
                   ->Decide({"POST", "/api/sql", "127.0.0.1:8080", "http://anywhere.example", ""})
                   .status.has_value());
}

TEST_F(AccessControlTest, EndpointsNeedTokensAsConfigured) {
  auto token = TokenFile(tokens_).Create("alice", {"lab"});
  ASSERT_TRUE(token.ok());
  AccessConfig config;
  config.tokens_file = tokens_;
  auto gate = Gate(config);
  const std::string authorization = "Bearer " + *token;
  GateDecision missing = gate->Decide({"POST", "/api/sql", "", "", ""});
  ASSERT_TRUE(missing.status.has_value());
  EXPECT_EQ(*missing.status, 401);
  EXPECT_NE(missing.headers.find("WWW-Authenticate: Bearer"), std::string::npos);
  EXPECT_EQ(*gate->Decide({"POST", "/api/sql", "", "", "Basic abc"}).status, 401);
  GateDecision accepted = gate->Decide({"POST", "/api/sql", "", "", authorization});
  EXPECT_FALSE(accepted.status.has_value());
  ASSERT_TRUE(accepted.identity.has_value());
  EXPECT_EQ(accepted.identity->principal, "alice");
  EXPECT_FALSE(
      gate->Decide({"POST", "/api/sql", "", "", "bearer  " + *token + " "}).status.has_value());

  EXPECT_FALSE(gate->Decide({"GET", "/health", "", "", ""}).status.has_value());
  EXPECT_EQ(*gate->Decide({"GET", "/metrics", "", "", ""}).status, 401);
  config.health_access = EndpointAccess::kToken;
  config.metrics_access = EndpointAccess::kPublic;
  auto swapped = Gate(config);
  EXPECT_EQ(*swapped->Decide({"GET", "/health", "", "", ""}).status, 401);
  EXPECT_FALSE(swapped->Decide({"GET", "/metrics", "", "", ""}).status.has_value());
}

TEST_F(AccessControlTest, ListeningBeyondLoopbackNeedsAuthentication) {
  AccessConfig open;
  EXPECT_TRUE(CheckBinding(open, "127.0.0.1:8080", "HTTP").ok());
  EXPECT_TRUE(CheckBinding(open, "127.1.2.3:0", "HTTP").ok());
  EXPECT_TRUE(CheckBinding(open, "localhost:8080", "HTTP").ok());
  EXPECT_TRUE(CheckBinding(open, "::1:8080", "HTTP").ok());
  EXPECT_TRUE(CheckBinding(open, "[::1]:8080", "HTTP").ok());
  EXPECT_FALSE(CheckBinding(open, "0.0.0.0:8080", "HTTP").ok());
  EXPECT_FALSE(CheckBinding(open, "[::]:8080", "HTTP").ok());
  EXPECT_FALSE(CheckBinding(open, "10.0.0.5:5432", "PostgreSQL").ok());
  AccessConfig insecure;
  insecure.insecure_no_auth = true;
  EXPECT_TRUE(CheckBinding(insecure, "0.0.0.0:8080", "HTTP").ok());
  AccessConfig with_tokens;
  with_tokens.tokens_file = tokens_;
  EXPECT_TRUE(CheckBinding(with_tokens, "0.0.0.0:8080", "HTTP").ok());
}

}  // namespace
}  // namespace nlk::server
