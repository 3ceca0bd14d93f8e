#include "server/token_store.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace nlk::server {

namespace {

constexpr std::string_view kHeader = "# nlk tokens v1";
constexpr std::string_view kPrefix = "nlk_";
constexpr size_t kIdBytes = 6;       // 12 hex digits
constexpr size_t kSecretBytes = 32;  // 64 hex digits

std::string Hex(const unsigned char* bytes, size_t count) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(count * 2);
  for (size_t index = 0; index < count; ++index) {
    out += kDigits[bytes[index] >> 4];
    out += kDigits[bytes[index] & 0xf];
  }
  return out;
}

arrow::Result<std::string> RandomHex(size_t count) {
  std::vector<unsigned char> bytes(count);
  if (RAND_bytes(bytes.data(), static_cast<int>(count)) != 1) {
    return arrow::Status::IOError("the system's random number generator failed");
  }
  return Hex(bytes.data(), count);
}

std::string NowIso() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::vector<std::string> Split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t end = text.find(separator, start);
    parts.emplace_back(text.substr(start, end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return parts;
}

std::string Join(const std::vector<std::string>& parts, char separator) {
  std::string out;
  for (const std::string& part : parts) {
    if (!out.empty()) out += separator;
    out += part;
  }
  return out;
}

bool IsHex(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// The id inside "nlk_<id>_<secret>", or empty when the token does not have that shape.
std::string_view TokenId(std::string_view token) {
  if (token.size() != kPrefix.size() + 2 * kIdBytes + 1 + 2 * kSecretBytes) return {};
  if (token.substr(0, kPrefix.size()) != kPrefix) return {};
  std::string_view id = token.substr(kPrefix.size(), 2 * kIdBytes);
  if (token[kPrefix.size() + id.size()] != '_') return {};
  std::string_view secret = token.substr(kPrefix.size() + id.size() + 1);
  if (!IsHex(id) || !IsHex(secret)) return {};
  return id;
}

}  // namespace

arrow::Status ValidateTokenName(std::string_view kind, std::string_view name) {
  bool valid =
      !name.empty() && name.size() <= 128 && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '@' ||
               c == '-';
      });
  if (!valid) {
    return arrow::Status::Invalid(kind, " '", name,
                                  "' must be 1 to 128 letters, digits, '.', '_', '@' or '-'");
  }
  return arrow::Status::OK();
}

arrow::Result<std::vector<TokenRecord>> ParseTokenFile(std::string_view text,
                                                       const std::string& path) {
  std::vector<TokenRecord> records;
  int line_number = 0;
  bool header_seen = false;
  for (const std::string& line : Split(text, '\n')) {
    ++line_number;
    if (line.empty()) continue;
    if (line[0] == '#') {
      if (line_number == 1) header_seen = line == kHeader;
      continue;
    }
    auto error = [&](const std::string& why) {
      return arrow::Status::Invalid(path, ":", line_number, ": ", why);
    };
    if (!header_seen) return error("not a tokens file (the first line must be '# nlk tokens v1')");
    std::vector<std::string> fields = Split(line, '\t');
    if (fields.size() != 6) {
      return error("expected 6 tab-separated fields, found " + std::to_string(fields.size()));
    }
    TokenRecord record;
    record.id = fields[0];
    record.hash = fields[1];
    record.principal = fields[2];
    if (!fields[3].empty()) record.groups = Split(fields[3], ',');
    record.created = fields[4];
    if (fields[5] != "-") record.revoked = fields[5];
    if (record.id.size() != 2 * kIdBytes || !IsHex(record.id)) return error("malformed token id");
    if (record.hash.size() != 64 || !IsHex(record.hash)) return error("malformed token hash");
    auto valid = ValidateTokenName("principal", record.principal);
    if (!valid.ok()) return error(valid.message());
    for (const std::string& group : record.groups) {
      valid = ValidateTokenName("group", group);
      if (!valid.ok()) return error(valid.message());
    }
    for (const TokenRecord& earlier : records) {
      if (earlier.id == record.id) return error("token id " + record.id + " appears twice");
    }
    records.push_back(std::move(record));
  }
  return records;
}

arrow::Result<std::vector<TokenRecord>> TokenFile::Read() const {
  struct stat info {};
  if (::stat(path_.c_str(), &info) != 0) {
    if (errno == ENOENT) return std::vector<TokenRecord>();
    return arrow::Status::IOError("cannot read tokens file ", path_, ": ", std::strerror(errno));
  }
  std::ifstream in(path_, std::ios::binary);
  if (!in) return arrow::Status::IOError("cannot read tokens file ", path_);
  std::stringstream text;
  text << in.rdbuf();
  return ParseTokenFile(text.str(), path_);
}

