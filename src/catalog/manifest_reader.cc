#include "catalog/manifest_reader.h"

#include <fstream>
#include <sstream>
#include <vector>

#include "catalog/manifest.h"
#include "catalog/validation.h"
#include "common/json_value.h"
#include "delta/data/schema.h"

namespace nlk::catalog {
namespace {

constexpr std::string_view kManifestFormat = "neuralake-catalog-manifest";

// One JSON object of the manifest and where it sits, so every error names the field's path.
class ObjectReader {
 public:
  ObjectReader(const JsonValue& value, std::string path) : value_(value), path_(std::move(path)) {}

  static arrow::Result<ObjectReader> Open(const JsonValue& value, std::string path) {
    if (value.type() != JsonValue::Type::kObject) {
      return arrow::Status::Invalid(path, ": expected an object, found ", value.TypeName());
    }
    return ObjectReader(value, std::move(path));
  }

  std::string FieldPath(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }

  // The member `key`; nullptr when absent or null (both mean "not declared").
  const JsonValue* Find(std::string_view key) const {
    const JsonValue* member = value_.Find(key);
    return member == nullptr || member->is_null() ? nullptr : member;
  }

  arrow::Result<std::string> String(std::string_view key, bool required = false) const {
    const JsonValue* member = Find(key);
    if (member == nullptr) {
      if (required) return arrow::Status::Invalid(FieldPath(key), ": is missing");
      return std::string();
    }
    if (member->type() != JsonValue::Type::kString) {
      return arrow::Status::Invalid(FieldPath(key), ": expected a string, found ",
                                    member->TypeName());
    }
    return member->string();
  }

  // The integer `key`, 0 when not declared.
  arrow::Result<int64_t> Integer(std::string_view key) const {
    const JsonValue* member = Find(key);
    if (member == nullptr) return 0;
    if (member->type() != JsonValue::Type::kInteger) {
      return arrow::Status::Invalid(FieldPath(key), ": expected an integer, found ",
                                    member->TypeName());
    }
    return member->integer();
  }

  arrow::Result<std::vector<std::string>> StringList(std::string_view key) const {
    std::vector<std::string> values;
    ARROW_ASSIGN_OR_RAISE(const std::vector<JsonValue>* items, Array(key));
    for (size_t index = 0; index < items->size(); ++index) {
      const JsonValue& item = (*items)[index];
      if (item.type() != JsonValue::Type::kString) {
        return arrow::Status::Invalid(FieldPath(key), "[", index, "]: expected a string, found ",
                                      item.TypeName());
      }
      values.push_back(item.string());
    }
    return values;
  }

  // The array `key`, empty when not declared.
  arrow::Result<const std::vector<JsonValue>*> Array(std::string_view key) const {
    static const std::vector<JsonValue> kEmpty;
    const JsonValue* member = Find(key);
    if (member == nullptr) return &kEmpty;
    if (member->type() != JsonValue::Type::kArray) {
      return arrow::Status::Invalid(FieldPath(key), ": expected an array, found ",
                                    member->TypeName());
    }
    return &member->array();
  }

 private:
  const JsonValue& value_;
  std::string path_;
};

std::string ItemPath(const ObjectReader& parent, std::string_view key, size_t index) {
  return parent.FieldPath(key) + "[" + std::to_string(index) + "]";
}

arrow::Result<TableKind> ParseKind(const std::string& text, const std::string& path) {
  if (text == "delta") return TableKind::kDelta;
  if (text == "parquet") return TableKind::kParquet;
  if (text == "function") return TableKind::kFunction;
  return arrow::Status::Invalid(path, ": '", text, "' is not delta, parquet or function");
}

arrow::Result<WriterEngine> ParseWriter(const std::string& text, const std::string& path) {
  if (text.empty() || text == "nlk") return WriterEngine::kNlk;
  if (text == "spark") return WriterEngine::kSpark;
  return arrow::Status::Invalid(path, ": '", text, "' is not nlk or spark");
}

arrow::Result<Classification> ParseClassification(const std::string& text,
                                                  const std::string& path) {
  if (text.empty()) return Classification::kUnclassified;
  if (text == "public") return Classification::kPublic;
  if (text == "pii") return Classification::kPii;
  if (text == "phi") return Classification::kPhi;
  return arrow::Status::Invalid(path, ": '", text, "' is not public, pii or phi");
}

arrow::Result<ReadGrants> ParseReadGrants(const ObjectReader& parent) {
  ReadGrants grants;
  const JsonValue* read = parent.Find("read");
  if (read == nullptr) return grants;
  ARROW_ASSIGN_OR_RAISE(ObjectReader fields, ObjectReader::Open(*read, parent.FieldPath("read")));
  ARROW_ASSIGN_OR_RAISE(grants.principals, fields.StringList("principals"));
  ARROW_ASSIGN_OR_RAISE(grants.groups, fields.StringList("groups"));
  return grants;
}

// Function tables keep their code where they were declared; the manifest has only the facts.
TableFunction UnavailableFunction(std::string qualified_name) {
  return [qualified_name](const FunctionContext&) -> arrow::Result<std::shared_ptr<arrow::Table>> {
    return arrow::Status::NotImplemented(
        "function table ", qualified_name,
        " is computed by the code that declared it; a catalog manifest carries only its "
        "declaration, so it is listed but has no rows here");
  };
}

class ManifestParser {
 public:
  explicit ManifestParser(ManifestCatalog& out) : out_(out) {}

