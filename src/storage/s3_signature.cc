#include "storage/s3_signature.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>

#include "common/sha256.h"

namespace nlk::storage {
namespace {

std::string Hex(const unsigned char* data, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0x0F]);
  }
  return out;
}

std::string Hmac(std::string_view key, std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &length);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Trims the value and folds runs of spaces into one, as canonical headers require.
std::string CanonicalValue(std::string_view value) {
  std::string out;
  bool space = false;
  for (const char c : value) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

}  // namespace

std::string SigV4Now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[17];
  std::strftime(text, sizeof(text), "%Y%m%dT%H%M%SZ", &utc);
  return text;
}

std::vector<std::string> SignV4(const SigV4Request& request, const SigV4Credentials& credentials) {
  // Canonical headers: lowercase names, sorted by name (a name that is a prefix of another comes
  // first), one line each; values of a repeated name joined by commas.
  std::map<std::string, std::string> headers;
  auto add = [&headers](std::string name, std::string_view value) {
    std::string& slot = headers[Lower(name)];
    slot += (slot.empty() ? "" : ",") + CanonicalValue(value);
  };
  add("host", request.host);
  add("x-amz-date", request.amz_date);
  if (!credentials.session_token.empty()) add("x-amz-security-token", credentials.session_token);
  for (const std::string& line : request.headers) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    add(line.substr(0, colon), std::string_view(line).substr(colon + 1));
  }
  std::string canonical_headers;
  std::string signed_headers;
  for (const auto& [name, value] : headers) {
    canonical_headers += name + ":" + value + "\n";
    signed_headers += (signed_headers.empty() ? "" : ";") + name;
  }
  const std::string canonical_request = request.method + "\n" + request.canonical_uri + "\n" +
                                        request.canonical_query + "\n" + canonical_headers + "\n" +
                                        signed_headers + "\n" + request.payload_hash;
  const std::string date = request.amz_date.substr(0, 8);
  const std::string scope = date + "/" + request.region + "/" + request.service + "/aws4_request";
  const std::string string_to_sign =
      "AWS4-HMAC-SHA256\n" + request.amz_date + "\n" + scope + "\n" + Sha256Hex(canonical_request);
  std::string key = Hmac("AWS4" + credentials.secret_access_key, date);
  key = Hmac(key, request.region);
  key = Hmac(key, request.service);
  key = Hmac(key, "aws4_request");
  const std::string signature_bytes = Hmac(key, string_to_sign);
  const std::string signature =
      Hex(reinterpret_cast<const unsigned char*>(signature_bytes.data()), signature_bytes.size());

  std::vector<std::string> out = {"X-Amz-Date: " + request.amz_date};
  if (!credentials.session_token.empty()) {
    out.push_back("X-Amz-Security-Token: " + credentials.session_token);
  }
  out.push_back("Authorization: AWS4-HMAC-SHA256 Credential=" + credentials.access_key_id + "/" +
                scope + ", SignedHeaders=" + signed_headers + ", Signature=" + signature);
  return out;
}

}  // namespace nlk::storage
