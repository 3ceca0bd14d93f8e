#include "delta/data/json_writer.h"

#include <cstdio>

namespace nlk::delta::data {

void AppendJsonString(std::string_view text, std::string* out) {
  out->push_back('"');
  for (char c : text) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
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
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof(escaped), "\\u%04x", static_cast<unsigned char>(c));
          out->append(escaped);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

void JsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!has_member_.empty()) {
    if (has_member_.back()) text_.push_back(',');
    has_member_.back() = true;
  }
}

void JsonWriter::BeginObject() {
  BeforeValue();
  text_.push_back('{');
  has_member_.push_back(false);
}

void JsonWriter::EndObject() {
  text_.push_back('}');
  has_member_.pop_back();
}

void JsonWriter::BeginArray() {
  BeforeValue();
  text_.push_back('[');
  has_member_.push_back(false);
}

void JsonWriter::EndArray() {
  text_.push_back(']');
  has_member_.pop_back();
}

void JsonWriter::Key(std::string_view name) {
  BeforeValue();
  AppendJsonString(name, &text_);
  text_.push_back(':');
  after_key_ = true;
}

void JsonWriter::String(std::string_view value) {
  BeforeValue();
  AppendJsonString(value, &text_);
}

void JsonWriter::Int(int64_t value) {
  BeforeValue();
  text_.append(std::to_string(value));
}

void JsonWriter::Bool(bool value) {
  BeforeValue();
  text_.append(value ? "true" : "false");
}

void JsonWriter::Null() {
  BeforeValue();
  text_.append("null");
}

void JsonWriter::Raw(std::string_view json) {
  BeforeValue();
  text_.append(json);
}

}  // namespace nlk::delta::data
