// CommandGetSqlInfo's answer: what clients ask about the server on connect (its name and
// versions, that it is read-only SQL without transactions or Substrait, how identifiers are
// quoted and cased, the DDL it lacks), one row per info in FlightSql.proto's dense-union shape.
//
// Pure functions; thread-safe.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/type.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace nlk::flightsql {

std::shared_ptr<arrow::Schema> SqlInfoSchema();

// The rows for `requested` in that order (empty: every info we have); infos we do not know are
// left out, as the protocol allows.
arrow::Result<std::shared_ptr<arrow::RecordBatch>> SqlInfo(const std::vector<uint32_t>& requested,
                                                           const std::string& server_version);

}  // namespace nlk::flightsql
