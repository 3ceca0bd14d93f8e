// `nlk catalog site`: a static site of the catalog that works from file:// and any static host
// (no server, no network, no build step at view time). Pages are rendered here; the only
// script adds search, snippet tabs and copy buttons, and its data ships as a .js file because
// browsers do not let file:// pages fetch JSON.
//
// Layout of the output directory:
//   index.html                   catalogs, databases and tables, with search
//   tables/<db>.<table>.html     one page per table
//   assets/site.css, site.js     style and behaviour
//   assets/search-index.js       names, descriptions and columns for the search
//   manifest.json                the catalog manifest (manifest.h)
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <string>

#include "catalog/catalog.h"

namespace nlk::catalog {

struct SiteOptions {
  std::string out_dir;  // a local directory; created if missing, existing files overwritten
  std::string root;     // what relative table URIs are resolved against
  std::string serve_url = "http://127.0.0.1:8080";
  int64_t history_limit = 10;
};

struct SiteSummary {
  std::string index_file;          // out_dir/index.html
  std::string pages_directory;     // out_dir/tables, where the table pages are
  int64_t tables = 0;              // table pages written
  int64_t tables_not_created = 0;  // pages of tables with nothing at their location yet
  // Tables whose page shows drift or that could not be read (what `nlk catalog check` fails on).
  int64_t tables_with_problems = 0;
};

// Validates the catalog, reads every table's live facts, and writes the site. A table that
// cannot be read still gets its page, which says why. Not thread-safe for one out_dir.
arrow::Result<SiteSummary> WriteSite(const Catalog& catalog, const SiteOptions& options);

// Text for HTML element content and attribute values.
std::string EscapeHtml(std::string_view text);

}  // namespace nlk::catalog
