// Lenient reads of JSON trees, as libpg_query's parse trees are read: a missing field, or one of
// another type, reads as empty (a null node, "", 0, false), since the tree leaves out fields
// that hold their default. Unwrap splits a node {"NodeType": {...fields}} into its type and
// fields.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "common/json_value.h"

namespace nlk {

// The null node that missing fields read as.
inline const JsonValue& NullJsonNode() {
  static const JsonValue null;
  return null;
}

inline std::pair<std::string_view, const JsonValue*> Unwrap(const JsonValue& node) {
  if (node.type() != JsonValue::Type::kObject || node.object().empty()) {
    return {"", &NullJsonNode()};
  }
  return {node.object().front().first, &node.object().front().second};
}

inline const JsonValue& Field(const JsonValue& object, std::string_view key) {
  const JsonValue* found = object.Find(key);
  return found == nullptr ? NullJsonNode() : *found;
}

inline std::string StringField(const JsonValue& object, std::string_view key) {
  const JsonValue& value = Field(object, key);
  return value.type() == JsonValue::Type::kString ? value.string() : std::string();
}

inline int64_t IntegerField(const JsonValue& object, std::string_view key) {
  const JsonValue& value = Field(object, key);
  return value.type() == JsonValue::Type::kInteger ? value.integer() : 0;
}

inline bool BoolField(const JsonValue& object, std::string_view key) {
  const JsonValue& value = Field(object, key);
  return value.type() == JsonValue::Type::kBool && value.boolean();
}

}  // namespace nlk
