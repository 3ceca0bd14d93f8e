// Query parameters ($1, $2, ...) of the extended protocol. The SQL engine takes no parameters,
// so at Bind each value becomes a SQL literal put where its $n stood:
//
//   - where: the positions of $n come from the PostgreSQL parser's tree (ParamRef nodes), never
//     from scanning the text, so a "$1" inside a string, identifier or comment is left alone;
//   - what: every value is validated against its declared type and written in a form the
//     parser reads back as exactly that value: integers and floats from their decoded numbers
//     (a negative one in parentheses), booleans as true/false, and text as a quoted string
//     literal with its quotes doubled (standard_conforming_strings is on, so backslashes are
//     plain characters). Text must be valid UTF-8 without NUL bytes. The client's bytes are
//     never pasted into the SQL unquoted.
//
// A value without a declared type (OID 0, as psycopg sends strings and JDBC sends timestamps)
// is a quoted literal, which the engine reads as the type of whatever it is compared with, as
// it does for literals written in the query.
//
// Pure functions; thread-safe.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/json_value.h"

namespace nlk::pgwire {

struct ParameterReference {
  int location = 0;  // byte offset of the '$' in the statement's text
  int number = 0;    // n of $n
};

// The ParamRef nodes under `node`, with locations made relative to a statement starting at byte
// `statement_offset` of the parsed text.
void CollectParameters(const JsonValue& node, int statement_offset,
                       std::vector<ParameterReference>* out);

struct BoundParameter {
  bool is_null = false;
  bool binary = false;  // format code 1
  std::string bytes;
  int32_t type = 0;  // declared in Parse; 0: unspecified
};

// The SQL literal for parameter `number` (for error messages). Errors carry SQLSTATE 22P02
// (bad text), 22P03 (bad binary), 22021 (bad UTF-8) or 0A000 (a type without a literal form).
arrow::Result<std::string> ParameterLiteral(const BoundParameter& parameter, int number);

// A stand-in literal of a parameter's declared type, for describing a statement before values are
// bound: 0 for numbers (valid as a LIMIT), NULL otherwise.
std::string PlaceholderLiteral(int32_t type);

// `text` with each reference replaced by literals[number - 1].
arrow::Result<std::string> SubstituteParameters(std::string_view text,
                                                const std::vector<ParameterReference>& references,
                                                const std::vector<std::string>& literals);

}  // namespace nlk::pgwire
