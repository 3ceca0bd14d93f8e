// Runs the catalog queries clients send (psql's \dt and \d, JDBC's DatabaseMetaData, SQLAlchemy's
// inspector, Grafana's table picker, ...) over the SystemCatalog.
//
// Why a second evaluator beside the SQL engine: these queries are small and PostgreSQL-specific.
// They join a few hundred catalog rows, and need what analytic SQL over Arrow has no use for:
// OIDs and the reg* types ('pg_class'::regclass, oid::regtype::text), arrays (= ANY(...),
// s[i], ARRAY(subquery), string_to_array), correlated subqueries in the select list, set-
// returning functions in FROM (generate_series, unnest), untyped literals that take the type
// they are compared with, and PostgreSQL's system functions. This evaluator interprets the
// libpg_query parse tree directly, a row at a time, with hash joins on equality conditions so
// the biggest of them (every attribute against every type) stays fast.
//
// Supported: SELECT [DISTINCT] with joins (inner, left, right, full, cross, comma), subqueries
// in FROM, WITH, VALUES, WHERE, GROUP BY/HAVING with count/sum/avg/min/max/string_agg/
// array_agg/bool_and/bool_or, row_number/rank/dense_rank() OVER (...), UNION/INTERSECT/EXCEPT,
// ORDER BY (ordinals, output names, expressions), LIMIT/OFFSET. Anything else is an error with
// SQLSTATE 0A000.
//
// One evaluation per call; not thread-safe (it may change session settings via set_config).
#pragma once

#include <arrow/result.h>

#include <string_view>
#include <vector>

#include "common/json_value.h"
#include "pgwire/catalog_functions.h"
#include "pgwire/catalog_value.h"
#include "pgwire/system_catalog.h"
#include "pgwire/wire_format.h"

namespace nlk::pgwire {

struct CatalogResult {
  std::vector<ResultColumn> columns;
  std::vector<Row> rows;
};

// `select` is the body of a SelectStmt node of libpg_query's JSON for `sql` (whose text is needed
// for constants the JSON leaves out).
arrow::Result<CatalogResult> RunCatalogQuery(const JsonValue& select, std::string_view sql,
                                             FunctionContext& context);

}  // namespace nlk::pgwire
