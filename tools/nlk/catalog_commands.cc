#include "catalog_commands.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "catalog/inspection.h"
#include "catalog/manifest.h"
#include "catalog/project_catalog.h"
#include "catalog/site_generator.h"
#include "catalog/uniqueness.h"
#include "catalog/validation.h"
#include "cli_error.h"

namespace nlk::cli {
namespace {

struct CatalogArguments {
  std::string root;
  std::string manifest;  // a manifest file to use instead of this build's catalog
  std::string out;
  std::string serve_url = "http://127.0.0.1:8080";
  int64_t history_limit = 10;
  bool freshness = false;  // check: compare each table's data age with its objective
  bool deep = false;       // check: check unique_columns on a sample
  int64_t sample_rows = 100000;
};

// How many commits back `check --freshness` looks for the newest one that brought data.
constexpr int64_t kFreshnessHistory = 50;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Prints one line per table with a freshness objective; the number that missed it.
int64_t ReportFreshness(const std::vector<catalog::TableReport>& reports) {
  int64_t stale = 0;
  const int64_t now_ms = NowMs();
  for (const catalog::TableReport& report : reports) {
    auto freshness = catalog::EvaluateFreshness(report, now_ms);
    if (!freshness) continue;
    const std::string objective = "objective " + std::to_string(freshness->slo_seconds) + " s";
    if (!freshness->age_seconds) {
      ++stale;
      std::cout << "NO DATA     " << report.qualified_name << ": no data to date (" << objective
                << ")" << std::endl;
    } else if (freshness->met) {
      std::cout << "fresh       " << report.qualified_name << ": newest data "
                << *freshness->age_seconds << " s old (" << objective << ")" << std::endl;
    } else {
      ++stale;
      std::cout << "STALE       " << report.qualified_name << ": newest data "
                << *freshness->age_seconds << " s old, over its " << objective << std::endl;
    }
  }
  return stale;
}

// Prints one line per table with unique_columns; the number with duplicates or unreadable.
int64_t ReportUniqueness(const std::vector<catalog::TableReport>& reports, int64_t sample_rows) {
  int64_t failing = 0;
  for (const catalog::TableReport& report : reports) {
    const catalog::Table& table = *report.table;
    if (table.unique_columns.empty() || table.kind == catalog::TableKind::kFunction ||
        report.not_created || !report.status.ok()) {
      continue;
    }
    auto checked = catalog::CheckUniqueColumns(table, report.resolved_uri, sample_rows);
    if (!checked.ok()) {
      ++failing;
      std::cout << "UNCHECKED   " << report.qualified_name << ": " << checked.status().message()
                << std::endl;
      continue;
    }
    std::string key;
    for (const std::string& column : table.unique_columns)
      key += (key.empty() ? "" : ", ") + column;
    if (checked->duplicate_rows == 0) {
      std::cout << "unique      " << report.qualified_name << ": (" << key << ") over "
                << checked->rows_checked << " sampled rows" << std::endl;
      continue;
    }
    ++failing;
    std::cout << "DUPLICATES  " << report.qualified_name << ": " << checked->duplicate_rows
              << " of " << checked->rows_checked << " sampled rows repeat a (" << key << "), e.g."
              << std::endl;
    for (const std::string& example : checked->examples) {
      std::cout << "              " << example << std::endl;
    }
  }
  return failing;
}

arrow::Status RunManifest(const CatalogArguments& arguments) {
  ARROW_ASSIGN_OR_RAISE(
      std::string manifest,
      catalog::BuildManifest(catalog::ProjectCatalog(), {CatalogRoot(arguments.root)}));
  if (arguments.out.empty() || arguments.out == "-") {
    std::cout << manifest;
    return arrow::Status::OK();
  }
  std::ofstream out(arguments.out, std::ios::binary | std::ios::trunc);
  out << manifest;
  out.close();
  if (!out) return arrow::Status::IOError("cannot write the manifest to ", arguments.out);
  std::cout << "wrote " << arguments.out << std::endl;
  return arrow::Status::OK();
}

// The catalog a command works on: the manifest given with --manifest, else this build's.
struct SelectedCatalog {
  std::shared_ptr<const catalog::ManifestCatalog> manifest;  // keeps `catalog` alive
  const catalog::Catalog* catalog = nullptr;
  std::string root;
};

arrow::Result<SelectedCatalog> SelectCatalog(const CatalogArguments& arguments) {
  if (arguments.manifest.empty()) {
    return SelectedCatalog{nullptr, &catalog::ProjectCatalog(), CatalogRoot(arguments.root)};
  }
  ARROW_ASSIGN_OR_RAISE(ManifestSelection selection,
                        LoadCatalogManifest(arguments.manifest, arguments.root));
  const catalog::Catalog* loaded = &selection.manifest->catalog;
  return SelectedCatalog{std::move(selection.manifest), loaded, std::move(selection.root)};
}

arrow::Status RunSite(const CatalogArguments& arguments) {
  ARROW_ASSIGN_OR_RAISE(SelectedCatalog selected, SelectCatalog(arguments));
  catalog::SiteOptions options;
  options.out_dir = arguments.out;
  options.root = selected.root;
  options.serve_url = arguments.serve_url;
  options.history_limit = arguments.history_limit;
  ARROW_ASSIGN_OR_RAISE(auto summary, catalog::WriteSite(*selected.catalog, options));
  std::cout << "wrote " << summary.index_file << " and " << summary.tables << " table page"
            << (summary.tables == 1 ? "" : "s") << " in " << summary.pages_directory << "/";
  if (summary.tables_with_problems > 0) {
    std::cout << " (" << summary.tables_with_problems
              << " with drift or unreadable: run nlk catalog check)";
  }
  if (summary.tables_not_created > 0) {
    std::cout << " (" << summary.tables_not_created << " not created yet)";
  }
  std::cout << std::endl;
  return arrow::Status::OK();
}

arrow::Status RunCheck(const CatalogArguments& arguments) {
  ARROW_ASSIGN_OR_RAISE(SelectedCatalog selected, SelectCatalog(arguments));
  const catalog::Catalog& project = *selected.catalog;
  ARROW_RETURN_NOT_OK(catalog::ValidateCatalog(project));
  if (arguments.sample_rows < 1) return arrow::Status::Invalid("--sample-rows must be at least 1");
  auto reports = catalog::InspectCatalog(
      project, {selected.root, arguments.freshness ? kFreshnessHistory : 1});
  int64_t failing = 0;
  int64_t not_created = 0;
  int64_t without_code = 0;
  for (const catalog::TableReport& report : reports) {
    if (report.not_created) {
      // Not drift: the table simply has not been written yet (say, dead letters before any).
      ++not_created;
      std::cout << "NOT CREATED " << report.qualified_name << ": nothing at " << report.resolved_uri
                << " yet; " << catalog::CreationHint(*report.table, report.resolved_uri)
                << std::endl;
      continue;
    }
    if (report.without_code()) {
      ++without_code;
      std::cout << "NO CODE     " << report.qualified_name << ": " << report.status.message()
                << std::endl;
      continue;
    }
    if (!report.status.ok()) {
      ++failing;
      std::cout << "UNREADABLE  " << report.qualified_name << ": " << report.status.message()
                << std::endl;
      continue;
    }
    if (report.drift.empty()) {
      std::cout << "ok          " << report.qualified_name << std::endl;
      continue;
    }
    ++failing;
    std::cout << "DRIFT       " << report.qualified_name << std::endl;
    for (const std::string& difference : report.drift) {
      std::cout << "              " << difference << std::endl;
    }
  }
  const int64_t stale = arguments.freshness ? ReportFreshness(reports) : 0;
  const int64_t not_unique = arguments.deep ? ReportUniqueness(reports, arguments.sample_rows) : 0;
  if (failing > 0) {
    return arrow::Status::Invalid("catalog check: ", failing, " of ", reports.size(),
                                  " tables differ from their declaration or cannot be read");
  }
  if (stale > 0) {
    return arrow::Status::Invalid("catalog check: ", stale,
                                  " tables miss their freshness objective");
  }
  if (not_unique > 0) {
    return arrow::Status::Invalid("catalog check: ", not_unique,
                                  " tables have rows their unique_columns do not tell apart, "
                                  "or could not be checked");
  }
  const int64_t checked = static_cast<int64_t>(reports.size()) - without_code;
  if (not_created == 0) {
    std::cout << "all " << checked << " tables match their declarations";
  } else {
    std::cout << "all " << checked - not_created << " existing tables match their declarations; "
              << not_created << " not created yet";
  }
  if (without_code > 0) {
    std::cout << "; " << without_code << " function tables without their code";
  }
  std::cout << std::endl;
  return arrow::Status::OK();
}

using Runner = arrow::Status (*)(const CatalogArguments&);

CLI::App* AddCommand(CLI::App& parent, const std::string& name, const std::string& help,
                     Runner runner, const std::shared_ptr<CatalogArguments>& arguments,
                     int& exit_code) {
  CLI::App* command = parent.add_subcommand(name, help);
  command->add_option("--root", arguments->root,
                      "What relative table URIs are resolved against (default: "
                      "$NLK_CATALOG_ROOT, else the working directory)");
  command->callback([runner, arguments, &exit_code] {
    arrow::Status status = runner(*arguments);
    if (!status.ok()) exit_code = ReportError(status);
  });
  return command;
}

}  // namespace

std::string CatalogRoot(const std::string& root_option) {
  std::string root = root_option;
  if (root.empty()) {
    const char* environment = std::getenv("NLK_CATALOG_ROOT");
    if (environment != nullptr) root = environment;
  }
  if (root.find("://") != std::string::npos) return root;
  std::error_code error;
  std::filesystem::path absolute =
      std::filesystem::absolute(std::filesystem::path(root.empty() ? "." : root), error);
  if (error) return root;
  std::string text = absolute.lexically_normal().string();
  if (text.size() > 1 && text.ends_with('/')) text.pop_back();
  return text;
}

arrow::Result<ManifestSelection> LoadCatalogManifest(const std::string& path,
                                                     const std::string& root_option) {
  ARROW_ASSIGN_OR_RAISE(auto manifest, catalog::LoadManifestFile(path));
  std::string root =
      root_option.empty() && !manifest->root.empty() ? manifest->root : CatalogRoot(root_option);
  return ManifestSelection{std::move(manifest), std::move(root)};
}

void AddCatalogCommands(CLI::App& app, int& exit_code) {
  auto arguments = std::make_shared<CatalogArguments>();
  CLI::App* catalog = app.add_subcommand(
      "catalog", "The table catalog declared in code: manifest, static site, drift check");
  catalog->require_subcommand(1);
  CLI::App* manifest = AddCommand(*catalog, "manifest", "Print or write the JSON manifest",
                                  RunManifest, arguments, exit_code);
  manifest->add_option("--out", arguments->out, "Write to this file (default: standard output)");
  CLI::App* site =
      AddCommand(*catalog, "site", "Write the static catalog site", RunSite, arguments, exit_code);
  site->add_option("--out", arguments->out, "Output directory")->required();
  site->add_option("--serve-url", arguments->serve_url, "Where nlk serve listens, for snippets")
      ->capture_default_str();
  site->add_option("--history", arguments->history_limit, "Commits shown per table")
      ->capture_default_str();
  CLI::App* check =
      AddCommand(*catalog, "check",
                 "Compare declarations with the real tables; exit 1 on drift or an unreadable "
                 "table (tables not created yet are listed, not failed)",
                 RunCheck, arguments, exit_code);
  check->add_flag("--freshness", arguments->freshness,
                  "Also compare each table's newest data with its freshness objective "
                  "(freshness.slo_seconds); exit 1 if one misses it");
  check->add_flag("--deep", arguments->deep,
                  "Also check that unique_columns identify the rows, on a sample; exit 1 on "
                  "duplicates");
  check
      ->add_option("--sample-rows", arguments->sample_rows,
                   "Rows per table --deep reads (the first a scan returns)")
      ->capture_default_str();
  for (CLI::App* command : {site, check}) {
    command->add_option("--manifest", arguments->manifest,
                        "Use the catalog of this manifest file (written by nlk catalog manifest "
                        "or the Python package) instead of this build's; --root defaults to the "
                        "manifest's root");
  }
}

}  // namespace nlk::cli
