#include "common/json_value.h"

#include <charconv>
#include <cstdlib>

#include "common/utf8.h"

namespace nlk {

const JsonValue* JsonValue::Find(std::string_view key) const {
  for (const auto& [name, value] : object_) {
    if (name == key) return &value;
  }
  return nullptr;
}

std::string JsonValue::CompactRaw() const {
  std::string compact;
  compact.reserve(raw_.size());
  bool in_string = false;
  bool escaped = false;
  for (const char c : raw_) {
    if (in_string) {
      compact.push_back(c);
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    if (c == '"') in_string = true;
    compact.push_back(c);
  }
  return compact;
}

const char* JsonValue::TypeName() const {
  switch (type_) {
    case Type::kNull:
      return "null";
    case Type::kBool:
      return "a boolean";
    case Type::kInteger:
    case Type::kDouble:
      return "a number";
    case Type::kString:
      return "a string";
    case Type::kArray:
      return "an array";
    case Type::kObject:
      return "an object";
  }
  return "a value";
}

class JsonParser {
 public:
  JsonParser(std::string_view text, int max_depth) : text_(text), max_depth_(max_depth) {}

  arrow::Result<JsonValue> ParseDocument() {
    JsonValue value;
    ARROW_RETURN_NOT_OK(ParseValue(&value, 0));
    SkipWhitespace();
    if (position_ != text_.size()) return Error("unexpected text after the JSON value");
    return value;
  }

 private:
  arrow::Status Error(std::string_view what) const {
    return arrow::Status::Invalid(what, " at byte ", position_);
  }

  void SkipWhitespace() {
    while (position_ < text_.size()) {
      const char c = text_[position_];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
      ++position_;
    }
  }

  bool Consume(std::string_view literal) {
    if (text_.substr(position_, literal.size()) != literal) return false;
    position_ += literal.size();
    return true;
  }

  arrow::Status ParseValue(JsonValue* value, int depth) {
    if (depth > max_depth_) return Error("JSON nested too deeply");
    SkipWhitespace();
    if (position_ >= text_.size()) return Error("unexpected end of input (truncated JSON?)");
    const size_t start = position_;
    const char c = text_[position_];
    arrow::Status status;
    if (c == '{') {
      status = ParseObject(value, depth);
    } else if (c == '[') {
      status = ParseArray(value, depth);
    } else if (c == '"') {
      value->type_ = JsonValue::Type::kString;
      status = ParseString(&value->string_);
    } else if (Consume("true")) {
      value->type_ = JsonValue::Type::kBool;
      value->boolean_ = true;
    } else if (Consume("false")) {
      value->type_ = JsonValue::Type::kBool;
    } else if (Consume("null")) {
      value->type_ = JsonValue::Type::kNull;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      status = ParseNumber(value);
    } else {
      return Error(std::string("unexpected character '") + c + "'");
    }
    ARROW_RETURN_NOT_OK(status);
    value->raw_ = text_.substr(start, position_ - start);
    return arrow::Status::OK();
  }

  arrow::Status ParseObject(JsonValue* value, int depth) {
    value->type_ = JsonValue::Type::kObject;
    ++position_;
    SkipWhitespace();
    if (Consume("}")) return arrow::Status::OK();
    while (true) {
      SkipWhitespace();
      if (position_ >= text_.size() || text_[position_] != '"') {
        return Error("expected a string key in an object");
      }
      std::string key;
      ARROW_RETURN_NOT_OK(ParseString(&key));
      SkipWhitespace();
      if (!Consume(":")) return Error("expected ':' after an object key");
      JsonValue member;
      ARROW_RETURN_NOT_OK(ParseValue(&member, depth + 1));
      value->object_.emplace_back(std::move(key), std::move(member));
      SkipWhitespace();
      if (Consume(",")) continue;
      if (Consume("}")) return arrow::Status::OK();
      return Error("expected ',' or '}' in an object");
    }
  }

  arrow::Status ParseArray(JsonValue* value, int depth) {
    value->type_ = JsonValue::Type::kArray;
    ++position_;
    SkipWhitespace();
    if (Consume("]")) return arrow::Status::OK();
    while (true) {
      JsonValue element;
      ARROW_RETURN_NOT_OK(ParseValue(&element, depth + 1));
      value->array_.push_back(std::move(element));
      SkipWhitespace();
      if (Consume(",")) continue;
      if (Consume("]")) return arrow::Status::OK();
      return Error("expected ',' or ']' in an array");
    }
  }

  arrow::Result<uint32_t> ParseHex4() {
    if (position_ + 4 > text_.size()) return Error("truncated \\u escape");
    uint32_t value = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[position_++];
      value <<= 4;
      if (c >= '0' && c <= '9') {
        value |= c - '0';
      } else if (c >= 'a' && c <= 'f') {
        value |= c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        value |= c - 'A' + 10;
      } else {
        return Error("invalid hex digit in a \\u escape");
      }
    }
    return value;
  }

  arrow::Status ParseString(std::string* out) {
    ++position_;  // opening quote
    while (true) {
      // Copy the run of characters that need no decoding in one append (stats and log lines
      // are mostly such runs).
      const size_t run_start = position_;
      while (position_ < text_.size()) {
        const auto byte = static_cast<unsigned char>(text_[position_]);
        if (byte == '"' || byte == '\\' || byte < 0x20) break;
        ++position_;
      }
      out->append(text_.data() + run_start, position_ - run_start);
      if (position_ >= text_.size()) return Error("unterminated string (truncated JSON?)");
      const char c = text_[position_++];
      if (c == '"') return arrow::Status::OK();
      if (static_cast<unsigned char>(c) < 0x20) return Error("control character in a string");
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (position_ >= text_.size()) return Error("unterminated escape");
      const char escape = text_[position_++];
      switch (escape) {
        case '"':
        case '\\':
        case '/':
          out->push_back(escape);
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          ARROW_ASSIGN_OR_RAISE(uint32_t code_point, ParseHex4());
          if (code_point >= 0xD800 && code_point <= 0xDBFF && Consume("\\u")) {
            ARROW_ASSIGN_OR_RAISE(uint32_t low, ParseHex4());
            if (low >= 0xDC00 && low <= 0xDFFF) {
              code_point = 0x10000 + ((code_point - 0xD800) << 10) + (low - 0xDC00);
            } else {
              AppendUtf8(0xFFFD, out);
              code_point = low;
            }
          }
          if (code_point >= 0xD800 && code_point <= 0xDFFF) code_point = 0xFFFD;
          AppendUtf8(code_point, out);
          break;
        }
        default:
          return Error(std::string("invalid escape '\\") + escape + "'");
      }
    }
  }

