#include "delta/log/table_constraints.h"

#include <algorithm>
#include <cctype>

#include "common/json_value.h"
#include "delta/log/log_error.h"

namespace nlk::delta {
namespace {

arrow::Status Malformed(const std::string& column, const std::string& what) {
  return LogError(LogErrorKind::kCorruptLog, "The metadata of column '" + column +
                                                 "' in the table schema is malformed: " + what);
}

// `{"expression": {"expression": "<sql>"}}`, the text of a delta.invariants value.
arrow::Result<std::string> InvariantExpression(const std::string& column, const std::string& text) {
  auto parsed = ParseJson(text);
  if (!parsed.ok()) {
    return Malformed(
        column, std::string(kInvariantsKey) + " is not valid JSON: " + parsed.status().message());
  }
  const JsonValue* outer = parsed->Find("expression");
  const JsonValue* inner = outer == nullptr ? nullptr : outer->Find("expression");
  if (inner == nullptr || inner->type() != JsonValue::Type::kString) {
    return Malformed(column, std::string(kInvariantsKey) +
                                 " must look like {\"expression\": {\"expression\": \"<SQL>\"}}");
  }
  return inner->string();
}

arrow::Status CollectFields(const JsonValue& type, const std::string& prefix, bool top_level,
                            TableConstraints* constraints) {
  if (type.type() != JsonValue::Type::kObject) return arrow::Status::OK();
  const JsonValue* fields = type.Find("fields");
  if (fields == nullptr || fields->type() != JsonValue::Type::kArray) return arrow::Status::OK();
  for (const JsonValue& field : fields->array()) {
    const JsonValue* name = field.Find("name");
    if (name == nullptr || name->type() != JsonValue::Type::kString) continue;
    const std::string path = prefix.empty() ? name->string() : prefix + "." + name->string();
    if (const JsonValue* metadata = field.Find("metadata");
        metadata != nullptr && metadata->type() == JsonValue::Type::kObject) {
      if (const JsonValue* invariant = metadata->Find(kInvariantsKey); invariant != nullptr) {
        if (invariant->type() != JsonValue::Type::kString) {
          return Malformed(path, std::string(kInvariantsKey) + " must be a string, not " +
                                     invariant->TypeName());
        }
        ARROW_ASSIGN_OR_RAISE(auto expression, InvariantExpression(path, invariant->string()));
        constraints->invariants.push_back({path, std::move(expression)});
      }
      if (const JsonValue* generated = metadata->Find(kGenerationExpressionKey);
          generated != nullptr) {
        if (generated->type() != JsonValue::Type::kString) {
          return Malformed(path, std::string(kGenerationExpressionKey) + " must be a string, not " +
                                     generated->TypeName());
        }
        if (!top_level) {
          return Malformed(path, "only top-level columns can be generated columns");
        }
        constraints->generated_columns.push_back({path, generated->string()});
      }
    }
    // Invariants may sit on fields of structs (not inside arrays or maps).
    if (const JsonValue* nested = field.Find("type"); nested != nullptr) {
      ARROW_RETURN_NOT_OK(CollectFields(*nested, path, false, constraints));
    }
  }
  return arrow::Status::OK();
}

}  // namespace

std::string ConstraintPropertyKey(std::string_view name) {
  std::string key(kConstraintPropertyPrefix);
  for (char c : name) key.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return key;
}

arrow::Result<TableConstraints> ReadTableConstraints(const Metadata& metadata) {
  TableConstraints constraints;
  for (const auto& [key, value] : metadata.configuration) {
    if (key.size() > kConstraintPropertyPrefix.size() &&
        std::string_view(key).substr(0, kConstraintPropertyPrefix.size()) ==
            kConstraintPropertyPrefix) {
      constraints.checks.push_back({key.substr(kConstraintPropertyPrefix.size()), value});
    }
  }
  std::sort(constraints.checks.begin(), constraints.checks.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  if (metadata.schema_string.empty()) return constraints;
  auto schema = ParseJson(metadata.schema_string);
  if (!schema.ok()) {
    return LogError(
        LogErrorKind::kCorruptLog,
        "The table schema (metaData.schemaString) is not valid JSON: " + schema.status().message());
  }
  ARROW_RETURN_NOT_OK(CollectFields(*schema, "", true, &constraints));
  return constraints;
}

}  // namespace nlk::delta
