// Partition values as the log stores them (PROTOCOL.md "Partition Value Serialization") and
// Hive-style partition directories, as Spark lays them out.
#pragma once

#include <arrow/array.h>
#include <arrow/result.h>
#include <arrow/scalar.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nlk::delta::data {

// The directory Spark and Hive use for a null partition value.
inline constexpr std::string_view kHiveDefaultPartition = "__HIVE_DEFAULT_PARTITION__";

// Serializes one partition value; nullopt for null. Timestamps (with a zone) are written as ISO
// 8601 in UTC ("1970-01-01T00:00:00.000000Z", the form the protocol recommends),
// timestamp_ntz as "yyyy-MM-dd HH:mm:ss[.SSSSSS]", dates as "yyyy-MM-dd", booleans as
// "true"/"false", decimals with their scale ("12.30"), floating point as the shortest text that
// round-trips (NaN and infinities as Java spells them), binary as its raw bytes. An empty string
// cannot be stored (it means null), so it serializes to nullopt, as Spark does.
arrow::Result<std::optional<std::string>> SerializePartitionValue(const arrow::Scalar& value);

// Parses a serialized partition value into a scalar of `type` (null for nullopt or ""). Accepts
// every form the protocol allows: timestamps with a space or 'T', with or without fraction, and
// with 'Z' or an offset; decimals with any scale that fits.
arrow::Result<std::shared_ptr<arrow::Scalar>> ParsePartitionValue(
    const std::optional<std::string>& text, const std::shared_ptr<arrow::DataType>& type);

// Escapes a partition column name or value for a directory name: '%' + two uppercase hex digits
// for control characters and "#%'*/:=?\{[]^ and DEL, the characters Hive escapes.
std::string EscapePartitionPathComponent(std::string_view text);
// Reverses EscapePartitionPathComponent; malformed escapes are kept literally.
std::string UnescapePartitionPathComponent(std::string_view text);

// "a=1/b=__HIVE_DEFAULT_PARTITION__" for the ordered (column, serialized value) pairs.
std::string HivePartitionDirectory(
    const std::vector<std::pair<std::string, std::optional<std::string>>>& values);

// An array of `length` copies of a partition value, to restore partition columns on read.
arrow::Result<std::shared_ptr<arrow::Array>> MakePartitionArray(
    const std::optional<std::string>& text, const std::shared_ptr<arrow::DataType>& type,
    int64_t length);

}  // namespace nlk::delta::data
