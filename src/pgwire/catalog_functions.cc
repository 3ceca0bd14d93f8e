#include "pgwire/catalog_functions.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>
#include <string>

#include "common/ascii.h"
#include "common/json_writer.h"
#include "pgwire/sql_state.h"
#include "pgwire/value_format.h"

namespace nlk::pgwire {
namespace {

std::string Upper(std::string_view text) {
  std::string upper(text);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return upper;
}

// PostgreSQL's keywords that quote_ident must quote (all but the unreserved ones).
const std::set<std::string>& QuotedKeywords() {
  static const std::set<std::string> kKeywords = {"all",
                                                  "analyse",
                                                  "analyze",
                                                  "and",
                                                  "any",
                                                  "array",
                                                  "as",
                                                  "asc",
                                                  "asymmetric",
                                                  "authorization",
                                                  "between",
                                                  "bigint",
                                                  "binary",
                                                  "bit",
                                                  "boolean",
                                                  "both",
                                                  "case",
                                                  "cast",
                                                  "char",
                                                  "character",
                                                  "check",
                                                  "coalesce",
                                                  "collate",
                                                  "collation",
                                                  "column",
                                                  "concurrently",
                                                  "constraint",
                                                  "create",
                                                  "cross",
                                                  "current_catalog",
                                                  "current_date",
                                                  "current_role",
                                                  "current_schema",
                                                  "current_time",
                                                  "current_timestamp",
                                                  "current_user",
                                                  "dec",
                                                  "decimal",
                                                  "default",
                                                  "deferrable",
                                                  "desc",
                                                  "distinct",
                                                  "do",
                                                  "else",
                                                  "end",
                                                  "except",
                                                  "exists",
                                                  "extract",
                                                  "false",
                                                  "fetch",
                                                  "float",
                                                  "for",
                                                  "foreign",
                                                  "freeze",
                                                  "from",
                                                  "full",
                                                  "grant",
                                                  "greatest",
                                                  "group",
                                                  "grouping",
                                                  "having",
                                                  "ilike",
                                                  "in",
                                                  "initially",
                                                  "inner",
                                                  "inout",
                                                  "int",
                                                  "integer",
                                                  "intersect",
                                                  "interval",
                                                  "into",
                                                  "is",
                                                  "isnull",
                                                  "join",
                                                  "lateral",
                                                  "leading",
                                                  "least",
                                                  "left",
                                                  "like",
                                                  "limit",
                                                  "localtime",
                                                  "localtimestamp",
                                                  "national",
                                                  "natural",
                                                  "nchar",
                                                  "none",
                                                  "normalize",
                                                  "not",
                                                  "notnull",
                                                  "null",
                                                  "nullif",
                                                  "numeric",
                                                  "offset",
                                                  "on",
                                                  "only",
                                                  "or",
                                                  "order",
                                                  "out",
                                                  "outer",
                                                  "overlaps",
                                                  "overlay",
                                                  "placing",
                                                  "position",
                                                  "precision",
                                                  "primary",
                                                  "real",
                                                  "references",
                                                  "returning",
                                                  "right",
                                                  "row",
                                                  "select",
                                                  "session_user",
                                                  "setof",
                                                  "similar",
                                                  "smallint",
                                                  "some",
                                                  "substring",
                                                  "symmetric",
                                                  "table",
                                                  "tablesample",
                                                  "then",
                                                  "time",
                                                  "timestamp",
                                                  "to",
                                                  "trailing",
                                                  "treat",
                                                  "trim",
                                                  "true",
                                                  "union",
                                                  "unique",
                                                  "user",
                                                  "using",
                                                  "values",
                                                  "varchar",
                                                  "variadic",
                                                  "verbose",
                                                  "when",
                                                  "where",
                                                  "window",
                                                  "with",
                                                  "xmlattributes",
                                                  "xmlconcat",
                                                  "xmlelement",
                                                  "xmlexists",
                                                  "xmlforest",
                                                  "xmlnamespaces",
                                                  "xmlparse",
                                                  "xmlpi",
                                                  "xmlroot",
                                                  "xmlserialize",
                                                  "xmltable"};
  return kKeywords;
}

arrow::Status WrongArguments(std::string_view name, size_t count) {
  return SqlStateError(sqlstate::kUndefinedFunction, "function " + std::string(name) +
                                                         " does not take " + std::to_string(count) +
                                                         " argument" + (count == 1 ? "" : "s"));
}

bool AnyNull(const std::vector<Value>& arguments) {
  return std::any_of(arguments.begin(), arguments.end(),
                     [](const Value& value) { return value.is_null(); });
}

// The number of UTF-8 characters in `text`.
int64_t CharacterCount(std::string_view text) {
  return std::count_if(text.begin(), text.end(),
                       [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
}

// Byte offset of character `index` (0-based) of `text`, or its size when it has fewer.
size_t CharacterOffset(std::string_view text, int64_t index) {
  size_t offset = 0;
  while (offset < text.size() && index > 0) {
    ++offset;
    while (offset < text.size() && (static_cast<unsigned char>(text[offset]) & 0xC0) == 0x80) {
      ++offset;
    }
    --index;
  }
  return offset;
}

// has_*_privilege: this server only reads, so read privileges are held and write ones are not.
bool HoldsPrivilege(std::string_view privileges) {
  static const std::set<std::string> kHeld = {"select",  "usage",  "connect",
                                              "execute", "member", "usage with grant option"};
  size_t start = 0;
  std::string list = AsciiLower(privileges);
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    std::string item = list.substr(start, comma - start);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (kHeld.count(item) > 0) return true;
    start = comma + 1;
  }
  return false;
}

std::vector<Value> TextItems(const std::vector<std::string>& items) {
  std::vector<Value> values;
  for (const std::string& item : items) values.push_back(Value::Text(item, kTextOid));
  return values;
}

// parse_ident: "a.\"B c\"" -> {a, "B c"}; unquoted parts fold to lower case.
arrow::Result<std::vector<std::string>> ParseIdentifier(std::string_view text) {
  std::vector<std::string> parts;
  size_t position = 0;
  while (true) {
    std::string part;
    if (position < text.size() && text[position] == '"') {
      ++position;
      while (true) {
        if (position >= text.size()) {
          return SqlStateError(sqlstate::kInvalidParameterValue,
                               "string is not a valid identifier: \"" + std::string(text) + "\"");
        }
        if (text[position] == '"') {
          if (position + 1 < text.size() && text[position + 1] == '"') {
            part.push_back('"');
            position += 2;
            continue;
          }
          ++position;
          break;
        }
        part.push_back(text[position++]);
      }
    } else {
      while (position < text.size() && text[position] != '.') part.push_back(text[position++]);
      part = AsciiLower(part);
    }
    if (part.empty()) {
      return SqlStateError(sqlstate::kInvalidParameterValue,
                           "string is not a valid identifier: \"" + std::string(text) + "\"");
    }
    parts.push_back(std::move(part));
    if (position >= text.size()) break;
    if (text[position] != '.') {
      return SqlStateError(sqlstate::kInvalidParameterValue,
                           "string is not a valid identifier: \"" + std::string(text) + "\"");
    }
    ++position;
  }
  return parts;
}

std::string PrettySize(int64_t bytes) {
  const char* units[] = {"bytes", "kB", "MB", "GB", "TB", "PB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  // PostgreSQL switches units once a value reaches 10240 of the smaller one.
  while (std::fabs(value) >= 10240 && unit < 5) {
    value /= 1024;
    ++unit;
  }
  return std::to_string(static_cast<int64_t>(std::llround(value))) + " " + units[unit];
}

std::optional<std::string> CurrentSchema(const FunctionContext& context) {
  for (const std::string& schema : context.settings->SearchPath()) {
    if (context.catalog->NamespaceOid(schema)) return schema;
  }
  return std::nullopt;
}

}  // namespace

std::string QuoteIdentifier(std::string_view name) {
  bool plain =
      !name.empty() && (std::islower(static_cast<unsigned char>(name[0])) || name[0] == '_');
  for (char c : name) {
    unsigned char byte = static_cast<unsigned char>(c);
    if (!(std::islower(byte) || std::isdigit(byte) || c == '_')) plain = false;
  }
  if (plain && QuotedKeywords().count(std::string(name)) == 0) return std::string(name);
  std::string quoted = "\"";
  for (char c : name) {
    if (c == '"') quoted.push_back('"');
    quoted.push_back(c);
  }
  quoted.push_back('"');
  return quoted;
}

std::string NowText() {
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  std::string text;
  AppendTimestampText(micros, true, &text);
  return text;
}

bool IsSystemFunction(std::string_view name) {
  static const std::set<std::string, std::less<>> kNames = {"version",
                                                            "format_type",
                                                            "obj_description",
                                                            "col_description",
                                                            "shobj_description",
                                                            "quote_ident",
                                                            "quote_literal",
                                                            "quote_nullable",
                                                            "set_config",
                                                            "parse_ident",
                                                            "array_to_string",
                                                            "string_to_array",
                                                            "array_length",
                                                            "array_lower",
                                                            "array_upper",
                                                            "cardinality",
                                                            "unnest",
                                                            "generate_series",
                                                            "getdatabaseencoding",
                                                            "to_regclass",
                                                            "to_regtype",
                                                            "to_regnamespace",
                                                            "to_regrole",
                                                            "json_build_object",
                                                            "session_user",
                                                            "inet_server_addr",
                                                            "inet_server_port",
                                                            "inet_client_addr",
                                                            "array_position",
                                                            "array_remove",
                                                            "array_append",
                                                            "array_cat"};
  return kNames.count(name) > 0 || name.starts_with("pg_") || name.starts_with("has_") ||
         name.starts_with("current_");
}

arrow::Result<std::optional<Value>> CallCatalogFunction(std::string_view name,
                                                        const std::vector<Value>& arguments,
                                                        FunctionContext& context) {
  using Result = std::optional<Value>;
  const SystemCatalog& catalog = *context.catalog;
  const NameResolver& resolver = catalog.resolver();
  const size_t count = arguments.size();
  auto argument_count = [&](size_t low, size_t high) -> arrow::Status {
    if (count < low || count > high) return WrongArguments(name, count);
    return arrow::Status::OK();
  };
  auto text = [&](size_t index) { return ValueText(arguments[index], resolver); };
  auto integer = [&](size_t index) -> arrow::Result<int64_t> {
    ARROW_ASSIGN_OR_RAISE(Value cast, CastValue(arguments[index], kInt8Oid, resolver));
    return cast.integer();
  };
  auto array = [&](size_t index) -> arrow::Result<Value> {
    if (arguments[index].kind() == Value::Kind::kArray) return arguments[index];
    return CastValue(arguments[index], kTextArrayOid, resolver);
  };

  // Session and server.
  if (name == "version") {
    ARROW_RETURN_NOT_OK(argument_count(0, 0));
    return Result(Value::Text(std::string("PostgreSQL ") + kServerVersion +
                                  " (Neuralake nlk serve: Delta Lake tables over the PostgreSQL "
                                  "wire protocol), 64-bit",
                              kTextOid));
  }
  if (name == "current_database" || name == "current_catalog") {
    ARROW_RETURN_NOT_OK(argument_count(0, 0));
    return Result(Value::Text(context.settings->database(), kNameOid));
  }
  if (name == "current_user" || name == "session_user" || name == "current_role" ||
      name == "user") {
    ARROW_RETURN_NOT_OK(argument_count(0, 0));
    return Result(Value::Text(context.settings->user(), kNameOid));
  }
  if (name == "current_schema") {
    ARROW_RETURN_NOT_OK(argument_count(0, 0));
    auto schema = CurrentSchema(context);
    return Result(schema ? Value::Text(*schema, kNameOid) : Value::Null(kNameOid));
  }
  if (name == "current_schemas") {
    ARROW_RETURN_NOT_OK(argument_count(1, 1));
    std::vector<Value> schemas;
    ARROW_ASSIGN_OR_RAISE(Value implicit, CastValue(arguments[0], kBoolOid, resolver));
    if (!implicit.is_null() && implicit.boolean()) {
      schemas.push_back(Value::Text("pg_catalog", kNameOid));
    }
    for (const std::string& schema : context.settings->SearchPath()) {
      if (catalog.NamespaceOid(schema)) schemas.push_back(Value::Text(schema, kNameOid));
    }
    return Result(Value::Array(std::move(schemas), kNameArrayOid));
  }
  if (name == "current_setting") {
    ARROW_RETURN_NOT_OK(argument_count(1, 2));
    if (arguments[0].is_null()) return Result(Value::Null(kTextOid));
    auto value = context.settings->Get(text(0));
    if (!value) {
      bool missing_ok = false;
      if (count == 2 && !arguments[1].is_null()) {
        ARROW_ASSIGN_OR_RAISE(Value flag, CastValue(arguments[1], kBoolOid, resolver));
        missing_ok = flag.boolean();
      }
      if (missing_ok) return Result(Value::Null(kTextOid));
      return SqlStateError(sqlstate::kUndefinedObject,
                           "unrecognized configuration parameter \"" + text(0) + "\"");
    }
    return Result(Value::Text(*value, kTextOid));
  }
  if (name == "set_config") {
    ARROW_RETURN_NOT_OK(argument_count(3, 3));
    if (arguments[0].is_null()) {
      return SqlStateError(sqlstate::kInvalidParameterValue, "SET requires parameter name");
    }
    std::string value = arguments[1].is_null() ? "" : text(1);
    ARROW_RETURN_NOT_OK(context.settings->Set(text(0), value).status());
    return Result(Value::Text(*context.settings->Get(text(0)), kTextOid));
  }
  if (name == "pg_backend_pid") {
    ARROW_RETURN_NOT_OK(argument_count(0, 0));
    return Result(Value::Integer(context.backend_pid, kInt4Oid));
  }
  if (name == "now" || name == "statement_timestamp" || name == "transaction_timestamp" ||
      name == "clock_timestamp" || name == "pg_postmaster_start_time" ||
      name == "pg_conf_load_time") {
    ARROW_RETURN_NOT_OK(argument_count(0, 0));
    return Result(Value::Text(NowText(), kTimestamptzOid));
  }
  if (name == "pg_is_in_recovery" || name == "pg_relation_is_publishable") {
    return Result(Value::Bool(false));
  }
  if (name == "getdatabaseencoding") return Result(Value::Text("UTF8", kNameOid));
  if (name == "pg_encoding_to_char") {
    ARROW_RETURN_NOT_OK(argument_count(1, 1));
    if (arguments[0].is_null()) return Result(Value::Null(kNameOid));
    ARROW_ASSIGN_OR_RAISE(int64_t encoding, integer(0));
    return Result(Value::Text(encoding == 6 ? "UTF8" : encoding == 0 ? "SQL_ASCII" : "", kNameOid));
  }
  if (name == "pg_char_to_encoding") {
    ARROW_RETURN_NOT_OK(argument_count(1, 1));
    if (arguments[0].is_null()) return Result(Value::Null(kInt4Oid));
    std::string encoding = Upper(text(0));
    return Result(Value::Integer(encoding == "UTF8" ? 6 : encoding == "SQL_ASCII" ? 0 : -1));
  }
  if (name == "inet_server_addr" || name == "inet_client_addr")
    return Result(Value::Null(kTextOid));
  if (name == "inet_server_port" || name == "inet_client_port")
    return Result(Value::Null(kInt4Oid));

  // Objects.
  if (name == "pg_get_userbyid") {
    ARROW_RETURN_NOT_OK(argument_count(1, 1));
    if (arguments[0].is_null()) return Result(Value::Null(kNameOid));
    ARROW_ASSIGN_OR_RAISE(int64_t oid, integer(0));
    auto role = catalog.RoleName(oid);
    return Result(
        Value::Text(role ? *role : "unknown (OID=" + std::to_string(oid) + ")", kNameOid));
  }
  if (name == "pg_table_is_visible") {
    ARROW_RETURN_NOT_OK(argument_count(1, 1));
    if (arguments[0].is_null()) return Result(Value::Null(kBoolOid));
    ARROW_ASSIGN_OR_RAISE(int64_t oid, integer(0));
    if (catalog.RelationByOid(oid) == nullptr) return Result(Value::Null(kBoolOid));
    return Result(Value::Bool(catalog.RelationVisible(oid)));
  }
  if (name == "pg_type_is_visible") {
    ARROW_RETURN_NOT_OK(argument_count(1, 1));
    if (arguments[0].is_null()) return Result(Value::Null(kBoolOid));
    ARROW_ASSIGN_OR_RAISE(int64_t oid, integer(0));
    if (FindType(static_cast<int32_t>(oid)) == nullptr) return Result(Value::Null(kBoolOid));
    return Result(Value::Bool(true));
  }
  if (name.starts_with("pg_") && name.ends_with("_is_visible")) {
    // Functions, operators, collations, ...: none are served, so none is named here.
    return Result(Value::Null(kBoolOid));
  }
  if (name == "format_type") {
    ARROW_RETURN_NOT_OK(argument_count(2, 2));
    if (arguments[0].is_null()) return Result(Value::Null(kTextOid));
    ARROW_ASSIGN_OR_RAISE(int64_t oid, integer(0));
    int64_t modifier = -1;
    if (!arguments[1].is_null()) {
      ARROW_ASSIGN_OR_RAISE(modifier, integer(1));
    }
    return Result(Value::Text(FormatType(static_cast<int32_t>(oid), static_cast<int32_t>(modifier)),
                              kTextOid));
  }
  if (name == "obj_description" || name == "col_description" || name == "shobj_description" ||
      name == "pg_get_expr" || name == "pg_get_indexdef" || name == "pg_get_constraintdef" ||
      name == "pg_get_viewdef" || name == "pg_get_triggerdef" || name == "pg_get_ruledef" ||
      name == "pg_get_partkeydef" || name == "pg_get_partition_constraintdef" ||
      name == "pg_get_statisticsobjdef_columns" || name == "pg_get_function_arguments" ||
      name == "pg_get_function_result" || name == "pg_get_function_identity_arguments" ||
      name == "pg_get_functiondef" || name == "pg_get_serial_sequence" ||
      name == "pg_get_function_sqlbody" || name == "pg_tablespace_location") {
    // Descriptions, defaults, indexes, constraints, views, triggers, rules and functions: this
    // server has none, so there is nothing to describe.
    return Result(Value::Null(kTextOid));
  }
  if (name == "pg_relation_size" || name == "pg_table_size" || name == "pg_total_relation_size" ||
      name == "pg_indexes_size" || name == "pg_database_size" || name == "pg_tablespace_size") {
    // Sizes are not known without reading every table's log; NULL says unknown.
    return Result(Value::Null(kInt8Oid));
  }
  if (name == "pg_size_pretty") {
    ARROW_RETURN_NOT_OK(argument_count(1, 1));
    if (arguments[0].is_null()) return Result(Value::Null(kTextOid));
    ARROW_ASSIGN_OR_RAISE(int64_t bytes, integer(0));
    return Result(Value::Text(PrettySize(bytes), kTextOid));
  }
  if ((name.starts_with("has_") && name.ends_with("_privilege")) || name == "pg_has_role") {
    ARROW_RETURN_NOT_OK(argument_count(2, 4));
    if (AnyNull(arguments)) return Result(Value::Null(kBoolOid));
    if (name == "pg_has_role") return Result(Value::Bool(true));
    return Result(Value::Bool(HoldsPrivilege(text(count - 1))));
  }
  if (name == "to_regclass" || name == "to_regtype" || name == "to_regnamespace" ||
      name == "to_regrole") {
    ARROW_RETURN_NOT_OK(argument_count(1, 1));
    const int32_t type = name == "to_regclass"       ? kRegClassOid
                         : name == "to_regtype"      ? kRegTypeOid
                         : name == "to_regnamespace" ? kRegNamespaceOid
                                                     : kRegRoleOid;
    if (arguments[0].is_null()) return Result(Value::Null(type));
    auto oid = resolver.oid_of(type, text(0));
    return Result(oid.ok() ? Value::Integer(*oid, type) : Value::Null(type));
  }

  // Strings.
  if (name == "quote_ident") {
    ARROW_RETURN_NOT_OK(argument_count(1, 1));
    if (arguments[0].is_null()) return Result(Value::Null(kTextOid));
    return Result(Value::Text(QuoteIdentifier(text(0)), kTextOid));
  }
  if (name == "quote_literal" || name == "quote_nullable") {
    ARROW_RETURN_NOT_OK(argument_count(1, 1));
    if (arguments[0].is_null()) {
      return Result(name == "quote_nullable" ? Value::Text("NULL", kTextOid)
                                             : Value::Null(kTextOid));
    }
    std::string value = text(0);
    std::string quoted = value.find('\\') != std::string::npos ? "E'" : "'";
    for (char c : value) {
      if (c == '\'' || c == '\\') quoted.push_back(c);
      quoted.push_back(c);
    }
    quoted.push_back('\'');
    return Result(Value::Text(quoted, kTextOid));
  }
  if (name == "parse_ident") {
    ARROW_RETURN_NOT_OK(argument_count(1, 2));
    if (arguments[0].is_null()) return Result(Value::Null(kTextArrayOid));
    ARROW_ASSIGN_OR_RAISE(auto parts, ParseIdentifier(text(0)));
    return Result(Value::Array(TextItems(parts), kTextArrayOid));
  }
  if (name == "lower" || name == "upper") {
    ARROW_RETURN_NOT_OK(argument_count(1, 1));
    if (arguments[0].is_null()) return Result(Value::Null(kTextOid));
    return Result(Value::Text(name == "lower" ? AsciiLower(text(0)) : Upper(text(0)), kTextOid));
  }
  if (name == "length" || name == "char_length" || name == "character_length" ||
      name == "octet_length") {
    ARROW_RETURN_NOT_OK(argument_count(1, 1));
    if (arguments[0].is_null()) return Result(Value::Null(kInt4Oid));
    std::string value = text(0);
    return Result(Value::Integer(name == "octet_length" ? static_cast<int64_t>(value.size())
                                                        : CharacterCount(value)));
  }
  if (name == "btrim" || name == "ltrim" || name == "rtrim") {
    ARROW_RETURN_NOT_OK(argument_count(1, 2));
    if (AnyNull(arguments)) return Result(Value::Null(kTextOid));
    std::string value = text(0);
    std::string characters = count == 2 ? text(1) : " ";
    if (name != "rtrim") value.erase(0, value.find_first_not_of(characters));
    if (name != "ltrim") {
      size_t last = value.find_last_not_of(characters);
      value.erase(last == std::string::npos ? 0 : last + 1);
    }
    return Result(Value::Text(value, kTextOid));
  }
  if (name == "substring" || name == "substr") {
    ARROW_RETURN_NOT_OK(argument_count(2, 3));
    if (AnyNull(arguments)) return Result(Value::Null(kTextOid));
    std::string value = text(0);
    ARROW_ASSIGN_OR_RAISE(int64_t start, integer(1));
    int64_t end = INT64_MAX;
    if (count == 3) {
      ARROW_ASSIGN_OR_RAISE(int64_t length, integer(2));
      if (length < 0) {
        return SqlStateError("22011", "negative substring length not allowed");
      }
      end = start + length;
    }
    start = std::max<int64_t>(start, 1);
    if (end <= start) return Result(Value::Text("", kTextOid));
    size_t from = CharacterOffset(value, start - 1);
    size_t to = end == INT64_MAX ? value.size() : CharacterOffset(value, end - 1);
    return Result(Value::Text(value.substr(from, to - from), kTextOid));
  }
  if (name == "replace") {
    ARROW_RETURN_NOT_OK(argument_count(3, 3));
    if (AnyNull(arguments)) return Result(Value::Null(kTextOid));
    std::string value = text(0);
    std::string from = text(1);
    std::string to = text(2);
    if (from.empty()) return Result(Value::Text(value, kTextOid));
    std::string replaced;
    size_t position = 0;
    while (true) {
      size_t found = value.find(from, position);
      replaced.append(value, position,
                      found == std::string::npos ? std::string::npos : found - position);
      if (found == std::string::npos) break;
      replaced.append(to);
      position = found + from.size();
    }
    return Result(Value::Text(replaced, kTextOid));
  }
  if (name == "concat") {
    std::string joined;
    for (size_t index = 0; index < count; ++index) {
      if (!arguments[index].is_null()) joined += text(index);
    }
    return Result(Value::Text(joined, kTextOid));
  }
  if (name == "concat_ws") {
    ARROW_RETURN_NOT_OK(argument_count(1, SIZE_MAX));
    if (arguments[0].is_null()) return Result(Value::Null(kTextOid));
    std::string joined;
    bool first = true;
    for (size_t index = 1; index < count; ++index) {
      if (arguments[index].is_null()) continue;
      if (!first) joined += text(0);
      joined += text(index);
      first = false;
    }
    return Result(Value::Text(joined, kTextOid));
  }
  if (name == "left" || name == "right") {
    ARROW_RETURN_NOT_OK(argument_count(2, 2));
    if (AnyNull(arguments)) return Result(Value::Null(kTextOid));
    std::string value = text(0);
    ARROW_ASSIGN_OR_RAISE(int64_t wanted, integer(1));
    int64_t characters = CharacterCount(value);
    int64_t keep =
        wanted >= 0 ? std::min(wanted, characters) : std::max<int64_t>(0, characters + wanted);
    if (name == "left")
      return Result(Value::Text(value.substr(0, CharacterOffset(value, keep)), kTextOid));
    return Result(Value::Text(value.substr(CharacterOffset(value, characters - keep)), kTextOid));
  }
  if (name == "strpos" || name == "position") {
    ARROW_RETURN_NOT_OK(argument_count(2, 2));
    if (AnyNull(arguments)) return Result(Value::Null(kInt4Oid));
    // POSITION(a IN b) arrives as position(b, a), like strpos(b, a).
    std::string haystack = text(0);
    size_t found = haystack.find(text(1));
    return Result(
        Value::Integer(found == std::string::npos
                           ? 0
                           : CharacterCount(std::string_view(haystack).substr(0, found)) + 1));
  }
  if (name == "split_part") {
    ARROW_RETURN_NOT_OK(argument_count(3, 3));
    if (AnyNull(arguments)) return Result(Value::Null(kTextOid));
    std::string value = text(0);
    std::string delimiter = text(1);
    ARROW_ASSIGN_OR_RAISE(int64_t field, integer(2));
    std::vector<std::string> parts;
    if (delimiter.empty()) {
      parts.push_back(value);
    } else {
      size_t start = 0;
      while (true) {
        size_t found = value.find(delimiter, start);
        parts.push_back(
            value.substr(start, found == std::string::npos ? std::string::npos : found - start));
        if (found == std::string::npos) break;
        start = found + delimiter.size();
      }
    }
    if (field == 0)
      return SqlStateError(sqlstate::kInvalidParameterValue, "field position must not be zero");
    int64_t index = field > 0 ? field - 1 : static_cast<int64_t>(parts.size()) + field;
    if (index < 0 || index >= static_cast<int64_t>(parts.size()))
      return Result(Value::Text("", kTextOid));
    return Result(Value::Text(parts[static_cast<size_t>(index)], kTextOid));
  }
  if (name == "json_build_object") {
    if (count % 2 != 0) {
      return SqlStateError(sqlstate::kInvalidParameterValue,
                           "argument list must have even number of elements");
    }
    JsonWriter writer;
    writer.BeginObject();
    for (size_t index = 0; index < count; index += 2) {
      if (arguments[index].is_null()) {
        return SqlStateError(sqlstate::kInvalidParameterValue,
                             "null value not allowed for object key");
      }
      writer.Key(text(index));
      const Value& value = arguments[index + 1];
      if (value.is_null()) {
        writer.Null();
      } else if (value.kind() == Value::Kind::kBool) {
        writer.Bool(value.boolean());
      } else if (value.kind() == Value::Kind::kInteger && !IsOidType(value.type())) {
        writer.Int(value.integer());
      } else {
        writer.String(text(index + 1));
      }
    }
    writer.EndObject();
    return Result(Value::Text(writer.Take(), kJsonOid));
  }

  // Arrays.
  if (name == "string_to_array") {
    ARROW_RETURN_NOT_OK(argument_count(2, 3));
    if (arguments[0].is_null()) return Result(Value::Null(kTextArrayOid));
    std::string value = text(0);
    std::vector<Value> items;
    auto add = [&](std::string item) {
      if (count == 3 && !arguments[2].is_null() && item == text(2)) {
        items.push_back(Value::Null(kTextOid));
      } else {
        items.push_back(Value::Text(std::move(item), kTextOid));
      }
    };
    if (!value.empty()) {
      if (arguments[1].is_null()) {
        for (size_t index = 0; index < value.size();) {
          size_t next = CharacterOffset(std::string_view(value).substr(index), 1) + index;
          add(value.substr(index, next - index));
          index = next;
        }
      } else {
        std::string delimiter = text(1);
        if (delimiter.empty()) {
          add(value);
        } else {
          size_t start = 0;
          while (true) {
            size_t found = value.find(delimiter, start);
            add(value.substr(start,
                             found == std::string::npos ? std::string::npos : found - start));
            if (found == std::string::npos) break;
            start = found + delimiter.size();
          }
        }
      }
    }
    return Result(Value::Array(std::move(items), kTextArrayOid));
  }
  if (name == "array_to_string") {
    ARROW_RETURN_NOT_OK(argument_count(2, 3));
    if (arguments[0].is_null() || arguments[1].is_null()) return Result(Value::Null(kTextOid));
    ARROW_ASSIGN_OR_RAISE(Value items, array(0));
    std::string joined;
    bool first = true;
    for (const Value& item : items.items()) {
      if (item.is_null() && (count < 3 || arguments[2].is_null())) continue;
      if (!first) joined += text(1);
      joined += item.is_null() ? text(2) : ValueText(item, resolver);
      first = false;
    }
    return Result(Value::Text(joined, kTextOid));
  }
  if (name == "array_length" || name == "array_lower" || name == "array_upper" ||
      name == "cardinality") {
    ARROW_RETURN_NOT_OK(
        argument_count(name == "cardinality" ? 1 : 2, name == "cardinality" ? 1 : 2));
    if (AnyNull(arguments)) return Result(Value::Null(kInt4Oid));
    ARROW_ASSIGN_OR_RAISE(Value items, array(0));
    const int64_t size = static_cast<int64_t>(items.items().size());
    if (name == "cardinality") return Result(Value::Integer(size));
    ARROW_ASSIGN_OR_RAISE(int64_t dimension, integer(1));
    if (dimension != 1 || size == 0) return Result(Value::Null(kInt4Oid));
    const bool vector = items.type() == kInt2VectorOid || items.type() == kOidVectorOid;
    const int64_t lower = vector ? 0 : 1;
    if (name == "array_length") return Result(Value::Integer(size));
    if (name == "array_lower") return Result(Value::Integer(lower));
    return Result(Value::Integer(lower + size - 1));
  }
  if (name == "array_position") {
    ARROW_RETURN_NOT_OK(argument_count(2, 2));
    if (arguments[0].is_null()) return Result(Value::Null(kInt4Oid));
    ARROW_ASSIGN_OR_RAISE(Value items, array(0));
    for (size_t index = 0; index < items.items().size(); ++index) {
      ARROW_ASSIGN_OR_RAISE(auto compared,
                            CompareValues(items.items()[index], arguments[1], resolver));
      if (compared && *compared == 0)
        return Result(Value::Integer(static_cast<int64_t>(index) + 1));
    }
    return Result(Value::Null(kInt4Oid));
  }
  if (name == "array_remove" || name == "array_append") {
    ARROW_RETURN_NOT_OK(argument_count(2, 2));
    if (arguments[0].is_null()) return Result(Value::Null(kTextArrayOid));
    ARROW_ASSIGN_OR_RAISE(Value items, array(0));
    std::vector<Value> kept;
    for (const Value& item : items.items()) {
      if (name == "array_remove") {
        ARROW_ASSIGN_OR_RAISE(auto compared, CompareValues(item, arguments[1], resolver));
        bool same = (item.is_null() && arguments[1].is_null()) || (compared && *compared == 0);
        if (same) continue;
      }
      kept.push_back(item);
    }
    if (name == "array_append") kept.push_back(arguments[1]);
    return Result(Value::Array(std::move(kept), items.type()));
  }
  if (name == "array_cat") {
    ARROW_RETURN_NOT_OK(argument_count(2, 2));
    if (arguments[0].is_null()) return Result(arguments[1]);
    if (arguments[1].is_null()) return Result(arguments[0]);
    ARROW_ASSIGN_OR_RAISE(Value left, array(0));
    ARROW_ASSIGN_OR_RAISE(Value right, array(1));
    std::vector<Value> joined = left.items();
    joined.insert(joined.end(), right.items().begin(), right.items().end());
    return Result(Value::Array(std::move(joined), left.type()));
  }

  // Numbers.
  if (name == "abs" || name == "floor" || name == "ceil" || name == "ceiling" || name == "round") {
    ARROW_RETURN_NOT_OK(argument_count(1, 1));
    if (arguments[0].is_null()) return Result(arguments[0]);
    if (arguments[0].kind() == Value::Kind::kInteger) {
      if (name == "abs")
        return Result(Value::Integer(std::llabs(arguments[0].integer()), arguments[0].type()));
      return Result(arguments[0]);
    }
    ARROW_ASSIGN_OR_RAISE(Value number, CastValue(arguments[0], kFloat8Oid, resolver));
    double value = number.number();
    double result = name == "abs"     ? std::fabs(value)
                    : name == "floor" ? std::floor(value)
                    : name == "round" ? std::round(value)
                                      : std::ceil(value);
    return Result(Value::Float(
        result, arguments[0].type() == kUnknownOid ? kFloat8Oid : arguments[0].type()));
  }
  return Result();
}

}  // namespace nlk::pgwire
