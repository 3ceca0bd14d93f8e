// The catalog site's fixed files, embedded so that `nlk catalog site` needs nothing but the
// binary: the page template, the style sheet and the script (search, tabs, copy buttons).
#pragma once

#include <string_view>

namespace nlk::catalog {

// An HTML page with {{title}}, {{root}} (the relative path to the site root, "" or "../"),
// {{catalog}} (the catalog name) and {{body}} placeholders.
std::string_view PageTemplate();
std::string_view StyleSheet();
std::string_view Script();

}  // namespace nlk::catalog
