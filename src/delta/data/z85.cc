#include "delta/data/z85.h"

#include <array>

namespace nlk::delta::data {
namespace {

constexpr std::string_view kAlphabet =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

// Character -> digit, or -1 for characters outside the alphabet.
constexpr std::array<int8_t, 256> MakeDecodeTable() {
  std::array<int8_t, 256> table{};
  for (auto& entry : table) entry = -1;
  for (size_t i = 0; i < kAlphabet.size(); ++i) {
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  }
  return table;
}
constexpr std::array<int8_t, 256> kDecodeTable = MakeDecodeTable();

}  // namespace

arrow::Result<std::string> Z85Encode(std::string_view bytes) {
  if (bytes.size() % 4 != 0) {
    return arrow::Status::Invalid("Z85 encodes whole 4-byte groups; got ", bytes.size(),
                                  " bytes (pad the input to a multiple of 4)");
  }
  std::string text;
  text.reserve(bytes.size() / 4 * 5);
  for (size_t i = 0; i < bytes.size(); i += 4) {
    uint32_t value = 0;
    for (size_t j = 0; j < 4; ++j) value = value << 8 | static_cast<unsigned char>(bytes[i + j]);
    char group[5];
    for (int j = 4; j >= 0; --j) {
      group[j] = kAlphabet[value % 85];
      value /= 85;
    }
    text.append(group, 5);
  }
  return text;
}

arrow::Result<std::string> Z85Decode(std::string_view text) {
  if (text.size() % 5 != 0) {
    return arrow::Status::Invalid("Z85 text length must be a multiple of 5; got ", text.size(),
                                  " characters");
  }
  std::string bytes;
  bytes.reserve(text.size() / 5 * 4);
  for (size_t i = 0; i < text.size(); i += 5) {
    uint64_t value = 0;
    for (size_t j = 0; j < 5; ++j) {
      int8_t digit = kDecodeTable[static_cast<unsigned char>(text[i + j])];
      if (digit < 0) {
        return arrow::Status::Invalid("invalid Z85 character '", text[i + j], "' at offset ",
                                      i + j);
      }
      value = value * 85 + static_cast<uint64_t>(digit);
    }
    if (value > UINT32_MAX) {
      return arrow::Status::Invalid("Z85 group at offset ", i, " overflows 32 bits");
    }
    for (int shift = 24; shift >= 0; shift -= 8) {
      bytes.push_back(static_cast<char>((value >> shift) & 0xFF));
    }
  }
  return bytes;
}

}  // namespace nlk::delta::data
