// Enforces a table's row rules (log/table_constraints.h) on the rows a writer is about to store:
// generated columns are computed when the rows lack them and checked when they carry them, and
// every CHECK constraint and column invariant must hold on every row. The SQL texts are compiled
// once, by the program's SQL expression compiler (log/expression_compiler.h).
//
// A rule holds on a row as delta-spark decides it: a CHECK constraint or invariant whose result
// is false or NULL is violated (delta-spark's CheckDeltaInvariant), and a supplied generated
// value must equal the computed one null-safely (`col <=> expr`, NULL only against NULL).
//
// Thread-safety: Apply only reads the compiled rules, so one enforcer may serve several threads.
#pragma once

#include <arrow/compute/expression.h>
#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/type.h>

#include <memory>
#include <string>
#include <vector>

#include "delta/log/actions.h"
#include "delta/log/table_constraints.h"

namespace nlk::delta::data {

class ConstraintEnforcer {
 public:
  // The enforcer of `metadata`'s rules over `table_schema` (its logical schema), or nullptr when
  // it declares none. An expression the compiler refuses, or the lack of a compiler, is an error
  // naming the rule and its text.
  static arrow::Result<std::unique_ptr<ConstraintEnforcer>> Make(
      const Metadata& metadata, const std::shared_ptr<arrow::Schema>& table_schema);

  // The schema to conform incoming rows to before Apply: the table schema with generated columns
  // nullable, so that rows without them pass and get them filled by Apply.
  const std::shared_ptr<arrow::Schema>& conform_schema() const { return conform_schema_; }

  // `rows` conformed to conform_schema() (string columns may be dictionary-encoded), with their
  // generated columns computed where `supplied` (the incoming rows' schema) lacks them. Fails,
  // naming the rule, its expression and the values of the first violating row, when any row
  // breaks a rule; then nothing of `rows` may be written.
  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Apply(
      const std::shared_ptr<arrow::RecordBatch>& rows, const arrow::Schema& supplied) const;

 private:
  struct Rule {
    std::string description;                // "CHECK constraint positive (value > 0)"
    arrow::compute::Expression expression;  // bound to the table schema
    std::vector<std::string> columns;       // those it reads, for the error message
  };
  struct Generated {
    int index = 0;  // in the table schema
    std::string text;
    arrow::compute::Expression expression;  // bound; yields the column's type
    std::vector<std::string> columns;
  };

  ConstraintEnforcer() = default;

  std::shared_ptr<arrow::Schema> table_schema_;
  std::shared_ptr<arrow::Schema> conform_schema_;
  std::vector<Rule> rules_;
  std::vector<Generated> generated_;
};

}  // namespace nlk::delta::data
