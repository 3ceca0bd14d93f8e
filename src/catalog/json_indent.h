// Indents compact JSON for files people read and diff (the manifest).
#pragma once

#include <string>
#include <string_view>

namespace nlk::catalog {

// `compact` must be valid JSON without whitespace between tokens, as JsonWriter writes it.
// Empty objects and arrays stay on one line ("{}", "[]"). Pure.
std::string IndentJson(std::string_view compact);

}  // namespace nlk::catalog
