#include "pgwire/catalog_query.h"

#include <arrow/compute/api.h>
#include <arrow/scalar.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>

#include "common/arrow_runtime.h"
#include "common/ascii.h"
#include "common/json_fields.h"
#include "pgwire/sql_state.h"

namespace nlk::pgwire {
namespace {

const std::vector<JsonValue>& ArrayField(const JsonValue& object, std::string_view key) {
  static const std::vector<JsonValue> kEmpty;
  const JsonValue& value = Field(object, key);
  return value.type() == JsonValue::Type::kArray ? value.array() : kEmpty;
}

// The names of a list of String nodes ("*" for A_Star).
std::vector<std::string> Names(const std::vector<JsonValue>& list) {
  std::vector<std::string> names;
  for (const JsonValue& item : list) {
    auto [type, body] = Unwrap(item);
    if (type == "String") names.push_back(StringField(*body, "sval"));
    if (type == "A_Star") names.push_back("*");
  }
  return names;
}

std::string JoinNames(const std::vector<std::string>& parts, std::string_view separator) {
  std::string joined;
  for (const std::string& part : parts) {
    if (!joined.empty()) joined += separator;
    joined += part;
  }
  return joined;
}

arrow::Status Unsupported(const std::string& what) {
  return SqlStateError(sqlstate::kFeatureNotSupported,
                       what + " is not supported in catalog queries");
}

bool IsAggregate(std::string_view name) {
  static const std::set<std::string, std::less<>> kAggregates = {
      "count",      "sum",       "avg",      "min",     "max",
      "string_agg", "array_agg", "bool_and", "bool_or", "every"};
  return kAggregates.count(name) > 0;
}

// A column of a relation being evaluated, with what a column reference may qualify it by.
struct Column {
  std::string qualifier;  // alias, or the relation's name
  std::string schema;     // the relation's schema when it has no alias
  std::string name;
  int32_t type = kTextOid;
};

struct Table {
  std::vector<Column> columns;
  std::vector<Row> owned;
  const std::vector<Row>* rows = &owned;  // owned rows, or a catalog relation's

  Table() = default;
  Table(const Table& other) : columns(other.columns), owned(other.owned) {
    rows = other.rows == &other.owned ? &owned : other.rows;
  }
  Table& operator=(const Table& other) {
    columns = other.columns;
    owned = other.owned;
    rows = other.rows == &other.owned ? &owned : other.rows;
    return *this;
  }
  Table(Table&& other) noexcept : columns(std::move(other.columns)) {
    const bool own = other.rows == &other.owned;
    owned = std::move(other.owned);
    rows = own ? &owned : other.rows;
  }
  Table& operator=(Table&& other) noexcept {
    const bool own = other.rows == &other.owned;
    columns = std::move(other.columns);
    owned = std::move(other.owned);
    rows = own ? &owned : other.rows;
    return *this;
  }
};

struct Output {
  std::vector<std::string> names;
  std::vector<int32_t> types;
  std::vector<Row> rows;
};

using WindowValues = std::map<const JsonValue*, std::vector<Value>>;

// Where an expression is evaluated: the columns in scope, the current row (or group), and the
// enclosing query's context for correlated references.
struct Context {
  const Table* table = nullptr;
  const Row* row = nullptr;
  const std::vector<const Row*>* group = nullptr;  // set in grouped queries
  size_t row_index = 0;
  const WindowValues* windows = nullptr;
  const Context* outer = nullptr;
  int level = 0;
  bool typing = false;  // evaluating over typed NULLs to learn result types
};

// A hashable form of a value for joins, grouping and DISTINCT: equal keys mean equal values.
std::string KeyOf(const Value& value) {
  switch (value.kind()) {
    case Value::Kind::kNull:
      return "N";
    case Value::Kind::kBool:
      return value.boolean() ? "b1" : "b0";
    case Value::Kind::kInteger:
      return "i" + std::to_string(value.integer());
    case Value::Kind::kFloat: {
      double number = value.number();
      if (number == static_cast<double>(static_cast<int64_t>(number))) {
        return "i" + std::to_string(static_cast<int64_t>(number));
      }
      return "f" + std::to_string(number);
    }
    case Value::Kind::kText:
      return "t" + value.text();
    case Value::Kind::kArray: {
      std::string key = "a";
      for (const Value& item : value.items()) {
        std::string part = KeyOf(item);
        key += std::to_string(part.size()) + ":" + part;
      }
      return key;
    }
  }
  return "";
}

std::string RowKey(const Row& row) {
  std::string key;
  for (const Value& value : row) {
    std::string part = KeyOf(value);
    key += std::to_string(part.size()) + ":" + part;
  }
  return key;
}

// Join keys are compared by KeyOf, which only agrees with SQL equality between like kinds.
bool Hashable(int32_t left, int32_t right) {
  return (IsNumericType(left) && IsNumericType(right)) || (IsTextType(left) && IsTextType(right)) ||
         (left == kBoolOid && right == kBoolOid);
}

// LIKE: '%' any run, '_' one character, '\' escapes.
bool Like(std::string_view text, std::string_view pattern) {
  size_t t = 0;
  size_t p = 0;
  size_t star_pattern = std::string_view::npos;
  size_t star_text = 0;
  auto next_char = [](std::string_view s, size_t i) {
    ++i;
    while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
    return i;
  };
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '%') {
      star_pattern = ++p;
      star_text = t;
      continue;
    }
    if (p < pattern.size()) {
      if (pattern[p] == '_') {
        p = next_char(pattern, p);
        t = next_char(text, t);
        continue;
      }
      size_t literal = p;
      if (pattern[p] == '\\' && p + 1 < pattern.size()) literal = p + 1;
      if (text[t] == pattern[literal]) {
        p = literal + 1;
        ++t;
        continue;
      }
    }
    if (star_pattern == std::string_view::npos) return false;
    star_text = next_char(text, star_text);
    t = star_text;
    p = star_pattern;
  }
  while (p < pattern.size() && pattern[p] == '%') ++p;
  return p == pattern.size();
}

arrow::Result<bool> RegexMatch(const std::string& text, const std::string& pattern,
                               bool ignore_case) {
  // Arrow's RE2, which also serves the SQL engine's ~ operator; linear time in the input. A
  // catalog query may be a session's first, before the engine has set up Arrow's kernels.
  ARROW_RETURN_NOT_OK(InitializeArrowCompute());
  arrow::compute::MatchSubstringOptions options(pattern, ignore_case);
  auto result = arrow::compute::CallFunction(
      "match_substring_regex", {arrow::Datum(std::make_shared<arrow::StringScalar>(text))},
      &options);
  if (!result.ok()) {
    return SqlStateError("2201B", "invalid regular expression: " + result.status().message());
  }
  return static_cast<const arrow::BooleanScalar&>(*result->scalar()).value;
}

class Evaluator {
 public:
  Evaluator(std::string_view sql, FunctionContext& functions)
      : sql_(sql), functions_(functions), resolver_(functions.catalog->resolver()) {}

  arrow::Result<Output> Select(const JsonValue& node, const Context* outer) {
    const int level = outer == nullptr ? 0 : outer->level + 1;
    if (node.Find("intoClause") != nullptr) return Unsupported("SELECT INTO");
    if (node.Find("lockingClause") != nullptr) return Unsupported("FOR UPDATE/SHARE");
    if (StringField(node, "limitOption") == "LIMIT_OPTION_WITH_TIES") {
      return Unsupported("FETCH ... WITH TIES");
    }
    size_t cte_depth = ctes_.size();
    struct CteGuard {
      std::vector<std::map<std::string, std::shared_ptr<const Output>>>* ctes;
      size_t depth;
      ~CteGuard() { ctes->resize(depth); }
    } guard{&ctes_, cte_depth};
    if (const JsonValue* with = node.Find("withClause")) {
      if (BoolField(*with, "recursive")) return Unsupported("WITH RECURSIVE");
      ctes_.emplace_back();
      for (const JsonValue& item : ArrayField(*with, "ctes")) {
        auto [type, cte] = Unwrap(item);
        auto [query_type, query] = Unwrap(Field(*cte, "ctequery"));
        if (query_type != "SelectStmt") return Unsupported(std::string(query_type) + " in WITH");
        ARROW_ASSIGN_OR_RAISE(Output output, Select(*query, outer));
        auto aliases = Names(ArrayField(*cte, "aliascolnames"));
        for (size_t index = 0; index < aliases.size() && index < output.names.size(); ++index) {
          output.names[index] = aliases[index];
        }
        ctes_.back()[StringField(*cte, "ctename")] =
            std::make_shared<const Output>(std::move(output));
      }
    }
    std::string operation = StringField(node, "op");
    if (!operation.empty() && operation != "SETOP_NONE") {
      return SetOperation(node, operation, outer);
    }
    if (!ArrayField(node, "valuesLists").empty()) return Values(node, outer);
    return PlainSelect(node, outer, level);
  }

 private:
  // ------------------------------------------------------------------ SELECT

  struct Target {
    const JsonValue* expression = nullptr;  // nullptr: column `column` of the input (a star)
    size_t column = 0;
    std::string name;
  };

