#include "server/access_control.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

#include "common/ascii.h"

namespace nlk::server {

namespace {

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && AsciiLower(a) == AsciiLower(b);
}

// The host of "host", "host:port", "[v6]" or "[v6]:port", without brackets.
std::string_view HostOf(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    return close == std::string_view::npos ? authority : authority.substr(1, close - 1);
  }
  size_t colon = authority.find(':');
  // More than one colon: an IPv6 address without brackets (as in a listen address).
  if (colon != std::string_view::npos && authority.find(':', colon + 1) != std::string_view::npos) {
    return authority;
  }
  return authority.substr(0, colon);
}

bool IsIpLiteral(std::string_view host) {
  std::string text(host);
  unsigned char buffer[16];
  return inet_pton(AF_INET, text.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

GateDecision Refuse(int status, std::string code, std::string message, std::string headers = {}) {
  GateDecision decision;
  decision.status = status;
  decision.error_code = std::move(code);
  decision.message = std::move(message);
  decision.headers = std::move(headers);
  return decision;
}

}  // namespace

arrow::Result<EndpointAccess> ParseEndpointAccess(std::string_view text, std::string_view what) {
  if (text == "public") return EndpointAccess::kPublic;
  if (text == "token") return EndpointAccess::kToken;
  return arrow::Status::Invalid(what, " must be 'public' or 'token', not '", text, "'");
}

std::string_view EndpointAccessName(EndpointAccess access) {
  return access == EndpointAccess::kPublic ? "public" : "token";
}

bool IsLoopbackHost(std::string_view host) {
  if (EqualsIgnoringCase(host, "localhost")) return true;
  std::string text(host);
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

arrow::Status CheckBinding(const AccessConfig& config, const std::string& address,
                           std::string_view what) {
  if (!config.tokens_file.empty() || config.client_certificates || config.insecure_no_auth) {
    return arrow::Status::OK();
  }
  size_t colon = address.rfind(':');
  std::string_view host =
      HostOf(std::string_view(address).substr(0, colon == std::string::npos ? 0 : colon));
  if (IsLoopbackHost(host)) return arrow::Status::OK();
  return arrow::Status::Invalid(
      "refusing to serve ", what, " on ", address,
      " without authentication: anyone who can reach it could read every table. Give --tokens "
      "FILE (see `nlk auth token create`) or --tls-client-ca FILE, listen on 127.0.0.1, or pass "
      "--insecure-no-auth");
}

arrow::Result<std::shared_ptr<AccessGate>> AccessGate::Make(AccessConfig config) {
  std::shared_ptr<TokenStore> tokens;
  if (!config.tokens_file.empty()) {
    ARROW_ASSIGN_OR_RAISE(tokens, TokenStore::Open(config.tokens_file));
  }
  for (std::string& host : config.allowed_hosts) host = AsciiLower(host);
  return std::shared_ptr<AccessGate>(new AccessGate(std::move(config), std::move(tokens)));
}

std::optional<Identity> AccessGate::Authenticate(std::string_view token) const {
  if (!tokens_) return std::nullopt;
  return tokens_->Authenticate(token);
}

std::string AccessGate::tokens_error() const { return tokens_ ? tokens_->load_error() : ""; }

bool AccessGate::HostAllowed(std::string_view host_header) const {
  std::string host = AsciiLower(HostOf(host_header));
  // A name without a dot resolves through this network's own hosts file or search domain, never
  // through a name an outside site controls, which is what DNS rebinding needs.
  if (host.find('.') == std::string::npos || IsIpLiteral(host)) return true;
  return std::find(config_.allowed_hosts.begin(), config_.allowed_hosts.end(), host) !=
         config_.allowed_hosts.end();
}

std::optional<std::string> AccessGate::AllowedOrigin(std::string_view origin,
                                                     std::string_view host) const {
  // Same origin: the page was served by this server under the name the request uses.
  size_t scheme_end = origin.find("://");
  if (scheme_end != std::string_view::npos && !host.empty() &&
      EqualsIgnoringCase(origin.substr(scheme_end + 3), host)) {
    return std::string(origin);
  }
  for (const std::string& allowed : config_.allowed_origins) {
    if (allowed == "*") return std::string("*");
    if (EqualsIgnoringCase(allowed, origin)) return std::string(origin);
  }
  return std::nullopt;
}

GateDecision AccessGate::Decide(const GateRequest& request) const {
  if (!request.host.empty() && !HostAllowed(request.host)) {
    return Refuse(403, "host_not_allowed",
                  "this server does not answer to the host '" + std::string(request.host) +
                      "'; add it to allowed_hosts (--allow-host)");
  }
  GateDecision decision;
  if (!request.origin.empty()) {
    std::optional<std::string> allowed = AllowedOrigin(request.origin, request.host);
    if (!allowed) {
      return Refuse(403, "origin_not_allowed",
                    "requests from origin '" + std::string(request.origin) +
                        "' are not allowed; add it to cors.allowed_origins (--allow-origin)");
    }
    decision.headers = "Access-Control-Allow-Origin: " + *allowed + "\r\nVary: Origin\r\n";
    if (request.method == "OPTIONS") {
      decision.status = 204;
      decision.headers +=
          "Access-Control-Allow-Methods: GET, POST, OPTIONS\r\n"
          "Access-Control-Allow-Headers: Authorization, Content-Type, Accept\r\n"
          "Access-Control-Max-Age: 600\r\n";
      return decision;
    }
  }
  if (!requires_identity()) return decision;
  EndpointAccess access = EndpointAccess::kToken;
  if (request.path == "/health") access = config_.health_access;
  if (request.path == "/metrics") access = config_.metrics_access;
  // The status page's HTML holds no data (its queries carry a token like any other client's).
  if (request.path == "/ui") access = EndpointAccess::kPublic;
  // Without a tokens file an Authorization header proves nothing; the certificate decides.
  std::string_view authorization = tokens_ ? request.authorization : std::string_view();
  if (authorization.empty() && request.certificate) {
    decision.identity = *request.certificate;
    return decision;
  }
  if (access == EndpointAccess::kPublic && authorization.empty()) return decision;
  const std::string challenge =
      decision.headers + (tokens_ ? "WWW-Authenticate: Bearer realm=\"nlk\"\r\n" : std::string());
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.empty()) {
    return Refuse(401, "unauthorized",
                  !tokens_ ? "authentication required: connect with a client certificate"
                  : config_.client_certificates
                      ? "authentication required: send 'Authorization: Bearer <token>' or "
                        "connect with a client certificate"
                      : "authentication required: send 'Authorization: Bearer <token>'",
                  challenge);
  }
  if (authorization.size() <= kScheme.size() ||
      !EqualsIgnoringCase(authorization.substr(0, kScheme.size()), kScheme)) {
    return Refuse(401, "unauthorized", "the Authorization header must be 'Bearer <token>'",
                  challenge);
  }
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  decision.identity = Authenticate(token);
  if (!decision.identity) {
    return Refuse(401, "unauthorized", "invalid or revoked token", challenge);
  }
  return decision;
}

}  // namespace nlk::server
