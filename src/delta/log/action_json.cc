#include "delta/log/action_json.h"

#include <limits>

#include "common/json_value.h"
#include "common/json_writer.h"
#include "delta/log/action_schema.h"
#include "delta/log/log_error.h"
#include "delta/log/path_encoding.h"

namespace nlk::delta {

namespace {

namespace schema = action_schema;

// Reads the fields of one JSON object, producing errors that say where the bad value is.
class FieldReader {
 public:
  FieldReader(const JsonValue& fields, std::string field_prefix, std::string_view source,
              int64_t line_number)
      : fields_(&fields),
        prefix_(std::move(field_prefix)),
        source_(source),
        line_number_(line_number) {}

  arrow::Status Error(std::string_view key, std::string_view problem) const {
    return LogError(LogErrorKind::kCorruptLog,
                    "Invalid Delta log entry in " + std::string(source_) + " line " +
                        std::to_string(line_number_) + ": field '" + prefix_ + std::string(key) +
                        "' " + std::string(problem));
  }

  // The value, or nullptr when the key is absent or null (the protocol treats both alike).
  const JsonValue* Find(std::string_view key) const {
    const JsonValue* value = fields_->Find(key);
    return value == nullptr || value->is_null() ? nullptr : value;
  }

  arrow::Status WrongType(std::string_view key, std::string_view expected,
                          const JsonValue& value) const {
    return Error(key, "must be " + std::string(expected) + ", got " + value.TypeName());
  }

  arrow::Status Missing(std::string_view key) const { return Error(key, "is required"); }

  arrow::Result<std::optional<std::string>> OptionalString(std::string_view key) const {
    const JsonValue* value = Find(key);
    if (value == nullptr) return std::nullopt;
    if (value->type() != JsonValue::Type::kString) return WrongType(key, "a string", *value);
    return value->string();
  }

  arrow::Result<std::string> RequiredString(std::string_view key) const {
    ARROW_ASSIGN_OR_RAISE(auto text, OptionalString(key));
    if (!text) return Missing(key);
    return std::move(*text);
  }

  arrow::Result<std::optional<int64_t>> OptionalInt(std::string_view key) const {
    const JsonValue* value = Find(key);
    if (value == nullptr) return std::nullopt;
    if (value->type() == JsonValue::Type::kInteger) return value->integer();
    if (value->is_integer_overflow()) {
      return Error(key, "is out of the range of a 64-bit signed integer");
    }
    return WrongType(key, "an integer", *value);
  }

  arrow::Result<int64_t> RequiredInt(std::string_view key) const {
    ARROW_ASSIGN_OR_RAISE(auto number, OptionalInt(key));
    if (!number) return Missing(key);
    return *number;
  }

  arrow::Result<std::optional<int32_t>> OptionalInt32(std::string_view key) const {
    ARROW_ASSIGN_OR_RAISE(auto number, OptionalInt(key));
    if (!number) return std::nullopt;
    if (*number < std::numeric_limits<int32_t>::min() ||
        *number > std::numeric_limits<int32_t>::max()) {
      return Error(key, "is out of the range of a 32-bit integer");
    }
    return static_cast<int32_t>(*number);
  }

  arrow::Result<int32_t> RequiredInt32(std::string_view key) const {
    ARROW_ASSIGN_OR_RAISE(auto number, OptionalInt32(key));
    if (!number) return Missing(key);
    return *number;
  }

  arrow::Result<std::optional<bool>> OptionalBool(std::string_view key) const {
    const JsonValue* value = Find(key);
    if (value == nullptr) return std::nullopt;
    if (value->type() != JsonValue::Type::kBool) return WrongType(key, "a boolean", *value);
    return value->boolean();
  }

  arrow::Result<std::optional<std::vector<std::string>>> OptionalStringArray(
      std::string_view key) const {
    const JsonValue* value = Find(key);
    if (value == nullptr) return std::nullopt;
    if (value->type() != JsonValue::Type::kArray) {
      return WrongType(key, "an array of strings", *value);
    }
    std::vector<std::string> strings;
    for (const JsonValue& item : value->array()) {
      if (item.type() != JsonValue::Type::kString) {
        return Error(key, std::string("must hold only strings, got ") + item.TypeName());
      }
      strings.push_back(item.string());
    }
    return strings;
  }

