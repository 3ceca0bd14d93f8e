// The one shape of user-facing SQL errors, so every layer reports positions alike.
#pragma once

#include <arrow/status.h>

#include <string>
#include <string_view>

namespace nlk::sql {

// "SQL error at position N: reason" where N is the 1-based character position of the byte
// offset `location` in `sql` (or no position when location < 0).
arrow::Status SqlError(std::string_view sql, int location, const std::string& reason);

// Converts a 0-based byte offset into a 1-based character (UTF-8 code point) position.
int CharacterPosition(std::string_view sql, int location);

}  // namespace nlk::sql
