// SQL functions that Arrow's compute library lacks, registered in its function registry so that
// expressions and Acero plans call them by name like any Arrow function:
//
//   sum_checked, hash_sum_checked   sum() of signed integers as int64, failing with "sum() out of
//                                    range for bigint" where Arrow's sum would wrap around
//   sql_encode_hex, sql_encode_base64   binary or utf8 -> utf8: encode(bytes, 'hex' | 'base64'),
//                                       lower-case hex; base64 padded, without line breaks
//   sql_decode_hex, sql_decode_base64   utf8 or binary -> binary: decode(text, 'hex' | 'base64');
//                                       whitespace between hex pairs and anywhere in base64 is
//                                       skipped, anything else malformed is an error naming it
//   sql_hex                             binary or utf8 -> upper-case hex digits; int64 -> its
//                                       value in hex (two's complement below 0), as DuckDB's hex()
//
// Thread-safe: registration happens once per process.
#pragma once

#include <arrow/status.h>

namespace nlk::sql {

inline constexpr char kCheckedSum[] = "sum_checked";
inline constexpr char kEncodeHex[] = "sql_encode_hex";
inline constexpr char kEncodeBase64[] = "sql_encode_base64";
inline constexpr char kDecodeHex[] = "sql_decode_hex";
inline constexpr char kDecodeBase64[] = "sql_decode_base64";
inline constexpr char kHex[] = "sql_hex";

// Registers the functions above in Arrow's default function registry; cheap after the first
// call.
arrow::Status RegisterSqlFunctions();

}  // namespace nlk::sql
