// The live status page `nlk serve` answers at /ui: one self-contained HTML document (styles and
// script inline, nothing fetched from elsewhere) that polls /metrics and /api/sql every second.
#pragma once

#include <string_view>

namespace nlk::server {

std::string_view StatusPageHtml();

}  // namespace nlk::server