  // A string map whose null values map to nullopt (partition values).
  arrow::Result<std::optional<PartitionValues>> OptionalNullableStringMap(
      std::string_view key) const {
    const JsonValue* value = Find(key);
    if (value == nullptr) return std::nullopt;
    if (value->type() != JsonValue::Type::kObject) {
      return WrongType(key, "an object of strings", *value);
    }
    PartitionValues map;
    for (const auto& [name, entry] : value->object()) {
      if (entry.is_null()) {
        map.insert_or_assign(name, std::nullopt);
      } else if (entry.type() == JsonValue::Type::kString) {
        map.insert_or_assign(name, entry.string());
      } else {
        return Error(key, "must map to strings, got " + std::string(entry.TypeName()) +
                              " for key '" + name + "'");
      }
    }
    return map;
  }

  arrow::Result<std::optional<StringMap>> OptionalStringMap(std::string_view key) const {
    ARROW_ASSIGN_OR_RAISE(auto nullable, OptionalNullableStringMap(key));
    if (!nullable) return std::nullopt;
    StringMap map;
    for (auto& [name, value] : *nullable) {
      // Configuration maps hold no nulls in practice; a null reads as "unset".
      if (value) map.emplace(name, std::move(*value));
    }
    return map;
  }

  arrow::Result<std::optional<FieldReader>> OptionalObject(std::string_view key) const {
    const JsonValue* value = Find(key);
    if (value == nullptr) return std::nullopt;
    if (value->type() != JsonValue::Type::kObject) return WrongType(key, "an object", *value);
    return FieldReader(*value, prefix_ + std::string(key) + ".", source_, line_number_);
  }

