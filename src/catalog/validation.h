// Checks a catalog's declarations before anything is generated from them. Each problem names
// the table (or database, or catalog) and the field, says what is wrong and how to fix it.
#pragma once

#include <arrow/status.h>

#include <string>
#include <vector>

#include "catalog/catalog.h"

namespace nlk::catalog {

// Every problem found, one sentence each, e.g.
//   "table neural.samples: partition_columns: 'day' is not a column of the declared schema
//    (columns: device_id, channel, ...)".
// Empty when the catalog is valid. Pure; thread-safe.
std::vector<std::string> FindCatalogProblems(const Catalog& catalog);

// OK, or Invalid listing every problem of FindCatalogProblems.
arrow::Status ValidateCatalog(const Catalog& catalog);

}  // namespace nlk::catalog
