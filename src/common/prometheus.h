// Helpers for the Prometheus text exposition format shared by `nlk ingest` and `nlk serve`.
#pragma once

#include <string>
#include <string_view>

namespace nlk {

// A label value escaped for the text format: backslash, double quote and newline.
inline std::string PrometheusLabelValue(std::string_view value) {
  std::string escaped;
  escaped.reserve(value.size());
  for (char c : value) {
    if (c == '\n') {
      escaped += "\\n";
      continue;
    }
    if (c == '\\' || c == '"') escaped += '\\';
    escaped += c;
  }
  return escaped;
}

}  // namespace nlk
