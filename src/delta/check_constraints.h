// Adding and dropping a table's CHECK constraints (PROTOCOL.md "CHECK Constraints"), as Spark's
// ALTER TABLE ... ADD CONSTRAINT / DROP CONSTRAINT do:
//  - add: every existing row must satisfy the new constraint (false or NULL is a violation, as
//    on writes), or nothing changes; then delta.constraints.<name> joins the table properties,
//    the protocol is upgraded to support checkConstraints (writer version 3, or the feature for
//    a table-features protocol), and commitInfo records ADD CONSTRAINT with name and expr;
//  - drop: the property goes (DROP CONSTRAINT); the protocol stays.
// The commit declares the whole table read, so a write racing the check is a conflict and the
// constraint never lands beside rows it did not see.
//
// Thread-safety: as Table (each call works on its own snapshot).
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <string>

#include "delta/table.h"

namespace nlk::delta {

struct ConstraintChange {
  int64_t version = -1;      // the committed version; -1 when nothing was committed
  int64_t rows_checked = 0;  // add: the existing rows evaluated
  std::string expression;    // the constraint's text (drop: the text it had)
};

// Names are letters, digits and underscores, and are stored lower-cased, as Spark stores them.
// Needs a registered SQL expression compiler (log/expression_compiler.h).
arrow::Result<ConstraintChange> AddCheckConstraint(Table& table, const std::string& name,
                                                   const std::string& expression);

// Without `if_exists`, a constraint the table does not have is an error listing those it has.
arrow::Result<ConstraintChange> DropCheckConstraint(Table& table, const std::string& name,
                                                    bool if_exists);

}  // namespace nlk::delta
