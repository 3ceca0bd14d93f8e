// ROAPI's REST query language for GET /api/tables/{table}, plus our time-travel extension:
//
//   columns=a,b           projection (filters may use other columns)
//   filter[col]=V         col = V; also filter[col]eq=V, lt, lte (lteq), gt, gte (gteq), and
//                         ne (ours). V is a SQL literal: 'text' or a number.
//   sort=a,-b,+c          ascending a, descending b, ascending c (applied before limit)
//   limit=N&page=P        page P (1-based) of N rows, as in ROAPI; offset=K (ours) skips K rows
//   version=N | timestamp=T   read the Delta table as of version N or time T (ISO 8601 or ms)
//
// Unknown parameters are ignored, as ROAPI does. Pure functions; thread-safe.
#pragma once

#include <arrow/compute/expression.h>
#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/served_table.h"

namespace nlk::server {

using QueryParameters = std::vector<std::pair<std::string, std::string>>;

// Splits "a=1&b=x%20y" into decoded pairs in order ('+' is a space, as in forms).
arrow::Result<QueryParameters> ParseQueryString(std::string_view query);
// Percent-decodes a URL path or query component.
arrow::Result<std::string> DecodeUrlComponent(std::string_view text, bool plus_is_space);

struct RestFilter {
  std::string column;
  std::string op;  // eq, lt, lte, gt, gte, ne
  std::string value;
};

struct RestSortKey {
  std::string column;
  bool descending = false;
};

struct RestQuery {
  std::vector<std::string> columns;
  std::vector<RestFilter> filters;
  std::vector<RestSortKey> sort;
  std::optional<int64_t> limit;
  int64_t offset = 0;
  TableVersionRequest at;
};

// Errors carry ROAPI's error codes (rest_query, rest_query_value, invalid_numeric_param) as an
// ApiErrorDetail.
arrow::Result<RestQuery> ParseRestQuery(const QueryParameters& parameters);

// The conjunction of the filters, with literals cast to their column's types. Errors carry
// ROAPI's invalid_filter code.
arrow::Result<std::optional<arrow::compute::Expression>> RestFilterExpression(
    const std::vector<RestFilter>& filters, const arrow::Schema& schema);

// The same query as SQL over `table` (whose columns are `schema`), for callers whose row
// filters and masks the SQL binder applies: SELECT the columns FROM the table at the requested
// version WHERE the filters ORDER BY the sort LIMIT/OFFSET. Unknown columns are refused as the
// REST endpoint refuses them; filter values must be SQL literals (a quoted string or a number).
arrow::Result<std::string> RestQueryAsSql(const std::string& table, const RestQuery& query,
                                          const arrow::Schema& schema);

// Parses "2026-01-01T00:00:00Z" (or other ISO 8601 forms) or integer milliseconds since epoch.
arrow::Result<int64_t> ParseTimestampMs(std::string_view text);

}  // namespace nlk::server
