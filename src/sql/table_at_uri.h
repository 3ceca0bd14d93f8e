// Naming a table by where it is: what `nlk sql --table NAME=URI` and the Python package's
// sql(tables={NAME: URI}) register, so both read the same URI the same way.
#pragma once

#include <arrow/status.h>

#include <string>

#include "sql/table_catalog.h"

namespace nlk::sql {

// Registers whatever is at `uri` as `name`: a Parquet file when `uri` ends in .parquet, a Delta
// table when it holds a _delta_log, else a directory of Parquet files. Invalid, naming the
// table, when it is none of these.
arrow::Status RegisterTableAtUri(MapTableCatalog& catalog, const std::string& name,
                                 const std::string& uri);

}  // namespace nlk::sql