  arrow::Status ParseNumber(JsonValue* value) {
    const size_t start = position_;
    if (text_[position_] == '-') ++position_;
    auto digits = [&] {
      const size_t begin = position_;
      while (position_ < text_.size() && text_[position_] >= '0' && text_[position_] <= '9') {
        ++position_;
      }
      return position_ - begin;
    };
    if (digits() == 0) return Error("invalid number");
    bool is_integer = true;
    if (position_ < text_.size() && text_[position_] == '.') {
      ++position_;
      if (digits() == 0) return Error("invalid number");
      is_integer = false;
    }
    if (position_ < text_.size() && (text_[position_] == 'e' || text_[position_] == 'E')) {
      ++position_;
      if (position_ < text_.size() && (text_[position_] == '+' || text_[position_] == '-')) {
        ++position_;
      }
      if (digits() == 0) return Error("invalid number");
      is_integer = false;
    }
    const std::string_view literal = text_.substr(start, position_ - start);
    if (is_integer) {
      int64_t integer = 0;
      const auto [end, error] =
          std::from_chars(literal.data(), literal.data() + literal.size(), integer);
      if (error == std::errc() && end == literal.data() + literal.size()) {
        value->type_ = JsonValue::Type::kInteger;
        value->integer_ = integer;
        value->number_ = static_cast<double>(integer);
        return arrow::Status::OK();
      }
      value->integer_overflow_ = true;
    }
    value->type_ = JsonValue::Type::kDouble;
    // from_chars needs no NUL-terminated copy; it declines values outside the double range,
    // for which strtod's answer (infinity, or zero for underflow) is kept.
    const auto [end, error] =
        std::from_chars(literal.data(), literal.data() + literal.size(), value->number_);
    if (error != std::errc() || end != literal.data() + literal.size()) {
      value->number_ = std::strtod(std::string(literal).c_str(), nullptr);
    }
    return arrow::Status::OK();
  }

  std::string_view text_;
  const int max_depth_;
  size_t position_ = 0;
};

arrow::Result<JsonValue> ParseJson(std::string_view text, int max_depth) {
  return JsonParser(text, max_depth).ParseDocument();
}

}  // namespace nlk
