#include "common/utf8.h"

namespace nlk {

size_t DecodeUtf8(std::string_view text, size_t position, uint32_t* code_point) {
  const auto byte = static_cast<unsigned char>(text[position]);
  size_t length = 0;
  uint32_t value = 0;
  if (byte >= 0xC2 && byte <= 0xDF) {
    length = 2;
    value = byte & 0x1F;
  } else if (byte >= 0xE0 && byte <= 0xEF) {
    length = 3;
    value = byte & 0x0F;
  } else if (byte >= 0xF0 && byte <= 0xF4) {
    length = 4;
    value = byte & 0x07;
  } else {
    return 0;
  }
  if (position + length > text.size()) return 0;
  for (size_t i = 1; i < length; ++i) {
    const auto continuation = static_cast<unsigned char>(text[position + i]);
    if ((continuation & 0xC0) != 0x80) return 0;
    value = (value << 6) | (continuation & 0x3F);
  }
  if ((length == 3 && value < 0x800) || (length == 4 && value < 0x10000) ||
      (value >= 0xD800 && value <= 0xDFFF) || value > 0x10FFFF) {
    return 0;
  }
  *code_point = value;
  return length;
}

void AppendUtf8(uint32_t code_point, std::string* out) {
  if (code_point < 0x80) {
    out->push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else if (code_point < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (code_point >> 12)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (code_point >> 18)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
}

}  // namespace nlk