arrow::Status TokenFile::Write(const std::vector<TokenRecord>& records) const {
  std::string text = std::string(kHeader) + "\n";
  for (const TokenRecord& record : records) {
    text += record.id + "\t" + record.hash + "\t" + record.principal + "\t" +
            Join(record.groups, ',') + "\t" + record.created + "\t" +
            (record.revoked.empty() ? "-" : record.revoked) + "\n";
  }
  std::string temporary = path_ + ".tmp." + std::to_string(::getpid());
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return arrow::Status::IOError("cannot write ", temporary, ": ", std::strerror(errno));
  }
  size_t written = 0;
  while (written < text.size()) {
    ssize_t count = ::write(fd, text.data() + written, text.size() - written);
    if (count < 0 && errno == EINTR) continue;
    if (count <= 0) {
      int saved = errno;
      ::close(fd);
      ::unlink(temporary.c_str());
      return arrow::Status::IOError("cannot write ", temporary, ": ", std::strerror(saved));
    }
    written += static_cast<size_t>(count);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(temporary.c_str());
    return arrow::Status::IOError("cannot write ", temporary, ": ", std::strerror(errno));
  }
  if (::rename(temporary.c_str(), path_.c_str()) != 0) {
    int saved = errno;
    ::unlink(temporary.c_str());
    return arrow::Status::IOError("cannot replace ", path_, ": ", std::strerror(saved));
  }
  return arrow::Status::OK();
}

arrow::Result<std::string> TokenFile::Create(const std::string& principal,
                                             const std::vector<std::string>& groups) {
  ARROW_RETURN_NOT_OK(ValidateTokenName("principal", principal));
  for (const std::string& group : groups) ARROW_RETURN_NOT_OK(ValidateTokenName("group", group));
  ARROW_ASSIGN_OR_RAISE(std::vector<TokenRecord> records, Read());
  TokenRecord record;
  bool unique = false;
  while (!unique) {
    ARROW_ASSIGN_OR_RAISE(record.id, RandomHex(kIdBytes));
    unique = std::none_of(records.begin(), records.end(),
                          [&](const TokenRecord& other) { return other.id == record.id; });
  }
  ARROW_ASSIGN_OR_RAISE(std::string secret, RandomHex(kSecretBytes));
  std::string token = std::string(kPrefix) + record.id + "_" + secret;
  record.hash = Sha256Hex(token);
  record.principal = principal;
  record.groups = groups;
  record.created = NowIso();
  records.push_back(std::move(record));
  ARROW_RETURN_NOT_OK(Write(records));
  return token;
}

arrow::Status TokenFile::Revoke(const std::string& id) {
  ARROW_ASSIGN_OR_RAISE(std::vector<TokenRecord> records, Read());
  for (TokenRecord& record : records) {
    if (record.id != id) continue;
    if (!record.revoked.empty()) {
      return arrow::Status::Invalid("token ", id, " was revoked already (", record.revoked, ")");
    }
    record.revoked = NowIso();
    return Write(records);
  }
  return arrow::Status::KeyError("no token with id '", id, "' in ", path_);
}

arrow::Result<std::shared_ptr<TokenStore>> TokenStore::Open(std::string path,
                                                            std::chrono::milliseconds recheck) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    return arrow::Status::IOError("cannot read tokens file ", path, ": ", std::strerror(errno),
                                  " (create it with `nlk auth token create --tokens ", path,
                                  " --principal NAME`)");
  }
  std::shared_ptr<TokenStore> store(new TokenStore(std::move(path), recheck));
  std::lock_guard<std::mutex> lock(store->mutex_);
  store->RefreshLocked();
  if (!store->load_error_.empty()) return arrow::Status::Invalid(store->load_error_);
  return store;
}

void TokenStore::RefreshLocked() {
  checked_ = std::chrono::steady_clock::now();
  struct stat info {};
  if (::stat(path_.c_str(), &info) != 0) {
    load_error_ = "cannot read tokens file " + path_ + ": " + std::strerror(errno);
    records_.clear();
    size_ = -1;
    return;
  }
  if (size_ == info.st_size && modified_.tv_sec == info.st_mtim.tv_sec &&
      modified_.tv_nsec == info.st_mtim.tv_nsec && load_error_.empty()) {
    return;
  }
  auto records = TokenFile(path_).Read();
  ++reloads_;
  modified_ = info.st_mtim;
  size_ = info.st_size;
  if (!records.ok()) {
    load_error_ = records.status().message();
    records_.clear();
    return;
  }
  load_error_.clear();
  records_ = std::move(*records);
}

std::optional<Identity> TokenStore::Authenticate(std::string_view token) {
  std::string_view id = TokenId(token);
  if (id.empty()) return std::nullopt;
  std::string hash = Sha256Hex(token);
  std::lock_guard<std::mutex> lock(mutex_);
  if (std::chrono::steady_clock::now() - checked_ >= recheck_) RefreshLocked();
  for (const TokenRecord& record : records_) {
    if (record.id != id) continue;
    if (!record.revoked.empty()) return std::nullopt;
    if (CRYPTO_memcmp(record.hash.data(), hash.data(), hash.size()) != 0) return std::nullopt;
    return Identity{record.id, record.principal, record.groups};
  }
  return std::nullopt;
}

std::string TokenStore::load_error() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return load_error_;
}

int64_t TokenStore::reloads() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return reloads_;
}

}  // namespace nlk::server