  arrow::Status ParseDocument(const JsonValue& document) {
    ARROW_ASSIGN_OR_RAISE(ObjectReader top, ObjectReader::Open(document, "manifest"));
    ARROW_ASSIGN_OR_RAISE(std::string format, top.String("format", true));
    if (format != kManifestFormat) {
      return arrow::Status::Invalid("manifest.format: '", format, "' is not ", kManifestFormat,
                                    ": this file is not a catalog manifest");
    }
    const JsonValue* version = top.Find("format_version");
    if (version == nullptr || version->type() != JsonValue::Type::kInteger) {
      return arrow::Status::Invalid("manifest.format_version: expected an integer");
    }
    if (version->integer() != kManifestFormatVersion) {
      return arrow::Status::Invalid("manifest.format_version: ", version->integer(),
                                    " is not supported (this build reads version ",
                                    kManifestFormatVersion, ")");
    }
    ARROW_ASSIGN_OR_RAISE(out_.root, top.String("root"));
    ARROW_ASSIGN_OR_RAISE(const std::vector<JsonValue>* catalogs, top.Array("catalogs"));
    if (catalogs->size() != 1) {
      return arrow::Status::Invalid("manifest.catalogs: holds ", catalogs->size(),
                                    " catalogs; a manifest describes exactly one");
    }
    ARROW_ASSIGN_OR_RAISE(ObjectReader catalog,
                          ObjectReader::Open(catalogs->front(), ItemPath(top, "catalogs", 0)));
    ARROW_ASSIGN_OR_RAISE(std::string name, catalog.String("name", true));
    out_.catalog.name = Keep(std::move(name));
    ARROW_ASSIGN_OR_RAISE(out_.catalog.description, catalog.String("description"));
    ARROW_ASSIGN_OR_RAISE(const std::vector<JsonValue>* databases, catalog.Array("databases"));
    for (size_t index = 0; index < databases->size(); ++index) {
      ARROW_ASSIGN_OR_RAISE(
          ObjectReader database,
          ObjectReader::Open((*databases)[index], ItemPath(catalog, "databases", index)));
      ARROW_RETURN_NOT_OK(ParseDatabase(database));
    }
    return arrow::Status::OK();
  }

 private:
  Name Keep(std::string text) {
    out_.names.push_back(std::move(text));
    return Name::Unchecked(out_.names.back());
  }

  arrow::Status ParseDatabase(const ObjectReader& reader) {
    ARROW_ASSIGN_OR_RAISE(std::string name, reader.String("name", true));
    Database database{.name = Keep(std::move(name))};
    ARROW_ASSIGN_OR_RAISE(database.description, reader.String("description"));
    ARROW_ASSIGN_OR_RAISE(database.read, ParseReadGrants(reader));
    ARROW_ASSIGN_OR_RAISE(const std::vector<JsonValue>* tables, reader.Array("tables"));
    for (size_t index = 0; index < tables->size(); ++index) {
      ARROW_ASSIGN_OR_RAISE(
          ObjectReader table,
          ObjectReader::Open((*tables)[index], ItemPath(reader, "tables", index)));
      ARROW_ASSIGN_OR_RAISE(Table parsed, ParseTable(database, table));
      database.tables.push_back(std::move(parsed));
    }
    out_.catalog.databases.push_back(std::move(database));
    return arrow::Status::OK();
  }

