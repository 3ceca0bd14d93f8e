// `nlk catalog check --deep`: whether a table's declared unique_columns identify its rows, on a
// bounded sample (the first rows a scan returns), so the check costs the same on any table size.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <string>
#include <vector>

#include "catalog/catalog.h"

namespace nlk::catalog {

struct UniquenessReport {
  int64_t rows_checked = 0;
  int64_t duplicate_rows = 0;  // rows whose key an earlier sampled row already had
  // Up to five duplicated keys, as "col=value, col=value".
  std::vector<std::string> examples;
};

// Reads at most `sample_rows` rows of the unique columns of the Delta or Parquet table at
// `resolved_uri` and counts the rows whose key repeats. NULLs compare equal, as in a GROUP BY.
// Fails for a table without unique_columns, a function table, or a column the table lacks.
arrow::Result<UniquenessReport> CheckUniqueColumns(const Table& table,
                                                   const std::string& resolved_uri,
                                                   int64_t sample_rows);

}  // namespace nlk::catalog
