// What Flight SQL's metadata commands answer about the served tables: one catalog, the schemas
// that table names imply, the tables and their Arrow schemas, and the table types, as record
// batches in the shapes FlightSql.proto prescribes.
//
// Table names map to schemas as in the PostgreSQL listener: "neural.samples" is table "samples"
// in schema "neural"; a name without a dot is in schema "public". Every table is in the catalog
// kCatalogName and of type "TABLE". Filter patterns are SQL LIKE patterns ('%' any run, '_' one
// character, '\' escapes either).
//
// Pure functions; thread-safe.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/type.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "flightsql/flight_sql_messages.h"

namespace nlk::flightsql {

inline constexpr std::string_view kCatalogName = "neuralake";
inline constexpr std::string_view kDefaultSchemaName = "public";
inline constexpr std::string_view kTableType = "TABLE";

// ("neural", "samples") for "neural.samples"; ("public", "samples") for "samples".
std::pair<std::string, std::string> SplitTableName(const std::string& name);

// SQL LIKE: does `text` match all of `pattern`?
bool MatchesLikePattern(std::string_view text, std::string_view pattern);

std::shared_ptr<arrow::Schema> CatalogsSchema();
std::shared_ptr<arrow::Schema> DbSchemasSchema();
std::shared_ptr<arrow::Schema> TablesSchema(bool include_schema);
std::shared_ptr<arrow::Schema> TableTypesSchema();

arrow::Result<std::shared_ptr<arrow::RecordBatch>> ListCatalogs();
arrow::Result<std::shared_ptr<arrow::RecordBatch>> ListDbSchemas(
    const CommandGetDbSchemas& command, const std::vector<std::string>& table_names);
// `schema_of` gives a table's columns (called only with include_schema, for the tables listed).
arrow::Result<std::shared_ptr<arrow::RecordBatch>> ListTables(
    const CommandGetTables& command, const std::vector<std::string>& table_names,
    const std::function<arrow::Result<std::shared_ptr<arrow::Schema>>(const std::string&)>&
        schema_of);
arrow::Result<std::shared_ptr<arrow::RecordBatch>> ListTableTypes();

}  // namespace nlk::flightsql
