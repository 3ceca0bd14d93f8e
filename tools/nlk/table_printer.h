// Human- and machine-readable views of tables for the command line.
#pragma once

#include <arrow/status.h>

#include <cstdint>
#include <optional>
#include <ostream>

#include "delta/table.h"

namespace nlk::cli {

arrow::Status PrintHistory(delta::Table& table, std::optional<int64_t> limit, bool json,
                           std::ostream& out);
arrow::Status PrintDescription(delta::Table& table, const delta::Snapshot& snapshot, bool json,
                               std::ostream& out);
arrow::Status PrintFiles(const delta::Snapshot& snapshot, bool json, std::ostream& out);

}  // namespace nlk::cli
