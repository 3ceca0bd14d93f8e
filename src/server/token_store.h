// Bearer tokens for `nlk serve`: who a request comes from.
//
// A token is "nlk_<id>_<secret>": the id names it in listings, logs and revocations; the secret
// is 256 random bits. The tokens file keeps, per token, the id, the SHA-256 of the whole token
// (never the token itself), the principal it stands for, its groups, when it was created and,
// once revoked, when. A plain hash suffices: the secret is random, so there is nothing to guess
// that a slow hash would protect. The file is text, one token a line, tab-separated, written
// whole to a temporary file and renamed over the old one, mode 0600:
//
//   # nlk tokens v1
//   <id>\t<sha256 hex>\t<principal>\t<group,group>\t<created ISO 8601>\t<revoked ISO 8601 or ->
//
// TokenFile edits the file (`nlk auth token create|list|revoke`); TokenStore is the server's
// view of it, re-read when the file changes.
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>

#include <chrono>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/sha256.h"

namespace nlk::server {

// Who is asking: the principal and groups of the token presented.
struct Identity {
  std::string token_id;
  std::string principal;
  std::vector<std::string> groups;
};

struct TokenRecord {
  std::string id;
  std::string hash;  // lowercase hex SHA-256 of the whole token
  std::string principal;
  std::vector<std::string> groups;
  std::string created;  // ISO 8601, UTC
  std::string revoked;  // empty while valid
};

// Principals and groups: letters, digits and . _ @ - (1 to 128 of them).
arrow::Status ValidateTokenName(std::string_view kind, std::string_view name);

// Parses a tokens file's text; errors name the line.
arrow::Result<std::vector<TokenRecord>> ParseTokenFile(std::string_view text,
                                                       const std::string& path);

class TokenFile {
 public:
  explicit TokenFile(std::string path) : path_(std::move(path)) {}

  // The records in the file; a file that does not exist holds none.
  arrow::Result<std::vector<TokenRecord>> Read() const;
  // Adds a token for `principal` and returns it: the only time its secret is shown.
  arrow::Result<std::string> Create(const std::string& principal,
                                    const std::vector<std::string>& groups);
  // Marks token `id` revoked; revoking a revoked token is an error, as is an unknown id.
  arrow::Status Revoke(const std::string& id);

 private:
  arrow::Status Write(const std::vector<TokenRecord>& records) const;

  std::string path_;
};

// Thread-safe. Authenticate re-reads the file when its modification time or size changed,
// at most once per `recheck`. While the file cannot be read or parsed every token is refused
// (a revocation that cannot be read must not leave the revoked token working); the error is
// kept for /metrics and the log.
class TokenStore {
 public:
  static arrow::Result<std::shared_ptr<TokenStore>> Open(
      std::string path, std::chrono::milliseconds recheck = std::chrono::seconds(1));

  // The identity behind `token`, or nullopt for an unknown, malformed or revoked token.
  std::optional<Identity> Authenticate(std::string_view token);

  // The error that made the last reload fail; empty while the file reads well.
  std::string load_error() const;
  int64_t reloads() const;

 private:
  TokenStore(std::string path, std::chrono::milliseconds recheck)
      : path_(std::move(path)), recheck_(recheck) {}
  void RefreshLocked();

  const std::string path_;
  const std::chrono::milliseconds recheck_;
  mutable std::mutex mutex_;
  std::vector<TokenRecord> records_;
  std::string load_error_;
  std::chrono::steady_clock::time_point checked_{};
  std::timespec modified_{};
  int64_t size_ = -1;
  int64_t reloads_ = 0;
};

}  // namespace nlk::server