 private:
  const JsonValue* fields_;
  std::string prefix_;
  std::string_view source_;
  int64_t line_number_;
};

arrow::Result<CommitInfo> ParseCommitInfo(const FieldReader& reader, const JsonValue& raw) {
  CommitInfo info;
  // The object as written: a log line holds no newlines, so it stays one line when rewritten.
  info.json = std::string(raw.raw());
  // commitInfo is free-form: a field of an unexpected type is not worth refusing the table.
  auto timestamp = reader.OptionalInt("timestamp");
  if (timestamp.ok()) info.timestamp = *timestamp;
  ARROW_ASSIGN_OR_RAISE(info.in_commit_timestamp, reader.OptionalInt("inCommitTimestamp"));
  auto operation = reader.OptionalString("operation");
  if (operation.ok()) info.operation = *operation;
  auto blind_append = reader.OptionalBool("isBlindAppend");
  if (blind_append.ok()) info.is_blind_append = *blind_append;
  return info;
}

// The value of `key` as T (a value type of action_schema.h), or nullopt when absent or null.
template <typename T>
arrow::Result<std::optional<T>> ReadValue(const FieldReader& reader, std::string_view key) {
  if constexpr (std::is_same_v<T, std::string>) {
    return reader.OptionalString(key);
  } else if constexpr (std::is_same_v<T, char>) {
    // The one character field: deletionVector.storageType.
    ARROW_ASSIGN_OR_RAISE(auto text, reader.OptionalString(key));
    if (!text) return std::nullopt;
    if (text->size() != 1) {
      return reader.Error(key, "must be one character ('u', 'i' or 'p'), got '" + *text + "'");
    }
    return (*text)[0];
  } else if constexpr (std::is_same_v<T, int64_t>) {
    return reader.OptionalInt(key);
  } else if constexpr (std::is_same_v<T, int32_t>) {
    return reader.OptionalInt32(key);
  } else if constexpr (std::is_same_v<T, bool>) {
    return reader.OptionalBool(key);
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    return reader.OptionalStringArray(key);
  } else if constexpr (std::is_same_v<T, PartitionValues>) {
    return reader.OptionalNullableStringMap(key);
  } else {
    static_assert(std::is_same_v<T, StringMap>, "a field type action_schema.h does not list");
    return reader.OptionalStringMap(key);
  }
}

template <typename Owner, typename Fields>
arrow::Status ReadFields(const FieldReader& reader, const Fields& fields, Owner* out);

// Reads one element of a description (a field, an object or a group) into `out`.
template <typename Owner, typename Element>
arrow::Status ReadElement(const FieldReader& reader, const Element& element, Owner* out) {
  if constexpr (schema::IsField<Element>::value) {
    using Value = schema::ValueTypeOf<typename Element::MemberType>;
    ARROW_ASSIGN_OR_RAISE(std::optional<Value> value, ReadValue<Value>(reader, element.name));
    if (!value) {
      if (element.presence != schema::Presence::kOptional) return reader.Missing(element.name);
      return arrow::Status::OK();
    }
    if constexpr (std::is_same_v<Value, std::string>) {
      if (element.flags & schema::kLogPath) *value = DecodeLogPath(*value);
    }
    out->*element.member = std::move(*value);
  } else if constexpr (schema::IsObject<Element>::value) {
    ARROW_ASSIGN_OR_RAISE(auto nested, reader.OptionalObject(element.name));
    if (!nested) return arrow::Status::OK();
    typename Element::ChildType child;
    ARROW_RETURN_NOT_OK(ReadFields(*nested, element.fields, &child));
    out->*element.member = std::move(child);
  } else {
    static_assert(schema::IsGroup<Element>::value);
    ARROW_ASSIGN_OR_RAISE(auto nested, reader.OptionalObject(element.name));
    if (!nested) return arrow::Status::OK();
    return ReadFields(*nested, element.fields, out);
  }
  return arrow::Status::OK();
}

template <typename Owner, typename Fields>
arrow::Status ReadFields(const FieldReader& reader, const Fields& fields, Owner* out) {
  return schema::ForEachUntilError<arrow::Status>(
      fields, [&](const auto& element) { return ReadElement(reader, element, out); });
}

// Parses the body of a described action named `kind`; nullopt when no action has that name.
std::optional<arrow::Result<Action>> ParseDescribed(std::string_view kind,
                                                    const FieldReader& reader) {
  std::optional<arrow::Result<Action>> parsed;
  schema::ForEach(schema::kActions, [&](const auto& description) {
    if (parsed || kind != description.name) return;
    typename std::decay_t<decltype(description)>::ActionType action;
    arrow::Status status = ReadFields(reader, description.fields, &action);
    parsed = status.ok() ? arrow::Result<Action>(std::move(action)) : arrow::Result<Action>(status);
  });
  return parsed;
}

bool IsDescribed(std::string_view kind) {
  bool found = false;
  schema::ForEach(schema::kActions,
                  [&](const auto& description) { found = found || kind == description.name; });
  return found;
}

arrow::Result<std::optional<Action>> ParseLine(std::string_view line, std::string_view source,
                                               int64_t line_number) {
  if (line.find_first_not_of(" \t\r") == std::string_view::npos) return std::nullopt;
  auto where = [&] {
    return "Invalid Delta log entry in " + std::string(source) + " line " +
           std::to_string(line_number) + ": ";
  };
  auto parsed = ParseJson(line);
  if (!parsed.ok()) {
    return LogError(LogErrorKind::kCorruptLog,
                    where() + "malformed JSON (" + parsed.status().message() +
                        "); the file may be truncated or was not written by a Delta writer");
  }
  const JsonValue& root = *parsed;
  if (root.type() != JsonValue::Type::kObject) {
    return LogError(LogErrorKind::kCorruptLog,
                    where() + "expected a JSON object, got " + root.TypeName());
  }
  for (const auto& [kind, body] : root.object()) {
    const bool known = kind == "commitInfo" || IsDescribed(kind);
    if (!known || body.is_null()) continue;
    if (body.type() != JsonValue::Type::kObject) {
      return LogError(LogErrorKind::kCorruptLog,
                      where() + "action '" + kind + "' must be an object, got " + body.TypeName());
    }
    FieldReader reader(body, kind + ".", source, line_number);
    if (kind == "commitInfo") return ParseCommitInfo(reader, body);
    std::optional<arrow::Result<Action>> parsed = ParseDescribed(kind, reader);
    ARROW_ASSIGN_OR_RAISE(Action action, std::move(*parsed));
    return action;
  }
  return std::nullopt;
}

void WriteStringMap(JsonWriter& writer, const StringMap& map) {
  writer.BeginObject();
  for (const auto& [key, value] : map) {
    writer.Key(key);
    writer.String(value);
  }
  writer.EndObject();
}

void WritePartitionValues(JsonWriter& writer, const PartitionValues& values) {
  writer.BeginObject();
  for (const auto& [key, value] : values) {
    writer.Key(key);
    if (value) {
      writer.String(*value);
    } else {
      writer.Null();
    }
  }
  writer.EndObject();
}

void WriteStrings(JsonWriter& writer, const std::vector<std::string>& strings) {
  writer.BeginArray();
  for (const auto& text : strings) writer.String(text);
  writer.EndArray();
}

template <typename T>
void WriteValue(JsonWriter& writer, const T& value, unsigned flags) {
  if constexpr (std::is_same_v<T, std::string>) {
    if (flags & schema::kLogPath) {
      writer.String(EncodeLogPath(value));
    } else {
      writer.String(value);
    }
  } else if constexpr (std::is_same_v<T, char>) {
    writer.String(std::string_view(&value, 1));
  } else if constexpr (std::is_same_v<T, int64_t> || std::is_same_v<T, int32_t>) {
    writer.Int(value);
  } else if constexpr (std::is_same_v<T, bool>) {
    writer.Bool(value);
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    WriteStrings(writer, value);
  } else if constexpr (std::is_same_v<T, PartitionValues>) {
    WritePartitionValues(writer, value);
  } else {
    static_assert(std::is_same_v<T, StringMap>, "a field type action_schema.h does not list");
    WriteStringMap(writer, value);
  }
}

// Writes the members of `fields` of `value`: optional ones only when set, the others always.
template <typename Owner, typename Fields>
void WriteFields(JsonWriter& writer, const Fields& fields, const Owner& value) {
  schema::ForEach(fields, [&](const auto& element) {
    using Element = std::decay_t<decltype(element)>;
    if constexpr (schema::IsField<Element>::value) {
      const auto& member = value.*element.member;
      if constexpr (schema::IsOptional<typename Element::MemberType>::value) {
        if (!member) return;
        writer.Key(element.name);
        WriteValue(writer, *member, element.flags);
      } else {
        writer.Key(element.name);
        WriteValue(writer, member, element.flags);
      }
    } else if constexpr (schema::IsObject<Element>::value) {
      const auto& member = value.*element.member;
      if (!member) return;
      writer.Key(element.name);
      writer.BeginObject();
      WriteFields(writer, element.fields, *member);
      writer.EndObject();
    } else {
      writer.Key(element.name);
      writer.BeginObject();
      WriteFields(writer, element.fields, value);
      writer.EndObject();
    }
  });
}

struct ActionSerializer {
  JsonWriter& writer;

