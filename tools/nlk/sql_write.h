// `nlk sql --write`: runs a DELETE, UPDATE or INSERT statement (sql/write_statement.h) on a Delta
// table the command line names, and prints what it changed.
#pragma once

#include <arrow/status.h>

#include <memory>
#include <string>

#include "sql/ast.h"
#include "sql/table_catalog.h"

namespace nlk::cli {

// Prints psql's command tag ("DELETE 3", "UPDATE 2", "INSERT 0 5") and the version committed
// with the operation's figures; with `format` "json" one JSON object instead. Other formats are
// refused before anything is written.
arrow::Status RunWriteStatement(const std::string& sql, const sql::WriteStatement& statement,
                                const std::shared_ptr<sql::TableCatalog>& catalog,
                                const std::string& format, const std::string& mode);

}  // namespace nlk::cli
