// A small streaming JSON writer for log lines: compact output, keys in the order written.
//
// Strings are written as UTF-8 with the escapes JSON requires ('"', '\\', control characters).
// Bytes that are not valid UTF-8 are written as \u00XX (their Latin-1 reading) so the output is
// always valid JSON. Not thread-safe; use one writer per document.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nlk {

void AppendJsonString(std::string* out, std::string_view value);

class JsonWriter {
 public:
  void BeginObject();
  void EndObject();
  void BeginArray();
  void EndArray();
  // Writes an object key; the next value call writes its value.
  void Key(std::string_view key);
  void String(std::string_view value);
  void Int(int64_t value);
  void Bool(bool value);
  void Null();
  // Inserts an already serialized JSON value verbatim.
  void Raw(std::string_view json);

  const std::string& str() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  void BeforeValue();

  std::string out_;
  // One entry per open container: whether it still has no element.
  std::vector<bool> container_is_empty_;
  bool after_key_ = false;
};

}  // namespace nlk
