// The rules a table's metadata sets for every row written to it (PROTOCOL.md "Column
// Invariants", "CHECK Constraints", "Generated Columns"), read from the metadata as SQL text:
//  - CHECK constraints: table properties delta.constraints.<name> = "<boolean SQL expression>";
//  - legacy invariants: column metadata delta.invariants =
//    "{\"expression\": {\"expression\": \"<boolean SQL expression>\"}}";
//  - generated columns: column metadata delta.generationExpression = "<SQL expression>".
// Evaluating them is the data writer's job (data/constraint_enforcer.h). Pure; thread-safe.
#pragma once

#include <arrow/result.h>

#include <string>
#include <string_view>
#include <vector>

#include "delta/log/actions.h"

namespace nlk::delta {

inline constexpr std::string_view kConstraintPropertyPrefix = "delta.constraints.";
inline constexpr std::string_view kInvariantsKey = "delta.invariants";
inline constexpr std::string_view kGenerationExpressionKey = "delta.generationExpression";

struct CheckConstraint {
  std::string name;        // as in the property key (Spark stores it lower-cased)
  std::string expression;  // SQL text
};

struct ColumnInvariant {
  std::string column;  // dotted path of the column that carries it
  std::string expression;
};

struct GeneratedColumn {
  std::string column;  // a top-level column
  std::string expression;
};

struct TableConstraints {
  std::vector<CheckConstraint> checks;  // in name order
  std::vector<ColumnInvariant> invariants;
  std::vector<GeneratedColumn> generated_columns;

  bool empty() const { return checks.empty() && invariants.empty() && generated_columns.empty(); }
};

// The constraints of `metadata`. A malformed invariant or generation expression (not a string,
// not the documented JSON) is an error naming the column.
arrow::Result<TableConstraints> ReadTableConstraints(const Metadata& metadata);

// The property key of CHECK constraint `name`: its lower-cased name after the prefix, as Spark
// writes it, so that names differing only in case are one constraint.
std::string ConstraintPropertyKey(std::string_view name);

}  // namespace nlk::delta
