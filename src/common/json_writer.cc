#include "common/json_writer.h"

#include "common/utf8.h"

namespace nlk {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

void AppendUnicodeEscape(std::string* out, unsigned char byte) {
  out->append("\\u00");
  out->push_back(kHexDigits[byte >> 4]);
  out->push_back(kHexDigits[byte & 0xF]);
}

}  // namespace

void AppendJsonString(std::string* out, std::string_view value) {
  out->push_back('"');
  size_t position = 0;
  while (position < value.size()) {
    // Printable ASCII other than '"' and '\\' is copied as it is, a run at a time.
    size_t plain = position;
    while (plain < value.size()) {
      const auto next = static_cast<unsigned char>(value[plain]);
      if (next < 0x20 || next >= 0x80 || next == '"' || next == '\\') break;
      ++plain;
    }
    out->append(value.data() + position, plain - position);
    position = plain;
    if (position == value.size()) break;
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
    uint32_t code_point = 0;
    const size_t length = DecodeUtf8(value, position, &code_point);
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
