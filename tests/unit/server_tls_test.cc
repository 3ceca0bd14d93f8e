// The TLS module (settings, certificate reload, identities from certificate subjects) and the
// access gate's handling of client certificates, without a server. Certificates are made here
// with OpenSSL, self-signed, in a temporary directory.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "server/access_control.h"
#include "server/tls.h"

namespace nlk::server {
namespace {

namespace fs = std::filesystem;

struct NameDeleter {
  void operator()(X509_NAME* name) const { X509_NAME_free(name); }
};
using Name = std::unique_ptr<X509_NAME, NameDeleter>;

// A subject from (field, value) pairs, e.g. {{"CN", "alice"}, {"OU", "lab"}}.
Name Subject(const std::vector<std::pair<std::string, std::string>>& entries) {
  Name name(X509_NAME_new());
  for (const auto& [field, value] : entries) {
    X509_NAME_add_entry_by_txt(name.get(), field.c_str(), MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0);
  }
  return name;
}

// Writes a fresh self-signed P-256 certificate for CN=`common_name` and its key.
void WritePair(const fs::path& cert_path, const fs::path& key_path,
               const std::string& common_name) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  ASSERT_NE(key, nullptr);
  X509* cert = X509_new();
  ASSERT_EQ(X509_set_version(cert, 2), 1);
  static long serial = 1;
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  Name subject = Subject({{"CN", common_name}});
  X509_set_subject_name(cert, subject.get());
  X509_set_issuer_name(cert, subject.get());
  ASSERT_GT(X509_sign(cert, key, EVP_sha256()), 0);
  FILE* out = std::fopen(cert_path.c_str(), "w");
  ASSERT_NE(out, nullptr);
  PEM_write_X509(out, cert);
  std::fclose(out);
  out = std::fopen(key_path.c_str(), "w");
  ASSERT_NE(out, nullptr);
  PEM_write_PrivateKey(out, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(out);
  X509_free(cert);
  EVP_PKEY_free(key);
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = fs::temp_directory_path() /
                 ("nlk-tls-" + std::to_string(::getpid()) + "-" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(directory_);
    fs::create_directories(directory_);
    WritePair(directory_ / "a.pem", directory_ / "a.key", "server-a");
    WritePair(directory_ / "b.pem", directory_ / "b.key", "server-b");
    config_.cert_file = (directory_ / "live.pem").string();
    config_.key_file = (directory_ / "live.key").string();
    Install("a");
  }
  void TearDown() override { fs::remove_all(directory_); }

  // Copies pair `name` over the live files (through a rename, as deploy tools do).
  void Install(const std::string& name, bool cert = true, bool key = true) {
    if (cert) Replace(directory_ / (name + ".pem"), config_.cert_file);
    if (key) Replace(directory_ / (name + ".key"), config_.key_file);
  }
  void Replace(const fs::path& from, const fs::path& to) {
    fs::path temporary = to.string() + ".tmp";
    fs::copy_file(from, temporary, fs::copy_options::overwrite_existing);
    fs::rename(temporary, to);
  }

  fs::path directory_;
  TlsConfig config_;
};

TEST_F(TlsTest, SettingsAreChecked) {
  EXPECT_TRUE(ValidateTlsConfig(TlsConfig{}).ok());
  EXPECT_TRUE(ValidateTlsConfig(config_).ok());
  TlsConfig no_key = config_;
  no_key.key_file.clear();
  EXPECT_FALSE(ValidateTlsConfig(no_key).ok());
  TlsConfig old = config_;
  old.min_version = "1.1";
  EXPECT_NE(ValidateTlsConfig(old).message().find("1.2 or 1.3"), std::string::npos);
  TlsConfig ca_only;
  ca_only.client_ca_file = config_.cert_file;
  EXPECT_FALSE(ValidateTlsConfig(ca_only).ok());
}

TEST_F(TlsTest, ContextsNeedAMatchingPairAndRefuseOldVersions) {
  auto context = BuildTlsContext(config_);
  ASSERT_TRUE(context.ok()) << context.status().ToString();
  EXPECT_EQ(SSL_CTX_get_min_proto_version((*context)->native_handle()), TLS1_2_VERSION);
  TlsConfig modern = config_;
  modern.min_version = "1.3";
  auto strict = BuildTlsContext(modern);
  ASSERT_TRUE(strict.ok());
  EXPECT_EQ(SSL_CTX_get_min_proto_version((*strict)->native_handle()), TLS1_3_VERSION);

  Install("b", /*cert=*/false, /*key=*/true);
  auto mismatched = BuildTlsContext(config_);
  ASSERT_FALSE(mismatched.ok());
  EXPECT_NE(mismatched.status().message().find("does not match"), std::string::npos);
  TlsConfig missing = config_;
  missing.cert_file = (directory_ / "absent.pem").string();
  auto absent = BuildTlsContext(missing);
  ASSERT_FALSE(absent.ok());
  EXPECT_NE(absent.status().message().find("cannot be loaded"), std::string::npos);
}

TEST_F(TlsTest, ClientCertificatesAreRequestedAsConfigured) {
  TlsConfig mtls = config_;
  mtls.client_ca_file = (directory_ / "b.pem").string();
  auto required = BuildTlsContext(mtls);
  ASSERT_TRUE(required.ok()) << required.status().ToString();
  EXPECT_EQ(SSL_CTX_get_verify_mode((*required)->native_handle()),
            SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT);
  mtls.require_client_certificate = false;
  auto optional = BuildTlsContext(mtls);
  ASSERT_TRUE(optional.ok());
  EXPECT_EQ(SSL_CTX_get_verify_mode((*optional)->native_handle()), SSL_VERIFY_PEER);
  EXPECT_EQ(SSL_CTX_get_verify_mode((*BuildTlsContext(config_))->native_handle()), SSL_VERIFY_NONE);
}

TEST_F(TlsTest, ReloadsChangedFilesAndKeepsTheOldPairWhenTheNewOneIsBroken) {
  auto tls = TlsContext::Make(config_, std::chrono::milliseconds(0));
  ASSERT_TRUE(tls.ok()) << tls.status().ToString();
  auto first = (*tls)->Current();
  EXPECT_EQ((*tls)->Current(), first) << "unchanged files must not be reloaded";

  Install("b");
  auto second = (*tls)->Current();
  EXPECT_NE(second, first);
  EXPECT_EQ((*tls)->reloads(), 1);

  // Only the certificate changes: it does not match the key, so the previous pair stays.
  Install("a", /*cert=*/true, /*key=*/false);
  EXPECT_EQ((*tls)->Current(), second);
  EXPECT_EQ((*tls)->reload_failures(), 1);
  EXPECT_NE((*tls)->reload_error().find("does not match"), std::string::npos);
  // Asking again does not retry the same broken files.
  EXPECT_EQ((*tls)->Current(), second);
  EXPECT_EQ((*tls)->reload_failures(), 1);

  Install("a", /*cert=*/false, /*key=*/true);
  auto third = (*tls)->Current();
  EXPECT_NE(third, second);
  EXPECT_EQ((*tls)->reload_error(), "");
  EXPECT_EQ((*tls)->reloads(), 2);
}

TEST_F(TlsTest, StartingWithABrokenPairFails) {
  Install("b", /*cert=*/false, /*key=*/true);
  EXPECT_FALSE(TlsContext::Make(config_).ok());
}

TEST(TlsIdentityTest, SubjectNamesThePrincipalAndGroups) {
  auto identity = SubjectIdentity(
      Subject({{"O", "Hospital"}, {"OU", "lab"}, {"CN", "alice"}, {"OU", "neuro"}}).get());
  ASSERT_TRUE(identity.has_value());
  EXPECT_EQ(identity->principal, "alice");
  EXPECT_EQ(identity->groups, (std::vector<std::string>{"lab", "neuro"}));
  EXPECT_EQ(identity->token_id, "cert:alice");

  auto skipped = SubjectIdentity(Subject({{"CN", "bob"}, {"OU", "not a group"}}).get());
  ASSERT_TRUE(skipped.has_value());
  EXPECT_TRUE(skipped->groups.empty());

  EXPECT_FALSE(SubjectIdentity(Subject({{"OU", "lab"}}).get()).has_value());
  EXPECT_FALSE(SubjectIdentity(Subject({{"CN", "has space"}}).get()).has_value());
  EXPECT_FALSE(SubjectIdentity(Subject({{"CN", "a"}, {"CN", "b"}}).get()).has_value());
  EXPECT_FALSE(SubjectIdentity(nullptr).has_value());
  EXPECT_FALSE(CertificateIdentity(nullptr).has_value());
}

TEST(TlsGateTest, ClientCertificatesAuthenticateAndTokensTakePrecedence) {
  Identity alice{"cert:alice", "alice", {"lab"}};
  AccessConfig certificates_only;
  certificates_only.client_certificates = true;
  EXPECT_TRUE(CheckBinding(certificates_only, "0.0.0.0:8443", "HTTP").ok());
  auto gate = *AccessGate::Make(certificates_only);
  EXPECT_TRUE(gate->requires_identity());
  EXPECT_FALSE(gate->authenticates());

  GateRequest request{"POST", "/api/sql", "", "", "", &alice};
  GateDecision accepted = gate->Decide(request);
  EXPECT_FALSE(accepted.status.has_value());
  ASSERT_TRUE(accepted.identity.has_value());
  EXPECT_EQ(accepted.identity->principal, "alice");
  // Without a tokens file an Authorization header neither helps nor hurts.
  request.authorization = "Bearer nlk_x_y";
  EXPECT_EQ(gate->Decide(request).identity->principal, "alice");
  request.certificate = nullptr;
  GateDecision refused = gate->Decide(request);
  ASSERT_TRUE(refused.status.has_value());
  EXPECT_EQ(*refused.status, 401);
  EXPECT_NE(refused.message.find("client certificate"), std::string::npos);
  EXPECT_EQ(refused.headers.find("WWW-Authenticate"), std::string::npos);
  // /health stays public by default, certificate or not.
  EXPECT_FALSE(gate->Decide({"GET", "/health", "", "", ""}).status.has_value());

  fs::path tokens = fs::temp_directory_path() / ("nlk-tls-gate-" + std::to_string(::getpid()));
  fs::remove(tokens);
  auto token = TokenFile(tokens.string()).Create("bob", {});
  ASSERT_TRUE(token.ok());
  AccessConfig both = certificates_only;
  both.tokens_file = tokens.string();
  auto either = *AccessGate::Make(both);
  GateDecision by_certificate = either->Decide({"GET", "/api/schema", "", "", "", &alice});
  ASSERT_TRUE(by_certificate.identity.has_value());
  EXPECT_EQ(by_certificate.identity->principal, "alice");
  GateDecision by_token =
      either->Decide({"GET", "/api/schema", "", "", "Bearer " + *token, &alice});
  ASSERT_TRUE(by_token.identity.has_value());
  EXPECT_EQ(by_token.identity->principal, "bob");
  GateDecision bad_token = either->Decide({"GET", "/api/schema", "", "", "Bearer nope", &alice});
  ASSERT_TRUE(bad_token.status.has_value());
  EXPECT_EQ(*bad_token.status, 401);
  GateDecision neither = either->Decide({"GET", "/api/schema", "", "", ""});
  ASSERT_TRUE(neither.status.has_value());
  EXPECT_NE(neither.message.find("or connect with a client certificate"), std::string::npos);
  fs::remove(tokens);
}

}  // namespace
}  // namespace nlk::server
