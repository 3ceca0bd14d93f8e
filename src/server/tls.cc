#include "server/tls.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <iostream>

namespace nlk::server {

namespace ssl = boost::asio::ssl;

namespace {

// The OpenSSL errors queued on this thread, oldest first, and the queue emptied.
std::string OpenSslErrors() {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    if (!out.empty()) out += "; ";
    out += text;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

arrow::Status OpenSslFailure(const std::string& what) {
  return arrow::Status::Invalid(what, ": ", OpenSslErrors());
}

// An encrypted key would make OpenSSL ask for its passphrase on the terminal; the server must
// fail instead.
int NoPassphrase(char*, int, int, void*) { return 0; }

std::string EntryText(X509_NAME_ENTRY* entry) {
  unsigned char* utf8 = nullptr;
  int length = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(entry));
  if (length < 0) return {};
  std::string text(reinterpret_cast<char*>(utf8), static_cast<size_t>(length));
  OPENSSL_free(utf8);
  return text;
}

}  // namespace

arrow::Status ValidateTlsConfig(const TlsConfig& config) {
  if (config.cert_file.empty() != config.key_file.empty()) {
    return arrow::Status::Invalid(
        "TLS needs both a certificate (--tls-cert, tls.cert) and a key "
        "(--tls-key, tls.key)");
  }
  if (!config.enabled() && config.verifies_clients()) {
    return arrow::Status::Invalid(
        "client certificates (--tls-client-ca, tls.client_ca) need TLS: "
        "give --tls-cert and --tls-key too");
  }
  if (config.min_version != "1.2" && config.min_version != "1.3") {
    return arrow::Status::Invalid("TLS minimum version must be 1.2 or 1.3, not '",
                                  config.min_version, "'");
  }
  return arrow::Status::OK();
}

std::optional<Identity> SubjectIdentity(X509_NAME* subject) {
  if (subject == nullptr) return std::nullopt;
  Identity identity;
  int position = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (position < 0) return std::nullopt;
  identity.principal = EntryText(X509_NAME_get_entry(subject, position));
  // Two CNs make the principal ambiguous.
  if (X509_NAME_get_index_by_NID(subject, NID_commonName, position) >= 0) return std::nullopt;
  if (!ValidateTokenName("principal", identity.principal).ok()) return std::nullopt;
  position = -1;
  while ((position = X509_NAME_get_index_by_NID(subject, NID_organizationalUnitName, position)) >=
         0) {
    std::string group = EntryText(X509_NAME_get_entry(subject, position));
    // A unit that is not a valid group name grants nothing; the certificate still names its CN.
    if (ValidateTokenName("group", group).ok()) identity.groups.push_back(std::move(group));
  }
  identity.token_id = "cert:" + identity.principal;
  return identity;
}

std::optional<Identity> CertificateIdentity(SSL* ssl) {
  if (ssl == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return std::nullopt;
  X509* certificate = SSL_get1_peer_certificate(ssl);
  if (certificate == nullptr) return std::nullopt;
  std::optional<Identity> identity = SubjectIdentity(X509_get_subject_name(certificate));
  X509_free(certificate);
  return identity;
}

arrow::Result<std::shared_ptr<ssl::context>> BuildTlsContext(const TlsConfig& config) {
  ARROW_RETURN_NOT_OK(ValidateTlsConfig(config));
  ERR_clear_error();
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = context->native_handle();
  const int min_version = config.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
  if (SSL_CTX_set_min_proto_version(native, min_version) != 1) {
    return OpenSslFailure("cannot require TLS " + config.min_version);
  }
  SSL_CTX_set_options(
      native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_default_passwd_cb(native, NoPassphrase);
  if (SSL_CTX_use_certificate_chain_file(native, config.cert_file.c_str()) != 1) {
    return OpenSslFailure("TLS certificate " + config.cert_file + " cannot be loaded");
  }
  if (SSL_CTX_use_PrivateKey_file(native, config.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
      return OpenSslFailure("TLS key " + config.key_file + " does not match the certificate " +
                            config.cert_file);
    }
    return OpenSslFailure("TLS key " + config.key_file +
                          " cannot be loaded (it must be PEM and not encrypted)");
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    return OpenSslFailure("TLS key " + config.key_file + " does not match the certificate " +
                          config.cert_file);
  }
  if (config.verifies_clients()) {
    if (SSL_CTX_load_verify_locations(native, config.client_ca_file.c_str(), nullptr) != 1) {
      return OpenSslFailure("TLS client CA file " + config.client_ca_file + " cannot be loaded");
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(config.client_ca_file.c_str());
    if (names == nullptr) {
      return OpenSslFailure("TLS client CA file " + config.client_ca_file + " holds no CA");
    }
    SSL_CTX_set_client_CA_list(native, names);  // takes ownership
    int mode = SSL_VERIFY_PEER;
    if (config.require_client_certificate) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(native, mode, nullptr);
    // Resumed sessions keep the verified client; OpenSSL refuses to resume without this.
    static constexpr unsigned char kSessionContext[] = "nlk serve";
    SSL_CTX_set_session_id_context(native, kSessionContext, sizeof kSessionContext - 1);
  }
  return context;
}

arrow::Result<std::shared_ptr<TlsContext>> TlsContext::Make(TlsConfig config,
                                                            std::chrono::milliseconds recheck) {
  std::shared_ptr<TlsContext> tls(new TlsContext(std::move(config), recheck));
  tls->stamps_ = tls->ReadStamps();
  ARROW_ASSIGN_OR_RAISE(tls->current_, BuildTlsContext(tls->config_));
  tls->checked_ = std::chrono::steady_clock::now();
  return tls;
}

TlsContext::Stamps TlsContext::ReadStamps() const {
  auto stamp = [](const std::string& path) {
    FileStamp result;
    struct stat info {};
    if (path.empty() || ::stat(path.c_str(), &info) != 0) return result;
    result.modified_ns =
        static_cast<int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec;
    result.size = static_cast<int64_t>(info.st_size);
    result.inode = static_cast<uint64_t>(info.st_ino);
    return result;
  };
  return {stamp(config_.cert_file), stamp(config_.key_file), stamp(config_.client_ca_file)};
}

std::shared_ptr<ssl::context> TlsContext::Current() {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  if (now - checked_ < recheck_) return current_;
  checked_ = now;
  Stamps stamps = ReadStamps();
  if (stamps == stamps_) return current_;
  stamps_ = stamps;
  auto built = BuildTlsContext(config_);
  if (!built.ok()) {
    ++reload_failures_;
    reload_error_ = built.status().message();
    std::cerr << "nlk serve: TLS reload failed, still using the previous certificate: "
              << reload_error_ << std::endl;
    return current_;
  }
  current_ = std::move(*built);
  reload_error_.clear();
  ++reloads_;
  std::cerr << "nlk serve: TLS certificate reloaded from " << config_.cert_file << std::endl;
  return current_;
}

std::string TlsContext::reload_error() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return reload_error_;
}

int64_t TlsContext::reloads() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return reloads_;
}

int64_t TlsContext::reload_failures() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return reload_failures_;
}

}  // namespace nlk::server
