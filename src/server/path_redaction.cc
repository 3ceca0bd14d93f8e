#include "server/path_redaction.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

namespace nlk::server {
namespace {

std::string WithoutTrailingSlashes(std::string location) {
  while (location.size() > 1 && location.back() == '/') location.pop_back();
  return location;
}

// Characters that continue a path element: a location followed by one of them is a different
// location ("/lake/t" is not in "/lake/t2").
bool ContinuesName(char character) {
  return std::isalnum(static_cast<unsigned char>(character)) || character == '_' ||
         character == '-' || character == '.' || character == '=' || character == '%';
}

}  // namespace

PathRedactor::PathRedactor(const std::vector<TableConfig>& tables) {
  for (const TableConfig& table : tables) {
    if (table.uri.empty()) continue;
    std::vector<std::string> locations = {WithoutTrailingSlashes(table.uri)};
    const bool has_scheme = table.uri.find("://") != std::string::npos;
    if (!has_scheme || table.uri.starts_with("file://")) {
      // Local tables appear as given, as absolute paths and as file:// URIs.
      std::string path =
          has_scheme ? table.uri.substr(std::string_view("file://").size()) : table.uri;
      std::error_code error;
      std::filesystem::path absolute = std::filesystem::absolute(path, error);
      if (!error) {
        std::string normal = WithoutTrailingSlashes(absolute.lexically_normal().string());
        locations.push_back(normal);
        locations.push_back("file://" + normal);
      }
    }
    for (std::string& location : locations) {
      if (location.empty() || location == "/" || location == ".") continue;
      roots_.push_back({std::move(location), table.name});
    }
  }
  std::stable_sort(roots_.begin(), roots_.end(), [](const Root& a, const Root& b) {
    return a.location.size() > b.location.size();
  });
}

std::string PathRedactor::Redact(const std::string& message, bool name_table) const {
  std::string out;
  const Root* named = nullptr;
  size_t position = 0;
  while (position < message.size()) {
    const Root* match = nullptr;
    for (const Root& root : roots_) {
      if (message.compare(position, root.location.size(), root.location) != 0) continue;
      size_t end = position + root.location.size();
      if (end < message.size() && ContinuesName(message[end])) continue;
      match = &root;
      break;
    }
    if (match == nullptr) {
      out += message[position++];
      continue;
    }
    if (named == nullptr) named = match;
    position += match->location.size();
    if (position < message.size() && message[position] == '/') {
      ++position;  // a file inside the table: keep its path relative to the root
    } else {
      out += match->table;
    }
  }
  if (name_table && named != nullptr && out.find("'" + named->table + "'") == std::string::npos &&
      out.find("\"" + named->table + "\"") == std::string::npos) {
    out = "table '" + named->table + "': " + out;
  }
  return out;
}

arrow::Status PathRedactor::Redact(const arrow::Status& status) const {
  if (status.ok()) return status;
  std::string redacted = Redact(status.message());
  if (redacted == status.message()) return status;
  return arrow::Status(status.code(), std::move(redacted), status.detail());
}

}  // namespace nlk::server
