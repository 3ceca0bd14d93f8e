#include "catalog/json_indent.h"

namespace nlk::catalog {

std::string IndentJson(std::string_view compact) {
  std::string out;
  out.reserve(compact.size() * 2);
  int depth = 0;
  bool in_string = false;
  auto new_line = [&] {
    out += '\n';
    out.append(static_cast<size_t>(depth) * 2, ' ');
  };
  for (size_t index = 0; index < compact.size(); ++index) {
    char c = compact[index];
    if (in_string) {
      out += c;
      if (c == '\\' && index + 1 < compact.size()) {
        out += compact[++index];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        out += c;
        break;
      case '{':
      case '[': {
        char close = c == '{' ? '}' : ']';
        if (index + 1 < compact.size() && compact[index + 1] == close) {
          out += c;
          out += close;
          ++index;
          break;
        }
        out += c;
        ++depth;
        new_line();
        break;
      }
      case '}':
      case ']':
        --depth;
        new_line();
        out += c;
        break;
      case ',':
        out += c;
        new_line();
        break;
      case ':':
        out += ": ";
        break;
      default:
        out += c;
    }
  }
  out += '\n';
  return out;
}

}  // namespace nlk::catalog
