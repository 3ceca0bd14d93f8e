#include "sql/parser.h"

#include <pg_query.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "common/json_fields.h"
#include "common/json_value.h"
#include "common/utf8.h"
#include "sql/sql_error.h"

namespace nlk::sql {
namespace {

// PostgreSQL's FRAMEOPTION_* bits (nodes/parsenodes.h), as libpg_query 15 serialises them.
constexpr int64_t kFrameRange = 0x2;
constexpr int64_t kFrameRows = 0x4;
constexpr int64_t kFrameGroups = 0x8;
constexpr int64_t kFrameStartUnboundedPreceding = 0x20;
constexpr int64_t kFrameEndUnboundedFollowing = 0x100;
constexpr int64_t kFrameStartCurrentRow = 0x200;
constexpr int64_t kFrameEndCurrentRow = 0x400;
constexpr int64_t kFrameStartOffsetPreceding = 0x800;
constexpr int64_t kFrameEndOffsetPreceding = 0x1000;
constexpr int64_t kFrameStartOffsetFollowing = 0x2000;
constexpr int64_t kFrameEndOffsetFollowing = 0x4000;
constexpr int64_t kFrameNonDefault = 0x1;

// Expressions, subqueries and joins nest at most this deep. libpg_query, the parser, the binder
// and Arrow's expression evaluation recurse once (or a few times) per level, about 1.5 KB of
// stack per level in all, so the bound turns a pathological query into an error instead of a
// stack overflow, with room to spare on a 2 MB thread stack (glibc's default without a limit).
constexpr int kMaxNestingDepth = 500;
// libpg_query's JSON nests each level of a query a few objects deep (a CASE branch: 5).
constexpr int kJsonLevelsPerNesting = 6;
// The bound NestingBeyond checks before libpg_query sees the text (its estimate is loose, and
// libpg_query alone would overflow a stack only some tens of thousands of levels deep).
constexpr int kMaxScannedNesting = 10 * kMaxNestingDepth;

std::string NestingError() {
  return "the query is nested too deeply (more than " + std::to_string(kMaxNestingDepth) +
         " levels of expressions, subqueries or joins)";
}

bool IsIdentifierStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}

bool IsIdentifierPart(char c) {
  return IsIdentifierStart(c) || std::isdigit(static_cast<unsigned char>(c)) != 0 || c == '$';
}

// Where `sql` nests deeper than `limit` levels of libpg_query's tree, judged from the text
// alone, or nullopt. libpg_query recurses once per level while it writes its tree and nothing
// there bounds it: SELECT 1+1+...+1 with 100,000 terms crashed the process. The estimate is an
// upper bound: each group (parentheses, brackets, CASE ... END) adds a few levels; within a
// group, operators chain (a + b + c nests once per operator) until a list separator or a clause
// keyword (',', AND, OR, WHEN, WHERE, ...) starts a sibling; JOINs and set operations chain
// through the whole group. Strings, quoted names and comments are skipped as PostgreSQL's lexer
// skips them.
std::optional<int> NestingBeyond(std::string_view sql, int limit) {
  constexpr int kLevelsPerGroup = 4;
  static const std::set<std::string, std::less<>> kSeparators = {
      "and",    "or",    "when",  "then",   "else", "select", "from", "where",  "group", "by",
      "having", "order", "limit", "offset", "on",   "using",  "with", "window", "as"};
  static const std::set<std::string, std::less<>> kOperators = {
      "not", "is",      "isnull", "notnull",  "like",     "ilike", "similar", "between", "in",
      "at",  "collate", "escape", "overlaps", "operator", "any",   "all",     "some",    "exists"};
  static const std::set<std::string, std::less<>> kChains = {"join", "union", "intersect",
                                                             "except"};
  struct Group {
    int start = 0;
    bool is_case = false;
    int segment_operators = 0;
    int segment_child = 0;  // the deepest group within the current segment
    int deepest = 0;        // over the finished segments
    int chained = 0;
  };
  std::vector<Group> groups(1);
  auto end_segment = [](Group* group) {
    group->deepest = std::max(group->deepest, group->segment_operators + group->segment_child);
    group->segment_operators = 0;
    group->segment_child = 0;
  };
  // Closes the innermost group; its depth counts in its parent's segment.
  auto close = [&]() -> std::optional<int> {
    Group group = groups.back();
    groups.pop_back();
    end_segment(&group);
    int depth = kLevelsPerGroup + group.chained + group.deepest;
    if (depth > limit) return group.start;
    if (!groups.empty()) {
      groups.back().segment_child = std::max(groups.back().segment_child, depth);
    }
    return std::nullopt;
  };
  const size_t size = sql.size();
  size_t index = 0;
  auto skip_quoted = [&](char quote, bool backslash_escapes) {
    for (++index; index < size; ++index) {
      if (backslash_escapes && sql[index] == '\\') {
        ++index;
      } else if (sql[index] == quote) {
        if (index + 1 < size && sql[index + 1] == quote) {
          ++index;
        } else {
          ++index;
          return;
        }
      }
    }
  };
  std::string previous_word;
  size_t previous_word_end = std::string_view::npos;
  while (index < size) {
    char c = sql[index];
    if (std::isspace(static_cast<unsigned char>(c)) != 0) {
      ++index;
    } else if (sql.substr(index, 2) == "--") {
      while (index < size && sql[index] != '\n') ++index;
    } else if (sql.substr(index, 2) == "/*") {
      int comments = 1;
      for (index += 2; index < size && comments > 0;) {
        if (sql.substr(index, 2) == "/*") {
          ++comments;
          index += 2;
        } else if (sql.substr(index, 2) == "*/") {
          --comments;
          index += 2;
        } else {
          ++index;
        }
      }
    } else if (c == '\'') {
      // E'...' (written right after the E) takes backslash escapes.
      bool escapes = previous_word == "e" && previous_word_end == index;
      skip_quoted('\'', escapes);
    } else if (c == '"') {
      skip_quoted('"', false);
    } else if (c == '$' &&
               (index + 1 >= size || !std::isdigit(static_cast<unsigned char>(sql[index + 1])))) {
      // $tag$ ... $tag$
      size_t tag_end = index + 1;
      while (tag_end < size && IsIdentifierPart(sql[tag_end]) && sql[tag_end] != '$') ++tag_end;
      if (tag_end < size && sql[tag_end] == '$') {
        std::string_view tag = sql.substr(index, tag_end + 1 - index);
        size_t closing = sql.find(tag, tag_end + 1);
        index = closing == std::string_view::npos ? size : closing + tag.size();
      } else {
        ++index;
      }
    } else if (IsIdentifierStart(c)) {
      size_t start = index;
      while (index < size && IsIdentifierPart(sql[index])) ++index;
      std::string word(sql.substr(start, index - start));
      std::transform(word.begin(), word.end(), word.begin(),
                     [](unsigned char letter) { return static_cast<char>(std::tolower(letter)); });
      Group& group = groups.back();
      if (word == "case") {
        groups.push_back({static_cast<int>(start), true});
      } else if (word == "end" && group.is_case && groups.size() > 1) {
        if (auto beyond = close()) return beyond;
      } else if (kSeparators.count(word) > 0) {
        end_segment(&group);
      } else if (kOperators.count(word) > 0) {
        ++group.segment_operators;
      } else if (kChains.count(word) > 0) {
        ++group.chained;
      }
      previous_word = std::move(word);
      previous_word_end = index;
      continue;
    } else if (std::isdigit(static_cast<unsigned char>(c)) != 0 || c == '.') {
      while (index < size && (std::isalnum(static_cast<unsigned char>(sql[index])) != 0 ||
                              sql[index] == '.' || sql[index] == '_')) {
        ++index;
      }
    } else if (c == '(' || c == '[') {
      groups.push_back({static_cast<int>(index), false});
      ++index;
    } else if (c == ')' || c == ']') {
      if (groups.size() > 1) {
        if (auto beyond = close()) return beyond;
      }
      ++index;
    } else if (c == ',' || c == ';') {
      end_segment(&groups.back());
      ++index;
    } else {
      // An operator character: one level at most each.
      ++groups.back().segment_operators;
      ++index;
    }
    previous_word.clear();
  }
  while (!groups.empty()) {
    if (auto beyond = close()) return beyond;
  }
  return std::nullopt;
}

int Location(const JsonValue& object) {
  const JsonValue* value = object.Find("location");
  return value != nullptr && value->type() == JsonValue::Type::kInteger
             ? static_cast<int>(value->integer())
             : -1;
}

const std::vector<JsonValue>& ArrayField(const JsonValue& object, std::string_view key) {
  static const std::vector<JsonValue> kEmpty;
  const JsonValue& value = Field(object, key);
  return value.type() == JsonValue::Type::kArray ? value.array() : kEmpty;
}

// The text of a String node list, e.g. a function or operator name (schema prefix dropped).
std::vector<std::string> Names(const std::vector<JsonValue>& list) {
  std::vector<std::string> names;
  for (const JsonValue& item : list) {
    auto [type, body] = Unwrap(item);
    if (type == "String") names.push_back(StringField(*body, "sval"));
    if (type == "A_Star") names.push_back("*");
  }
  return names;
}

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// "InsertStmt" -> "INSERT", "CreateTableAsStmt" -> "CREATE TABLE AS".
std::string StatementVerb(std::string_view node_type) {
  std::string_view name = node_type;
  if (name.size() > 4 && name.substr(name.size() - 4) == "Stmt") name.remove_suffix(4);
  std::string verb;
  for (size_t index = 0; index < name.size(); ++index) {
    char c = name[index];
    if (index > 0 && std::isupper(static_cast<unsigned char>(c))) verb.push_back(' ');
    verb.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return verb;
}

class Parser {
 public:
  explicit Parser(std::string_view sql) : sql_(sql) {}

  arrow::Result<Statement> ParseRoot(const JsonValue& root) {
    const auto& statements = ArrayField(root, "stmts");
    if (statements.empty()) return SqlError(sql_, -1, "empty query: expected a SELECT statement");
    if (statements.size() > 1) {
      return SqlError(sql_, static_cast<int>(IntegerField(statements[1], "stmt_location")),
                      "only one statement per query is allowed");
    }
    auto [type, body] = Unwrap(Field(statements[0], "stmt"));
    Statement statement;
    if (type == "ExplainStmt") {
      statement.explain = true;
      for (const JsonValue& option : ArrayField(*body, "options")) {
        if (StringField(*Unwrap(option).second, "defname") == "analyze") statement.analyze = true;
      }
      auto [inner_type, inner] = Unwrap(Field(*body, "query"));
      if (allow_writes_ && (inner_type == "DeleteStmt" || inner_type == "UpdateStmt" ||
                            inner_type == "InsertStmt")) {
        return Unsupported(Field(*inner, "relation"), "EXPLAIN of " + StatementVerb(inner_type));
      }
      if (inner_type != "SelectStmt") return ReadOnly(inner_type);
      ARROW_ASSIGN_OR_RAISE(statement.select, ParseSelect(*inner));
      return statement;
    }
    if (allow_writes_ && (type == "DeleteStmt" || type == "UpdateStmt" || type == "InsertStmt")) {
      ARROW_ASSIGN_OR_RAISE(statement.write, ParseWrite(type, *body));
      return statement;
    }
    if (type != "SelectStmt") return ReadOnly(type);
    ARROW_ASSIGN_OR_RAISE(statement.select, ParseSelect(*body));
    return statement;
  }

  void AllowWrites(bool allow) { allow_writes_ = allow; }

 private:
  // One level of nesting while it is parsed.
  class Nesting {
   public:
    explicit Nesting(Parser* parser) : parser_(parser) { ++parser_->depth_; }
    ~Nesting() { --parser_->depth_; }
    Nesting(const Nesting&) = delete;
    Nesting& operator=(const Nesting&) = delete;

    arrow::Status Check(int location) const {
      if (parser_->depth_ <= kMaxNestingDepth) return arrow::Status::OK();
      return SqlError(parser_->sql_, location, NestingError());
    }

   private:
    Parser* parser_;
  };

  arrow::Status ReadOnly(std::string_view type) {
    return arrow::Status::Invalid("read-only: ", StatementVerb(type),
                                  " statements are not allowed; only SELECT and EXPLAIN are");
  }

  arrow::Status Unsupported(const JsonValue& node, const std::string& what) {
    return SqlError(sql_, Location(node), what + " is not supported");
  }

  arrow::Result<SelectPointer> ParseSelect(const JsonValue& node) {
    Nesting nesting(this);
    ARROW_RETURN_NOT_OK(nesting.Check(Location(node)));
    auto select = std::make_shared<SelectStatement>();
    if (!ArrayField(node, "valuesLists").empty()) return Unsupported(node, "VALUES");
    if (node.Find("intoClause") != nullptr) return ReadOnly("SelectIntoStmt");
    if (node.Find("lockingClause") != nullptr) return Unsupported(node, "FOR UPDATE/SHARE");
    if (const JsonValue* with = node.Find("withClause")) {
      if (BoolField(*with, "recursive")) return Unsupported(*with, "WITH RECURSIVE");
      for (const JsonValue& item : ArrayField(*with, "ctes")) {
        auto [type, cte] = Unwrap(item);
        CommonTableExpression common;
        common.name = StringField(*cte, "ctename");
        common.column_aliases = Names(ArrayField(*cte, "aliascolnames"));
        common.location = Location(*cte);
        auto [query_type, query] = Unwrap(Field(*cte, "ctequery"));
        if (query_type != "SelectStmt") return ReadOnly(query_type);
        ARROW_ASSIGN_OR_RAISE(common.query, ParseSelect(*query));
        select->with.push_back(std::move(common));
      }
    }
    std::string operation = StringField(node, "op");
    if (!operation.empty() && operation != "SETOP_NONE") {
      select->set_operation = operation == "SETOP_UNION" ? SelectStatement::SetOperation::kUnion
                              : operation == "SETOP_INTERSECT"
                                  ? SelectStatement::SetOperation::kIntersect
                                  : SelectStatement::SetOperation::kExcept;
      select->set_all = BoolField(node, "all");
      // larg/rarg are typed SelectStmt pointers: pg_query prints them without the node wrapper.
      ARROW_ASSIGN_OR_RAISE(select->left, ParseSelect(Field(node, "larg")));
      ARROW_ASSIGN_OR_RAISE(select->right, ParseSelect(Field(node, "rarg")));
    } else {
      if (const JsonValue* distinct = node.Find("distinctClause")) {
        for (const JsonValue& item : distinct->array()) {
          if (!item.object().empty()) return Unsupported(item, "DISTINCT ON");
        }
        select->distinct = true;
      }
      for (const JsonValue& item : ArrayField(node, "targetList")) {
        auto [type, target] = Unwrap(item);
        SelectItem select_item;
        select_item.alias = StringField(*target, "name");
        ARROW_ASSIGN_OR_RAISE(select_item.expression, ParseExpression(Field(*target, "val")));
        select->items.push_back(std::move(select_item));
      }
      for (const JsonValue& item : ArrayField(node, "fromClause")) {
        ARROW_ASSIGN_OR_RAISE(auto reference, ParseTableReference(item));
        select->from.push_back(std::move(reference));
      }
      ARROW_ASSIGN_OR_RAISE(select->where, ParseOptional(node, "whereClause"));
      for (const JsonValue& item : ArrayField(node, "groupClause")) {
        auto [type, body] = Unwrap(item);
        if (type == "GroupingSet") return Unsupported(*body, "GROUPING SETS/ROLLUP/CUBE");
        ARROW_ASSIGN_OR_RAISE(auto expression, ParseExpression(item));
        select->group_by.push_back(std::move(expression));
      }
      ARROW_ASSIGN_OR_RAISE(select->having, ParseOptional(node, "havingClause"));
      if (!ArrayField(node, "windowClause").empty()) {
        return Unsupported(node, "a named WINDOW clause (write OVER (...) inline)");
      }
    }
    ARROW_ASSIGN_OR_RAISE(select->order_by, ParseOrder(ArrayField(node, "sortClause")));
    ARROW_ASSIGN_OR_RAISE(select->limit, ParseOptional(node, "limitCount"));
    ARROW_ASSIGN_OR_RAISE(select->offset, ParseOptional(node, "limitOffset"));
    return select;
  }

  // A column name of UPDATE's SET or INSERT's column list (a ResTarget).
  static WriteColumn TargetColumn(const JsonValue& target) {
    WriteColumn column;
    column.name = StringField(target, "name");
    column.location = Location(target);
    return column;
  }

  arrow::Result<WriteStatementPointer> ParseWrite(std::string_view type, const JsonValue& node) {
    auto write = std::make_shared<WriteStatement>();
    std::string verb = StatementVerb(type);
    const JsonValue& relation = Field(node, "relation");
    if (node.Find("withClause") != nullptr) return Unsupported(relation, "WITH in " + verb);
    const auto& returning = ArrayField(node, "returningList");
    if (!returning.empty()) return Unsupported(*Unwrap(returning[0]).second, "RETURNING");
    write->table_location = Location(relation);
    write->location = write->table_location;
    write->table = StringField(relation, "relname");
    std::string schema = StringField(relation, "schemaname");
    std::string catalog = StringField(relation, "catalogname");
    if (!schema.empty()) write->table = schema + "." + write->table;
    if (!catalog.empty()) write->table = catalog + "." + write->table;
    if (const JsonValue* alias = relation.Find("alias")) {
      write->alias = StringField(*alias, "aliasname");
    }
    if (type == "DeleteStmt") {
      write->kind = WriteStatement::Kind::kDelete;
      const auto& using_clause = ArrayField(node, "usingClause");
      if (!using_clause.empty()) {
        return Unsupported(*Unwrap(using_clause[0]).second, "DELETE ... USING");
      }
      ARROW_ASSIGN_OR_RAISE(write->where, ParseOptional(node, "whereClause"));
      return write;
    }
    if (type == "UpdateStmt") {
      write->kind = WriteStatement::Kind::kUpdate;
      const auto& from = ArrayField(node, "fromClause");
      if (!from.empty()) return Unsupported(*Unwrap(from[0]).second, "UPDATE ... FROM");
      for (const JsonValue& item : ArrayField(node, "targetList")) {
        auto [item_type, target] = Unwrap(item);
        if (!ArrayField(*target, "indirection").empty()) {
          return Unsupported(*target, "assigning to a field or element of a column");
        }
        auto [value_type, value] = Unwrap(Field(*target, "val"));
        if (value_type == "MultiAssignRef") {
          return Unsupported(*target, "SET (columns) = (values)");
        }
        if (value_type == "SetToDefault") return Unsupported(*target, "SET column = DEFAULT");
        WriteStatement::Assignment assignment;
        assignment.column = TargetColumn(*target);
        ARROW_ASSIGN_OR_RAISE(assignment.value, ParseExpression(Field(*target, "val")));
        write->assignments.push_back(std::move(assignment));
      }
      ARROW_ASSIGN_OR_RAISE(write->where, ParseOptional(node, "whereClause"));
      return write;
    }
    write->kind = WriteStatement::Kind::kInsert;
    if (const JsonValue* conflict = node.Find("onConflictClause")) {
      return Unsupported(*conflict, "ON CONFLICT");
    }
    std::string override_clause = StringField(node, "override");
    if (!override_clause.empty() && override_clause != "OVERRIDING_NOT_SET") {
      return Unsupported(relation, "OVERRIDING ... VALUE");
    }
    for (const JsonValue& item : ArrayField(node, "cols")) {
      const JsonValue& target = *Unwrap(item).second;
      if (!ArrayField(target, "indirection").empty()) {
        return Unsupported(target, "inserting into a field or element of a column");
      }
      write->columns.push_back(TargetColumn(target));
    }
    const JsonValue* source = node.Find("selectStmt");
    if (source == nullptr) return Unsupported(relation, "INSERT ... DEFAULT VALUES");
    const JsonValue& select = *Unwrap(*source).second;
    const auto& rows = ArrayField(select, "valuesLists");
    if (rows.empty()) {
      ARROW_ASSIGN_OR_RAISE(write->query, ParseSelect(select));
      return write;
    }
    for (const JsonValue& row : rows) {
      std::vector<ExpressionPointer> values;
      for (const JsonValue& item : ArrayField(*Unwrap(row).second, "items")) {
        if (Unwrap(item).first == "SetToDefault") {
          return Unsupported(*Unwrap(item).second, "DEFAULT in VALUES");
        }
        ARROW_ASSIGN_OR_RAISE(auto value, ParseExpression(item));
        values.push_back(std::move(value));
      }
      write->values.push_back(std::move(values));
    }
    return write;
  }

  arrow::Result<std::vector<OrderItem>> ParseOrder(const std::vector<JsonValue>& list) {
    std::vector<OrderItem> items;
    for (const JsonValue& item : list) {
      auto [type, sort] = Unwrap(item);
      OrderItem order;
      ARROW_ASSIGN_OR_RAISE(order.expression, ParseExpression(Field(*sort, "node")));
      std::string direction = StringField(*sort, "sortby_dir");
      if (direction == "SORTBY_USING") return Unsupported(*sort, "ORDER BY ... USING");
      order.ascending = direction != "SORTBY_DESC";
      std::string nulls = StringField(*sort, "sortby_nulls");
      if (nulls == "SORTBY_NULLS_FIRST") order.nulls_first = true;
      if (nulls == "SORTBY_NULLS_LAST") order.nulls_first = false;
      items.push_back(std::move(order));
    }
    return items;
  }

  arrow::Result<ExpressionPointer> ParseOptional(const JsonValue& node, std::string_view key) {
    const JsonValue* value = node.Find(key);
    if (value == nullptr) return ExpressionPointer();
    return ParseExpression(*value);
  }

  arrow::Result<TableReferencePointer> ParseTableReference(const JsonValue& item) {
    Nesting nesting(this);
    ARROW_RETURN_NOT_OK(nesting.Check(Location(*Unwrap(item).second)));
    auto [type, node] = Unwrap(item);
    auto reference = std::make_shared<TableReference>();
    reference->location = Location(*node);
    if (const JsonValue* alias = node->Find("alias")) {
      reference->alias = StringField(*alias, "aliasname");
      reference->column_aliases = Names(ArrayField(*alias, "colnames"));
    }
    if (type == "RangeVar") {
      reference->kind = TableReference::Kind::kTable;
      std::string schema = StringField(*node, "schemaname");
      std::string catalog = StringField(*node, "catalogname");
      reference->name = StringField(*node, "relname");
      if (!schema.empty()) reference->name = schema + "." + reference->name;
      if (!catalog.empty()) reference->name = catalog + "." + reference->name;
      return reference;
    }
    if (type == "RangeSubselect") {
      if (BoolField(*node, "lateral")) return Unsupported(*node, "LATERAL");
      reference->kind = TableReference::Kind::kSubquery;
      ARROW_ASSIGN_OR_RAISE(reference->subquery,
                            ParseSelect(*Unwrap(Field(*node, "subquery")).second));
      return reference;
    }
    if (type == "JoinExpr") {
      reference->kind = TableReference::Kind::kJoin;
      if (BoolField(*node, "isNatural")) return Unsupported(*node, "NATURAL JOIN");
      std::string join_type = StringField(*node, "jointype");
      if (join_type == "JOIN_LEFT") {
        reference->join_type = TableReference::JoinType::kLeft;
      } else if (join_type == "JOIN_RIGHT") {
        reference->join_type = TableReference::JoinType::kRight;
      } else if (join_type == "JOIN_FULL") {
        reference->join_type = TableReference::JoinType::kFull;
      } else if (join_type == "JOIN_INNER" || join_type.empty()) {
        reference->join_type =
            node->Find("quals") == nullptr && node->Find("usingClause") == nullptr
                ? TableReference::JoinType::kCross
                : TableReference::JoinType::kInner;
      } else {
        return Unsupported(*node, join_type);
      }
      ARROW_ASSIGN_OR_RAISE(reference->left, ParseTableReference(Field(*node, "larg")));
      ARROW_ASSIGN_OR_RAISE(reference->right, ParseTableReference(Field(*node, "rarg")));
      ARROW_ASSIGN_OR_RAISE(reference->condition, ParseOptional(*node, "quals"));
      reference->using_columns = Names(ArrayField(*node, "usingClause"));
      return reference;
    }
    if (type == "RangeFunction") return Unsupported(*node, "a function in FROM");
    return Unsupported(*node, std::string(type) + " in FROM");
  }

  // The integer literal written at byte `location` ("-5", "0"), or "0" if none is there.
  std::string IntegerText(int location) const {
    if (location < 0 || static_cast<size_t>(location) >= sql_.size()) return "0";
    size_t end = static_cast<size_t>(location);
    if (sql_[end] == '-') ++end;
    while (end < sql_.size() && (std::isspace(static_cast<unsigned char>(sql_[end])) != 0)) ++end;
    size_t digits = end;
    while (end < sql_.size() && std::isdigit(static_cast<unsigned char>(sql_[end])) != 0) ++end;
    if (end == digits) return "0";
    std::string text(sql_.substr(static_cast<size_t>(location), end - location));
    text.erase(std::remove_if(text.begin(), text.end(),
                              [](unsigned char c) { return std::isspace(c) != 0; }),
               text.end());
    return text;
  }

  std::shared_ptr<ParsedExpression> Make(ParsedExpression::Kind kind, int location) {
    auto expression = std::make_shared<ParsedExpression>();
    expression->kind = kind;
    expression->location = location;
    return expression;
  }

  arrow::Result<ExpressionPointer> MakeOperator(std::string name, int location,
                                                std::vector<ExpressionPointer> arguments) {
    auto expression = Make(ParsedExpression::Kind::kOperator, location);
    expression->name = std::move(name);
    expression->arguments = std::move(arguments);
    return expression;
  }

  arrow::Result<std::vector<ExpressionPointer>> ParseList(const std::vector<JsonValue>& list) {
    std::vector<ExpressionPointer> expressions;
    for (const JsonValue& item : list) {
      ARROW_ASSIGN_OR_RAISE(auto expression, ParseExpression(item));
      expressions.push_back(std::move(expression));
    }
    return expressions;
  }

  arrow::Result<ExpressionPointer> ParseExpression(const JsonValue& item) {
    auto [type, node] = Unwrap(item);
    int location = Location(*node);
    Nesting nesting(this);
    ARROW_RETURN_NOT_OK(nesting.Check(location));
    if (type == "ColumnRef") {
      auto names = Names(ArrayField(*node, "fields"));
      if (!names.empty() && names.back() == "*") {
        auto star = Make(ParsedExpression::Kind::kStar, location);
        names.pop_back();
        star->names = std::move(names);
        return star;
      }
      auto column = Make(ParsedExpression::Kind::kColumn, location);
      column->names = std::move(names);
      return column;
    }
    if (type == "A_Const") return ParseConstant(*node, location);
    if (type == "TypeCast") {
      const JsonValue& type_name = Field(*node, "typeName");
      // A typed literal (TIMESTAMP '...') has no cast location; its type name starts it.
      if (location < 0) location = Location(type_name);
      auto cast = Make(ParsedExpression::Kind::kCast, location);
      ARROW_ASSIGN_OR_RAISE(auto argument, ParseExpression(Field(*node, "arg")));
      cast->arguments.push_back(std::move(argument));
      if (!ArrayField(type_name, "arrayBounds").empty()) return Unsupported(type_name, "arrays");
      auto names = Names(ArrayField(type_name, "names"));
      cast->type_name = names.empty() ? "" : Lower(names.back());
      for (const JsonValue& modifier : ArrayField(type_name, "typmods")) {
        auto [modifier_type, constant] = Unwrap(modifier);
        cast->type_modifiers.push_back(IntegerField(Field(*constant, "ival"), "ival"));
      }
      return cast;
    }
    if (type == "A_Expr") return ParseOperatorExpression(*node, location);
    if (type == "BoolExpr") {
      std::string op = StringField(*node, "boolop");
      ARROW_ASSIGN_OR_RAISE(auto arguments, ParseList(ArrayField(*node, "args")));
      std::string name = op == "AND_EXPR" ? "AND" : op == "OR_EXPR" ? "OR" : "NOT";
      return MakeOperator(name, location, std::move(arguments));
    }
    if (type == "NullTest") {
      ARROW_ASSIGN_OR_RAISE(auto argument, ParseExpression(Field(*node, "arg")));
      bool is_null = StringField(*node, "nulltesttype") == "IS_NULL";
      return MakeOperator(is_null ? "IS NULL" : "IS NOT NULL", location, {argument});
    }
    if (type == "BooleanTest") {
      ARROW_ASSIGN_OR_RAISE(auto argument, ParseExpression(Field(*node, "arg")));
      static const std::map<std::string, std::string> kTests = {
          {"IS_TRUE", "IS TRUE"},    {"IS_NOT_TRUE", "IS NOT TRUE"},
          {"IS_FALSE", "IS FALSE"},  {"IS_NOT_FALSE", "IS NOT FALSE"},
          {"IS_UNKNOWN", "IS NULL"}, {"IS_NOT_UNKNOWN", "IS NOT NULL"}};
      auto found = kTests.find(StringField(*node, "booltesttype"));
      if (found == kTests.end()) return Unsupported(*node, "this boolean test");
      return MakeOperator(found->second, location, {argument});
    }
    if (type == "FuncCall") return ParseFunction(*node, location);
    if (type == "CoalesceExpr" || type == "MinMaxExpr") {
      auto function = Make(ParsedExpression::Kind::kFunction, location);
      function->name = type == "CoalesceExpr"                      ? "coalesce"
                       : StringField(*node, "op") == "IS_GREATEST" ? "greatest"
                                                                   : "least";
      ARROW_ASSIGN_OR_RAISE(function->arguments, ParseList(ArrayField(*node, "args")));
      return function;
    }
    if (type == "SQLValueFunction") {
      std::string op = StringField(*node, "op");
      auto function = Make(ParsedExpression::Kind::kFunction, location);
      if (op == "SVFOP_CURRENT_TIMESTAMP" || op == "SVFOP_LOCALTIMESTAMP") {
        function->name = "now";
      } else if (op == "SVFOP_CURRENT_DATE") {
        function->name = "current_date";
      } else {
        return Unsupported(*node, op);
      }
      return function;
    }
    if (type == "CaseExpr") {
      auto expression = Make(ParsedExpression::Kind::kCase, location);
      if (node->Find("arg") != nullptr) {
        expression->case_has_operand = true;
        ARROW_ASSIGN_OR_RAISE(auto operand, ParseExpression(Field(*node, "arg")));
        expression->arguments.push_back(std::move(operand));
      }
      for (const JsonValue& when_item : ArrayField(*node, "args")) {
        auto [when_type, when] = Unwrap(when_item);
        ARROW_ASSIGN_OR_RAISE(auto condition, ParseExpression(Field(*when, "expr")));
        ARROW_ASSIGN_OR_RAISE(auto result, ParseExpression(Field(*when, "result")));
        expression->arguments.push_back(std::move(condition));
        expression->arguments.push_back(std::move(result));
      }
      if (node->Find("defresult") != nullptr) {
        expression->case_has_else = true;
        ARROW_ASSIGN_OR_RAISE(auto otherwise, ParseExpression(Field(*node, "defresult")));
        expression->arguments.push_back(std::move(otherwise));
      }
      return expression;
    }
    if (type == "SubLink") {
      auto expression = Make(ParsedExpression::Kind::kSubquery, location);
      std::string link = StringField(*node, "subLinkType");
      if (link == "EXISTS_SUBLINK") {
        expression->subquery_kind = ParsedExpression::SubqueryKind::kExists;
      } else if (link == "EXPR_SUBLINK") {
        expression->subquery_kind = ParsedExpression::SubqueryKind::kScalar;
      } else if (link == "ANY_SUBLINK" && Names(ArrayField(*node, "operName")).empty()) {
        expression->subquery_kind = ParsedExpression::SubqueryKind::kIn;
        ARROW_ASSIGN_OR_RAISE(auto tested, ParseExpression(Field(*node, "testexpr")));
        expression->arguments.push_back(std::move(tested));
      } else {
        return Unsupported(*node, "this kind of subquery (" + link + ")");
      }
      ARROW_ASSIGN_OR_RAISE(expression->subquery,
                            ParseSelect(*Unwrap(Field(*node, "subselect")).second));
      return expression;
    }
    if (type == "List") {
      auto list = Make(ParsedExpression::Kind::kList, location);
      ARROW_ASSIGN_OR_RAISE(list->arguments, ParseList(ArrayField(*node, "items")));
      return list;
    }
    if (type == "ParamRef") return Unsupported(*node, "a query parameter ($n)");
    return Unsupported(*node, "the expression " + std::string(type));
  }

  arrow::Result<ExpressionPointer> ParseConstant(const JsonValue& node, int location) {
    auto constant = Make(ParsedExpression::Kind::kConstant, location);
    if (BoolField(node, "isnull")) {
      constant->constant_kind = ParsedExpression::ConstantKind::kNull;
    } else if (const JsonValue* integer = node.Find("ival")) {
      constant->constant_kind = ParsedExpression::ConstantKind::kInteger;
      constant->text = std::to_string(IntegerField(*integer, "ival"));
      // libpg_query 15-4.0.0 omits negative integers from its JSON ("ival": {}), so an empty
      // value is read back from the SQL text at the constant's location.
      if (integer->Find("ival") == nullptr) constant->text = IntegerText(location);
    } else if (const JsonValue* number = node.Find("fval")) {
      constant->constant_kind = ParsedExpression::ConstantKind::kFloat;
      constant->text = StringField(*number, "fval");
    } else if (const JsonValue* text = node.Find("sval")) {
      constant->constant_kind = ParsedExpression::ConstantKind::kString;
      constant->text = StringField(*text, "sval");
    } else if (const JsonValue* boolean = node.Find("boolval")) {
      constant->constant_kind = ParsedExpression::ConstantKind::kBoolean;
      constant->text = BoolField(*boolean, "boolval") ? "true" : "false";
    } else if (node.Find("bsval") != nullptr) {
      return Unsupported(node, "a bit-string constant");
    } else {
      constant->constant_kind = ParsedExpression::ConstantKind::kInteger;
      constant->text = IntegerText(location);
    }
    return constant;
  }

  arrow::Result<ExpressionPointer> ParseOperatorExpression(const JsonValue& node, int location) {
    std::string kind = StringField(node, "kind");
    auto names = Names(ArrayField(node, "name"));
    std::string op = names.empty() ? "" : names.back();
    ExpressionPointer left;
    if (node.Find("lexpr") != nullptr) {
      ARROW_ASSIGN_OR_RAISE(left, ParseExpression(Field(node, "lexpr")));
    }
    ARROW_ASSIGN_OR_RAISE(auto right, ParseExpression(Field(node, "rexpr")));
    if (kind == "AEXPR_OP") {
      if (left == nullptr) return MakeOperator(op == "-" ? "NEGATE" : op, location, {right});
      return MakeOperator(op, location, {left, right});
    }
    if (kind == "AEXPR_IN")
      return MakeOperator(op == "=" ? "IN" : "NOT IN", location, {left, right});
    if (kind == "AEXPR_LIKE")
      return MakeOperator(op == "~~" ? "LIKE" : "NOT LIKE", location, {left, right});
    if (kind == "AEXPR_ILIKE") {
      return MakeOperator(op == "~~*" ? "ILIKE" : "NOT ILIKE", location, {left, right});
    }
    if (kind == "AEXPR_BETWEEN" || kind == "AEXPR_NOT_BETWEEN") {
      std::vector<ExpressionPointer> arguments = {left};
      for (const auto& bound : right->arguments) arguments.push_back(bound);
      return MakeOperator(kind == "AEXPR_BETWEEN" ? "BETWEEN" : "NOT BETWEEN", location,
                          std::move(arguments));
    }
    if (kind == "AEXPR_NULLIF") {
      auto function = Make(ParsedExpression::Kind::kFunction, location);
      function->name = "nullif";
      function->arguments = {left, right};
      return function;
    }
    if (kind == "AEXPR_DISTINCT") return MakeOperator("IS DISTINCT FROM", location, {left, right});
    if (kind == "AEXPR_NOT_DISTINCT") {
      return MakeOperator("IS NOT DISTINCT FROM", location, {left, right});
    }
    return Unsupported(node, "the operator form " + kind);
  }

  arrow::Result<ExpressionPointer> ParseFunction(const JsonValue& node, int location) {
    auto function = Make(ParsedExpression::Kind::kFunction, location);
    auto names = Names(ArrayField(node, "funcname"));
    function->name = names.empty() ? "" : Lower(names.back());
    function->distinct = BoolField(node, "agg_distinct");
    function->star_argument = BoolField(node, "agg_star");
    if (BoolField(node, "func_variadic")) return Unsupported(node, "VARIADIC");
    ARROW_ASSIGN_OR_RAISE(function->arguments, ParseList(ArrayField(node, "args")));
    ARROW_ASSIGN_OR_RAISE(function->filter, ParseOptional(node, "agg_filter"));
    if (BoolField(node, "agg_within_group")) {
      ARROW_ASSIGN_OR_RAISE(function->within_group, ParseOrder(ArrayField(node, "agg_order")));
    } else if (!ArrayField(node, "agg_order").empty()) {
      return Unsupported(node, "ORDER BY inside an aggregate call");
    }
    if (const JsonValue* over = node.Find("over")) {
      if (!StringField(*over, "refname").empty() || !StringField(*over, "name").empty()) {
        return Unsupported(*over, "a named window");
      }
      WindowSpecification window;
      ARROW_ASSIGN_OR_RAISE(window.partition_by, ParseList(ArrayField(*over, "partitionClause")));
      ARROW_ASSIGN_OR_RAISE(window.order_by, ParseOrder(ArrayField(*over, "orderClause")));
      int64_t options = IntegerField(*over, "frameOptions");
      if ((options & kFrameNonDefault) != 0) {
        if ((options & kFrameGroups) != 0) return Unsupported(*over, "GROUPS frames");
        window.has_frame = true;
        window.rows_frame = (options & kFrameRows) != 0;
        if ((options & kFrameRange) != 0 &&
            (options & (kFrameStartOffsetPreceding | kFrameEndOffsetPreceding |
                        kFrameStartOffsetFollowing | kFrameEndOffsetFollowing)) != 0) {
          return Unsupported(*over, "RANGE frames with offsets (use ROWS)");
        }
        ARROW_ASSIGN_OR_RAISE(window.start, ParseBound(*over, options, true));
        ARROW_ASSIGN_OR_RAISE(window.end, ParseBound(*over, options, false));
      }
      function->window = std::move(window);
    }
    return function;
  }

  arrow::Result<FrameBound> ParseBound(const JsonValue& over, int64_t options, bool start) {
    FrameBound bound;
    int64_t unbounded_preceding = start ? kFrameStartUnboundedPreceding : 0x40;
    int64_t unbounded_following = start ? 0x80 : kFrameEndUnboundedFollowing;
    int64_t current = start ? kFrameStartCurrentRow : kFrameEndCurrentRow;
    int64_t preceding = start ? kFrameStartOffsetPreceding : kFrameEndOffsetPreceding;
    int64_t following = start ? kFrameStartOffsetFollowing : kFrameEndOffsetFollowing;
    if ((options & unbounded_preceding) != 0) {
      bound.kind = FrameBound::Kind::kUnboundedPreceding;
    } else if ((options & unbounded_following) != 0) {
      bound.kind = FrameBound::Kind::kUnboundedFollowing;
    } else if ((options & current) != 0) {
      bound.kind = FrameBound::Kind::kCurrentRow;
    } else if ((options & (preceding | following)) != 0) {
      bound.kind =
          (options & preceding) != 0 ? FrameBound::Kind::kPreceding : FrameBound::Kind::kFollowing;
      auto [type, offset] = Unwrap(Field(over, start ? "startOffset" : "endOffset"));
      const JsonValue* integer = offset->Find("ival");
      if (type != "A_Const" || (integer == nullptr && offset->Find("fval") != nullptr)) {
        return Unsupported(over, "a frame offset that is not an integer constant");
      }
      bound.offset = integer == nullptr ? 0 : IntegerField(*integer, "ival");
    } else if (!start) {
      // "ROWS n PRECEDING" without BETWEEN ends at the current row.
      bound.kind = FrameBound::Kind::kCurrentRow;
    }
    return bound;
  }

  std::string_view sql_;
  int depth_ = 0;
  bool allow_writes_ = false;
};

}  // namespace

arrow::Result<Statement> ParseStatement(std::string_view sql, const ParseOptions& options) {
  // The text must be UTF-8 without NUL bytes, as PostgreSQL requires of a UTF8 database: other
  // bytes would otherwise reach string literals and names under some other reading.
  for (size_t position = 0; position < sql.size();) {
    const auto byte = static_cast<unsigned char>(sql[position]);
    if (byte >= 0x01 && byte <= 0x7F) {
      ++position;
      continue;
    }
    uint32_t code_point = 0;
    size_t length = byte == 0 ? 0 : DecodeUtf8(sql, position, &code_point);
    if (length == 0) {
      char byte[8];
      std::snprintf(byte, sizeof byte, "0x%02x", static_cast<unsigned char>(sql[position]));
      return SqlError(sql, static_cast<int>(position),
                      std::string("invalid byte sequence for encoding \"UTF8\": ") + byte);
    }
    position += length;
  }
  if (std::optional<int> beyond = NestingBeyond(sql, kMaxScannedNesting)) {
    return SqlError(sql, *beyond, NestingError());
  }
  std::string text(sql);
  PgQueryParseResult result = pg_query_parse(text.c_str());
  struct Free {
    PgQueryParseResult* result;
    ~Free() { pg_query_free_parse_result(*result); }
  } free_result{&result};
  if (result.error != nullptr) {
    // libpg_query reports a 1-based byte position (0: unknown, e.g. at the end of input).
    int location =
        result.error->cursorpos > 0 ? result.error->cursorpos - 1 : static_cast<int>(sql.size());
    return SqlError(sql, location, result.error->message);
  }
  auto root = ParseJson(result.parse_tree, kJsonLevelsPerNesting * kMaxNestingDepth);
  if (!root.ok()) {
    return arrow::Status::Invalid("SQL error: the query is nested too deeply (more than ",
                                  kMaxNestingDepth,
                                  " levels) or cannot be read: ", root.status().message());
  }
  Parser parser(sql);
  parser.AllowWrites(options.allow_writes);
  return parser.ParseRoot(*root);
}

}  // namespace nlk::sql
