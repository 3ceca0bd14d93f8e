#include "sql/sql_error.h"

namespace nlk::sql {

int CharacterPosition(std::string_view sql, int location) {
  int position = 1;
  for (int index = 0; index < location && index < static_cast<int>(sql.size()); ++index) {
    // Continuation bytes of a multi-byte character do not start a new character.
    if ((static_cast<unsigned char>(sql[index]) & 0xC0) != 0x80) ++position;
  }
  return position;
}

arrow::Status SqlError(std::string_view sql, int location, const std::string& reason) {
  if (location < 0) return arrow::Status::Invalid("SQL error: ", reason);
  return arrow::Status::Invalid("SQL error at position ", CharacterPosition(sql, location), ": ",
                                reason);
}

}  // namespace nlk::sql
