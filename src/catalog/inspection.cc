#include "catalog/inspection.h"

#include <arrow/dataset/dataset.h>
#include <arrow/dataset/discovery.h>
#include <arrow/dataset/file_parquet.h>
#include <arrow/dataset/partition.h>
#include <arrow/dataset/scanner.h>
#include <arrow/filesystem/filesystem.h>
#include <arrow/table.h>

#include <algorithm>
#include <chrono>

#include "catalog/schema_drift.h"
#include "common/json_value.h"
#include "delta/data/schema.h"
#include "delta/log/data_freshness.h"
#include "delta/table.h"

namespace nlk::catalog {
namespace {

// The row count of a file's statistics, or nullopt when it has none.
std::optional<int64_t> RecordCount(const delta::AddFile& file) {
  if (!file.stats) return std::nullopt;
  auto parsed = ParseJson(*file.stats);
  if (!parsed.ok()) return std::nullopt;
  const JsonValue* records = parsed->Find("numRecords");
  if (records == nullptr || records->type() != JsonValue::Type::kInteger) return std::nullopt;
  return records->integer();
}

arrow::Result<TableFacts> ReadDeltaFacts(const std::string& uri, int64_t history_limit) {
  ARROW_ASSIGN_OR_RAISE(auto table, delta::Table::Open(uri));
  ARROW_ASSIGN_OR_RAISE(auto snapshot, table->log()->Latest());
  TableFacts facts;
  ARROW_ASSIGN_OR_RAISE(facts.schema,
                        delta::data::ParseDeltaSchema(snapshot->metadata().schema_string));
  facts.partition_columns = snapshot->metadata().partition_columns;
  facts.version = snapshot->version();
  facts.file_count = static_cast<int64_t>(snapshot->files().size());
  facts.size_bytes = snapshot->total_file_size();
  facts.last_modified_ms = snapshot->timestamp_ms();
  int64_t rows = 0;
  bool rows_known = true;
  for (const auto& file : snapshot->files()) {
    std::optional<int64_t> count = RecordCount(file);
    rows_known = rows_known && count.has_value();
    rows += count.value_or(0);
  }
  if (rows_known) facts.row_count = rows;
  ARROW_ASSIGN_OR_RAISE(auto commits, table->log()->History(history_limit));
  facts.data_updated_ms = delta::NewestDataCommitMs(commits);
  for (const auto& commit : commits) {
    CommitSummary summary{commit.version, commit.timestamp_ms, "", ""};
    if (commit.commit_info) {
      summary.operation = commit.commit_info->operation.value_or("");
      auto parsed = ParseJson(commit.commit_info->json);
      if (parsed.ok()) {
        if (const JsonValue* parameters = parsed->Find("operationParameters")) {
          summary.parameters = parameters->CompactRaw();
        }
      }
    }
    facts.history.push_back(std::move(summary));
  }
  return facts;
}

}  // namespace

arrow::Result<ParquetDataset> OpenParquetDataset(const std::string& uri, const Table& declaration) {
  ParquetDataset opened;
  std::string path;
  ARROW_ASSIGN_OR_RAISE(opened.file_system, arrow::fs::FileSystemFromUriOrPath(uri, &path));
  ARROW_ASSIGN_OR_RAISE(auto info, opened.file_system->GetFileInfo(path));
  if (info.type() != arrow::fs::FileType::Directory) {
    return arrow::Status::IOError("no Parquet dataset at ", uri, " (not a directory)");
  }
  opened.selector.base_dir = path;
  opened.selector.recursive = true;
  arrow::dataset::FileSystemFactoryOptions factory_options;
  if (!declaration.partition_columns.empty()) {
    factory_options.partitioning = arrow::dataset::HivePartitioning::MakeFactory();
  }
  auto format = std::make_shared<arrow::dataset::ParquetFileFormat>();
  ARROW_ASSIGN_OR_RAISE(auto factory,
                        arrow::dataset::FileSystemDatasetFactory::Make(
                            opened.file_system, opened.selector, format, factory_options));
  ARROW_ASSIGN_OR_RAISE(opened.dataset, factory->Finish());
  return opened;
}

namespace {

arrow::Result<TableFacts> ReadParquetFacts(const std::string& uri, const Table& declaration) {
  ARROW_ASSIGN_OR_RAISE(ParquetDataset opened, OpenParquetDataset(uri, declaration));
  const auto& file_system = opened.file_system;
  const auto& selector = opened.selector;
  const auto& dataset = opened.dataset;
  TableFacts facts;
  facts.schema = dataset->schema();
  ARROW_ASSIGN_OR_RAISE(auto files, file_system->GetFileInfo(selector));
  int64_t count = 0;
  int64_t size = 0;
  int64_t newest_ms = 0;
  for (const auto& file : files) {
    if (!file.IsFile() || !file.path().ends_with(".parquet")) continue;
    ++count;
    size += file.size();
    newest_ms = std::max<int64_t>(newest_ms, std::chrono::duration_cast<std::chrono::milliseconds>(
                                                 file.mtime().time_since_epoch())
                                                 .count());
  }
  facts.file_count = count;
  facts.size_bytes = size;
  if (count > 0) {
    facts.last_modified_ms = newest_ms;
    facts.data_updated_ms = newest_ms;
  }
  // Hive partition fields are discovered from the directory names and appended to the schema.
  if (!declaration.partition_columns.empty()) {
    for (const std::string& column : declaration.partition_columns) {
      if (facts.schema->GetFieldByName(column) != nullptr) {
        facts.partition_columns.push_back(column);
      }
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto scanner_builder, dataset->NewScan());
  ARROW_ASSIGN_OR_RAISE(auto scanner, scanner_builder->Finish());
  ARROW_ASSIGN_OR_RAISE(facts.row_count, scanner->CountRows());
  return facts;
}

arrow::Result<TableFacts> ReadFunctionFacts(const Table& declaration,
                                            const FunctionContext& context) {
  ARROW_ASSIGN_OR_RAISE(auto table, declaration.function(context));
  if (table == nullptr) return arrow::Status::Invalid("the table function returned no table");
  TableFacts facts;
  facts.schema = table->schema();
  facts.row_count = table->num_rows();
  return facts;
}

arrow::Result<bool> PathExists(const std::string& uri) {
  std::string path;
  ARROW_ASSIGN_OR_RAISE(auto file_system, arrow::fs::FileSystemFromUriOrPath(uri, &path));
  ARROW_ASSIGN_OR_RAISE(auto info, file_system->GetFileInfo(path));
  return info.type() != arrow::fs::FileType::NotFound;
}

}  // namespace

std::string CreationHint(const Table& table, const std::string& resolved_uri) {
  if (!table.data_input.empty()) {
    return "it appears when its data input first writes it: " + table.data_input;
  }
  if (table.kind == TableKind::kParquet) return "write Parquet files under " + resolved_uri;
  return "create it with `nlk table create " + resolved_uri + " --input FILE.parquet`";
}

TableReport InspectTable(const Database& database, const Table& table,
                         const InspectOptions& options) {
  TableReport report;
  report.database = &database;
  report.table = &table;
  report.qualified_name = QualifiedName(database, table);
  arrow::Result<TableFacts> facts;
  switch (table.kind) {
    case TableKind::kDelta: {
      report.resolved_uri = ResolveUri(table.uri, options.root);
      arrow::Result<bool> exists = delta::Table::Exists(report.resolved_uri);
      if (exists.ok() && !*exists) {
        report.not_created = true;
        return report;
      }
      facts = ReadDeltaFacts(report.resolved_uri, options.history_limit);
      break;
    }
    case TableKind::kParquet: {
      report.resolved_uri = ResolveUri(table.uri, options.root);
      arrow::Result<bool> exists = PathExists(report.resolved_uri);
      if (exists.ok() && !*exists) {
        report.not_created = true;
        return report;
      }
      facts = ReadParquetFacts(report.resolved_uri, table);
      break;
    }
    case TableKind::kFunction:
      facts = ReadFunctionFacts(table, FunctionContext{options.root});
      break;
  }
  if (!facts.ok()) {
    report.status = facts.status();
    return report;
  }
  report.facts = std::move(*facts);
  if (table.schema != nullptr && report.facts.schema != nullptr) {
    report.drift = CompareSchemas(*table.schema, *report.facts.schema);
  }
  if (table.kind != TableKind::kFunction) {
    for (std::string& difference :
         ComparePartitions(table.partition_columns, report.facts.partition_columns)) {
      report.drift.push_back(std::move(difference));
    }
  }
  return report;
}

std::optional<FreshnessStatus> EvaluateFreshness(const TableReport& report, int64_t now_ms) {
  if (report.table == nullptr || report.table->freshness.slo_seconds <= 0) return std::nullopt;
  FreshnessStatus status;
  status.slo_seconds = report.table->freshness.slo_seconds;
  if (report.status.ok() && !report.not_created && report.facts.data_updated_ms) {
    status.age_seconds = std::max<int64_t>(0, (now_ms - *report.facts.data_updated_ms) / 1000);
    status.met = *status.age_seconds <= status.slo_seconds;
  }
  return status;
}

std::vector<TableReport> InspectCatalog(const Catalog& catalog, const InspectOptions& options) {
  std::vector<TableReport> reports;
  for (const Database& database : catalog.databases) {
    for (const Table& table : database.tables) {
      reports.push_back(InspectTable(database, table, options));
    }
  }
  return reports;
}

}  // namespace nlk::catalog