  arrow::Result<Output> PlainSelect(const JsonValue& node, const Context* outer, int level) {
    ARROW_ASSIGN_OR_RAISE(Table input, From(node, outer, level));
    // WHERE.
    const JsonValue* where = node.Find("whereClause");
    std::vector<const Row*> rows;
    for (const Row& row : *input.rows) {
      if (where != nullptr) {
        Context context{&input, &row, nullptr, 0, nullptr, outer, level, false};
        ARROW_ASSIGN_OR_RAISE(Value keep, Eval(*where, context));
        ARROW_ASSIGN_OR_RAISE(auto truth, Truth(keep, "WHERE"));
        if (!truth.value_or(false)) continue;
      }
      rows.push_back(&row);
    }

    ARROW_ASSIGN_OR_RAISE(std::vector<Target> targets, Targets(node, input));
    const auto& group_items = ArrayField(node, "groupClause");
    const JsonValue* having = node.Find("havingClause");
    bool grouped = !group_items.empty() || having != nullptr;
    for (const Target& target : targets) {
      if (target.expression != nullptr && HasAggregate(*target.expression)) grouped = true;
    }

    // Each output row comes from one source: a row, or a group of rows.
    std::vector<std::vector<const Row*>> groups;
    WindowValues windows;
    if (grouped) {
      for (const JsonValue& item : group_items) {
        if (Unwrap(item).first == "GroupingSet") return Unsupported("GROUPING SETS");
      }
      std::map<std::string, size_t> group_of;
      if (group_items.empty()) groups.emplace_back();
      for (const Row* row : rows) {
        Context context{&input, row, nullptr, 0, nullptr, outer, level, false};
        std::string key;
        for (const JsonValue& item : group_items) {
          ARROW_ASSIGN_OR_RAISE(const JsonValue* expression, GroupExpression(item, node, input));
          ARROW_ASSIGN_OR_RAISE(Value value, Eval(*expression, context));
          std::string part = KeyOf(value);
          key += std::to_string(part.size()) + ":" + part;
        }
        auto [found, added] = group_of.emplace(key, groups.size());
        if (added && !group_items.empty()) groups.emplace_back();
        groups[group_items.empty() ? 0 : found->second].push_back(row);
      }
      if (having != nullptr) {
        std::vector<std::vector<const Row*>> kept;
        for (auto& group : groups) {
          Context context = GroupContext(input, group, outer, level);
          ARROW_ASSIGN_OR_RAISE(Value keep, Eval(*having, context));
          ARROW_ASSIGN_OR_RAISE(auto truth, Truth(keep, "HAVING"));
          if (truth.value_or(false)) kept.push_back(std::move(group));
        }
        groups = std::move(kept);
      }
    } else {
      for (const Target& target : targets) {
        if (target.expression != nullptr) {
          ARROW_RETURN_NOT_OK(
              ComputeWindows(*target.expression, input, rows, outer, level, &windows));
        }
      }
    }

    Output output;
    for (const Target& target : targets) output.names.push_back(target.name);
    ARROW_ASSIGN_OR_RAISE(output.types, TargetTypes(targets, input, grouped, outer, level));

    const size_t sources = grouped ? groups.size() : rows.size();
    std::vector<size_t> source_of;
    for (size_t source = 0; source < sources; ++source) {
      Context context =
          grouped ? GroupContext(input, groups[source], outer, level)
                  : Context{&input, rows[source], nullptr, source, &windows, outer, level, false};
      Row row;
      for (const Target& target : targets) {
        if (target.expression == nullptr) {
          row.push_back((*context.row)[target.column]);
          continue;
        }
        ARROW_ASSIGN_OR_RAISE(Value value, Eval(*target.expression, context));
        row.push_back(std::move(value));
      }
      output.rows.push_back(std::move(row));
      source_of.push_back(source);
    }
    FillUnknownTypes(&output);

    if (node.Find("distinctClause") != nullptr) {
      for (const JsonValue& item : ArrayField(node, "distinctClause")) {
        if (!item.object().empty()) return Unsupported("DISTINCT ON");
      }
      std::set<std::string> seen;
      std::vector<Row> unique;
      std::vector<size_t> unique_sources;
      for (size_t index = 0; index < output.rows.size(); ++index) {
        if (seen.insert(RowKey(output.rows[index])).second) {
          unique.push_back(std::move(output.rows[index]));
          unique_sources.push_back(source_of[index]);
        }
      }
      output.rows = std::move(unique);
      source_of = std::move(unique_sources);
    }

    auto source_context = [&](size_t index) {
      size_t source = source_of[index];
      return grouped
                 ? GroupContext(input, groups[source], outer, level)
                 : Context{&input, rows[source], nullptr, source, &windows, outer, level, false};
    };
    ARROW_RETURN_NOT_OK(Order(node, &output, source_context));
    ARROW_RETURN_NOT_OK(Limit(node, &output, outer));
    return output;
  }

  Context GroupContext(const Table& input, const std::vector<const Row*>& group,
                       const Context* outer, int level) {
    const Row* first = group.empty() ? nullptr : group.front();
    return Context{&input, first, &group, 0, nullptr, outer, level, false};
  }

  // A GROUP BY item: an expression, an ordinal of the select list, or an output column name.
  arrow::Result<const JsonValue*> GroupExpression(const JsonValue& item, const JsonValue& select,
                                                  const Table& input) {
    auto [type, body] = Unwrap(item);
    const auto& target_list = ArrayField(select, "targetList");
    if (type == "A_Const" && body->Find("ival") != nullptr) {
      ARROW_ASSIGN_OR_RAISE(Value ordinal, Constant(*body));
      int64_t position = ordinal.integer();
      if (position < 1 || position > static_cast<int64_t>(target_list.size())) {
        return SqlStateError(
            "42P10", "GROUP BY position " + std::to_string(position) + " is not in select list");
      }
      return &Field(*Unwrap(target_list[static_cast<size_t>(position - 1)]).second, "val");
    }
    if (type == "ColumnRef") {
      auto names = Names(ArrayField(*body, "fields"));
      bool in_input = false;
      for (const Column& column : input.columns) {
        if (names.size() == 1 && column.name == names[0]) in_input = true;
      }
      if (names.size() == 1 && !in_input) {
        for (const JsonValue& target : target_list) {
          if (StringField(*Unwrap(target).second, "name") == names[0]) {
            return &Field(*Unwrap(target).second, "val");
          }
        }
      }
    }
    return &item;
  }

  arrow::Result<std::vector<Target>> Targets(const JsonValue& node, const Table& input) {
    std::vector<Target> targets;
    for (const JsonValue& item : ArrayField(node, "targetList")) {
      const JsonValue& target = *Unwrap(item).second;
      const JsonValue& value = Field(target, "val");
      auto [type, body] = Unwrap(value);
      if (type == "ColumnRef") {
        auto names = Names(ArrayField(*body, "fields"));
        if (!names.empty() && names.back() == "*") {
          names.pop_back();
          bool any = false;
          for (size_t index = 0; index < input.columns.size(); ++index) {
            const Column& column = input.columns[index];
            bool matches =
                names.empty() || (column.qualifier == names.back() &&
                                  (names.size() < 2 || column.schema == names[names.size() - 2]));
            if (!matches) continue;
            targets.push_back({nullptr, index, column.name});
            any = true;
          }
          if (!any && !names.empty()) {
            return SqlStateError(sqlstate::kUndefinedTable,
                                 "missing FROM-clause entry for table \"" + names.back() + "\"");
          }
          continue;
        }
      }
      std::string name = StringField(target, "name");
      if (name.empty()) name = FigureName(value).value_or("?column?");
      targets.push_back({&value, 0, name});
    }
    return targets;
  }

  // PostgreSQL's default output column names.
  std::optional<std::string> FigureName(const JsonValue& node) {
    auto [type, body] = Unwrap(node);
    if (type == "ColumnRef") {
      auto names = Names(ArrayField(*body, "fields"));
      if (!names.empty() && names.back() != "*") return names.back();
      return std::nullopt;
    }
    if (type == "FuncCall") {
      auto names = Names(ArrayField(*body, "funcname"));
      return names.empty() ? std::nullopt : std::optional<std::string>(names.back());
    }
    if (type == "TypeCast") {
      if (auto inner = FigureName(Field(*body, "arg"))) return inner;
      auto names = Names(ArrayField(Field(*body, "typeName"), "names"));
      return names.empty() ? std::nullopt : std::optional<std::string>(names.back());
    }
    if (type == "A_Indirection") {
      const auto& indirection = ArrayField(*body, "indirection");
      if (!indirection.empty() && Unwrap(indirection.back()).first == "String") {
        return StringField(*Unwrap(indirection.back()).second, "sval");
      }
      return FigureName(Field(*body, "arg"));
    }
    if (type == "CollateClause") return FigureName(Field(*body, "arg"));
    if (type == "CaseExpr") return std::string("case");
    if (type == "CoalesceExpr") return std::string("coalesce");
    if (type == "MinMaxExpr") {
      return StringField(*body, "op") == "IS_GREATEST" ? "greatest" : "least";
    }
    if (type == "A_ArrayExpr") return std::string("array");
    if (type == "SubLink") {
      std::string link = StringField(*body, "subLinkType");
      if (link == "EXISTS_SUBLINK") return std::string("exists");
      if (link == "ARRAY_SUBLINK") return std::string("array");
      if (link == "EXPR_SUBLINK") {
        const JsonValue& select = *Unwrap(Field(*body, "subselect")).second;
        const auto& list = ArrayField(select, "targetList");
        if (list.size() == 1) {
          const JsonValue& target = *Unwrap(list[0]).second;
          std::string name = StringField(target, "name");
          if (!name.empty()) return name;
          return FigureName(Field(target, "val"));
        }
      }
      return std::nullopt;
    }
    if (type == "SQLValueFunction") {
      static const std::map<std::string, std::string> kNames = {
          {"SVFOP_CURRENT_DATE", "current_date"},
          {"SVFOP_CURRENT_TIME", "current_time"},
          {"SVFOP_CURRENT_TIME_N", "current_time"},
          {"SVFOP_CURRENT_TIMESTAMP", "current_timestamp"},
          {"SVFOP_CURRENT_TIMESTAMP_N", "current_timestamp"},
          {"SVFOP_LOCALTIME", "localtime"},
          {"SVFOP_LOCALTIME_N", "localtime"},
          {"SVFOP_LOCALTIMESTAMP", "localtimestamp"},
          {"SVFOP_LOCALTIMESTAMP_N", "localtimestamp"},
          {"SVFOP_CURRENT_ROLE", "current_role"},
          {"SVFOP_CURRENT_USER", "current_user"},
          {"SVFOP_USER", "current_user"},
          {"SVFOP_SESSION_USER", "session_user"},
          {"SVFOP_CURRENT_CATALOG", "current_catalog"},
          {"SVFOP_CURRENT_SCHEMA", "current_schema"}};
      auto found = kNames.find(StringField(*body, "op"));
      if (found != kNames.end()) return found->second;
    }
    return std::nullopt;
  }

  // Result types: each expression over a row of typed NULLs (and an empty group), so that even an
  // empty result is described with the right types.
  arrow::Result<std::vector<int32_t>> TargetTypes(const std::vector<Target>& targets,
                                                  const Table& input, bool grouped,
                                                  const Context* outer, int level) {
    Row nulls;
    for (const Column& column : input.columns) nulls.push_back(Value::Null(column.type));
    std::vector<const Row*> empty_group;
    Context context{&input, &nulls, grouped ? &empty_group : nullptr, 0, nullptr, outer,
                    level,  true};
    std::vector<int32_t> types;
    for (const Target& target : targets) {
      if (target.expression == nullptr) {
        types.push_back(input.columns[target.column].type);
        continue;
      }
      auto value = Eval(*target.expression, context);
      types.push_back(value.ok() ? value->type() : kUnknownOid);
    }
    return types;
  }

  static void FillUnknownTypes(Output* output) {
    for (size_t column = 0; column < output->types.size(); ++column) {
      if (output->types[column] != kUnknownOid) continue;
      for (const Row& row : output->rows) {
        if (!row[column].is_null() && row[column].type() != kUnknownOid) {
          output->types[column] = row[column].type();
          break;
        }
      }
      // Untyped literals in a select list are text, as in PostgreSQL.
      if (output->types[column] == kUnknownOid) output->types[column] = kTextOid;
    }
  }

