// Who may talk to `nlk serve`, decided for every HTTP request before anything else runs:
//
// - Host: a request must name the server by an IP address, a name without a dot ("localhost",
//   an intranet host), or a name listed in `allowed_hosts`. A page that rebinds its own DNS name to
//   127.0.0.1 sends its own name as Host and is refused (403 host_not_allowed), so it cannot reach
//   the server through the victim's browser.
// - Origin (CORS): a request carrying an Origin header from another origin is refused
//   (403 origin_not_allowed) unless that origin is listed in `allowed_origins` ("*" allows
//   every origin). Browsers send Origin with every cross-site POST, preflighted or not, so a
//   page cannot make the server run a query it may not read. Allowed origins get their CORS
//   headers and OPTIONS preflights are answered. Same-origin requests (the status page) pass.
// - Authentication: with a tokens file, every endpoint needs `Authorization: Bearer <token>`
//   (401 unauthorized otherwise), except /health and /metrics when their access is kPublic.
//   Without one the server serves loopback clients only: CheckBinding refuses to listen on
//   another address unless `insecure_no_auth` says so.
// - Client certificates (mTLS, tls.h): with `client_certificates`, a verified certificate the
//   connection presented is an identity too, and counts as authentication for CheckBinding.
//   Precedence: a request carrying an Authorization header is judged by its token alone (a bad
//   token is 401 even over a verified certificate), so a proxy holding a certificate can pass on
//   its users' tokens; a request without one is the certificate's principal. Without a tokens
//   file, the certificate is the only credential and Authorization headers are ignored.
//
// Refusals carry the same JSON error body whatever the endpoint, so they tell nothing about
// what the server serves.
#pragma once

#include <arrow/status.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/token_store.h"

namespace nlk::server {

enum class EndpointAccess { kPublic, kToken };

struct AccessConfig {
  std::string tokens_file;  // empty: no authentication (loopback only)
  bool insecure_no_auth = false;
  // TLS verifies client certificates (TlsConfig::client_ca_file); set by the server from its
  // TLS settings.
  bool client_certificates = false;
  std::vector<std::string> allowed_origins;
  std::vector<std::string> allowed_hosts;
  EndpointAccess health_access = EndpointAccess::kPublic;
  EndpointAccess metrics_access = EndpointAccess::kToken;
};

// "public" or "token"; errors name `what`.
arrow::Result<EndpointAccess> ParseEndpointAccess(std::string_view text, std::string_view what);
std::string_view EndpointAccessName(EndpointAccess access);

// OK when `address` (HOST:PORT) may be listened on under `config`: any address with a tokens
// file, client certificates or insecure_no_auth, otherwise loopback addresses only. `what` names
// the listener.
arrow::Status CheckBinding(const AccessConfig& config, const std::string& address,
                           std::string_view what);

// True for 127.0.0.0/8, ::1 and "localhost".
bool IsLoopbackHost(std::string_view host);

// The headers of one request the gate looks at.
struct GateRequest {
  std::string_view method;
  std::string_view path;
  std::string_view host;
  std::string_view origin;
  std::string_view authorization;
  // The identity of the connection's verified client certificate, if any.
  const Identity* certificate = nullptr;
};

struct GateDecision {
  // Set when the gate answers the request itself (a refusal, or a CORS preflight).
  std::optional<int> status;
  std::string error_code;  // with a refusal
  std::string message;     // with a refusal
  // Header lines ("Name: value\r\n") every response to this request carries.
  std::string headers;
  // The caller, when a token was presented and accepted, or a client certificate verified.
  std::optional<Identity> identity;
};

class AccessGate {
 public:
  // Opens the tokens file when one is configured.
  static arrow::Result<std::shared_ptr<AccessGate>> Make(AccessConfig config);

  GateDecision Decide(const GateRequest& request) const;
  // The identity behind `token`; nullopt when unknown or revoked, or without a tokens file.
  std::optional<Identity> Authenticate(std::string_view token) const;

  // True with a tokens file: clients may present tokens.
  bool authenticates() const { return tokens_ != nullptr; }
  // True when every request needs an identity (a tokens file or client certificates).
  bool requires_identity() const { return tokens_ != nullptr || config_.client_certificates; }
  const AccessConfig& config() const { return config_; }
  // Empty while the tokens file reads well (see TokenStore::load_error).
  std::string tokens_error() const;

 private:
  AccessGate(AccessConfig config, std::shared_ptr<TokenStore> tokens)
      : config_(std::move(config)), tokens_(std::move(tokens)) {}

  bool HostAllowed(std::string_view host) const;
  // The Access-Control-Allow-Origin value for `origin`, or nullopt when it is not allowed.
  std::optional<std::string> AllowedOrigin(std::string_view origin, std::string_view host) const;

  AccessConfig config_;
  std::shared_ptr<TokenStore> tokens_;
};

}  // namespace nlk::server
