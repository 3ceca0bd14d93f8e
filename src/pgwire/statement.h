// The statements of a query string, parsed once by PostgreSQL's own parser (libpg_query) and
// sorted by what answers them:
//
//   kData      SELECT/EXPLAIN over the served tables: the SQL engine, exactly as /api/sql
//   kCatalog   SELECT over pg_catalog/information_schema, or calling system functions such as
//              version() or current_schema(): the catalog evaluator (catalog_query.h)
//   kSet, kShow, kTransaction, kDiscard, kDeallocate: session commands
//   kDeclare, kFetch, kClose: SQL cursors (DECLARE ... CURSOR FOR, FETCH/MOVE, CLOSE)
//   kOther     anything else (INSERT, CREATE, ...): handed to the engine, which refuses writes
//
// A SELECT naming both kinds of table is kMixed, refused: the two evaluators cannot join.
//
// Pure functions; thread-safe.
#pragma once

#include <arrow/result.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/json_value.h"
#include "pgwire/parameters.h"

namespace nlk::pgwire {

struct Statement {
  enum class Kind {
    kData,
    kCatalog,
    kMixed,
    kSet,
    kShow,
    kTransaction,
    kDiscard,
    kDeallocate,
    kDeclare,
    kFetch,
    kClose,
    kOther
  };

  Kind kind = Kind::kOther;
  std::string text;  // this statement alone
  // The whole query string the statement came from; parse-tree locations count bytes in it.
  std::shared_ptr<const std::string> query;
  int offset = 0;                              // where `text` starts in `query`
  std::string node_type;                       // e.g. "SelectStmt"
  std::shared_ptr<const JsonValue> node;       // the statement node's body
  std::vector<ParameterReference> parameters;  // locations relative to `text`
  int parameter_count = 0;                     // the highest n of $n
};

// Parses `sql` into its statements (none for an empty query). Syntax errors carry SQLSTATE 42601
// and the position.
arrow::Result<std::vector<Statement>> ParseQuery(std::string_view sql);

}  // namespace nlk::pgwire