  arrow::Result<Output> Values(const JsonValue& node, const Context* outer) {
    Output output;
    Table empty;
    Row no_columns;
    Context context{
        &empty, &no_columns, nullptr, 0, nullptr, outer, outer == nullptr ? 0 : outer->level + 1,
        false};
    for (const JsonValue& list : ArrayField(node, "valuesLists")) {
      Row row;
      for (const JsonValue& item : ArrayField(*Unwrap(list).second, "items")) {
        ARROW_ASSIGN_OR_RAISE(Value value, Eval(item, context));
        row.push_back(std::move(value));
      }
      if (!output.rows.empty() && row.size() != output.rows.front().size()) {
        return SqlStateError(sqlstate::kSyntaxError, "VALUES lists must all be the same length");
      }
      output.rows.push_back(std::move(row));
    }
    for (size_t index = 0; index < output.rows.front().size(); ++index) {
      output.names.push_back("column" + std::to_string(index + 1));
      output.types.push_back(kUnknownOid);
    }
    FillUnknownTypes(&output);
    ARROW_RETURN_NOT_OK(OrderOutput(node, &output, outer));
    ARROW_RETURN_NOT_OK(Limit(node, &output, outer));
    return output;
  }

  arrow::Result<Output> SetOperation(const JsonValue& node, const std::string& operation,
                                     const Context* outer) {
    // larg/rarg are typed SelectStmt pointers, printed without the node wrapper.
    ARROW_ASSIGN_OR_RAISE(Output left, Select(Field(node, "larg"), outer));
    ARROW_ASSIGN_OR_RAISE(Output right, Select(Field(node, "rarg"), outer));
    if (left.names.size() != right.names.size()) {
      return SqlStateError(sqlstate::kSyntaxError, "each " + operation.substr(6) +
                                                       " query must have the same number of "
                                                       "columns");
    }
    const bool all = BoolField(node, "all");
    Output output;
    output.names = left.names;
    output.types = left.types;
    for (size_t index = 0; index < output.types.size(); ++index) {
      if (output.types[index] == kTextOid && right.types[index] != kTextOid) {
        output.types[index] = right.types[index];
      }
    }
    if (operation == "SETOP_UNION") {
      output.rows = std::move(left.rows);
      output.rows.insert(output.rows.end(), std::make_move_iterator(right.rows.begin()),
                         std::make_move_iterator(right.rows.end()));
      if (!all) {
        std::set<std::string> seen;
        std::vector<Row> unique;
        for (Row& row : output.rows) {
          if (seen.insert(RowKey(row)).second) unique.push_back(std::move(row));
        }
        output.rows = std::move(unique);
      }
    } else {
      std::multiset<std::string> in_right;
      for (const Row& row : right.rows) in_right.insert(RowKey(row));
      std::set<std::string> emitted;
      const bool intersect = operation == "SETOP_INTERSECT";
      for (Row& row : left.rows) {
        std::string key = RowKey(row);
        auto found = in_right.find(key);
        bool present = found != in_right.end();
        if (intersect != present) continue;
        if (all) {
          if (intersect) in_right.erase(found);
        } else if (!emitted.insert(key).second) {
          continue;
        }
        output.rows.push_back(std::move(row));
      }
    }
    ARROW_RETURN_NOT_OK(OrderOutput(node, &output, outer));
    ARROW_RETURN_NOT_OK(Limit(node, &output, outer));
    return output;
  }

  // ORDER BY over a result whose sources are its own rows (set operations, VALUES).
  arrow::Status OrderOutput(const JsonValue& node, Output* output, const Context* outer) {
    if (ArrayField(node, "sortClause").empty()) return arrow::Status::OK();
    auto table = std::make_shared<Table>();
    for (size_t index = 0; index < output->names.size(); ++index) {
      table->columns.push_back({"", "", output->names[index], output->types[index]});
    }
    std::vector<Row> copies = output->rows;
    auto context = [&](size_t index) {
      return Context{table.get(),
                     &copies[index],
                     nullptr,
                     0,
                     nullptr,
                     outer,
                     outer == nullptr ? 0 : outer->level + 1,
                     false};
    };
    return Order(node, output, context);
  }

