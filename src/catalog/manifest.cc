#include "catalog/manifest.h"

#include "catalog/json_indent.h"
#include "catalog/validation.h"
#include "common/json_writer.h"
#include "delta/data/schema.h"

namespace nlk::catalog {
namespace {

void WriteStringArray(JsonWriter& writer, const std::vector<std::string>& values) {
  writer.BeginArray();
  for (const std::string& value : values) writer.String(value);
  writer.EndArray();
}

void WriteStringField(JsonWriter& writer, std::string_view key, std::string_view value) {
  writer.Key(key);
  writer.String(value);
}

void WriteReadGrants(JsonWriter& writer, const ReadGrants& grants) {
  writer.BeginObject();
  writer.Key("principals");
  WriteStringArray(writer, grants.principals);
  writer.Key("groups");
  WriteStringArray(writer, grants.groups);
  writer.EndObject();
}

// The table's URI as the query service and clients should open it; null for function tables.
void WriteResolvedUri(JsonWriter& writer, const Table& table, const ManifestOptions& options) {
  if (table.kind == TableKind::kFunction) {
    writer.Null();
  } else {
    writer.String(ResolveUri(table.uri, options.root));
  }
}

arrow::Status WriteTable(JsonWriter& writer, const Database& database, const Table& table,
                         const ManifestOptions& options) {
  writer.BeginObject();
  WriteStringField(writer, "name", table.name.view());
  WriteStringField(writer, "qualified_name", QualifiedName(database, table));
  WriteStringField(writer, "kind", TableKindName(table.kind));
  writer.Key("uri");
  table.kind == TableKind::kFunction ? writer.Null() : writer.String(table.uri);
  writer.Key("resolved_uri");
  WriteResolvedUri(writer, table, options);
  writer.Key("hive_partitioning");
  writer.Bool(table.kind == TableKind::kParquet && !table.partition_columns.empty());
  WriteStringField(writer, "description", table.description);
  WriteStringField(writer, "owner", table.owner);
  writer.Key("tags");
  WriteStringArray(writer, table.tags);
  WriteStringField(writer, "data_input", table.data_input);
  writer.Key("freshness");
  writer.BeginObject();
  WriteStringField(writer, "latency", table.freshness.latency);
  WriteStringField(writer, "update_frequency", table.freshness.update_frequency);
  writer.Key("slo_seconds");
  writer.Int(table.freshness.slo_seconds);
  writer.EndObject();
  WriteStringField(writer, "example_notebook", table.example_notebook);
  writer.Key("partition_columns");
  WriteStringArray(writer, table.partition_columns);
  writer.Key("unique_columns");
  WriteStringArray(writer, table.unique_columns);
  writer.Key("docs_filters");
  writer.BeginArray();
  for (const DocsFilter& docs_filter : table.docs_filters) {
    writer.BeginObject();
    WriteStringField(writer, "filter", docs_filter.filter);
    WriteStringField(writer, "description", docs_filter.description);
    writer.EndObject();
  }
  writer.EndArray();
  writer.Key("computed_columns");
  writer.BeginArray();
  for (const ComputedColumn& column : table.computed_columns) {
    writer.BeginObject();
    WriteStringField(writer, "name", column.name);
    WriteStringField(writer, "expression", column.expression);
    WriteStringField(writer, "description", column.description);
    writer.EndObject();
  }
  writer.EndArray();
  writer.Key("deprecation");
  if (table.deprecation) {
    writer.BeginObject();
    WriteStringField(writer, "message", table.deprecation->message);
    WriteStringField(writer, "replacement", table.deprecation->replacement);
    WriteStringField(writer, "since", table.deprecation->since);
    writer.EndObject();
  } else {
    writer.Null();
  }
  writer.Key("writer");
  table.kind == TableKind::kFunction ? writer.Null()
                                     : writer.String(WriterEngineName(table.writer));
  writer.Key("lineage");
  if (table.lineage.sources.empty()) {
    writer.Null();
  } else {
    writer.BeginObject();
    writer.Key("sources");
    WriteStringArray(writer, table.lineage.sources);
    WriteStringField(writer, "job", table.lineage.job);
    writer.EndObject();
  }
  writer.Key("retention");
  if (table.retention) {
    writer.BeginObject();
    WriteStringField(writer, "column", table.retention->column);
    writer.Key("keep_days");
    writer.Int(table.retention->keep.count());
    writer.EndObject();
  } else {
    writer.Null();
  }
  WriteStringField(writer, "classification", ClassificationName(table.classification));
  writer.Key("read");
  WriteReadGrants(writer, table.read);
  writer.Key("column_policies");
  writer.BeginArray();
  for (const ColumnPolicy& policy : table.column_policies) {
    writer.BeginObject();
    WriteStringField(writer, "column", policy.column);
    WriteStringField(writer, "classification", ClassificationName(policy.classification));
    WriteStringField(writer, "mask", policy.mask);
    writer.Key("unmasked_groups");
    WriteStringArray(writer, policy.unmasked_groups);
    writer.EndObject();
  }
  writer.EndArray();
  writer.Key("row_filters");
  writer.BeginArray();
  for (const RowFilter& filter : table.row_filters) {
    writer.BeginObject();
    WriteStringField(writer, "group", filter.group);
    WriteStringField(writer, "predicate", filter.predicate);
    writer.EndObject();
  }
  writer.EndArray();
  writer.Key("schema");
  if (table.schema != nullptr) {
    ARROW_ASSIGN_OR_RAISE(std::string schema, delta::data::SerializeDeltaSchema(*table.schema));
    writer.Raw(schema);
  } else {
    writer.Null();
  }
  writer.EndObject();
  return arrow::Status::OK();
}

// What a query service needs to serve every table as `database.table`, shaped like ROAPI's
// table list (name, uri, format) so that a ROAPI config can be derived from it mechanically.
void WriteServeSection(JsonWriter& writer, const Catalog& catalog, const ManifestOptions& options) {
  writer.BeginObject();
  writer.Key("tables");
  writer.BeginArray();
  for (const Database& database : catalog.databases) {
    for (const Table& table : database.tables) {
      writer.BeginObject();
      WriteStringField(writer, "name", QualifiedName(database, table));
      writer.Key("uri");
      WriteResolvedUri(writer, table, options);
      WriteStringField(writer, "format", TableKindName(table.kind));
      writer.Key("partition_columns");
      WriteStringArray(writer, table.partition_columns);
      writer.Key("hive_partitioning");
      writer.Bool(table.kind == TableKind::kParquet && !table.partition_columns.empty());
      writer.EndObject();
    }
  }
  writer.EndArray();
  writer.EndObject();
}

}  // namespace

arrow::Result<std::string> BuildManifest(const Catalog& catalog, const ManifestOptions& options) {
  ARROW_RETURN_NOT_OK(ValidateCatalog(catalog));
  JsonWriter writer;
  writer.BeginObject();
  WriteStringField(writer, "format", "neuralake-catalog-manifest");
  writer.Key("format_version");
  writer.Int(kManifestFormatVersion);
  WriteStringField(writer, "root", options.root);
  writer.Key("catalogs");
  writer.BeginArray();
  writer.BeginObject();
  WriteStringField(writer, "name", catalog.name.view());
  WriteStringField(writer, "description", catalog.description);
  writer.Key("databases");
  writer.BeginArray();
  for (const Database& database : catalog.databases) {
    writer.BeginObject();
    WriteStringField(writer, "name", database.name.view());
    WriteStringField(writer, "description", database.description);
    writer.Key("read");
    WriteReadGrants(writer, database.read);
    writer.Key("tables");
    writer.BeginArray();
    for (const Table& table : database.tables) {
      ARROW_RETURN_NOT_OK(WriteTable(writer, database, table, options));
    }
    writer.EndArray();
    writer.EndObject();
  }
  writer.EndArray();
  writer.EndObject();
  writer.EndArray();
  writer.Key("serve");
  WriteServeSection(writer, catalog, options);
  writer.EndObject();
  return IndentJson(writer.str());
}

}  // namespace nlk::catalog
