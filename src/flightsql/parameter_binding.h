// Prepared statement parameters ($1, $2, ...) bound from Arrow: Flight SQL clients send them as
// a record batch through DoPut, one column per parameter and one row per execution. The SQL
// engine takes no parameters, so each value becomes a SQL literal where its $n stood, written
// and checked by the PostgreSQL listener's rules (pgwire/parameters.h): the positions come from
// the parser's tree and values are never pasted into the SQL unquoted.
//
// Pure functions and plain values; thread-safe.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>

#include <cstdint>
#include <string>
#include <vector>

#include "pgwire/parameters.h"

namespace nlk::flightsql {

struct ParameterizedQuery {
  std::string text;
  std::vector<pgwire::ParameterReference> references;
  int parameter_count = 0;  // the highest n of $n
};

// Parses `sql`, which must hold exactly one statement.
arrow::Result<ParameterizedQuery> ParseParameterizedQuery(const std::string& sql);

// The statement with $n replaced by column n-1 of `parameters` at `row`. Extra columns are an
// error, as are missing ones; a parameter of a type without a literal form (binary, nested) is
// Invalid naming it.
arrow::Result<std::string> BindParameters(const ParameterizedQuery& query,
                                          const arrow::RecordBatch& parameters, int64_t row);

// The statement with each $n replaced by a NULL literal, to learn its result columns before any
// value is bound.
arrow::Result<std::string> BindPlaceholders(const ParameterizedQuery& query);

}  // namespace nlk::flightsql
