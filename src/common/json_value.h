// A small JSON parser producing a DOM, for log lines, _last_checkpoint, schema strings, column
// metadata and per-file statistics.
//
// Why not simdjson: the pyarrow wheel's libparquet exports its own bundled simdjson symbols,
// and binaries linking both bind the system simdjson headers to that other version (a crash in
// the first parse). A self-contained parser makes the layers using it immune to link order.
// Pure; thread-safe.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nlk {

class JsonValue {
 public:
  enum class Type { kNull, kBool, kInteger, kDouble, kString, kArray, kObject };

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool boolean() const { return boolean_; }
  int64_t integer() const { return integer_; }
  double number() const { return number_; }
  // For kDouble: the literal was an integer outside the int64 range.
  bool is_integer_overflow() const { return integer_overflow_; }
  const std::string& string() const { return string_; }
  const std::vector<JsonValue>& array() const { return array_; }
  const std::vector<std::pair<std::string, JsonValue>>& object() const { return object_; }
  // The first member named `key`, or nullptr.
  const JsonValue* Find(std::string_view key) const;
  // The exact source text of this value (valid while the parsed text is alive).
  std::string_view raw() const { return raw_; }
  // raw() without the whitespace between tokens, e.g. to store a nested document verbatim in
  // compact form. Literals (strings, numbers) are kept exactly as written.
  std::string CompactRaw() const;

  // "a string", "an object", ... for error messages.
  const char* TypeName() const;

 private:
  friend class JsonParser;

  Type type_ = Type::kNull;
  bool boolean_ = false;
  int64_t integer_ = 0;
  double number_ = 0;
  bool integer_overflow_ = false;
  std::string string_;
  std::vector<JsonValue> array_;
  std::vector<std::pair<std::string, JsonValue>> object_;
  std::string_view raw_;
};

// Documents nested deeper than this are refused: the parser recurses once per level.
constexpr int kDefaultMaxJsonDepth = 256;

// Parses one complete JSON document; trailing whitespace is allowed, anything else is not.
// Errors say what was expected and at which byte offset.
arrow::Result<JsonValue> ParseJson(std::string_view text, int max_depth = kDefaultMaxJsonDepth);

}  // namespace nlk
