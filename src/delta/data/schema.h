// The Delta schema (PROTOCOL.md "Schema Serialization Format") as an Arrow schema, both ways.
//
// Delta types map to Arrow as: string->utf8, long->int64, integer->int32, short->int16,
// byte->int8, float->float32, double->float64, decimal(p,s)->decimal128(p,s), boolean->bool,
// binary->binary, date->date32, timestamp->timestamp(us, "UTC"), timestamp_ntz->timestamp(us),
// struct->struct, array->list<element>, map->map<key, value>.
//
// A Delta column's `metadata` object (column mapping ids, invariants, generation expressions,
// ...) holds arbitrary JSON, which Arrow's string-to-string field metadata cannot type. It is kept
// verbatim as compact JSON under kDeltaMetadataKey so a round trip loses nothing.
#pragma once

#include <arrow/result.h>
#include <arrow/type.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace nlk::delta::data {

// Arrow field-metadata key holding the Delta column `metadata` object as compact JSON.
inline constexpr std::string_view kDeltaMetadataKey = "delta.metadata";

// Parses a Delta schema string (a JSON "struct") into an Arrow schema. Unknown or unsupported
// types (e.g. variant) are an error naming the column. Columns of the legacy `void` type map to
// Arrow's null type; readers drop or fill them.
arrow::Result<std::shared_ptr<arrow::Schema>> ParseDeltaSchema(std::string_view schema_json);

// Serializes an Arrow schema as a Delta schema string (single-line JSON). Arrow types without a
// Delta equivalent (unsigned integers, durations, ...) are an error naming the column; close
// relatives map to their Delta type (large_utf8 -> string, date64 -> date, any timestamp unit).
arrow::Result<std::string> SerializeDeltaSchema(const arrow::Schema& schema);

// The Delta type of an Arrow type, as it appears in a schema string ("integer", "decimal(10,2)",
// or a JSON object for nested types). `column` names the column in errors.
arrow::Result<std::string> DeltaTypeJson(const arrow::DataType& type, std::string_view column);

// The Arrow type a Delta table stores `type` as (e.g. timestamp(ns) -> timestamp(us, "UTC")).
// Data is cast to this type before writing.
arrow::Result<std::shared_ptr<arrow::DataType>> NormalizeToDeltaType(
    const std::shared_ptr<arrow::DataType>& type, std::string_view column);

// The Delta column metadata of `field` as a JSON object ("{}" when it has none).
std::string DeltaFieldMetadata(const arrow::Field& field);

// Returns `field` with its Delta column metadata replaced by `metadata_json` (a JSON object).
std::shared_ptr<arrow::Field> WithDeltaFieldMetadata(const std::shared_ptr<arrow::Field>& field,
                                                     std::string metadata_json);

}  // namespace nlk::delta::data
