// Running SQL's write statements (ast.h WriteStatement) on a Delta table that a TableCatalog
// names, as `nlk sql --write` does:
//  - DELETE FROM t [WHERE pred]                -> delta::Table::Delete
//  - UPDATE t SET col = expr, ... [WHERE pred] -> delta::Table::Update
//  - INSERT INTO t [(cols)] VALUES ... | SELECT ...  -> an append (delta::WriteBuilder)
// WHERE, SET values and VALUES are bound by the SQL binder (Binder::BindScalar) over the target's
// columns, so they mean what they mean in a SELECT. SET and INSERT values are cast to the
// column's type as CAST would: a value that does not fit (300 into a smallint, 'x' into an int)
// is an error, never a wrap. Columns an INSERT leaves out are NULL; a NOT NULL column cannot be
// left out or given a NULL. The SELECT of an INSERT runs on the SQL engine (any query).
//
// The target must be a Delta table without an access restriction; a Parquet dataset or a
// function table is refused by name. Nothing is committed when the statement fails.
//
// Errors: as the SQL engine's (sql_engine.h): Invalid "SQL error at position N: ..." for bad
// statements, KeyError for an unknown table; the Delta layer's errors (conflicts, refused writer
// features) pass through.
//
// Thread-safety: each call works on its own; the catalog must allow concurrent Resolve.
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "delta/dml/row_level_operation.h"
#include "delta/table.h"
#include "sql/ast.h"
#include "sql/sql_engine.h"
#include "sql/table_catalog.h"

namespace nlk::sql {

struct WriteStatementOptions {
  // DELETE and UPDATE: copy-on-write or deletion vectors (the table's default).
  delta::dml::RowChangeMode mode = delta::dml::RowChangeMode::kTableDefault;
  // Called with the target's URI before anything is written; a failing status refuses the
  // statement (the CLI checks its one-writer-per-table rule here).
  std::function<arrow::Status(const std::string& uri)> check_target;
  // For the SELECT of an INSERT ... SELECT.
  QueryOptions query;
};

struct WriteStatementResult {
  std::string command;  // "DELETE", "UPDATE" or "INSERT"
  std::string table_uri;
  int64_t rows = 0;  // rows deleted, updated or inserted
  // The committed version; when nothing was committed (no row matched) the version read.
  int64_t version = -1;
  bool committed = false;
  std::optional<delta::dml::DmlResult> dml;  // DELETE and UPDATE: the operation's figures
  std::optional<delta::WriteResult> write;   // INSERT
};

// `statement` is the write statement parsed from `sql` (ParseStatement with allow_writes).
arrow::Result<WriteStatementResult> ExecuteWriteStatement(
    std::string_view sql, const WriteStatement& statement,
    const std::shared_ptr<TableCatalog>& catalog, const WriteStatementOptions& options = {});

}  // namespace nlk::sql
