// The logical plan: a tree of relational operators produced by the binder, rewritten by the
// optimizer and turned into Acero declarations (plus our own operators) by the executor.
//
// Every column flowing between operators has a unique internal name ("voltage_uv#7"), so joins
// and subqueries never clash; the engine renames the final columns to the names the query
// asked for. Expressions are unbound arrow::compute::Expressions over those internal names.
//
// Plans are built once per query and not shared between threads.
#pragma once

#include <arrow/acero/options.h>
#include <arrow/compute/api_aggregate.h>
#include <arrow/compute/expression.h>
#include <arrow/type_fwd.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sql/table_catalog.h"

namespace nlk::sql {

struct SortKey {
  std::string column;  // internal name
  bool ascending = true;
  bool nulls_first = false;
};

struct AggregateCall {
  // Arrow's function name without the "hash_" prefix: "count", "sum", "mean", "tdigest", ...
  std::string function;
  std::string input;  // internal input column; empty for count(*)
  std::shared_ptr<arrow::compute::FunctionOptions> options;
  std::string output;  // internal output column
};

enum class WindowFunction {
  kRowNumber,
  kRank,
  kDenseRank,
  kLag,
  kLead,
  kSum,
  kAverage,
  kCount,
  kMinimum,
  kMaximum
};

struct WindowFrame {
  // Row offsets relative to the current row; nullopt: unbounded on that side.
  std::optional<int64_t> start;
  std::optional<int64_t> end = 0;
  // RANGE ... CURRENT ROW: the frame extends over the current row's peers (equal sort keys).
  bool include_peers = false;
};

struct WindowCall {
  WindowFunction function = WindowFunction::kRowNumber;
  std::string input;                 // internal column; empty for row_number/rank/count(*)
  int64_t offset = 1;                // lag/lead
  std::string default_value_column;  // lag/lead default; empty: null
  std::vector<std::string> partition_by;
  std::vector<SortKey> order_by;
  WindowFrame frame;
  std::string output;
  std::shared_ptr<arrow::DataType> output_type;
};

struct LogicalOperator;
using PlanPointer = std::shared_ptr<LogicalOperator>;

struct LogicalOperator {
  enum class Kind {
    kScan,
    kSingleRow,
    kFilter,
    kProject,
    kAggregate,
    kSort,
    kTopK,
    kLimit,
    kJoin,
    kUnion,
    kWindow
  };

  Kind kind = Kind::kSingleRow;
  std::vector<PlanPointer> children;
  std::shared_ptr<arrow::Schema> schema;  // output columns, internal names

  // kScan: `columns` are the table's column names read, in the order of `schema`'s fields.
  // `filter` (table column names) and `limit` are what the optimizer pushed into the scan.
  std::string table_name;
  ResolvedTable source;  // the table and the caller's restriction on it
  std::vector<std::string> columns;
  std::optional<arrow::compute::Expression> pushed_filter;
  std::optional<int64_t> pushed_limit;

  // kFilter
  arrow::compute::Expression predicate;
  // An access policy's row filter (TableRestriction): predicates from above are kept above it,
  // so the caller's expressions never run on the rows it removes (an error such as a division
  // by zero on a hidden row would tell the caller that row exists). Its own predicate is still
  // pushed down into the scan.
  bool barrier = false;

  // kProject: one expression per output field.
  std::vector<arrow::compute::Expression> expressions;

  // kAggregate: group keys (internal input columns, emitted first, under their input names)
  // then one column per aggregate. No keys: one row even for empty input.
  std::vector<std::string> keys;
  std::vector<AggregateCall> aggregates;

  // kSort, kTopK
  std::vector<SortKey> sort_keys;

  // kLimit, kTopK
  int64_t offset = 0;
  std::optional<int64_t> count;

  // kJoin: equality keys (left column = right column) and a residual predicate.
  arrow::acero::JoinType join_type = arrow::acero::JoinType::INNER;
  std::vector<std::string> left_keys;
  std::vector<std::string> right_keys;
  // Null keys match each other (IS NOT DISTINCT FROM); set for INTERSECT/EXCEPT.
  bool null_equal_keys = false;
  arrow::compute::Expression join_filter = arrow::compute::literal(true);

  // kWindow: appends one column per call to the input columns.
  std::vector<WindowCall> windows;
};

// Helpers that build nodes and derive their output schema.
PlanPointer MakeProject(PlanPointer input, std::vector<arrow::compute::Expression> expressions,
                        std::vector<std::shared_ptr<arrow::Field>> fields);
PlanPointer MakeFilter(PlanPointer input, arrow::compute::Expression predicate);
PlanPointer MakeLimit(PlanPointer input, int64_t offset, std::optional<int64_t> count);

// The internal names of the columns an expression reads.
std::vector<std::string> ReferencedColumns(const arrow::compute::Expression& expression);
// Replaces column references by name (names not in the map are kept).
arrow::compute::Expression RenameColumns(
    const arrow::compute::Expression& expression,
    const std::function<std::optional<std::string>(const std::string&)>& rename);
// Splits a predicate into its top-level AND terms, and joins them back.
std::vector<arrow::compute::Expression> SplitConjunction(
    const arrow::compute::Expression& predicate);
arrow::compute::Expression JoinConjunction(const std::vector<arrow::compute::Expression>& terms);

}  // namespace nlk::sql
