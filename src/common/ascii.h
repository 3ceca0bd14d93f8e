// ASCII case folding for protocol words, SQL keywords and host names (never for user data,
// which may be any Unicode).
#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

namespace nlk {

inline std::string AsciiLower(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower;
}

}  // namespace nlk
