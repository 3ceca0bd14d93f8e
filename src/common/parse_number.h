// Strict parsing of a whole string as a number, without exceptions: the replacement for
// std::stoll/std::stod wherever the text comes from a user, a file or the network.
#pragma once

#include <charconv>
#include <optional>
#include <string_view>
#include <system_error>

namespace nlk {

// The number `text` spells, or nullopt when it is empty, has anything around the number, or is
// outside T's range (for floating point: beyond its finite range, or so small it underflows).
template <typename T>
std::optional<T> ParseNumber(std::string_view text) {
  T value{};
  const char* end = text.data() + text.size();
  auto [stop, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || stop != end) return std::nullopt;
  return value;
}

}  // namespace nlk
