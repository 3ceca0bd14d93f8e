// A minimal JSON text builder for the small documents this layer emits (schema strings, stats).
//
// simdjson only parses, so emitting JSON needs its own helper. The builder inserts commas
// between members itself, so callers cannot produce malformed separators.
//
// Thread-safety: a JsonWriter is a plain value; use one per thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nlk::delta::data {

// Appends `text` as a quoted JSON string, escaping quotes, backslashes and control characters.
void AppendJsonString(std::string_view text, std::string* out);

class JsonWriter {
 public:
  void BeginObject();
  void EndObject();
  void BeginArray();
  void EndArray();
  // Writes an object member name; the next value call writes its value.
  void Key(std::string_view name);
  void String(std::string_view value);
  void Int(int64_t value);
  void Bool(bool value);
  void Null();
  // Writes pre-formatted JSON (a number, or a whole nested document) verbatim.
  void Raw(std::string_view json);

  const std::string& text() const { return text_; }

 private:
  // Emits the separator a value needs at the current position.
  void BeforeValue();

  std::string text_;
  // One entry per open object/array: whether it already holds a member.
  std::vector<bool> has_member_;
  bool after_key_ = false;
};

}  // namespace nlk::delta::data
