#include "catalog/site_generator.h"

#include <arrow/type.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>

#include "catalog/inspection.h"
#include "catalog/manifest.h"
#include "catalog/site_assets.h"
#include "catalog/snippets.h"
#include "catalog/validation.h"
#include "common/json_writer.h"
#include "common/markup.h"
#include "delta/data/schema.h"

namespace nlk::catalog {
namespace {

std::string Replace(std::string_view text, std::string_view key, std::string_view value) {
  std::string out(text);
  std::string placeholder = "{{" + std::string(key) + "}}";
  for (size_t at = out.find(placeholder); at != std::string::npos;
       at = out.find(placeholder, at + value.size())) {
    out.replace(at, placeholder.size(), value);
  }
  return out;
}

std::string RenderPage(const Catalog& catalog, std::string_view title, std::string_view root,
                       std::string_view body) {
  // The body goes in last so that text in it that looks like a placeholder stays as written.
  std::string page = Replace(PageTemplate(), "title", EscapeHtml(title));
  page = Replace(page, "root", root);
  page = Replace(page, "catalog", EscapeHtml(catalog.name.view()));
  return Replace(page, "body", body);
}

std::string FormatCount(int64_t value) {
  std::string digits = std::to_string(value < 0 ? -value : value);
  std::string out;
  for (size_t index = 0; index < digits.size(); ++index) {
    if (index > 0 && (digits.size() - index) % 3 == 0) out += ',';
    out += digits[index];
  }
  return value < 0 ? "-" + out : out;
}

std::string FormatBytes(int64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof(text), unit == 0 ? "%.0f %s" : "%.1f %s", value, kUnits[unit]);
  return text;
}

std::string FormatTime(int64_t millis) {
  std::time_t seconds = static_cast<std::time_t>(millis / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S UTC", &utc);
  return text;
}

constexpr std::string_view kPagesDirectory = "tables";

std::string PageFileName(const std::string& qualified_name) {
  return std::string(kPagesDirectory) + "/" + qualified_name + ".html";
}

std::string Badge(std::string_view text, std::string_view style = "") {
  return "<span class=\"badge" + (style.empty() ? "" : " " + std::string(style)) + "\">" +
         EscapeHtml(text) + "</span>";
}

// The Delta spelling of a type for the schema tree; nested types get their children as a tree.
std::string TypeLabel(const arrow::DataType& type, const std::string& column) {
  switch (type.id()) {
    case arrow::Type::STRUCT:
      return "struct";
    case arrow::Type::LIST:
    case arrow::Type::LARGE_LIST:
      return "array";
    case arrow::Type::MAP:
      return "map";
    default:
      break;
  }
  auto text = delta::data::DeltaTypeJson(type, column);
  if (!text.ok()) return type.ToString();
  if (text->size() >= 2 && text->front() == '"') return text->substr(1, text->size() - 2);
  return *text;
}

struct ColumnRoles {
  std::set<std::string> partition;
  std::set<std::string> unique;
};

std::string ColumnNode(const std::string& name, const std::shared_ptr<arrow::DataType>& type,
                       bool nullable, const std::string& path, const ColumnRoles* roles);

std::string ChildNodes(const arrow::DataType& type, const std::string& path) {
  std::string out = "<ul>";
  if (type.id() == arrow::Type::STRUCT) {
    for (const auto& child : type.fields()) {
      out += ColumnNode(child->name(), child->type(), child->nullable(), path + "." + child->name(),
                        nullptr);
    }
  } else if (type.id() == arrow::Type::MAP) {
    const auto& map = static_cast<const arrow::MapType&>(type);
    out += ColumnNode("key", map.key_type(), false, path + ".key", nullptr);
    out += ColumnNode("value", map.item_type(), map.item_field()->nullable(), path + ".value",
                      nullptr);
  } else {
    const auto& list = static_cast<const arrow::BaseListType&>(type);
    out += ColumnNode("element", list.value_type(), list.value_field()->nullable(),
                      path + ".element", nullptr);
  }
  return out + "</ul>";
}

std::string ColumnNode(const std::string& name, const std::shared_ptr<arrow::DataType>& type,
                       bool nullable, const std::string& path, const ColumnRoles* roles) {
  std::string line = "<span class=\"column-name\">" + EscapeHtml(name) +
                     "</span> <span class=\"column-type\">" + EscapeHtml(TypeLabel(*type, path)) +
                     "</span>";
  line += nullable ? " <span class=\"column-null\">nullable</span>"
                   : " <span class=\"column-null\">not null</span>";
  if (roles != nullptr && roles->partition.count(name)) line += " " + Badge("partition", "kind");
  if (roles != nullptr && roles->unique.count(name)) line += " " + Badge("unique key");
  bool nested = type->id() == arrow::Type::STRUCT || type->id() == arrow::Type::MAP ||
                type->id() == arrow::Type::LIST || type->id() == arrow::Type::LARGE_LIST;
  if (!nested) return "<li><div class=\"column\">" + line + "</div></li>";
  return "<li><details open><summary class=\"column\">" + line + "</summary>" +
         ChildNodes(*type, path) + "</details></li>";
}

std::string SchemaSection(const TableReport& report) {
  const Table& table = *report.table;
  std::shared_ptr<arrow::Schema> schema = table.schema ? table.schema : report.facts.schema;
  std::string out = "<section class=\"card\" id=\"schema\"><h2>Schema</h2>";
  if (schema == nullptr) {
    return out + "<p class=\"empty\">No schema declared, and the table " +
           (report.not_created ? "is not created yet" : "could not be read") + ".</p></section>";
  }
  out += "<p class=\"note\" style=\"margin:0 0 .6rem\">" +
         std::string(table.schema                         ? "As declared in the catalog"
                     : table.kind == TableKind::kFunction ? "As the function returns it"
                                                          : "As read from the table") +
         (table.schema && !report.drift.empty() ? " (differs from the table: see above)" : "") +
         ".</p>";
  ColumnRoles roles{{table.partition_columns.begin(), table.partition_columns.end()},
                    {table.unique_columns.begin(), table.unique_columns.end()}};
  out += "<ul class=\"schema\">";
  for (const auto& field : schema->fields()) {
    out += ColumnNode(field->name(), field->type(), field->nullable(), field->name(), &roles);
  }
  for (const ComputedColumn& column : table.computed_columns) {
    out += "<li><div class=\"column computed\"><span class=\"column-name\">" +
           EscapeHtml(column.name) +
           "</span> <span class=\"column-type\">= " + EscapeHtml(column.expression) + "</span> " +
           Badge("computed", "good") +
           (column.description.empty()
                ? ""
                : " <span class=\"column-null\">" + EscapeHtml(column.description) + "</span>") +
           "</div></li>";
  }
  return out + "</ul></section>";
}

std::string Banners(const TableReport& report) {
  const Table& table = *report.table;
  std::string out;
  if (table.deprecation) {
    out += "<div class=\"banner warn\" role=\"note\"><strong>Deprecated";
    if (!table.deprecation->since.empty()) out += " since " + EscapeHtml(table.deprecation->since);
    out += "</strong>" + EscapeHtml(table.deprecation->message);
    if (!table.deprecation->replacement.empty()) {
      out += " Use <a href=\"" + EscapeHtml(table.deprecation->replacement) + ".html\"><code>" +
             EscapeHtml(table.deprecation->replacement) + "</code></a>.";
    }
    out += "</div>";
  }
  if (report.not_created) {
    out += "<div class=\"banner warn\" role=\"note\"><strong>Not created yet</strong>" +
           EscapeHtml("Nothing is at " + report.resolved_uri +
                      " yet: " + CreationHint(table, report.resolved_uri) + ".") +
           "</div>";
  } else if (!report.status.ok()) {
    out +=
        "<div class=\"banner bad\" role=\"alert\" id=\"drift\"><strong>The table could not be "
        "read</strong><code>" +
        EscapeHtml(report.status.message()) +
        "</code><br>Live facts are missing and <code>nlk catalog check</code> fails until the "
        "table exists.</div>";
  } else if (!report.drift.empty()) {
    out +=
        "<div class=\"banner bad\" role=\"alert\" id=\"drift\"><strong>Schema drift: the "
        "declaration and the table disagree</strong><ul>";
    for (const std::string& difference : report.drift)
      out += "<li>" + EscapeHtml(difference) + "</li>";
    out += "</ul></div>";
  }
  return out;
}

std::string MetadataRow(std::string_view label, const std::string& value_html) {
  if (value_html.empty()) return "";
  return "<dt>" + EscapeHtml(label) + "</dt><dd>" + value_html + "</dd>";
}

std::string CodeList(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    out += (out.empty() ? "" : ", ") + std::string("<code>") + EscapeHtml(item) + "</code>";
  }
  return out;
}

// The objective and, as of the site's generation, whether the table met it.
std::string FreshnessHtml(const TableReport& report) {
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  const auto freshness = EvaluateFreshness(report, now_ms);
  if (!freshness) return "";
  const std::string objective =
      "new data at least every " + std::to_string(freshness->slo_seconds) + " s";
  if (!freshness->age_seconds) return objective + " &middot; no data yet";
  return objective + " &middot; " + (freshness->met ? "met" : "<strong>missed</strong>") +
         " when this page was made (newest data " + std::to_string(*freshness->age_seconds) +
         " s old)";
}

std::string MetadataSection(const TableReport& report) {
  const Table& table = *report.table;
  std::string rows;
  rows += MetadataRow("Owner", EscapeHtml(table.owner));
  if (table.kind != TableKind::kFunction) {
    rows += MetadataRow(
        "Written by",
        "<code>" + EscapeHtml(WriterEngineName(table.writer)) + "</code>" +
            (table.lineage.job.empty() ? ""
                                       : " (<code>" + EscapeHtml(table.lineage.job) + "</code>)"));
  }
  rows += MetadataRow("Data input", EscapeHtml(table.data_input));
  rows += MetadataRow("Latency", EscapeHtml(table.freshness.latency));
  rows += MetadataRow("Updates", EscapeHtml(table.freshness.update_frequency));
  rows += MetadataRow("Freshness objective", FreshnessHtml(report));
  rows += MetadataRow("Location", report.resolved_uri.empty()
                                      ? "computed by a C++ function"
                                      : "<code>" + EscapeHtml(report.resolved_uri) + "</code>");
  rows += MetadataRow("Partitions", CodeList(table.partition_columns));
  rows += MetadataRow("Unique key", CodeList(table.unique_columns));
  if (table.retention) {
    rows += MetadataRow("Retention", std::to_string(table.retention->keep.count()) +
                                         " days, by <code>" + EscapeHtml(table.retention->column) +
                                         "</code> (older partitions are deleted by "
                                         "<code>nlk retention</code>)");
  }
  if (!table.example_notebook.empty()) {
    rows += MetadataRow("Example", "<a href=\"" + EscapeHtml(table.example_notebook) + "\">" +
                                       EscapeHtml(table.example_notebook) + "</a>");
  }
  return "<section class=\"card\"><h2>About</h2><dl class=\"meta\">" + rows + "</dl></section>";
}

// Who may read the table through `nlk serve` and what they see: its classification, the
// principals and groups its database and itself grant, masked columns and row filters.
std::string AccessSection(const Catalog& catalog, const TableReport& report) {
  const Table& table = *report.table;
  const Database* database = nullptr;
  for (const Database& candidate : catalog.databases) {
    for (const Table& entry : candidate.tables) {
      if (&entry == &table) database = &candidate;
    }
  }
  std::vector<std::string> groups;
  std::vector<std::string> principals;
  for (const ReadGrants* grants : {database != nullptr ? &database->read : nullptr, &table.read}) {
    if (grants == nullptr) continue;
    groups.insert(groups.end(), grants->groups.begin(), grants->groups.end());
    principals.insert(principals.end(), grants->principals.begin(), grants->principals.end());
  }
  std::string rows;
  std::string_view classification = ClassificationName(table.classification);
  rows += MetadataRow("Classification", classification.empty()
                                            ? "not classified"
                                            : "<code>" + EscapeHtml(classification) + "</code>");
  std::string readers;
  if (!groups.empty()) readers += "groups " + CodeList(groups);
  if (!principals.empty()) {
    readers += (readers.empty() ? "" : "; ") + std::string("principals ") + CodeList(principals);
  }
  rows += MetadataRow("Readers", readers.empty() ? "nobody (no grants) when the server "
                                                   "authenticates callers"
                                                 : readers);
  std::string masked;
  for (const ColumnPolicy& policy : table.column_policies) {
    std::string line = "<code>" + EscapeHtml(policy.column) + "</code>";
    std::string_view level = ClassificationName(policy.classification);
    if (!level.empty()) line += " (" + EscapeHtml(level) + ")";
    if (policy.mask == kMaskDeny) {
      line += ": hidden (reads NULL)";
    } else if (!policy.mask.empty()) {
      line += ": masked as <code>" + EscapeHtml(policy.mask) + "</code>";
    }
    if (!policy.unmasked_groups.empty()) {
      line += ", unmasked for " + CodeList(policy.unmasked_groups);
    }
    masked += (masked.empty() ? "" : "<br>") + line;
  }
  rows += MetadataRow("Columns", masked);
  std::string filters;
  for (const RowFilter& filter : table.row_filters) {
    filters += (filters.empty() ? "" : "<br>") + std::string("<code>") + EscapeHtml(filter.group) +
               "</code> sees rows where <code>" + EscapeHtml(filter.predicate) + "</code>";
  }
  rows += MetadataRow("Row filters", filters);
  return "<section class=\"card\" id=\"access\"><h2>Access</h2><dl class=\"meta\">" + rows +
         "</dl></section>";
}

std::string TableLink(const std::string& qualified_name) {
  return "<a href=\"" + EscapeHtml(qualified_name) + ".html\"><code>" + EscapeHtml(qualified_name) +
         "</code></a>";
}

// Where the table comes from (its declared sources and job) and which tables are derived from
// it, so a reader can follow the data both ways.
std::string LineageSection(const Catalog& catalog, const TableReport& report) {
  const Table& table = *report.table;
  std::vector<std::pair<std::string, std::string>> derived;  // table, job
  for (const Database& database : catalog.databases) {
    for (const Table& other : database.tables) {
      const auto& sources = other.lineage.sources;
      if (std::find(sources.begin(), sources.end(), report.qualified_name) != sources.end()) {
        derived.emplace_back(QualifiedName(database, other), other.lineage.job);
      }
    }
  }
  if (table.lineage.sources.empty() && derived.empty()) return "";
  std::string out = "<section class=\"card\" id=\"lineage\"><h2>Lineage</h2>";
  if (!table.lineage.sources.empty()) {
    out += "<p class=\"lineage-from\">Derived from ";
    for (size_t index = 0; index < table.lineage.sources.size(); ++index) {
      if (index > 0) out += index + 1 == table.lineage.sources.size() ? " and " : ", ";
      out += TableLink(table.lineage.sources[index]);
    }
    out += " by <code>" + EscapeHtml(table.lineage.job) + "</code>, written by " +
           EscapeHtml(WriterEngineName(table.writer)) + ".</p>";
  }
  if (!derived.empty()) {
    out += "<p class=\"lineage-to\">Feeds</p><ul class=\"lineage-list\">";
    for (const auto& [name, job] : derived) {
      out += "<li>" + TableLink(name) + " by <code>" + EscapeHtml(job) + "</code></li>";
    }
    out += "</ul>";
  }
  return out + "</section>";
}

std::string FactsSection(const TableReport& report) {
  std::string out = "<section class=\"card\" id=\"facts\"><h2>Live facts</h2>";
  if (report.not_created) return out + "<p class=\"empty\">Not created yet.</p></section>";
  if (!report.status.ok()) return out + "<p class=\"empty\">Not available.</p></section>";
  const TableFacts& facts = report.facts;
  auto fact = [](std::string_view label, const std::string& value) {
    return "<div><dt>" + EscapeHtml(label) + "</dt><dd>" + EscapeHtml(value) + "</dd></div>";
  };
  out += "<dl class=\"facts\">";
  if (facts.version) out += fact("Version", std::to_string(*facts.version));
  out += fact("Rows", facts.row_count ? FormatCount(*facts.row_count) : "unknown");
  if (facts.file_count) out += fact("Files", FormatCount(*facts.file_count));
  if (facts.size_bytes) out += fact("Size", FormatBytes(*facts.size_bytes));
  if (facts.last_modified_ms) {
    out +=
        "</dl><dl class=\"facts\" style=\"margin-top:.6rem;grid-template-columns:1fr\">" +
        fact(facts.version ? "Last commit" : "Last modified", FormatTime(*facts.last_modified_ms));
  }
  out += "</dl>";
  if (report.table->kind == TableKind::kFunction) {
    out += "<p class=\"note\">Computed when read; counted at generation time.</p>";
  }
  return out + "</section>";
}

std::string HistorySection(const TableReport& report) {
  if (report.facts.history.empty()) return "";
  std::string out =
      "<section class=\"card\" id=\"history\"><h2>Recent history</h2><div class=\"scroll-x\">"
      "<table class=\"history\"><thead><tr><th>Version</th><th>Committed</th><th>Operation</th>"
      "<th class=\"hide-narrow\">Parameters</th></tr></thead><tbody>";
  for (const CommitSummary& commit : report.facts.history) {
    out += "<tr><td>" + std::to_string(commit.version) + "</td><td>" +
           EscapeHtml(FormatTime(commit.timestamp_ms)) + "</td><td>" +
           EscapeHtml(commit.operation.empty() ? "?" : commit.operation) +
           "</td><td class=\"parameters hide-narrow\">" +
           EscapeHtml(commit.parameters == "{}" ? "" : commit.parameters) + "</td></tr>";
  }
  return out + "</tbody></table></div></section>";
}

std::string FiltersSection(const Table& table, const std::string& id_prefix) {
  std::string out = "<section class=\"card\" id=\"docs-filters\"><h2>Docs filters</h2>";
  if (table.docs_filters.empty()) {
    return out + "<p class=\"empty\">None declared.</p></section>";
  }
  out += "<ul class=\"filters\">";
  for (size_t index = 0; index < table.docs_filters.size(); ++index) {
    const DocsFilter& docs_filter = table.docs_filters[index];
    std::string id = id_prefix + "filter-" + std::to_string(index);
    out += "<li><div><code id=\"" + id + "\">" + EscapeHtml(docs_filter.filter) + "</code><span>" +
           EscapeHtml(docs_filter.description) +
           "</span></div><button class=\"copy\" type=\"button\" "
           "data-copy=\"" +
           id + "\">Copy</button></li>";
  }
  return out + "</ul><p class=\"note\">The snippets below use the first filter.</p></section>";
}

std::string SnippetsSection(const std::vector<Snippet>& snippets) {
  std::string tabs = "<div class=\"tabs\" role=\"tablist\" hidden>";
  std::string panels;
  for (const Snippet& snippet : snippets) {
    std::string id = "snippet-" + snippet.id;
    tabs += "<button type=\"button\" role=\"tab\" aria-controls=\"" + id + "\">" +
            EscapeHtml(snippet.title) + "</button>";
    panels += "<div class=\"snippet\" role=\"tabpanel\" id=\"" + id + "\"><h3>" +
              EscapeHtml(snippet.title) + "</h3><div class=\"code-bar\"><span>" +
              EscapeHtml(snippet.language) +
              "</span><button class=\"copy\" type=\"button\" data-copy=\"" + id +
              "-code\">Copy</button></div><pre class=\"code\"><code id=\"" + id + "-code\">" +
              EscapeHtml(snippet.code) + "</code></pre></div>";
  }
  return "<section class=\"card\" id=\"snippets\" data-tabs><h2>Use it</h2>" + tabs + "</div>" +
         panels +
         "<p class=\"note\">SQL goes through <code>nlk serve</code>, which serves every catalog "
         "table as <code>database.table</code>.</p></section>";
}

std::string TablePage(const Catalog& catalog, const TableReport& report,
                      const std::vector<Snippet>& snippets) {
  const Table& table = *report.table;
  std::string body = "<nav class=\"crumbs\"><a href=\"../index.html\">" +
                     EscapeHtml(catalog.name.view()) + "</a> / <a href=\"../index.html#db-" +
                     EscapeHtml(report.database->name.view()) + "\">" +
                     EscapeHtml(report.database->name.view()) + "</a></nav>";
  body += "<h1>" + EscapeHtml(report.qualified_name) + "</h1><div class=\"badges\">" +
          Badge(TableKindName(table.kind), "kind");
  if (table.kind != TableKind::kFunction && table.writer != WriterEngine::kNlk) {
    body += Badge(std::string(WriterEngineName(table.writer)), "kind");
  }
  if (table.deprecation) body += Badge("deprecated", "warn");
  if (report.not_created) {
    body += Badge("not created yet", "warn");
  } else if (!report.status.ok()) {
    body += Badge("unreadable", "bad");
  } else if (!report.drift.empty()) {
    body += Badge("drift", "bad");
  } else if (table.schema != nullptr) {
    body += Badge("in sync", "good");
  }
  if (table.classification == Classification::kPii ||
      table.classification == Classification::kPhi) {
    body += Badge(std::string(ClassificationName(table.classification)), "warn");
  }
  for (const std::string& tag : table.tags) body += Badge(tag);
  body += "</div><p class=\"lead\" style=\"margin-top:.8rem\">" + EscapeHtml(table.description) +
          "</p>";
  body += Banners(report);
  body += "<div class=\"layout\"><div>" + SchemaSection(report) + FiltersSection(table, "table-") +
          LineageSection(catalog, report) + SnippetsSection(snippets) + HistorySection(report) +
          "</div><aside>" + FactsSection(report) + MetadataSection(report) +
          AccessSection(catalog, report) + "</aside></div>";
  return RenderPage(catalog, report.qualified_name + " · " + catalog.name.str(), "../", body);
}

std::string IndexPage(const Catalog& catalog, const std::vector<TableReport>& reports) {
  std::string body = "<h1>" + EscapeHtml(catalog.name.view()) + "</h1><p class=\"lead\">" +
                     EscapeHtml(catalog.description) +
                     " Press <kbd>/</kbd> to search tables, columns and descriptions.</p>";
  size_t next = 0;
  for (const Database& database : catalog.databases) {
    body += "<section class=\"card\" id=\"db-" + EscapeHtml(database.name.view()) +
            "\"><div class=\"database-head\"><h2>" + EscapeHtml(database.name.view()) + "</h2>" +
            Badge(std::to_string(database.tables.size()) + " tables") + "</div>";
    if (!database.description.empty()) {
      body += "<p class=\"muted\" style=\"margin:.3rem 0 0\">" + EscapeHtml(database.description) +
              "</p>";
    }
    body += "<ul class=\"table-list\">";
    for (size_t index = 0; index < database.tables.size(); ++index, ++next) {
      const TableReport& report = reports[next];
      const Table& table = *report.table;
      body += "<li><a href=\"" + EscapeHtml(PageFileName(report.qualified_name)) +
              "\"><span class=\"table-name\">" + EscapeHtml(report.qualified_name) + "</span><p>" +
              EscapeHtml(table.description) + "</p><span class=\"badges\">" +
              Badge(TableKindName(table.kind), "kind");
      if (table.kind != TableKind::kFunction && table.writer != WriterEngine::kNlk) {
        body += Badge(std::string(WriterEngineName(table.writer)), "kind");
      }
      if (table.deprecation) body += Badge("deprecated", "warn");
      if (report.not_created) {
        body += Badge("not created yet", "warn");
      } else if (!report.status.ok()) {
        body += Badge("unreadable", "bad");
      } else if (!report.drift.empty()) {
        body += Badge("drift", "bad");
      }
      if (report.status.ok() && report.facts.row_count) {
        int64_t rows = *report.facts.row_count;
        body += Badge(FormatCount(rows) + (rows == 1 ? " row" : " rows"));
      }
      body += "</span></a></li>";
    }
    body += "</ul></section>";
  }
  return RenderPage(catalog, catalog.name.str() + " · data catalog", "", body);
}

std::string SearchIndex(const std::vector<TableReport>& reports) {
  JsonWriter writer;
  writer.BeginArray();
  for (const TableReport& report : reports) {
    const Table& table = *report.table;
    writer.BeginObject();
    writer.Key("name");
    writer.String(report.qualified_name);
    writer.Key("kind");
    writer.String(TableKindName(table.kind));
    writer.Key("description");
    writer.String(table.description);
    writer.Key("url");
    writer.String(PageFileName(report.qualified_name));
    writer.Key("deprecated");
    writer.Bool(table.deprecation.has_value());
    writer.Key("tags");
    writer.BeginArray();
    for (const std::string& tag : table.tags) writer.String(tag);
    writer.EndArray();
    writer.Key("columns");
    writer.BeginArray();
    std::shared_ptr<arrow::Schema> schema = table.schema ? table.schema : report.facts.schema;
    if (schema != nullptr) {
      for (const auto& field : schema->fields()) writer.String(field->name());
    }
    for (const ComputedColumn& column : table.computed_columns) writer.String(column.name);
    writer.EndArray();
    writer.EndObject();
  }
  writer.EndArray();
  // Loaded with <script src>, which unlike fetch() works from file://.
  return "window.NLK_SEARCH = " + writer.str() + ";\n";
}

arrow::Status WriteFile(const std::filesystem::path& path, std::string_view content) {
  std::error_code error;
  std::filesystem::create_directories(path.parent_path(), error);
  if (error) {
    return arrow::Status::IOError("cannot create directory ", path.parent_path().string(), ": ",
                                  error.message());
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  if (!out) return arrow::Status::IOError("cannot write ", path.string());
  return arrow::Status::OK();
}

}  // namespace

std::string EscapeHtml(std::string_view text) { return EscapeMarkup(text); }

arrow::Result<SiteSummary> WriteSite(const Catalog& catalog, const SiteOptions& options) {
  if (options.out_dir.empty()) return arrow::Status::Invalid("the site needs an output directory");
  ARROW_ASSIGN_OR_RAISE(std::string manifest, BuildManifest(catalog, {options.root}));
  std::vector<TableReport> reports =
      InspectCatalog(catalog, InspectOptions{options.root, options.history_limit});
  std::filesystem::path out_dir(options.out_dir);
  SiteSummary summary;
  for (const TableReport& report : reports) {
    SnippetOptions snippet_options{
        options.root, options.serve_url,
        report.table->schema ? report.table->schema : report.facts.schema};
    ARROW_ASSIGN_OR_RAISE(auto snippets,
                          BuildSnippets(*report.database, *report.table, snippet_options));
    ARROW_RETURN_NOT_OK(WriteFile(out_dir / PageFileName(report.qualified_name),
                                  TablePage(catalog, report, snippets)));
    ++summary.tables;
    if (report.has_problem()) ++summary.tables_with_problems;
    if (report.not_created) ++summary.tables_not_created;
  }
  summary.index_file = (out_dir / "index.html").string();
  summary.pages_directory = (out_dir / kPagesDirectory).string();
  ARROW_RETURN_NOT_OK(WriteFile(out_dir / "index.html", IndexPage(catalog, reports)));
  ARROW_RETURN_NOT_OK(WriteFile(out_dir / "assets" / "site.css", StyleSheet()));
  ARROW_RETURN_NOT_OK(WriteFile(out_dir / "assets" / "site.js", Script()));
  ARROW_RETURN_NOT_OK(WriteFile(out_dir / "assets" / "search-index.js", SearchIndex(reports)));
  ARROW_RETURN_NOT_OK(WriteFile(out_dir / "manifest.json", manifest));
  return summary;
}

}  // namespace nlk::catalog
