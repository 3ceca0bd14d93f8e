// SQL text -> our syntax tree (ast.h), using libpg_query for the PostgreSQL grammar.
//
// Only read queries are accepted: SELECT (with WITH, set operations, subqueries, joins) and
// EXPLAIN [ANALYZE] of one. Anything else is refused with "read-only: <statement> not allowed".
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

arrow::Result<Statement> ParseStatement(std::string_view sql);

}  // namespace nlk::sql
