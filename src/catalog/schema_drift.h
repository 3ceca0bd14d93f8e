// Where a table's declared schema and partitioning differ from what the real table has. Both
// sides are compared as Delta types, so Arrow spellings of the same Delta type (timestamp units,
// large_utf8) are not drift.
#pragma once

#include <arrow/type_fwd.h>

#include <string>
#include <vector>

namespace nlk::catalog {

// One sentence per difference, in declared column order then the table's extra columns, e.g.
//   "column 'channel': declared integer, the table has long"
//   "column 'gain' is declared but the table has no such column"
//   "column 'voltage_uv': declared NOT NULL, the table allows nulls"
// Nested struct fields are compared one by one ("column 'probe.depth_um' ..."). Pure.
std::vector<std::string> CompareSchemas(const arrow::Schema& declared, const arrow::Schema& actual);

// "partition columns: declared [date], the table has [date, device_id]", or nothing.
std::vector<std::string> ComparePartitions(const std::vector<std::string>& declared,
                                           const std::vector<std::string>& actual);

}  // namespace nlk::catalog
