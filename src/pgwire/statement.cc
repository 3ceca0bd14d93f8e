#include "pgwire/statement.h"

#include <pg_query.h>

#include <set>

#include "common/json_fields.h"
#include "pgwire/catalog_functions.h"
#include "pgwire/sql_state.h"
#include "pgwire/system_catalog.h"
#include "sql/sql_error.h"

namespace nlk::pgwire {
namespace {

// What a SELECT's tree names, to tell catalog queries from data queries.
struct Features {
  std::set<std::string> common_tables;                         // WITH names
  std::vector<std::pair<std::string, std::string>> relations;  // (schema, name)
  bool system = false;  // system functions, reg* casts, functions in FROM, arrays
};

void Collect(const JsonValue& node, Features* features) {
  if (node.type() == JsonValue::Type::kArray) {
    for (const JsonValue& item : node.array()) Collect(item, features);
    return;
  }
  if (node.type() != JsonValue::Type::kObject) return;
  for (const auto& [key, value] : node.object()) {
    if (key == "RangeVar") {
      features->relations.emplace_back(StringField(value, "schemaname"),
                                       StringField(value, "relname"));
    } else if (key == "CommonTableExpr") {
      features->common_tables.insert(StringField(value, "ctename"));
    } else if (key == "FuncCall") {
      const JsonValue* names = value.Find("funcname");
      if (names != nullptr && names->type() == JsonValue::Type::kArray && !names->array().empty()) {
        const JsonValue& last = *Unwrap(names->array().back()).second;
        if (IsSystemFunction(StringField(last, "sval"))) features->system = true;
      }
    } else if (key == "SQLValueFunction") {
      std::string op = StringField(value, "op");
      if (op.find("DATE") == std::string::npos && op.find("TIME") == std::string::npos) {
        features->system = true;
      }
    } else if (key == "TypeCast") {
      const JsonValue* type_name = value.Find("typeName");
      const JsonValue* names = type_name == nullptr ? nullptr : type_name->Find("names");
      if (names != nullptr && names->type() == JsonValue::Type::kArray && !names->array().empty()) {
        std::string name = StringField(*Unwrap(names->array().back()).second, "sval");
        if (name.starts_with("reg") || name == "oid") features->system = true;
      }
    } else if (key == "RangeFunction" || key == "A_ArrayExpr" || key == "A_Indirection") {
      features->system = true;
    }
    Collect(value, features);
  }
}

Statement::Kind ClassifySelect(const JsonValue& select) {
  Features features;
  Collect(select, &features);
  bool catalog = false;
  bool data = false;
  for (const auto& [schema, name] : features.relations) {
    if (schema.empty() && features.common_tables.count(name) > 0) continue;
    if (schema == "pg_catalog" || schema == "information_schema" ||
        (schema.empty() && SystemCatalog::IsSystemRelation("", name))) {
      catalog = true;
    } else {
      data = true;
    }
  }
  if (catalog && data) return Statement::Kind::kMixed;
  if (catalog) return Statement::Kind::kCatalog;
  if (data) return Statement::Kind::kData;
  return features.system ? Statement::Kind::kCatalog : Statement::Kind::kData;
}

Statement::Kind Classify(std::string_view type, const JsonValue& body) {
  if (type == "SelectStmt") return ClassifySelect(body);
  if (type == "ExplainStmt") return Statement::Kind::kData;
  if (type == "VariableSetStmt") return Statement::Kind::kSet;
  if (type == "VariableShowStmt") return Statement::Kind::kShow;
  if (type == "TransactionStmt") return Statement::Kind::kTransaction;
  if (type == "DiscardStmt") return Statement::Kind::kDiscard;
  if (type == "DeallocateStmt") return Statement::Kind::kDeallocate;
  if (type == "DeclareCursorStmt") return Statement::Kind::kDeclare;
  if (type == "FetchStmt") return Statement::Kind::kFetch;
  if (type == "ClosePortalStmt") return Statement::Kind::kClose;
  return Statement::Kind::kOther;
}

}  // namespace

arrow::Result<std::vector<Statement>> ParseQuery(std::string_view sql) {
  auto query = std::make_shared<const std::string>(sql);
  PgQueryParseResult result = pg_query_parse(query->c_str());
  struct Free {
    PgQueryParseResult* result;
    ~Free() { pg_query_free_parse_result(*result); }
  } free_result{&result};
  if (result.error != nullptr) {
    // libpg_query's cursor is 1-based bytes (0: unknown, e.g. at the end of input).
    int location =
        result.error->cursorpos > 0 ? result.error->cursorpos - 1 : static_cast<int>(sql.size());
    return SqlStateError(sqlstate::kSyntaxError,
                         sql::SqlError(sql, location, result.error->message).message());
  }
  ARROW_ASSIGN_OR_RAISE(JsonValue root, ParseJson(result.parse_tree));
  std::vector<Statement> statements;
  const JsonValue* list = root.Find("stmts");
  if (list == nullptr || list->type() != JsonValue::Type::kArray) return statements;
  for (const JsonValue& item : list->array()) {
    Statement statement;
    statement.query = query;
    statement.offset = static_cast<int>(IntegerField(item, "stmt_location"));
    int64_t length = IntegerField(item, "stmt_len");
    statement.text = length == 0 ? query->substr(static_cast<size_t>(statement.offset))
                                 : query->substr(static_cast<size_t>(statement.offset),
                                                 static_cast<size_t>(length));
    const JsonValue* node = item.Find("stmt");
    auto [type, body] = node == nullptr
                            ? std::pair<std::string_view, const JsonValue*>{"", &NullJsonNode()}
                            : Unwrap(*node);
    statement.node_type = std::string(type);
    statement.node = std::make_shared<const JsonValue>(*body);
    statement.kind = Classify(type, *body);
    CollectParameters(*body, statement.offset, &statement.parameters);
    for (const ParameterReference& reference : statement.parameters) {
      statement.parameter_count = std::max(statement.parameter_count, reference.number);
    }
    statements.push_back(std::move(statement));
  }
  return statements;
}

}  // namespace nlk::pgwire
