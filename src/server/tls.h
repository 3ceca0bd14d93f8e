// TLS for `nlk serve`'s listeners (HTTP, PostgreSQL wire): one OpenSSL server context built from
// PEM files, TLS 1.2 or newer only, rebuilt when the files change, and the identity a verified
// client certificate stands for (mTLS).
//
// Reloading: TlsContext::Current() looks at the files' modification times, sizes and inodes at
// most once per `recheck` and, when they changed, builds a new context. New connections get the
// new context; open connections keep the one they started with (each holds a shared_ptr to it).
// A pair that does not load (a key that does not match the certificate, a file half written)
// leaves the previous context in use; the error is kept for /metrics and logged once per change.
//
// Client certificates: with a client CA bundle the server asks every client for a certificate
// and verifies it against that bundle. CertificateIdentity turns a verified certificate into an
// Identity: the subject's CN is the principal, each OU a group (both must be valid token names,
// token_store.h).
//
// Thread-safety: TlsContext is thread-safe; the contexts it hands out are immutable once built.
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>
#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "server/server_config.h"
#include "server/token_store.h"

namespace nlk::server {

// Checks the settings hang together (a key with a certificate, a known minimum version, client
// CAs only with TLS); the files themselves are read by TlsContext::Make.
arrow::Status ValidateTlsConfig(const TlsConfig& config);

// The identity of `ssl`'s peer when it presented a certificate that verified; nullopt otherwise.
std::optional<Identity> CertificateIdentity(SSL* ssl);
// The identity a certificate subject names: CN the principal, OUs the groups. nullopt when the
// CN is missing or is not a valid principal name. token_id is "cert:" followed by the CN.
std::optional<Identity> SubjectIdentity(X509_NAME* subject);

class TlsContext {
 public:
  // Loads the files; fails when they do not make a working context.
  static arrow::Result<std::shared_ptr<TlsContext>> Make(
      TlsConfig config, std::chrono::milliseconds recheck = std::chrono::seconds(1));

  // The context for a new connection: the newest pair that loaded.
  std::shared_ptr<boost::asio::ssl::context> Current();

  const TlsConfig& config() const { return config_; }
  // Why the last reload failed; empty when the newest files are in use.
  std::string reload_error() const;
  int64_t reloads() const;          // successful reloads after the first load
  int64_t reload_failures() const;  // reloads that kept the previous context

 private:
  struct FileStamp {
    int64_t modified_ns = 0;
    int64_t size = -1;
    uint64_t inode = 0;
    bool operator==(const FileStamp&) const = default;
  };
  struct Stamps {
    FileStamp cert, key, client_ca;
    bool operator==(const Stamps&) const = default;
  };

  TlsContext(TlsConfig config, std::chrono::milliseconds recheck)
      : config_(std::move(config)), recheck_(recheck) {}
  Stamps ReadStamps() const;

  const TlsConfig config_;
  const std::chrono::milliseconds recheck_;
  mutable std::mutex mutex_;
  std::shared_ptr<boost::asio::ssl::context> current_;
  Stamps stamps_;  // of the files last tried, loaded or not
  std::chrono::steady_clock::time_point checked_{};
  std::string reload_error_;
  int64_t reloads_ = 0;
  int64_t reload_failures_ = 0;
};

// Builds one server context from `config` (what TlsContext does on every change).
arrow::Result<std::shared_ptr<boost::asio::ssl::context>> BuildTlsContext(const TlsConfig& config);

}  // namespace nlk::server
