// The live status page `nlk serve` answers at /ui: one self-contained HTML document (styles and
// script inline, nothing fetched from elsewhere) that polls /metrics and /api/sql every second,
// and the /metrics of the other processes of the flow (`nlk ingest`'s), which the server fetches
// for it at /ui/metrics/{name}.
#pragma once

#include <arrow/result.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "server/server_config.h"

namespace nlk::server {

std::string_view StatusPageHtml();

// Parses `NAME=HOST:PORT` (`--status-metrics ingest=127.0.0.1:9464`). The name is a path
// segment of /ui/metrics/{name}: letters, digits, '-' and '_'.
arrow::Result<StatusSource> ParseStatusSource(const std::string& argument);

// The /metrics text of the source named `name`: 404 `unknown_status_source` if none is
// configured by that name, 502 `status_source_unavailable` if it does not answer 200 within
// kStatusSourceTimeout (it may be restarting; the page says so and asks again at its next poll).
// Blocks the calling worker for at most that long.
inline constexpr std::chrono::milliseconds kStatusSourceTimeout{1000};
arrow::Result<std::string> FetchStatusSource(const std::vector<StatusSource>& sources,
                                             std::string_view name);

}  // namespace nlk::server
