// SQL text -> our syntax tree (ast.h), using libpg_query for the PostgreSQL grammar.
//
// By default only read queries are accepted: SELECT (with WITH, set operations, subqueries,
// joins) and EXPLAIN [ANALYZE] of one. Anything else is refused with "read-only: <statement> not
// allowed". ParseOptions::allow_writes also accepts DELETE, UPDATE and INSERT.
// Syntax errors read "SQL error at position N: reason", N counting characters from 1. Queries
// nested more than 500 levels deep (expressions, subqueries, joins) are refused with an error.
// AND and OR chains are lists, not nesting: WHERE a = 1 OR a = 2 OR ... takes any length.
//
// Pure and thread-safe (libpg_query keeps its parser state per thread).
#pragma once

#include <arrow/result.h>

#include <string_view>

#include "sql/ast.h"

namespace nlk::sql {

struct ParseOptions {
  // Also accept DELETE, UPDATE and INSERT (Statement::write), for `nlk sql --write`. RETURNING,
  // ON CONFLICT, WITH, USING/FROM joins and DEFAULT VALUES are refused as unsupported.
  bool allow_writes = false;
};

arrow::Result<Statement> ParseStatement(std::string_view sql, const ParseOptions& options = {});

}  // namespace nlk::sql
