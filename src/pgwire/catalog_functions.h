// The scalar functions catalog queries call: PostgreSQL's system information functions
// (version, current_schema, current_setting, pg_get_userbyid, pg_table_is_visible, format_type,
// has_*_privilege, ...), the object-definition functions (pg_get_expr, pg_get_indexdef, ...,
// which find nothing to describe here and return NULL) and the string and array functions
// client queries use around them (quote_ident, string_to_array, array_to_string, ...).
//
// Functions of one session; not thread-safe (set_config changes the session's settings).
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "pgwire/catalog_value.h"
#include "pgwire/session_settings.h"
#include "pgwire/system_catalog.h"

namespace nlk::pgwire {

struct FunctionContext {
  const SystemCatalog* catalog = nullptr;
  SessionSettings* settings = nullptr;
  int32_t backend_pid = 0;
};

// Calls `name` (lower case, without its schema) on evaluated arguments; nullopt when there is no
// such function.
arrow::Result<std::optional<Value>> CallCatalogFunction(std::string_view name,
                                                        const std::vector<Value>& arguments,
                                                        FunctionContext& context);

// Whether `name` is a function the SQL engine lacks, so that a query calling it (with no table)
// is a catalog query: version(), current_setting(), pg_*, has_*_privilege, ...
bool IsSystemFunction(std::string_view name);

// PostgreSQL's quote_ident: the name as is when it needs no quotes, else double-quoted.
std::string QuoteIdentifier(std::string_view name);

// The current time as timestamptz text ("2026-01-02 03:04:05.123456+00").
std::string NowText();

}  // namespace nlk::pgwire
