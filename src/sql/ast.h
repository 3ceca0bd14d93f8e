// The syntax tree of one SQL statement, as the parser hands it to the binder. It mirrors the
// parts of PostgreSQL's grammar we support and nothing else, so the binder never sees
// libpg_query's JSON. Locations are 0-based byte offsets into the SQL text (-1: unknown).
//
// Immutable after parsing; nodes are shared between owners (GROUP BY ordinals point at select
// items), hence shared_ptr<const>.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nlk::sql {

struct SelectStatement;
struct ParsedExpression;
using ExpressionPointer = std::shared_ptr<const ParsedExpression>;
using SelectPointer = std::shared_ptr<const SelectStatement>;

struct OrderItem {
  ExpressionPointer expression;
  bool ascending = true;
  // PostgreSQL's default: NULLS LAST when ascending, NULLS FIRST when descending.
  std::optional<bool> nulls_first;
};

// A frame bound of ROWS BETWEEN ... AND ...; `offset` counts rows for kPreceding/kFollowing.
struct FrameBound {
  enum class Kind { kUnboundedPreceding, kPreceding, kCurrentRow, kFollowing, kUnboundedFollowing };
  Kind kind = Kind::kCurrentRow;
  int64_t offset = 0;
};

struct WindowSpecification {
  std::vector<ExpressionPointer> partition_by;
  std::vector<OrderItem> order_by;
  // No explicit frame: RANGE UNBOUNDED PRECEDING .. CURRENT ROW (peers included) when ordered,
  // the whole partition otherwise.
  bool has_frame = false;
  bool rows_frame = true;  // ROWS (true) or RANGE (false)
  FrameBound start;
  FrameBound end;
};

struct ParsedExpression {
  enum class Kind {
    kColumn,    // names: [qualifier...,] column
    kStar,      // names: optional qualifier
    kConstant,  // constant_kind + text
    kFunction,  // name, arguments, distinct, star_argument, window, within_group
    kOperator,  // name ("+", "=", "AND", "NOT", "IS NULL", "LIKE", "IN", "BETWEEN", ...)
    kCase,      // arguments: [operand?] then (when, then)* then [else?]; see case_* fields
    kCast,      // arguments[0], type_name
    kList,      // arguments: the items of an IN list
    kSubquery,  // subquery_kind, subquery, arguments[0] = tested expression for IN/ANY
  };
  enum class ConstantKind { kInteger, kFloat, kString, kBoolean, kNull };
  enum class SubqueryKind { kScalar, kExists, kIn };

  Kind kind = Kind::kConstant;
  int location = -1;
  std::vector<std::string> names;
  std::string name;
  std::vector<ExpressionPointer> arguments;

  ConstantKind constant_kind = ConstantKind::kNull;
  std::string text;  // the constant as written (strings unquoted)

  bool distinct = false;
  bool star_argument = false;
  std::optional<WindowSpecification> window;
  std::vector<OrderItem> within_group;
  ExpressionPointer filter;  // aggregate FILTER (WHERE ...)

  bool case_has_operand = false;
  bool case_has_else = false;

  std::string type_name;  // lower case, e.g. "int8", "timestamptz", "interval"
  std::vector<int64_t> type_modifiers;

  SubqueryKind subquery_kind = SubqueryKind::kScalar;
  SelectPointer subquery;
};

struct TableReference;
using TableReferencePointer = std::shared_ptr<const TableReference>;

struct TableReference {
  enum class Kind { kTable, kSubquery, kJoin };
  enum class JoinType { kInner, kLeft, kRight, kFull, kCross };

  Kind kind = Kind::kTable;
  int location = -1;
  std::string name;   // kTable: the table name as written (dots kept)
  std::string alias;  // empty: none
  std::vector<std::string> column_aliases;
  SelectPointer subquery;
  JoinType join_type = JoinType::kInner;
  TableReferencePointer left;
  TableReferencePointer right;
  ExpressionPointer condition;             // ON
  std::vector<std::string> using_columns;  // USING (...)
};

struct SelectItem {
  ExpressionPointer expression;
  std::string alias;  // empty: derived from the expression
};

struct CommonTableExpression {
  std::string name;
  std::vector<std::string> column_aliases;
  SelectPointer query;
  int location = -1;
};

struct SelectStatement {
  enum class SetOperation { kNone, kUnion, kIntersect, kExcept };

  std::vector<CommonTableExpression> with;
  // kNone: a plain SELECT; otherwise `left` <op> `right`, with order/limit applying to the result.
  SetOperation set_operation = SetOperation::kNone;
  bool set_all = false;
  SelectPointer left;
  SelectPointer right;

  bool distinct = false;
  std::vector<SelectItem> items;
  std::vector<TableReferencePointer> from;
  ExpressionPointer where;
  std::vector<ExpressionPointer> group_by;
  ExpressionPointer having;
  std::vector<OrderItem> order_by;
  ExpressionPointer limit;
  ExpressionPointer offset;
  int location = 0;
};

// A column named by a write statement (UPDATE's SET target, INSERT's column list).
// Matched like a column name in a query: exact spelling first, then case-insensitively.
struct WriteColumn {
  std::string name;  // unquoted names come folded to lower case
  int location = -1;
};

// DELETE FROM t [AS a] [WHERE ...], UPDATE t [AS a] SET col = expr, ... [WHERE ...] and
// INSERT INTO t [(cols)] VALUES (...), ... | SELECT ...; only parsed when the caller allows
// writes (ParseOptions::allow_writes).
struct WriteStatement {
  enum class Kind { kDelete, kUpdate, kInsert };
  struct Assignment {
    WriteColumn column;
    ExpressionPointer value;
  };

  Kind kind = Kind::kDelete;
  std::string table;  // the target's name as written (dots kept)
  std::string alias;  // empty: none
  int table_location = -1;
  ExpressionPointer where;              // DELETE, UPDATE; null: every row
  std::vector<Assignment> assignments;  // UPDATE
  std::vector<WriteColumn> columns;     // INSERT; empty: all of the table's, in order
  std::vector<std::vector<ExpressionPointer>> values;  // INSERT ... VALUES: one list per row
  SelectPointer query;                                 // INSERT ... SELECT
  int location = 0;
};
using WriteStatementPointer = std::shared_ptr<const WriteStatement>;

struct Statement {
  bool explain = false;
  bool analyze = false;  // EXPLAIN ANALYZE: run the query and report what it read
  SelectPointer select;
  WriteStatementPointer write;  // set instead of `select` for DELETE, UPDATE and INSERT
};

}  // namespace nlk::sql
