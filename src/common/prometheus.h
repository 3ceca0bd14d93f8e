// Helpers for the Prometheus text exposition format (0.0.4) shared by the programs that serve
// /metrics: `nlk ingest`, `nlk serve`, and the `nlk optimize` and `nlk vacuum` daemons.
#pragma once

#include <charconv>
#include <cstdint>
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

// A sample value: the shortest text that reads back as the same number.
inline std::string PrometheusValue(double value) {
  char text[32];
  auto [end, error] = std::to_chars(text, text + sizeof text, value);
  return error == std::errc() ? std::string(text, end) : "NaN";
}

inline std::string PrometheusValue(int64_t value) { return std::to_string(value); }

// One metric without labels: its HELP and TYPE lines (`type` is counter or gauge) and its sample.
template <typename Number>
std::string PrometheusMetric(std::string_view name, std::string_view type, std::string_view help,
                             Number value) {
  std::string text;
  text.append("# HELP ").append(name).append(" ").append(help).append("\n# TYPE ");
  text.append(name).append(" ").append(type).append("\n").append(name).append(" ");
  return text.append(PrometheusValue(value)).append("\n");
}

}  // namespace nlk