  arrow::Result<Table> ParseTable(const Database& database, const ObjectReader& reader) {
    ARROW_ASSIGN_OR_RAISE(std::string name, reader.String("name", true));
    Table table{.name = Keep(std::move(name))};
    ARROW_ASSIGN_OR_RAISE(std::string kind, reader.String("kind", true));
    ARROW_ASSIGN_OR_RAISE(table.kind, ParseKind(kind, reader.FieldPath("kind")));
    ARROW_ASSIGN_OR_RAISE(table.uri, reader.String("uri"));
    if (table.kind == TableKind::kFunction) {
      table.function = UnavailableFunction(QualifiedName(database, table));
    }
    if (const JsonValue* schema = reader.Find("schema")) {
      auto parsed = delta::data::ParseDeltaSchema(schema->CompactRaw());
      if (!parsed.ok()) {
        return arrow::Status::Invalid(reader.FieldPath("schema"), ": ", parsed.status().message());
      }
      table.schema = std::move(parsed).ValueUnsafe();
    }
    ARROW_ASSIGN_OR_RAISE(table.partition_columns, reader.StringList("partition_columns"));
    ARROW_ASSIGN_OR_RAISE(table.description, reader.String("description"));
    ARROW_ASSIGN_OR_RAISE(table.owner, reader.String("owner"));
    ARROW_ASSIGN_OR_RAISE(table.tags, reader.StringList("tags"));
    ARROW_ASSIGN_OR_RAISE(table.data_input, reader.String("data_input"));
    if (const JsonValue* freshness = reader.Find("freshness")) {
      ARROW_ASSIGN_OR_RAISE(ObjectReader fields,
                            ObjectReader::Open(*freshness, reader.FieldPath("freshness")));
      ARROW_ASSIGN_OR_RAISE(table.freshness.latency, fields.String("latency"));
      ARROW_ASSIGN_OR_RAISE(table.freshness.update_frequency, fields.String("update_frequency"));
      ARROW_ASSIGN_OR_RAISE(table.freshness.slo_seconds, fields.Integer("slo_seconds"));
    }
    ARROW_ASSIGN_OR_RAISE(table.example_notebook, reader.String("example_notebook"));
    ARROW_ASSIGN_OR_RAISE(const std::vector<JsonValue>* filters, reader.Array("docs_filters"));
    for (size_t index = 0; index < filters->size(); ++index) {
      ARROW_ASSIGN_OR_RAISE(
          ObjectReader fields,
          ObjectReader::Open((*filters)[index], ItemPath(reader, "docs_filters", index)));
      DocsFilter docs_filter;
      ARROW_ASSIGN_OR_RAISE(docs_filter.filter, fields.String("filter"));
      ARROW_ASSIGN_OR_RAISE(docs_filter.description, fields.String("description"));
      table.docs_filters.push_back(std::move(docs_filter));
    }
    ARROW_ASSIGN_OR_RAISE(table.unique_columns, reader.StringList("unique_columns"));
    if (const JsonValue* deprecation = reader.Find("deprecation")) {
      ARROW_ASSIGN_OR_RAISE(ObjectReader fields,
                            ObjectReader::Open(*deprecation, reader.FieldPath("deprecation")));
      Deprecation parsed;
      ARROW_ASSIGN_OR_RAISE(parsed.message, fields.String("message"));
      ARROW_ASSIGN_OR_RAISE(parsed.replacement, fields.String("replacement"));
      ARROW_ASSIGN_OR_RAISE(parsed.since, fields.String("since"));
      table.deprecation = std::move(parsed);
    }
    ARROW_ASSIGN_OR_RAISE(const std::vector<JsonValue>* computed, reader.Array("computed_columns"));
    for (size_t index = 0; index < computed->size(); ++index) {
      ARROW_ASSIGN_OR_RAISE(
          ObjectReader fields,
          ObjectReader::Open((*computed)[index], ItemPath(reader, "computed_columns", index)));
      ComputedColumn column;
      ARROW_ASSIGN_OR_RAISE(column.name, fields.String("name"));
      ARROW_ASSIGN_OR_RAISE(column.expression, fields.String("expression"));
      ARROW_ASSIGN_OR_RAISE(column.description, fields.String("description"));
      table.computed_columns.push_back(std::move(column));
    }
    ARROW_ASSIGN_OR_RAISE(std::string writer, reader.String("writer"));
    ARROW_ASSIGN_OR_RAISE(table.writer, ParseWriter(writer, reader.FieldPath("writer")));
    if (const JsonValue* lineage = reader.Find("lineage")) {
      ARROW_ASSIGN_OR_RAISE(ObjectReader fields,
                            ObjectReader::Open(*lineage, reader.FieldPath("lineage")));
      ARROW_ASSIGN_OR_RAISE(table.lineage.sources, fields.StringList("sources"));
      ARROW_ASSIGN_OR_RAISE(table.lineage.job, fields.String("job"));
    }
    if (const JsonValue* retention = reader.Find("retention")) {
      ARROW_ASSIGN_OR_RAISE(ObjectReader fields,
                            ObjectReader::Open(*retention, reader.FieldPath("retention")));
      Retention declared;
      ARROW_ASSIGN_OR_RAISE(declared.column, fields.String("column"));
      ARROW_ASSIGN_OR_RAISE(int64_t keep_days, fields.Integer("keep_days"));
      declared.keep = std::chrono::days{keep_days};
      table.retention = std::move(declared);
    }
    ARROW_ASSIGN_OR_RAISE(std::string classification, reader.String("classification"));
    ARROW_ASSIGN_OR_RAISE(table.classification,
                          ParseClassification(classification, reader.FieldPath("classification")));
    ARROW_ASSIGN_OR_RAISE(table.read, ParseReadGrants(reader));
    ARROW_ASSIGN_OR_RAISE(const std::vector<JsonValue>* policies, reader.Array("column_policies"));
    for (size_t index = 0; index < policies->size(); ++index) {
      ARROW_ASSIGN_OR_RAISE(
          ObjectReader fields,
          ObjectReader::Open((*policies)[index], ItemPath(reader, "column_policies", index)));
      ColumnPolicy policy;
      ARROW_ASSIGN_OR_RAISE(policy.column, fields.String("column", true));
      ARROW_ASSIGN_OR_RAISE(std::string level, fields.String("classification"));
      ARROW_ASSIGN_OR_RAISE(policy.classification,
                            ParseClassification(level, fields.FieldPath("classification")));
      ARROW_ASSIGN_OR_RAISE(policy.mask, fields.String("mask"));
      ARROW_ASSIGN_OR_RAISE(policy.unmasked_groups, fields.StringList("unmasked_groups"));
      table.column_policies.push_back(std::move(policy));
    }
    ARROW_ASSIGN_OR_RAISE(const std::vector<JsonValue>* row_filters, reader.Array("row_filters"));
    for (size_t index = 0; index < row_filters->size(); ++index) {
      ARROW_ASSIGN_OR_RAISE(
          ObjectReader fields,
          ObjectReader::Open((*row_filters)[index], ItemPath(reader, "row_filters", index)));
      RowFilter filter;
      ARROW_ASSIGN_OR_RAISE(filter.group, fields.String("group", true));
      ARROW_ASSIGN_OR_RAISE(filter.predicate, fields.String("predicate", true));
      table.row_filters.push_back(std::move(filter));
    }
    return table;
  }

  ManifestCatalog& out_;
};

}  // namespace

arrow::Result<std::shared_ptr<const ManifestCatalog>> ParseManifest(std::string_view json) {
  auto document = ParseJson(json);
  if (!document.ok()) {
    return arrow::Status::Invalid("manifest: not valid JSON: ", document.status().message());
  }
  auto manifest = std::make_shared<ManifestCatalog>();
  ManifestParser parser(*manifest);
  ARROW_RETURN_NOT_OK(parser.ParseDocument(*document));
  return manifest;
}

arrow::Result<std::shared_ptr<const ManifestCatalog>> LoadManifestFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return arrow::Status::IOError("cannot open the catalog manifest ", path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return arrow::Status::IOError("cannot read the catalog manifest ", path);
  auto manifest = ParseManifest(text.str());
  if (!manifest.ok()) return manifest.status().WithMessage(path, ": ", manifest.status().message());
  arrow::Status valid = ValidateCatalog((*manifest)->catalog);
  if (!valid.ok()) return valid.WithMessage(path, ": ", valid.message());
  return manifest;
}

}  // namespace nlk::catalog