  template <typename SourceContext>
  arrow::Status Order(const JsonValue& node, Output* output, SourceContext source_context) {
    const auto& sort = ArrayField(node, "sortClause");
    if (sort.empty() || output->rows.size() < 2) return arrow::Status::OK();
    struct Key {
      std::optional<size_t> column;  // an output column, or
      const JsonValue* expression = nullptr;
      bool descending = false;
      bool nulls_first = false;
    };
    std::vector<Key> keys;
    for (const JsonValue& item : sort) {
      const JsonValue& sort_by = *Unwrap(item).second;
      const JsonValue& expression = Field(sort_by, "node");
      Key key;
      std::string direction = StringField(sort_by, "sortby_dir");
      if (direction == "SORTBY_USING") return Unsupported("ORDER BY ... USING");
      key.descending = direction == "SORTBY_DESC";
      std::string nulls = StringField(sort_by, "sortby_nulls");
      key.nulls_first =
          nulls == "SORTBY_NULLS_FIRST" || (nulls != "SORTBY_NULLS_LAST" && key.descending);
      auto [type, body] = Unwrap(expression);
      if (type == "A_Const" && body->Find("ival") != nullptr) {
        ARROW_ASSIGN_OR_RAISE(Value ordinal, Constant(*body));
        int64_t position = ordinal.integer();
        if (position < 1 || position > static_cast<int64_t>(output->names.size())) {
          return SqlStateError(
              "42P10", "ORDER BY position " + std::to_string(position) + " is not in select list");
        }
        key.column = static_cast<size_t>(position - 1);
      } else if (type == "ColumnRef") {
        auto names = Names(ArrayField(*body, "fields"));
        if (names.size() == 1) {
          auto found = std::find(output->names.begin(), output->names.end(), names[0]);
          if (found != output->names.end()) {
            key.column = static_cast<size_t>(found - output->names.begin());
          }
        }
      }
      if (!key.column) key.expression = &expression;
      keys.push_back(key);
    }
    std::vector<std::vector<Value>> values(output->rows.size());
    for (size_t index = 0; index < output->rows.size(); ++index) {
      for (const Key& key : keys) {
        if (key.column) {
          values[index].push_back(output->rows[index][*key.column]);
          continue;
        }
        Context context = source_context(index);
        ARROW_ASSIGN_OR_RAISE(Value value, Eval(*key.expression, context));
        values[index].push_back(std::move(value));
      }
    }
    std::vector<size_t> order(output->rows.size());
    for (size_t index = 0; index < order.size(); ++index) order[index] = index;
    arrow::Status failure;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      for (size_t k = 0; k < keys.size(); ++k) {
        const Value& left = values[a][k];
        const Value& right = values[b][k];
        if (left.is_null() || right.is_null()) {
          if (left.is_null() && right.is_null()) continue;
          return left.is_null() == keys[k].nulls_first;
        }
        auto compared = CompareValues(left, right, resolver_);
        if (!compared.ok()) {
          if (failure.ok()) failure = compared.status();
          return false;
        }
        int sign = compared->value_or(0);
        if (sign != 0) return keys[k].descending ? sign > 0 : sign < 0;
      }
      return false;
    });
    ARROW_RETURN_NOT_OK(failure);
    std::vector<Row> sorted;
    sorted.reserve(order.size());
    for (size_t index : order) sorted.push_back(std::move(output->rows[index]));
    output->rows = std::move(sorted);
    return arrow::Status::OK();
  }

  arrow::Status Limit(const JsonValue& node, Output* output, const Context* outer) {
    Table empty;
    Row no_columns;
    Context context{&empty, &no_columns, nullptr, 0, nullptr, outer, 0, false};
    auto bound = [&](std::string_view key) -> arrow::Result<std::optional<int64_t>> {
      const JsonValue* expression = node.Find(key);
      if (expression == nullptr) return std::optional<int64_t>();
      ARROW_ASSIGN_OR_RAISE(Value value, Eval(*expression, context));
      if (value.is_null()) return std::optional<int64_t>();
      ARROW_ASSIGN_OR_RAISE(Value number, CastValue(value, kInt8Oid, resolver_));
      if (number.integer() < 0) {
        return SqlStateError("2201W", std::string(key == "limitCount" ? "LIMIT" : "OFFSET") +
                                          " must not be negative");
      }
      return std::optional<int64_t>(number.integer());
    };
    ARROW_ASSIGN_OR_RAISE(auto offset, bound("limitOffset"));
    ARROW_ASSIGN_OR_RAISE(auto count, bound("limitCount"));
    const int64_t size = static_cast<int64_t>(output->rows.size());
    int64_t start = std::min(size, offset.value_or(0));
    int64_t end = count ? std::min(size, start + *count) : size;
    if (start == 0 && end == size) return arrow::Status::OK();
    output->rows = std::vector<Row>(std::make_move_iterator(output->rows.begin() + start),
                                    std::make_move_iterator(output->rows.begin() + end));
    return arrow::Status::OK();
  }

  // ------------------------------------------------------------------ FROM

  arrow::Result<Table> From(const JsonValue& node, const Context* outer, int level) {
    const auto& items = ArrayField(node, "fromClause");
    if (items.empty()) {
      Table table;
      table.owned.emplace_back();  // one row with no columns
      return table;
    }
    ARROW_ASSIGN_OR_RAISE(Table joined, FromItem(items[0], outer, level));
    // Comma joins are cross products filtered by WHERE; WHERE's equalities between the sides
    // turn them into hash joins here (WHERE still applies in full afterwards).
    std::vector<const JsonValue*> conjuncts;
    if (const JsonValue* where = node.Find("whereClause")) Conjuncts(*where, &conjuncts);
    for (size_t index = 1; index < items.size(); ++index) {
      ARROW_ASSIGN_OR_RAISE(Table next, FromItem(items[index], outer, level));
      auto keys = EquiKeys(conjuncts, joined, next);
      ARROW_ASSIGN_OR_RAISE(joined, Join(std::move(joined), std::move(next), "JOIN_INNER", keys,
                                         nullptr, outer, level));
    }
    return joined;
  }

  static void Conjuncts(const JsonValue& node, std::vector<const JsonValue*>* out) {
    auto [type, body] = Unwrap(node);
    if (type == "BoolExpr" && StringField(*body, "boolop") == "AND_EXPR") {
      for (const JsonValue& argument : ArrayField(*body, "args")) Conjuncts(argument, out);
      return;
    }
    out->push_back(&node);
  }

  // The index of the one column of `table` that `names` refers to, if exactly one.
  static std::optional<size_t> FindColumn(const Table& table,
                                          const std::vector<std::string>& names) {
    std::optional<size_t> found;
    for (size_t index = 0; index < table.columns.size(); ++index) {
      if (!Matches(table.columns[index], names)) continue;
      if (found) return std::nullopt;
      found = index;
    }
    return found;
  }

  static std::vector<std::pair<size_t, size_t>> EquiKeys(
      const std::vector<const JsonValue*>& conjuncts, const Table& left, const Table& right) {
    std::vector<std::pair<size_t, size_t>> keys;
    for (const JsonValue* conjunct : conjuncts) {
      auto [type, body] = Unwrap(*conjunct);
      if (type != "A_Expr" || StringField(*body, "kind") != "AEXPR_OP") continue;
      auto op = Names(ArrayField(*body, "name"));
      if (op.empty() || op.back() != "=") continue;
      auto [left_type, left_ref] = Unwrap(Field(*body, "lexpr"));
      auto [right_type, right_ref] = Unwrap(Field(*body, "rexpr"));
      if (left_type != "ColumnRef" || right_type != "ColumnRef") continue;
      auto a = Names(ArrayField(*left_ref, "fields"));
      auto b = Names(ArrayField(*right_ref, "fields"));
      auto a_left = FindColumn(left, a);
      auto a_right = FindColumn(right, a);
      auto b_left = FindColumn(left, b);
      auto b_right = FindColumn(right, b);
      std::optional<std::pair<size_t, size_t>> key;
      if (a_left && !a_right && b_right && !b_left) key = std::make_pair(*a_left, *b_right);
      if (b_left && !b_right && a_right && !a_left) key = std::make_pair(*b_left, *a_right);
      if (key && Hashable(left.columns[key->first].type, right.columns[key->second].type)) {
        keys.push_back(*key);
      }
    }
    return keys;
  }

  arrow::Result<Table> Join(Table left, Table right, const std::string& join_type,
                            const std::vector<std::pair<size_t, size_t>>& keys,
                            const JsonValue* condition, const Context* outer, int level) {
    Table joined;
    joined.columns = left.columns;
    joined.columns.insert(joined.columns.end(), right.columns.begin(), right.columns.end());
    const std::vector<Row>& left_rows = *left.rows;
    const std::vector<Row>& right_rows = *right.rows;
    std::unordered_map<std::string, std::vector<size_t>> buckets;
    auto key_of = [&keys](const Row& row, bool left_side) -> std::optional<std::string> {
      std::string key;
      for (const auto& [left_column, right_column] : keys) {
        const Value& value = row[left_side ? left_column : right_column];
        if (value.is_null()) return std::nullopt;
        std::string part = KeyOf(value);
        key += std::to_string(part.size()) + ":" + part;
      }
      return key;
    };
    if (!keys.empty()) {
      for (size_t index = 0; index < right_rows.size(); ++index) {
        if (auto key = key_of(right_rows[index], false)) buckets[*key].push_back(index);
      }
    }
    std::vector<size_t> all_right;
    if (keys.empty()) {
      all_right.resize(right_rows.size());
      for (size_t index = 0; index < all_right.size(); ++index) all_right[index] = index;
    }
    static const std::vector<size_t> kNone;
    std::vector<bool> right_matched(right_rows.size(), false);
    const bool keep_left = join_type == "JOIN_LEFT" || join_type == "JOIN_FULL";
    const bool keep_right = join_type == "JOIN_RIGHT" || join_type == "JOIN_FULL";
    for (const Row& left_row : left_rows) {
      const std::vector<size_t>* candidates = &all_right;
      if (!keys.empty()) {
        auto key = key_of(left_row, true);
        auto found = key ? buckets.find(*key) : buckets.end();
        candidates = found == buckets.end() ? &kNone : &found->second;
      }
      bool matched = false;
      for (size_t right_index : *candidates) {
        Row row = left_row;
        row.insert(row.end(), right_rows[right_index].begin(), right_rows[right_index].end());
        if (condition != nullptr) {
          Context context{&joined, &row, nullptr, 0, nullptr, outer, level, false};
          ARROW_ASSIGN_OR_RAISE(Value keep, Eval(*condition, context));
          ARROW_ASSIGN_OR_RAISE(auto truth, Truth(keep, "JOIN/ON"));
          if (!truth.value_or(false)) continue;
        }
        matched = true;
        right_matched[right_index] = true;
        joined.owned.push_back(std::move(row));
      }
      if (!matched && keep_left) {
        Row row = left_row;
        for (const Column& column : right.columns) row.push_back(Value::Null(column.type));
        joined.owned.push_back(std::move(row));
      }
    }
    if (keep_right) {
      for (size_t index = 0; index < right_rows.size(); ++index) {
        if (right_matched[index]) continue;
        Row row;
        for (const Column& column : left.columns) row.push_back(Value::Null(column.type));
        row.insert(row.end(), right_rows[index].begin(), right_rows[index].end());
        joined.owned.push_back(std::move(row));
      }
    }
    return joined;
  }

  void ApplyAlias(const JsonValue& node, Table* table, const std::string& default_qualifier) {
    std::string qualifier = default_qualifier;
    if (const JsonValue* alias = node.Find("alias")) {
      qualifier = StringField(*alias, "aliasname");
      auto names = Names(ArrayField(*alias, "colnames"));
      for (size_t index = 0; index < names.size() && index < table->columns.size(); ++index) {
        table->columns[index].name = names[index];
      }
      for (Column& column : table->columns) column.schema.clear();
    }
    for (Column& column : table->columns) column.qualifier = qualifier;
  }

  arrow::Result<Table> FromItem(const JsonValue& item, const Context* outer, int level) {
    auto [type, node] = Unwrap(item);
    if (type == "RangeVar") {
      std::string schema = StringField(*node, "schemaname");
      std::string name = StringField(*node, "relname");
      Table table;
      if (schema.empty()) {
        for (auto scope = ctes_.rbegin(); scope != ctes_.rend(); ++scope) {
          auto found = scope->find(name);
          if (found == scope->end()) continue;
          const Output& output = *found->second;
          for (size_t index = 0; index < output.names.size(); ++index) {
            table.columns.push_back({name, "", output.names[index], output.types[index]});
          }
          table.rows = &found->second->rows;
          ApplyAlias(*node, &table, name);
          return table;
        }
      }
      const CatalogRelation* relation = functions_.catalog->Find(schema, name);
      if (relation == nullptr) {
        std::string written = schema.empty() ? name : schema + "." + name;
        return SqlStateError(sqlstate::kUndefinedTable,
                             "relation \"" + written + "\" does not exist");
      }
      if (relation->served) {
        return SqlStateError(sqlstate::kFeatureNotSupported,
                             "table \"" + relation->schema + "." + relation->name +
                                 "\" cannot be read together with pg_catalog or "
                                 "information_schema relations; query it on its own");
      }
      for (const CatalogColumn& column : relation->columns) {
        table.columns.push_back({relation->name, relation->schema, column.name, column.type});
      }
      table.rows = &relation->rows;
      ApplyAlias(*node, &table, relation->name);
      return table;
    }
    if (type == "RangeSubselect") {
      if (BoolField(*node, "lateral")) return Unsupported("LATERAL");
      ARROW_ASSIGN_OR_RAISE(Output output, Select(*Unwrap(Field(*node, "subquery")).second, outer));
      Table table;
      for (size_t index = 0; index < output.names.size(); ++index) {
        table.columns.push_back({"", "", output.names[index], output.types[index]});
      }
      table.owned = std::move(output.rows);
      ApplyAlias(*node, &table, "");
      return table;
    }
    if (type == "JoinExpr") {
      if (BoolField(*node, "isNatural")) return Unsupported("NATURAL JOIN");
      std::string join_type = StringField(*node, "jointype");
      if (join_type.empty()) join_type = "JOIN_INNER";
      if (join_type != "JOIN_INNER" && join_type != "JOIN_LEFT" && join_type != "JOIN_RIGHT" &&
          join_type != "JOIN_FULL") {
        return Unsupported(join_type);
      }
      ARROW_ASSIGN_OR_RAISE(Table left, FromItem(Field(*node, "larg"), outer, level));
      ARROW_ASSIGN_OR_RAISE(Table right, FromItem(Field(*node, "rarg"), outer, level));
      std::vector<std::pair<size_t, size_t>> keys;
      const JsonValue* condition = node->Find("quals");
      for (const std::string& name : Names(ArrayField(*node, "usingClause"))) {
        auto left_column = FindColumn(left, {name});
        auto right_column = FindColumn(right, {name});
        if (!left_column || !right_column) {
          return SqlStateError(sqlstate::kUndefinedColumn,
                               "column \"" + name +
                                   "\" specified in USING clause does not exist "
                                   "on both sides");
        }
        keys.emplace_back(*left_column, *right_column);
      }
      if (condition != nullptr) {
        std::vector<const JsonValue*> conjuncts;
        Conjuncts(*condition, &conjuncts);
        keys = EquiKeys(conjuncts, left, right);
      }
      ARROW_ASSIGN_OR_RAISE(Table joined, Join(std::move(left), std::move(right), join_type, keys,
                                               condition, outer, level));
      if (node->Find("alias") != nullptr) ApplyAlias(*node, &joined, "");
      return joined;
    }
    if (type == "RangeFunction") return FunctionTable(*node, outer, level);
    return Unsupported(std::string(type) + " in FROM");
  }

  // A function in FROM: generate_series and unnest give a row per value; any other function
  // gives one row holding its result.
  arrow::Result<Table> FunctionTable(const JsonValue& node, const Context* outer, int level) {
    if (BoolField(node, "ordinality")) return Unsupported("WITH ORDINALITY");
    const auto& functions = ArrayField(node, "functions");
    if (functions.size() != 1) return Unsupported("ROWS FROM with several functions");
    const auto& pair = ArrayField(*Unwrap(functions[0]).second, "items");
    if (pair.empty()) return Unsupported("this function in FROM");
    auto [call_type, call] = Unwrap(pair[0]);
    if (call_type != "FuncCall") return Unsupported(std::string(call_type) + " in FROM");
    auto names = Names(ArrayField(*call, "funcname"));
    const std::string name = names.empty() ? "" : AsciiLower(names.back());
    Table empty;
    Row no_columns;
    Context context{&empty, &no_columns, nullptr, 0, nullptr, outer, level, false};
    std::vector<Value> arguments;
    for (const JsonValue& argument : ArrayField(*call, "args")) {
      ARROW_ASSIGN_OR_RAISE(Value value, Eval(argument, context));
      arguments.push_back(std::move(value));
    }
    Table table;
    int32_t type = kInt4Oid;
    if (name == "generate_series") {
      if (arguments.size() < 2 || arguments.size() > 3) {
        return SqlStateError(sqlstate::kUndefinedFunction,
                             "function generate_series takes 2 or 3 arguments");
      }
      bool nulls = std::any_of(arguments.begin(), arguments.end(),
                               [](const Value& value) { return value.is_null(); });
      std::vector<int64_t> bounds;
      for (const Value& argument : arguments) {
        if (argument.type() == kInt8Oid) type = kInt8Oid;
        if (argument.is_null()) continue;
        ARROW_ASSIGN_OR_RAISE(Value number, CastValue(argument, kInt8Oid, resolver_));
        bounds.push_back(number.integer());
      }
      if (!nulls) {
        int64_t step = bounds.size() == 3 ? bounds[2] : 1;
        if (step == 0) {
          return SqlStateError(sqlstate::kInvalidParameterValue, "step size cannot equal zero");
        }
        constexpr int64_t kMaxRows = 1'000'000;
        int64_t produced = 0;
        for (int64_t value = bounds[0]; step > 0 ? value <= bounds[1] : value >= bounds[1];
             value += step) {
          if (++produced > kMaxRows) {
            return SqlStateError(sqlstate::kProgramLimitExceeded,
                                 "generate_series in a catalog query is limited to 1000000 rows");
          }
          table.owned.push_back({Value::Integer(value, type)});
          if ((step > 0 && value > INT64_MAX - step) || (step < 0 && value < INT64_MIN - step)) {
            break;
          }
        }
      }
    } else if (name == "unnest") {
      if (arguments.size() != 1) return Unsupported("unnest with several arrays");
      type = kTextOid;
      if (!arguments[0].is_null()) {
        ARROW_ASSIGN_OR_RAISE(Value array, arguments[0].kind() == Value::Kind::kArray
                                               ? arrow::Result<Value>(arguments[0])
                                               : CastValue(arguments[0], kTextArrayOid, resolver_));
        const PgType* array_type = FindType(array.type());
        if (array_type != nullptr && array_type->element != 0) type = array_type->element;
        for (const Value& item : array.items()) table.owned.push_back({item});
      }
    } else {
      ARROW_ASSIGN_OR_RAISE(auto result, CallCatalogFunction(name, arguments, functions_));
      if (!result) {
        return SqlStateError(sqlstate::kUndefinedFunction,
                             "function " + name + "() does not exist");
      }
      type = result->type() == kUnknownOid ? kTextOid : result->type();
      table.owned.push_back({*result});
    }
    std::string qualifier = name;
    std::string column = name;
    if (const JsonValue* alias = node.Find("alias")) {
      qualifier = StringField(*alias, "aliasname");
      column = qualifier;
      auto columns = Names(ArrayField(*alias, "colnames"));
      if (!columns.empty()) column = columns[0];
    }
    table.columns.push_back({qualifier, "", column, type});
    return table;
  }

  // ------------------------------------------------------------------ expressions

  static bool Matches(const Column& column, const std::vector<std::string>& names) {
    const size_t count = names.size();
    if (count == 0 || column.name != names[count - 1]) return false;
    if (count == 1) return true;
    if (column.qualifier != names[count - 2]) return false;
    if (count >= 3 && column.schema != names[count - 3]) return false;
    return true;
  }

  arrow::Result<Value> ColumnValue(const std::vector<std::string>& names, const Context& context) {
    for (const Context* scope = &context; scope != nullptr; scope = scope->outer) {
      if (scope->table == nullptr) continue;
      for (size_t index = 0; index < scope->table->columns.size(); ++index) {
        if (!Matches(scope->table->columns[index], names)) continue;
        lowest_level_ = std::min(lowest_level_, scope->level);
        if (scope->row == nullptr) return Value::Null(scope->table->columns[index].type);
        return (*scope->row)[index];
      }
    }
    return SqlStateError(sqlstate::kUndefinedColumn,
                         "column \"" + JoinNames(names, ".") + "\" does not exist");
  }

  // The integer literal written at byte `location`: libpg_query's JSON leaves zero and negative
  // integers out.
  int64_t IntegerAt(int location) const {
    if (location < 0 || static_cast<size_t>(location) >= sql_.size()) return 0;
    size_t position = static_cast<size_t>(location);
    bool negative = false;
    if (sql_[position] == '-') {
      negative = true;
      ++position;
      while (position < sql_.size() && std::isspace(static_cast<unsigned char>(sql_[position]))) {
        ++position;
      }
    }
    int64_t value = 0;
    while (position < sql_.size() && std::isdigit(static_cast<unsigned char>(sql_[position]))) {
      value = value * 10 + (sql_[position++] - '0');
    }
    return negative ? -value : value;
  }

  arrow::Result<Value> Constant(const JsonValue& node) {
    if (BoolField(node, "isnull")) return Value::Null();
    if (const JsonValue* integer = node.Find("ival")) {
      int64_t value = integer->Find("ival") != nullptr
                          ? IntegerField(*integer, "ival")
                          : IntegerAt(static_cast<int>(IntegerField(node, "location")));
      return Value::Integer(value, value >= INT32_MIN && value <= INT32_MAX ? kInt4Oid : kInt8Oid);
    }
    if (const JsonValue* number = node.Find("fval")) {
      std::string text = StringField(*number, "fval");
      Value literal = Value::Text(text, kUnknownOid);
      return CastValue(literal, kNumericOid, resolver_);
    }
    if (const JsonValue* text = node.Find("sval")) {
      return Value::Text(StringField(*text, "sval"), kUnknownOid);
    }
    if (const JsonValue* boolean = node.Find("boolval")) {
      return Value::Bool(BoolField(*boolean, "boolval"));
    }
    if (node.Find("bsval") != nullptr) return Unsupported("a bit-string constant");
    return Value::Integer(IntegerAt(static_cast<int>(IntegerField(node, "location"))));
  }

  arrow::Result<std::optional<bool>> Truth(const Value& value, std::string_view where) {
    if (value.is_null()) return std::optional<bool>();
    if (value.kind() == Value::Kind::kBool) return std::optional<bool>(value.boolean());
    if (value.type() == kUnknownOid) {
      ARROW_ASSIGN_OR_RAISE(Value cast, CastValue(value, kBoolOid, resolver_));
      return std::optional<bool>(cast.boolean());
    }
    return SqlStateError(sqlstate::kDatatypeMismatch, "argument of " + std::string(where) +
                                                          " must be type boolean, not type " +
                                                          FormatType(value.type(), -1));
  }

  arrow::Result<Value> Eval(const JsonValue& item, const Context& context) {
    auto [type, node] = Unwrap(item);
    if (type == "ColumnRef") {
      auto names = Names(ArrayField(*node, "fields"));
      if (!names.empty() && names.back() == "*") {
        return Unsupported("* outside the select list");
      }
      return ColumnValue(names, context);
    }
    if (type == "A_Const") return Constant(*node);
    if (type == "TypeCast") {
      ARROW_ASSIGN_OR_RAISE(Value value, Eval(Field(*node, "arg"), context));
      ARROW_ASSIGN_OR_RAISE(int32_t target, TypeOf(Field(*node, "typeName")));
      return CastValue(value, target, resolver_);
    }
    if (type == "A_Expr") return Operator(*node, context);
    if (type == "BoolExpr") return Boolean(*node, context);
    if (type == "NullTest") {
      ARROW_ASSIGN_OR_RAISE(Value value, Eval(Field(*node, "arg"), context));
      bool is_null = value.is_null();
      return Value::Bool(StringField(*node, "nulltesttype") == "IS_NULL" ? is_null : !is_null);
    }
    if (type == "BooleanTest") {
      ARROW_ASSIGN_OR_RAISE(Value value, Eval(Field(*node, "arg"), context));
      ARROW_ASSIGN_OR_RAISE(auto truth, Truth(value, "IS"));
      std::string test = StringField(*node, "booltesttype");
      if (test == "IS_TRUE") return Value::Bool(truth == std::optional<bool>(true));
      if (test == "IS_NOT_TRUE") return Value::Bool(truth != std::optional<bool>(true));
      if (test == "IS_FALSE") return Value::Bool(truth == std::optional<bool>(false));
      if (test == "IS_NOT_FALSE") return Value::Bool(truth != std::optional<bool>(false));
      if (test == "IS_UNKNOWN") return Value::Bool(!truth.has_value());
      return Value::Bool(truth.has_value());
    }
    if (type == "FuncCall") return Function(*node, context);
    if (type == "CaseExpr") return Case(*node, context);
    if (type == "CoalesceExpr") {
      Value first;
      bool have_first = false;
      for (const JsonValue& argument : ArrayField(*node, "args")) {
        ARROW_ASSIGN_OR_RAISE(Value value, Eval(argument, context));
        if (!value.is_null()) return value;
        if (!have_first) {
          first = value;
          have_first = true;
        }
      }
      return first;
    }
    if (type == "MinMaxExpr") {
      const bool greatest = StringField(*node, "op") == "IS_GREATEST";
      Value best;
      for (const JsonValue& argument : ArrayField(*node, "args")) {
        ARROW_ASSIGN_OR_RAISE(Value value, Eval(argument, context));
        if (value.is_null()) continue;
        if (best.is_null()) {
          best = value;
          continue;
        }
        ARROW_ASSIGN_OR_RAISE(auto compared, CompareValues(value, best, resolver_));
        if (compared && (greatest ? *compared > 0 : *compared < 0)) best = value;
      }
      return best;
    }
    if (type == "SubLink") return Subquery(*node, context);
    if (type == "A_ArrayExpr") {
      std::vector<Value> items;
      int32_t element = kUnknownOid;
      for (const JsonValue& element_node : ArrayField(*node, "elements")) {
        ARROW_ASSIGN_OR_RAISE(Value value, Eval(element_node, context));
        if (element == kUnknownOid && value.type() != kUnknownOid) element = value.type();
        items.push_back(std::move(value));
      }
      if (element == kUnknownOid) element = kTextOid;
      const PgType* element_type = FindType(element);
      int32_t array_type =
          element_type != nullptr && element_type->array != 0 ? element_type->array : kTextArrayOid;
      if (array_type == kTextArrayOid) element = kTextOid;
      for (Value& value : items) {
        ARROW_ASSIGN_OR_RAISE(value, CastValue(value, element, resolver_));
      }
      return Value::Array(std::move(items), array_type);
    }
    if (type == "A_Indirection") {
      ARROW_ASSIGN_OR_RAISE(Value value, Eval(Field(*node, "arg"), context));
      for (const JsonValue& step : ArrayField(*node, "indirection")) {
        auto [step_type, indices] = Unwrap(step);
        if (step_type != "A_Indices" || BoolField(*indices, "is_slice")) {
          return Unsupported("this subscript");
        }
        ARROW_ASSIGN_OR_RAISE(Value index, Eval(Field(*indices, "uidx"), context));
        if (value.kind() != Value::Kind::kArray) {
          if (value.is_null() || index.is_null()) {
            value = Value::Null();
            continue;
          }
          ARROW_ASSIGN_OR_RAISE(value, CastValue(value, kTextArrayOid, resolver_));
        }
        const bool vector = value.type() == kInt2VectorOid || value.type() == kOidVectorOid;
        const PgType* array_type = FindType(value.type());
        int32_t element = vector ? (value.type() == kInt2VectorOid ? kInt2Oid : kOidOid)
                          : array_type != nullptr ? array_type->element
                                                  : kTextOid;
        if (index.is_null()) {
          value = Value::Null(element);
          continue;
        }
        ARROW_ASSIGN_OR_RAISE(Value position, CastValue(index, kInt8Oid, resolver_));
        int64_t offset = position.integer() - (vector ? 0 : 1);
        const auto& items = value.items();
        value = offset >= 0 && offset < static_cast<int64_t>(items.size())
                    ? items[static_cast<size_t>(offset)]
                    : Value::Null(element);
      }
      return value;
    }
    if (type == "CollateClause") return Eval(Field(*node, "arg"), context);
    if (type == "SQLValueFunction") return ValueFunction(StringField(*node, "op"));
    if (type == "ParamRef") {
      return SqlStateError(
          "42P02", "there is no parameter $" + std::to_string(IntegerField(*node, "number")));
    }
    return Unsupported("the expression " + std::string(type));
  }

  arrow::Result<int32_t> TypeOf(const JsonValue& type_name) {
    auto names = Names(ArrayField(type_name, "names"));
    std::string name = names.empty() ? "" : AsciiLower(names.back());
    const PgType* type = FindTypeByName(name);
    if (type == nullptr) {
      return SqlStateError(sqlstate::kUndefinedObject, "type \"" + name + "\" does not exist");
    }
    if (!ArrayField(type_name, "arrayBounds").empty()) {
      if (type->array == 0) return Unsupported("arrays of " + name);
      return type->array;
    }
    return type->oid;
  }

  arrow::Result<Value> ValueFunction(const std::string& op) {
    const SessionSettings& settings = *functions_.settings;
    if (op == "SVFOP_CURRENT_USER" || op == "SVFOP_USER" || op == "SVFOP_SESSION_USER" ||
        op == "SVFOP_CURRENT_ROLE") {
      return Value::Text(settings.user(), kNameOid);
    }
    if (op == "SVFOP_CURRENT_CATALOG") return Value::Text(settings.database(), kNameOid);
    if (op == "SVFOP_CURRENT_SCHEMA") {
      ARROW_ASSIGN_OR_RAISE(auto schema, CallCatalogFunction("current_schema", {}, functions_));
      return *schema;
    }
    if (op.starts_with("SVFOP_CURRENT_TIMESTAMP") || op.starts_with("SVFOP_LOCALTIMESTAMP")) {
      return Value::Text(NowText(), kTimestamptzOid);
    }
    if (op == "SVFOP_CURRENT_DATE") return Value::Text(NowText().substr(0, 10), kDateOid);
    return Unsupported(op);
  }

  // Binary operators on two values.
  arrow::Result<Value> Apply(const std::string& op, const Value& left, const Value& right) {
    if (op == "=" || op == "<>" || op == "!=" || op == "<" || op == ">" || op == "<=" ||
        op == ">=") {
      ARROW_ASSIGN_OR_RAISE(auto compared, CompareValues(left, right, resolver_));
      if (!compared) return Value::Null(kBoolOid);
      int sign = *compared;
      bool result = op == "="    ? sign == 0
                    : op == "<"  ? sign < 0
                    : op == ">"  ? sign > 0
                    : op == "<=" ? sign <= 0
                    : op == ">=" ? sign >= 0
                                 : sign != 0;
      return Value::Bool(result);
    }
    if (op == "~~" || op == "!~~" || op == "~~*" || op == "!~~*" || op == "~" || op == "!~" ||
        op == "~*" || op == "!~*") {
      if (left.is_null() || right.is_null()) return Value::Null(kBoolOid);
      const bool negate = op[0] == '!';
      const bool ignore_case = op.back() == '*';
      std::string text = ValueText(left, resolver_);
      std::string pattern = ValueText(right, resolver_);
      bool matched;
      if (op.find("~~") != std::string::npos) {
        if (ignore_case) {
          text = AsciiLower(text);
          pattern = AsciiLower(pattern);
        }
        matched = Like(text, pattern);
      } else {
        ARROW_ASSIGN_OR_RAISE(matched, RegexMatch(text, pattern, ignore_case));
      }
      return Value::Bool(matched != negate);
    }
    if (op == "||") {
      if (left.kind() == Value::Kind::kArray || right.kind() == Value::Kind::kArray) {
        if (left.is_null()) return right;
        if (right.is_null()) return left;
        std::vector<Value> items;
        int32_t type = left.kind() == Value::Kind::kArray ? left.type() : right.type();
        for (const Value* side : {&left, &right}) {
          if (side->kind() == Value::Kind::kArray) {
            items.insert(items.end(), side->items().begin(), side->items().end());
          } else {
            items.push_back(*side);
          }
        }
        return Value::Array(std::move(items), type);
      }
      if (left.is_null() || right.is_null()) return Value::Null(kTextOid);
      return Value::Text(ValueText(left, resolver_) + ValueText(right, resolver_), kTextOid);
    }
    if (op == "@>" || op == "<@" || op == "&&") {
      if (left.is_null() || right.is_null()) return Value::Null(kBoolOid);
      const Value& container = op == "<@" ? right : left;
      const Value& contained = op == "<@" ? left : right;
      int32_t array_type =
          container.kind() == Value::Kind::kArray ? container.type() : contained.type();
      ARROW_ASSIGN_OR_RAISE(Value outer_array, CastValue(container, array_type, resolver_));
      ARROW_ASSIGN_OR_RAISE(Value inner_array, CastValue(contained, array_type, resolver_));
      bool all = true;
      bool any = false;
      for (const Value& wanted : inner_array.items()) {
        bool found = false;
        for (const Value& item : outer_array.items()) {
          ARROW_ASSIGN_OR_RAISE(auto compared, CompareValues(item, wanted, resolver_));
          if (compared && *compared == 0) found = true;
        }
        all = all && found;
        any = any || found;
      }
      return Value::Bool(op == "&&" ? any : all);
    }
    if (op == "+" || op == "-" || op == "*" || op == "/" || op == "%") {
      return Arithmetic(op, left, right);
    }
    return SqlStateError(sqlstate::kUndefinedFunction,
                         "operator does not exist: " + FormatType(left.type(), -1) + " " + op +
                             " " + FormatType(right.type(), -1));
  }

  arrow::Result<Value> Arithmetic(const std::string& op, Value left, Value right) {
    if (left.type() == kUnknownOid && !left.is_null()) {
      ARROW_ASSIGN_OR_RAISE(
          left,
          CastValue(left, right.kind() == Value::Kind::kFloat ? kFloat8Oid : kInt8Oid, resolver_));
    }
    if (right.type() == kUnknownOid && !right.is_null()) {
      ARROW_ASSIGN_OR_RAISE(
          right,
          CastValue(right, left.kind() == Value::Kind::kFloat ? kFloat8Oid : kInt8Oid, resolver_));
    }
    const bool integers = left.kind() != Value::Kind::kFloat &&
                          right.kind() != Value::Kind::kFloat &&
                          (IsNumericType(left.type()) || left.is_null()) &&
                          (IsNumericType(right.type()) || right.is_null());
    const int32_t result_type =
        integers ? (left.type() == kInt8Oid || right.type() == kInt8Oid ? kInt8Oid : kInt4Oid)
        : (left.type() == kNumericOid || right.type() == kNumericOid) &&
                left.type() != kFloat8Oid && right.type() != kFloat8Oid
            ? kNumericOid
            : kFloat8Oid;
    if (left.is_null() || right.is_null()) return Value::Null(result_type);
    if (integers) {
      ARROW_ASSIGN_OR_RAISE(Value a, CastValue(left, kInt8Oid, resolver_));
      ARROW_ASSIGN_OR_RAISE(Value b, CastValue(right, kInt8Oid, resolver_));
      int64_t x = a.integer();
      int64_t y = b.integer();
      int64_t result = 0;
      bool overflow = false;
      if (op == "+") {
        overflow = __builtin_add_overflow(x, y, &result);
      } else if (op == "-") {
        overflow = __builtin_sub_overflow(x, y, &result);
      } else if (op == "*") {
        overflow = __builtin_mul_overflow(x, y, &result);
      } else {
        if (y == 0) return SqlStateError(sqlstate::kDivisionByZero, "division by zero");
        if (x == INT64_MIN && y == -1) {
          overflow = op == "/";
          result = 0;
        } else {
          result = op == "/" ? x / y : x % y;
        }
      }
      if (overflow) return SqlStateError("22003", "integer out of range");
      return Value::Integer(result, result_type);
    }
    ARROW_ASSIGN_OR_RAISE(Value a, CastValue(left, kFloat8Oid, resolver_));
    ARROW_ASSIGN_OR_RAISE(Value b, CastValue(right, kFloat8Oid, resolver_));
    double x = a.number();
    double y = b.number();
    if ((op == "/" || op == "%") && y == 0) {
      return SqlStateError(sqlstate::kDivisionByZero, "division by zero");
    }
    double result = op == "+"   ? x + y
                    : op == "-" ? x - y
                    : op == "*" ? x * y
                    : op == "/" ? x / y
                                : std::fmod(x, y);
    return Value::Float(result, result_type);
  }

  arrow::Result<Value> Operator(const JsonValue& node, const Context& context) {
    const std::string kind = StringField(node, "kind");
    auto names = Names(ArrayField(node, "name"));
    const std::string op = names.empty() ? "" : names.back();
    const JsonValue* left_node = node.Find("lexpr");
    const JsonValue& right_node = Field(node, "rexpr");
    if (kind == "AEXPR_OP") {
      ARROW_ASSIGN_OR_RAISE(Value right, Eval(right_node, context));
      if (left_node == nullptr) {
        if (op == "+") return right;
        if (op == "-") return Arithmetic("-", Value::Integer(0), right);
        return Unsupported("the prefix operator " + op);
      }
      ARROW_ASSIGN_OR_RAISE(Value left, Eval(*left_node, context));
      return Apply(op, left, right);
    }
    if (kind == "AEXPR_OP_ANY" || kind == "AEXPR_OP_ALL") {
      ARROW_ASSIGN_OR_RAISE(Value left, Eval(*left_node, context));
      ARROW_ASSIGN_OR_RAISE(Value right, Eval(right_node, context));
      if (right.is_null()) return Value::Null(kBoolOid);
      if (right.kind() != Value::Kind::kArray) {
        int32_t array_type = kTextArrayOid;
        if (const PgType* type = FindType(left.type()); type != nullptr && type->array != 0) {
          array_type = type->array;
        }
        ARROW_ASSIGN_OR_RAISE(right, CastValue(right, array_type, resolver_));
      }
      return Quantified(op, left, right.items(), kind == "AEXPR_OP_ANY");
    }
    if (kind == "AEXPR_IN") {
      ARROW_ASSIGN_OR_RAISE(Value left, Eval(*left_node, context));
      std::vector<Value> items;
      for (const JsonValue& item : ArrayField(*Unwrap(right_node).second, "items")) {
        ARROW_ASSIGN_OR_RAISE(Value value, Eval(item, context));
        items.push_back(std::move(value));
      }
      // x IN (...) is x = ANY (...); x NOT IN (...) is x <> ALL (...).
      return Quantified(op, left, items, op == "=");
    }
    if (kind == "AEXPR_LIKE" || kind == "AEXPR_ILIKE") {
      ARROW_ASSIGN_OR_RAISE(Value left, Eval(*left_node, context));
      ARROW_ASSIGN_OR_RAISE(Value right, Eval(right_node, context));
      return Apply(op, left, right);
    }
    if (kind == "AEXPR_BETWEEN" || kind == "AEXPR_NOT_BETWEEN" || kind == "AEXPR_BETWEEN_SYM" ||
        kind == "AEXPR_NOT_BETWEEN_SYM") {
      ARROW_ASSIGN_OR_RAISE(Value value, Eval(*left_node, context));
      const auto& bounds = ArrayField(*Unwrap(right_node).second, "items");
      if (bounds.size() != 2)
        return SqlStateError(sqlstate::kSyntaxError, "BETWEEN needs two bounds");
      ARROW_ASSIGN_OR_RAISE(Value low, Eval(bounds[0], context));
      ARROW_ASSIGN_OR_RAISE(Value high, Eval(bounds[1], context));
      if (kind.find("SYM") != std::string::npos) {
        ARROW_ASSIGN_OR_RAISE(auto order, CompareValues(low, high, resolver_));
        if (order && *order > 0) std::swap(low, high);
      }
      ARROW_ASSIGN_OR_RAISE(Value above, Apply(">=", value, low));
      ARROW_ASSIGN_OR_RAISE(Value below, Apply("<=", value, high));
      Value inside;
      if ((!above.is_null() && !above.boolean()) || (!below.is_null() && !below.boolean())) {
        inside = Value::Bool(false);
      } else if (above.is_null() || below.is_null()) {
        inside = Value::Null(kBoolOid);
      } else {
        inside = Value::Bool(true);
      }
      if (kind.find("NOT") != std::string::npos && !inside.is_null()) {
        return Value::Bool(!inside.boolean());
      }
      return inside;
    }
    if (kind == "AEXPR_NULLIF") {
      ARROW_ASSIGN_OR_RAISE(Value left, Eval(*left_node, context));
      ARROW_ASSIGN_OR_RAISE(Value right, Eval(right_node, context));
      ARROW_ASSIGN_OR_RAISE(auto compared, CompareValues(left, right, resolver_));
      if (compared && *compared == 0) return Value::Null(left.type());
      return left;
    }
    if (kind == "AEXPR_DISTINCT" || kind == "AEXPR_NOT_DISTINCT") {
      ARROW_ASSIGN_OR_RAISE(Value left, Eval(*left_node, context));
      ARROW_ASSIGN_OR_RAISE(Value right, Eval(right_node, context));
      bool same;
      if (left.is_null() || right.is_null()) {
        same = left.is_null() && right.is_null();
      } else {
        ARROW_ASSIGN_OR_RAISE(auto compared, CompareValues(left, right, resolver_));
        same = compared && *compared == 0;
      }
      return Value::Bool(kind == "AEXPR_DISTINCT" ? !same : same);
    }
    return Unsupported("the operator form " + kind);
  }

  // left op ANY (items) when `any`, else left op ALL (items), with SQL's three-valued logic.
  arrow::Result<Value> Quantified(const std::string& op, const Value& left,
                                  const std::vector<Value>& items, bool any) {
    bool saw_null = false;
    for (const Value& item : items) {
      ARROW_ASSIGN_OR_RAISE(Value result, Apply(op, left, item));
      if (result.is_null()) {
        saw_null = true;
        continue;
      }
      if (result.boolean() == any) return Value::Bool(any);
    }
    if (saw_null) return Value::Null(kBoolOid);
    return Value::Bool(!any);
  }

  arrow::Result<Value> Boolean(const JsonValue& node, const Context& context) {
    const std::string op = StringField(node, "boolop");
    const auto& arguments = ArrayField(node, "args");
    if (op == "NOT_EXPR") {
      ARROW_ASSIGN_OR_RAISE(Value value, Eval(arguments.at(0), context));
      ARROW_ASSIGN_OR_RAISE(auto truth, Truth(value, "NOT"));
      return truth ? Value::Bool(!*truth) : Value::Null(kBoolOid);
    }
    const bool is_and = op == "AND_EXPR";
    bool saw_null = false;
    for (const JsonValue& argument : arguments) {
      ARROW_ASSIGN_OR_RAISE(Value value, Eval(argument, context));
      ARROW_ASSIGN_OR_RAISE(auto truth, Truth(value, is_and ? "AND" : "OR"));
      if (!truth) {
        saw_null = true;
        continue;
      }
      if (*truth != is_and) return Value::Bool(!is_and);
    }
    return saw_null ? Value::Null(kBoolOid) : Value::Bool(is_and);
  }

  arrow::Result<Value> Case(const JsonValue& node, const Context& context) {
    std::optional<Value> operand;
    if (const JsonValue* argument = node.Find("arg")) {
      ARROW_ASSIGN_OR_RAISE(Value value, Eval(*argument, context));
      operand = std::move(value);
    }
    int32_t result_type = kUnknownOid;
    for (const JsonValue& item : ArrayField(node, "args")) {
      const JsonValue& when = *Unwrap(item).second;
      ARROW_ASSIGN_OR_RAISE(Value condition, Eval(Field(when, "expr"), context));
      bool taken;
      if (operand) {
        ARROW_ASSIGN_OR_RAISE(auto compared, CompareValues(*operand, condition, resolver_));
        taken = compared && *compared == 0;
      } else {
        ARROW_ASSIGN_OR_RAISE(auto truth, Truth(condition, "CASE/WHEN"));
        taken = truth.value_or(false);
      }
      if (taken) return Eval(Field(when, "result"), context);
      if (context.typing && result_type == kUnknownOid) {
        // Describing an empty result still needs the branches' type.
        auto branch = Eval(Field(when, "result"), context);
        if (branch.ok()) result_type = branch->type();
      }
    }
    if (const JsonValue* otherwise = node.Find("defresult")) {
      ARROW_ASSIGN_OR_RAISE(Value value, Eval(*otherwise, context));
      if (value.is_null() && value.type() == kUnknownOid) return Value::Null(result_type);
      return value;
    }
    return Value::Null(result_type);
  }

  arrow::Result<Output> RunSubquery(const JsonValue& select, const Context& context) {
    auto cached = uncorrelated_.find(&select);
    if (cached != uncorrelated_.end()) return cached->second;
    const int saved = lowest_level_;
    lowest_level_ = INT_MAX;
    auto output = Select(select, &context);
    const bool correlated = lowest_level_ <= context.level;
    lowest_level_ = std::min(saved, lowest_level_);
    ARROW_RETURN_NOT_OK(output.status());
    if (!correlated && !context.typing) uncorrelated_[&select] = *output;
    return output;
  }

  arrow::Result<Value> Subquery(const JsonValue& node, const Context& context) {
    const std::string link = StringField(node, "subLinkType");
    const JsonValue& select = *Unwrap(Field(node, "subselect")).second;
    ARROW_ASSIGN_OR_RAISE(Output output, RunSubquery(select, context));
    if (link == "EXISTS_SUBLINK") return Value::Bool(!output.rows.empty());
    if (output.names.size() != 1) {
      return SqlStateError(sqlstate::kSyntaxError, "subquery must return only one column");
    }
    if (link == "EXPR_SUBLINK") {
      if (output.rows.empty()) return Value::Null(output.types[0]);
      if (output.rows.size() > 1) {
        return SqlStateError(sqlstate::kCardinalityViolation,
                             "more than one row returned by a subquery used as an expression");
      }
      return output.rows[0][0];
    }
    if (link == "ARRAY_SUBLINK") {
      std::vector<Value> items;
      for (Row& row : output.rows) items.push_back(std::move(row[0]));
      const PgType* element = FindType(output.types[0]);
      return Value::Array(std::move(items), element != nullptr && element->array != 0
                                                ? element->array
                                                : kTextArrayOid);
    }
    if (link == "ANY_SUBLINK" || link == "ALL_SUBLINK") {
      ARROW_ASSIGN_OR_RAISE(Value tested, Eval(Field(node, "testexpr"), context));
      auto op = Names(ArrayField(node, "operName"));
      std::vector<Value> items;
      for (Row& row : output.rows) items.push_back(std::move(row[0]));
      return Quantified(op.empty() ? "=" : op.back(), tested, items, link == "ANY_SUBLINK");
    }
    return Unsupported(link);
  }

  arrow::Result<Value> Function(const JsonValue& node, const Context& context) {
    auto names = Names(ArrayField(node, "funcname"));
    const std::string name = names.empty() ? "" : AsciiLower(names.back());
    if (const JsonValue* over = node.Find("over")) {
      (void)over;
      if (context.typing) return Value::Null(kInt8Oid);
      if (context.windows == nullptr || context.windows->count(&node) == 0) {
        return Unsupported("a window function here");
      }
      return context.windows->at(&node)[context.row_index];
    }
    if (IsAggregate(name)) {
      if (context.group == nullptr) {
        return SqlStateError(sqlstate::kGroupingError, "aggregate functions are not allowed here");
      }
      return Aggregate(name, node, context);
    }
    if (BoolField(node, "agg_star")) {
      return SqlStateError(sqlstate::kUndefinedFunction, name + "(*) does not exist");
    }
    std::vector<Value> arguments;
    for (const JsonValue& argument : ArrayField(node, "args")) {
      ARROW_ASSIGN_OR_RAISE(Value value, Eval(argument, context));
      arguments.push_back(std::move(value));
    }
    ARROW_ASSIGN_OR_RAISE(auto result, CallCatalogFunction(name, arguments, functions_));
    if (!result) {
      std::vector<std::string> types;
      for (const Value& argument : arguments) types.push_back(FormatType(argument.type(), -1));
      return SqlStateError(sqlstate::kUndefinedFunction,
                           "function " + name + "(" + JoinNames(types, ", ") + ") does not exist");
    }
    return *result;
  }

  arrow::Result<Value> Aggregate(const std::string& name, const JsonValue& node,
                                 const Context& context) {
    const auto& arguments = ArrayField(node, "args");
    const bool star = BoolField(node, "agg_star");
    const bool distinct = BoolField(node, "agg_distinct");
    const JsonValue* filter = node.Find("agg_filter");
    // Each row of the group, in the aggregate's ORDER BY when it has one.
    std::vector<const Row*> rows = *context.group;
    const auto& order = ArrayField(node, "agg_order");
    if (!order.empty()) {
      Output keys;
      std::vector<const Row*> sorted;
      for (const Row* row : rows) {
        Context row_context{context.table, row,           nullptr,       0,
                            nullptr,       context.outer, context.level, false};
        Row key;
        for (const JsonValue& item : order) {
          ARROW_ASSIGN_OR_RAISE(Value value,
                                Eval(Field(*Unwrap(item).second, "node"), row_context));
          key.push_back(std::move(value));
        }
        keys.rows.push_back(std::move(key));
      }
      std::vector<size_t> positions(rows.size());
      for (size_t index = 0; index < positions.size(); ++index) positions[index] = index;
      std::stable_sort(positions.begin(), positions.end(), [&](size_t a, size_t b) {
        for (size_t k = 0; k < order.size(); ++k) {
          const bool descending =
              StringField(*Unwrap(order[k]).second, "sortby_dir") == "SORTBY_DESC";
          auto compared = CompareValues(keys.rows[a][k], keys.rows[b][k], resolver_);
          if (!compared.ok() || !compared->has_value()) continue;
          if (**compared != 0) return descending ? **compared > 0 : **compared < 0;
        }
        return false;
      });
      for (size_t position : positions) sorted.push_back(rows[position]);
      rows = std::move(sorted);
    }
    std::vector<Value> values;
    std::set<std::string> seen;
    Value separator;
    for (const Row* row : rows) {
      Context row_context{context.table, row,           nullptr,       0,
                          nullptr,       context.outer, context.level, false};
      if (filter != nullptr) {
        ARROW_ASSIGN_OR_RAISE(Value keep, Eval(*filter, row_context));
        ARROW_ASSIGN_OR_RAISE(auto truth, Truth(keep, "FILTER"));
        if (!truth.value_or(false)) continue;
      }
      if (star) {
        values.push_back(Value::Integer(1));
        continue;
      }
      if (arguments.empty())
        return SqlStateError(sqlstate::kUndefinedFunction, name + "() needs an argument");
      ARROW_ASSIGN_OR_RAISE(Value value, Eval(arguments[0], row_context));
      if (name == "string_agg" && arguments.size() > 1) {
        ARROW_ASSIGN_OR_RAISE(separator, Eval(arguments[1], row_context));
      }
      if (value.is_null() && name != "array_agg") continue;
      if (distinct && !seen.insert(KeyOf(value)).second) continue;
      values.push_back(std::move(value));
    }
    // The argument's type, for NULL results over no rows.
    int32_t type = kUnknownOid;
    if (!star && !arguments.empty()) {
      Row nulls;
      for (const Column& column : context.table->columns) nulls.push_back(Value::Null(column.type));
      Context typing{context.table, &nulls,        nullptr,       0,
                     nullptr,       context.outer, context.level, true};
      auto typed = Eval(arguments[0], typing);
      if (typed.ok()) type = typed->type();
    }
    if (name == "count") return Value::Integer(static_cast<int64_t>(values.size()), kInt8Oid);
    if (name == "array_agg") {
      const PgType* element = FindType(type);
      int32_t array_type =
          element != nullptr && element->array != 0 ? element->array : kTextArrayOid;
      if (values.empty()) return Value::Null(array_type);
      return Value::Array(std::move(values), array_type);
    }
    if (name == "string_agg") {
      if (values.empty()) return Value::Null(kTextOid);
      std::string joined;
      for (size_t index = 0; index < values.size(); ++index) {
        if (index > 0 && !separator.is_null()) joined += ValueText(separator, resolver_);
        joined += ValueText(values[index], resolver_);
      }
      return Value::Text(joined, kTextOid);
    }
    if (name == "bool_and" || name == "every" || name == "bool_or") {
      if (values.empty()) return Value::Null(kBoolOid);
      const bool is_and = name != "bool_or";
      for (const Value& value : values) {
        ARROW_ASSIGN_OR_RAISE(auto truth, Truth(value, name));
        if (truth && *truth != is_and) return Value::Bool(!is_and);
      }
      return Value::Bool(is_and);
    }
    if (name == "min" || name == "max") {
      if (values.empty()) return Value::Null(type);
      Value best = values[0];
      for (const Value& value : values) {
        ARROW_ASSIGN_OR_RAISE(auto compared, CompareValues(value, best, resolver_));
        if (compared && (name == "max" ? *compared > 0 : *compared < 0)) best = value;
      }
      return best;
    }
    // sum and avg.
    const bool integer_sum =
        name == "sum" && (type == kInt2Oid || type == kInt4Oid || type == kInt8Oid);
    const int32_t result_type = integer_sum                                ? kInt8Oid
                                : type == kFloat4Oid || type == kFloat8Oid ? kFloat8Oid
                                                                           : kNumericOid;
    if (values.empty()) return Value::Null(result_type);
    Value total = Value::Integer(0, integer_sum ? kInt8Oid : kInt4Oid);
    for (const Value& value : values) {
      ARROW_ASSIGN_OR_RAISE(total, Arithmetic("+", total, value));
    }
    if (name == "avg") {
      ARROW_ASSIGN_OR_RAISE(Value number, CastValue(total, kFloat8Oid, resolver_));
      return Value::Float(number.number() / static_cast<double>(values.size()), result_type);
    }
    return CastValue(total, result_type, resolver_);
  }

  static bool HasAggregate(const JsonValue& node) {
    auto [type, body] = Unwrap(node);
    if (type == "SubLink") return false;
    if (type == "FuncCall") {
      auto names = Names(ArrayField(*body, "funcname"));
      if (!names.empty() && IsAggregate(AsciiLower(names.back())) &&
          body->Find("over") == nullptr) {
        return true;
      }
    }
    if (node.type() == JsonValue::Type::kObject) {
      for (const auto& [key, value] : node.object()) {
        if (HasAggregate(value)) return true;
      }
    }
    if (node.type() == JsonValue::Type::kArray) {
      for (const JsonValue& value : node.array()) {
        if (HasAggregate(value)) return true;
      }
    }
    return false;
  }

  // row_number(), rank() and dense_rank() OVER (PARTITION BY ... ORDER BY ...) for every row.
  arrow::Status ComputeWindows(const JsonValue& node, const Table& input,
                               const std::vector<const Row*>& rows, const Context* outer, int level,
                               WindowValues* windows) {
    auto [type, body] = Unwrap(node);
    if (type == "SubLink") return arrow::Status::OK();
    if (type == "FuncCall" && body->Find("over") != nullptr) {
      auto names = Names(ArrayField(*body, "funcname"));
      const std::string name = names.empty() ? "" : AsciiLower(names.back());
      if (name != "row_number" && name != "rank" && name != "dense_rank") {
        return Unsupported(name + "() as a window function");
      }
      const JsonValue& over = Field(*body, "over");
      const auto& partition = ArrayField(over, "partitionClause");
      const auto& order = ArrayField(over, "orderClause");
      std::vector<std::string> partition_keys(rows.size());
      std::vector<Row> order_keys(rows.size());
      for (size_t index = 0; index < rows.size(); ++index) {
        Context context{&input, rows[index], nullptr, index, nullptr, outer, level, false};
        for (const JsonValue& item : partition) {
          ARROW_ASSIGN_OR_RAISE(Value value, Eval(item, context));
          std::string part = KeyOf(value);
          partition_keys[index] += std::to_string(part.size()) + ":" + part;
        }
        for (const JsonValue& item : order) {
          ARROW_ASSIGN_OR_RAISE(Value value, Eval(Field(*Unwrap(item).second, "node"), context));
          order_keys[index].push_back(std::move(value));
        }
      }
      std::vector<size_t> positions(rows.size());
      for (size_t index = 0; index < positions.size(); ++index) positions[index] = index;
      arrow::Status failure;
      auto order_less = [&](size_t a, size_t b) {
        for (size_t k = 0; k < order.size(); ++k) {
          const bool descending =
              StringField(*Unwrap(order[k]).second, "sortby_dir") == "SORTBY_DESC";
          const Value& left = order_keys[a][k];
          const Value& right = order_keys[b][k];
          if (left.is_null() || right.is_null()) {
            if (left.is_null() == right.is_null()) continue;
            return right.is_null() != descending;
          }
          auto compared = CompareValues(left, right, resolver_);
          if (!compared.ok()) {
            if (failure.ok()) failure = compared.status();
            return false;
          }
          int sign = compared->value_or(0);
          if (sign != 0) return descending ? sign > 0 : sign < 0;
        }
        return false;
      };
      std::stable_sort(positions.begin(), positions.end(), [&](size_t a, size_t b) {
        if (partition_keys[a] != partition_keys[b]) return partition_keys[a] < partition_keys[b];
        return order_less(a, b);
      });
      ARROW_RETURN_NOT_OK(failure);
      std::vector<Value> values(rows.size());
      int64_t number = 0;
      int64_t rank = 0;
      int64_t dense = 0;
      for (size_t step = 0; step < positions.size(); ++step) {
        size_t index = positions[step];
        bool new_partition =
            step == 0 || partition_keys[positions[step - 1]] != partition_keys[index];
        if (new_partition) {
          number = 0;
          rank = 0;
          dense = 0;
        }
        ++number;
        bool peer = !new_partition && !order_less(positions[step - 1], index) &&
                    !order_less(index, positions[step - 1]);
        if (!peer) {
          rank = number;
          ++dense;
        }
        int64_t result = name == "row_number" ? number : name == "rank" ? rank : dense;
        values[index] = Value::Integer(result, kInt8Oid);
      }
      (*windows)[body] = std::move(values);
      return arrow::Status::OK();
    }
    if (node.type() == JsonValue::Type::kObject) {
      for (const auto& [key, value] : node.object()) {
        ARROW_RETURN_NOT_OK(ComputeWindows(value, input, rows, outer, level, windows));
      }
    }
    if (node.type() == JsonValue::Type::kArray) {
      for (const JsonValue& value : node.array()) {
        ARROW_RETURN_NOT_OK(ComputeWindows(value, input, rows, outer, level, windows));
      }
    }
    return arrow::Status::OK();
  }

  std::string_view sql_;
  FunctionContext& functions_;
  const NameResolver& resolver_;
  std::vector<std::map<std::string, std::shared_ptr<const Output>>> ctes_;
  // The outermost query level a column reference reached while evaluating a subquery.
  int lowest_level_ = INT_MAX;
  std::map<const JsonValue*, Output> uncorrelated_;
};

}  // namespace

arrow::Result<CatalogResult> RunCatalogQuery(const JsonValue& select, std::string_view sql,
                                             FunctionContext& context) {
  Evaluator evaluator(sql, context);
  ARROW_ASSIGN_OR_RAISE(Output output, evaluator.Select(select, nullptr));
  CatalogResult result;
  for (size_t index = 0; index < output.names.size(); ++index) {
    const PgType* type = FindType(output.types[index]);
    result.columns.push_back(
        {output.names[index],
         {output.types[index], type == nullptr ? int16_t{-1} : type->length, -1}});
  }
  result.rows = std::move(output.rows);
  return result;
}

}  // namespace nlk::pgwire
