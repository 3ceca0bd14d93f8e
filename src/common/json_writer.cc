#include "common/json_writer.h"

namespace nlk {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

void AppendUnicodeEscape(std::string* out, unsigned char byte) {
  out->append("\\u00");
  out->push_back(kHexDigits[byte >> 4]);
  out->push_back(kHexDigits[byte & 0xF]);
}

// Length of the valid UTF-8 sequence starting at `position`, or 0 if it is not valid.
size_t ValidUtf8SequenceLength(std::string_view text, size_t position) {
  const auto byte = static_cast<unsigned char>(text[position]);
  size_t length = 0;
  uint32_t code_point = 0;
  if (byte >= 0xC2 && byte <= 0xDF) {
    length = 2;
    code_point = byte & 0x1F;
  } else if (byte >= 0xE0 && byte <= 0xEF) {
    length = 3;
    code_point = byte & 0x0F;
  } else if (byte >= 0xF0 && byte <= 0xF4) {
    length = 4;
    code_point = byte & 0x07;
  } else {
    return 0;
  }
  if (position + length > text.size()) return 0;
  for (size_t i = 1; i < length; ++i) {
    const auto continuation = static_cast<unsigned char>(text[position + i]);
    if ((continuation & 0xC0) != 0x80) return 0;
    code_point = (code_point << 6) | (continuation & 0x3F);
  }
  // Reject overlong forms, surrogates and values past U+10FFFF.
  if ((length == 3 && code_point < 0x800) || (length == 4 && code_point < 0x10000) ||
      (code_point >= 0xD800 && code_point <= 0xDFFF) || code_point > 0x10FFFF) {
    return 0;
  }
  return length;
}

}  // namespace

void AppendJsonString(std::string* out, std::string_view value) {
  out->push_back('"');
  size_t position = 0;
  while (position < value.size()) {
    const auto byte = static_cast<unsigned char>(value[position]);
    if (byte < 0x80) {
      switch (byte) {
        case '"':
          out->append("\\\"");
          break;
        case '\\':
          out->append("\\\\");
          break;
        case '\b':
          out->append("\\b");
          break;
        case '\f':
          out->append("\\f");
          break;
        case '\n':
          out->append("\\n");
          break;
        case '\r':
          out->append("\\r");
          break;
        case '\t':
          out->append("\\t");
          break;
        default:
          if (byte < 0x20) {
            AppendUnicodeEscape(out, byte);
          } else {
            out->push_back(static_cast<char>(byte));
          }
      }
      ++position;
      continue;
    }
    const size_t length = ValidUtf8SequenceLength(value, position);
    if (length == 0) {
      AppendUnicodeEscape(out, byte);
      ++position;
    } else {
      out->append(value.substr(position, length));
      position += length;
    }
  }
  out->push_back('"');
}

void JsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!container_is_empty_.empty()) {
    if (!container_is_empty_.back()) out_.push_back(',');
    container_is_empty_.back() = false;
  }
}

void JsonWriter::BeginObject() {
  BeforeValue();
  out_.push_back('{');
  container_is_empty_.push_back(true);
}

void JsonWriter::EndObject() {
  out_.push_back('}');
  container_is_empty_.pop_back();
}

void JsonWriter::BeginArray() {
  BeforeValue();
  out_.push_back('[');
  container_is_empty_.push_back(true);
}

void JsonWriter::EndArray() {
  out_.push_back(']');
  container_is_empty_.pop_back();
}

void JsonWriter::Key(std::string_view key) {
  BeforeValue();
  AppendJsonString(&out_, key);
  out_.push_back(':');
  after_key_ = true;
}

void JsonWriter::String(std::string_view value) {
  BeforeValue();
  AppendJsonString(&out_, value);
}

void JsonWriter::Int(int64_t value) {
  BeforeValue();
  out_.append(std::to_string(value));
}

void JsonWriter::Bool(bool value) {
  BeforeValue();
  out_.append(value ? "true" : "false");
}

void JsonWriter::Null() {
  BeforeValue();
  out_.append("null");
}

void JsonWriter::Raw(std::string_view json) {
  BeforeValue();
  out_.append(json);
}

}  // namespace nlk