  void operator()(const CommitInfo& info) {
    writer.Key("commitInfo");
    writer.Raw(info.json.empty() ? std::string_view("{}") : std::string_view(info.json));
  }

  template <typename Described>
  void operator()(const Described& action) {
    const auto& description = schema::DescriptionOf<Described>();
    writer.Key(description.name);
    writer.BeginObject();
    WriteFields(writer, description.fields, action);
    writer.EndObject();
  }
};

}  // namespace

arrow::Result<std::optional<Action>> ParseActionLine(std::string_view line, std::string_view source,
                                                     int64_t line_number) {
  return ParseLine(line, source, line_number);
}

arrow::Result<std::vector<Action>> ParseActionLines(std::string_view contents,
                                                    std::string_view source) {
  std::vector<Action> actions;
  int64_t line_number = 0;
  size_t start = 0;
  while (start < contents.size()) {
    size_t end = contents.find('\n', start);
    if (end == std::string_view::npos) end = contents.size();
    ++line_number;
    ARROW_ASSIGN_OR_RAISE(auto action,
                          ParseLine(contents.substr(start, end - start), source, line_number));
    if (action) actions.push_back(std::move(*action));
    start = end + 1;
  }
  return actions;
}

std::string SerializeAction(const Action& action) {
  JsonWriter writer;
  writer.BeginObject();
  std::visit(ActionSerializer{writer}, action);
  writer.EndObject();
  return writer.Take();
}

std::string SerializeActions(const std::vector<Action>& actions) {
  std::string out;
  for (const auto& action : actions) {
    out += SerializeAction(action);
    out.push_back('\n');
  }
  return out;
}

}  // namespace nlk::delta
