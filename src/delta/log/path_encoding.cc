#include "delta/log/path_encoding.h"

#include "common/utf8.h"

#include <cstdint>

namespace nlk::delta {

namespace {

constexpr char kUpperHexDigits[] = "0123456789ABCDEF";

bool IsAllowedAscii(unsigned char byte) {
  if ((byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') ||
      (byte >= '0' && byte <= '9')) {
    return true;
  }
  switch (byte) {
    // RFC 2396 "mark"
    case '-':
    case '_':
    case '.':
    case '!':
    case '~':
    case '*':
    case '\'':
    case '(':
    case ')':
    // pchar extras and the segment separators java.net.URI keeps in a path
    case ';':
    case ':':
    case '@':
    case '&':
    case '=':
    case '+':
    case '$':
    case ',':
    case '/':
      return true;
    default:
      return false;
  }
}

void AppendPercentEncoded(std::string* out, unsigned char byte) {
  out->push_back('%');
  out->push_back(kUpperHexDigits[byte >> 4]);
  out->push_back(kUpperHexDigits[byte & 0xF]);
}

// java.lang.Character.isSpaceChar || isISOControl, for code points >= 0x80.
bool IsJavaSpaceOrControl(uint32_t code_point) {
  if (code_point >= 0x80 && code_point <= 0x9F) return true;
  switch (code_point) {
    case 0x00A0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return code_point >= 0x2000 && code_point <= 0x200A;
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Length of a leading "scheme://authority" (or "scheme:"), kept verbatim; 0 for relative paths.
size_t SchemeAndAuthorityLength(std::string_view path) {
  size_t position = 0;
  while (position < path.size()) {
    const char c = path[position];
    const bool scheme_char =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (position > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
    if (!scheme_char) break;
    ++position;
  }
  if (position == 0 || position >= path.size() || path[position] != ':') return 0;
  // A one-letter "scheme" is a Windows drive letter, not a URI scheme.
  if (position == 1) return 0;
  ++position;
  if (path.substr(position, 2) == "//") {
    const size_t authority_end = path.find('/', position + 2);
    return authority_end == std::string_view::npos ? path.size() : authority_end;
  }
  return position;
}

}  // namespace

std::string EncodeLogPath(std::string_view path) {
  std::string out;
  out.reserve(path.size() + 8);
  const size_t prefix = SchemeAndAuthorityLength(path);
  out.append(path.substr(0, prefix));
  size_t position = prefix;
  while (position < path.size()) {
    const auto byte = static_cast<unsigned char>(path[position]);
    if (byte < 0x80) {
      if (IsAllowedAscii(byte)) {
        out.push_back(static_cast<char>(byte));
      } else {
        AppendPercentEncoded(&out, byte);
      }
      ++position;
      continue;
    }
    uint32_t code_point = 0;
    const size_t length = DecodeUtf8(path, position, &code_point);
    if (length == 0) {
      AppendPercentEncoded(&out, byte);
      ++position;
      continue;
    }
    if (IsJavaSpaceOrControl(code_point)) {
      for (size_t i = 0; i < length; ++i) {
        AppendPercentEncoded(&out, static_cast<unsigned char>(path[position + i]));
      }
    } else {
      out.append(path.substr(position, length));
    }
    position += length;
  }
  return out;
}

std::string DecodeLogPath(std::string_view encoded) {
  std::string out;
  out.reserve(encoded.size());
  for (size_t position = 0; position < encoded.size(); ++position) {
    const char c = encoded[position];
    if (c == '%' && position + 2 < encoded.size()) {
      const int high = HexValue(encoded[position + 1]);
      const int low = HexValue(encoded[position + 2]);
      if (high >= 0 && low >= 0) {
        out.push_back(static_cast<char>(high * 16 + low));
        position += 2;
        continue;
      }
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace nlk::delta
