// What a query read and skipped, summed over its table scans.
#pragma once

#include <cstdint>

namespace nlk::sql {

struct QueryMetrics {
  int64_t files_total = 0;  // live files of the Delta tables scanned
  int64_t files_pruned_by_partition = 0;
  int64_t files_skipped_by_stats = 0;
  int64_t files_skipped_by_limit = 0;
  int64_t files_read = 0;
  int64_t row_groups_total = 0;  // in the files opened
  int64_t row_groups_pruned = 0;
  int64_t rows_scanned = 0;   // rows decoded from storage (or taken from memory)
  int64_t bytes_scanned = 0;  // compressed bytes fetched (in-memory tables: buffer bytes)
  int64_t rows_returned = 0;  // rows handed to the caller so far
};

}  // namespace nlk::sql
