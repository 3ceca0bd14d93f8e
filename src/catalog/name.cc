#include "catalog/name.h"

namespace nlk::catalog {

std::string NameProblem(std::string_view text) {
  if (text.empty()) return "is empty";
  if (text.size() > kMaxNameLength) {
    return "is longer than " + std::to_string(kMaxNameLength) + " characters";
  }
  if (IsValidName(text)) return "";
  return "is not a name: use a letter or '_' first, then letters, digits or '_' (e.g. "
         "raw_samples)";
}

}  // namespace nlk::catalog
