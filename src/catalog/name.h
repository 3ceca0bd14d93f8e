// Names of catalogs, databases and tables: SQL identifiers, so that `db.table` can be written in
// a query without quoting and used as a file name on every file system.
//
// A Name written as a string literal is checked while compiling: `.name = "raw samples"` does
// not build. Names computed at run time go through Name::Unchecked and are checked by
// ValidateCatalog, which the generator runs before it writes anything.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace nlk::catalog {

inline constexpr size_t kMaxNameLength = 128;

// A letter or '_' first, then letters, digits or '_'; at most kMaxNameLength characters.
constexpr bool IsValidName(std::string_view text) {
  if (text.empty() || text.size() > kMaxNameLength) return false;
  auto is_letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!is_letter(text.front()) && text.front() != '_') return false;
  for (char c : text) {
    if (!is_letter(c) && !(c >= '0' && c <= '9') && c != '_') return false;
  }
  return true;
}

// Why `text` is not a valid name, or "" when it is.
std::string NameProblem(std::string_view text);

// Holds a view, not a copy: a Name built in a constant expression cannot own heap memory. The
// text must therefore outlive the catalog, as string literals do.
class Name {
 public:
  // Fails to compile for an invalid name ("call to consteval function is not a constant
  // expression", pointing at the offending declaration).
  consteval Name(const char* text) : text_(text) {  // NOLINT: implicit by design
    if (!IsValidName(text_)) {
      throw "invalid name: use a letter or '_' first, then letters, digits or '_'";
    }
  }

  // For names known only at run time; ValidateCatalog reports an invalid one.
  static Name Unchecked(std::string_view text) { return Name(text, UncheckedTag{}); }

  std::string_view view() const { return text_; }
  std::string str() const { return std::string(text_); }

 private:
  struct UncheckedTag {};
  constexpr Name(std::string_view text, UncheckedTag) : text_(text) {}

  std::string_view text_;
};

}  // namespace nlk::catalog
