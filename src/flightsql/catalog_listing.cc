#include "flightsql/catalog_listing.h"

#include <arrow/builder.h>
#include <arrow/ipc/writer.h>

#include <algorithm>
#include <set>
#include <tuple>

namespace nlk::flightsql {
namespace {

// Whether `catalog` (when given) names our one catalog.
bool InCatalog(const std::optional<std::string>& catalog) {
  return !catalog || *catalog == kCatalogName;
}

bool Matches(const std::optional<std::string>& pattern, std::string_view text) {
  return !pattern || MatchesLikePattern(text, *pattern);
}

arrow::Result<std::shared_ptr<arrow::Array>> Strings(const std::vector<std::string>& values) {
  arrow::StringBuilder builder;
  ARROW_RETURN_NOT_OK(builder.AppendValues(values));
  return builder.Finish();
}

}  // namespace

std::pair<std::string, std::string> SplitTableName(const std::string& name) {
  size_t dot = name.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == name.size()) {
    return {std::string(kDefaultSchemaName), name};
  }
  return {name.substr(0, dot), name.substr(dot + 1)};
}

bool MatchesLikePattern(std::string_view text, std::string_view pattern) {
  // Backtracking over the last '%' keeps this linear in practice and never recursive.
  size_t t = 0, p = 0;
  size_t star_pattern = std::string_view::npos, star_text = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '%') {
      star_pattern = ++p;
      star_text = t;
      continue;
    }
    if (p < pattern.size()) {
      bool escaped = pattern[p] == '\\' && p + 1 < pattern.size();
      char expected = escaped ? pattern[p + 1] : pattern[p];
      if ((!escaped && expected == '_') || expected == text[t]) {
        p += escaped ? 2 : 1;
        ++t;
        continue;
      }
    }
    if (star_pattern == std::string_view::npos) return false;
    p = star_pattern;
    t = ++star_text;
  }
  while (p < pattern.size() && pattern[p] == '%') ++p;
  return p == pattern.size();
}

std::shared_ptr<arrow::Schema> CatalogsSchema() {
  return arrow::schema({arrow::field("catalog_name", arrow::utf8(), false)});
}

std::shared_ptr<arrow::Schema> DbSchemasSchema() {
  return arrow::schema({arrow::field("catalog_name", arrow::utf8()),
                        arrow::field("db_schema_name", arrow::utf8(), false)});
}

std::shared_ptr<arrow::Schema> TablesSchema(bool include_schema) {
  arrow::FieldVector fields = {arrow::field("catalog_name", arrow::utf8()),
                               arrow::field("db_schema_name", arrow::utf8()),
                               arrow::field("table_name", arrow::utf8(), false),
                               arrow::field("table_type", arrow::utf8(), false)};
  if (include_schema) fields.push_back(arrow::field("table_schema", arrow::binary(), false));
  return arrow::schema(std::move(fields));
}

std::shared_ptr<arrow::Schema> TableTypesSchema() {
  return arrow::schema({arrow::field("table_type", arrow::utf8(), false)});
}

arrow::Result<std::shared_ptr<arrow::RecordBatch>> ListCatalogs() {
  ARROW_ASSIGN_OR_RAISE(auto names, Strings({std::string(kCatalogName)}));
  return arrow::RecordBatch::Make(CatalogsSchema(), 1, {names});
}

arrow::Result<std::shared_ptr<arrow::RecordBatch>> ListDbSchemas(
    const CommandGetDbSchemas& command, const std::vector<std::string>& table_names) {
  std::set<std::string> schemas;
  if (InCatalog(command.catalog)) {
    schemas.insert(std::string(kDefaultSchemaName));
    for (const std::string& name : table_names) schemas.insert(SplitTableName(name).first);
  }
  std::vector<std::string> listed;
  for (const std::string& schema : schemas) {
    if (Matches(command.db_schema_filter_pattern, schema)) listed.push_back(schema);
  }
  ARROW_ASSIGN_OR_RAISE(
      auto catalogs, Strings(std::vector<std::string>(listed.size(), std::string(kCatalogName))));
  ARROW_ASSIGN_OR_RAISE(auto names, Strings(listed));
  return arrow::RecordBatch::Make(DbSchemasSchema(), static_cast<int64_t>(listed.size()),
                                  {catalogs, names});
}

arrow::Result<std::shared_ptr<arrow::RecordBatch>> ListTables(
    const CommandGetTables& command, const std::vector<std::string>& table_names,
    const std::function<arrow::Result<std::shared_ptr<arrow::Schema>>(const std::string&)>&
        schema_of) {
  bool type_listed = command.table_types.empty() ||
                     std::find(command.table_types.begin(), command.table_types.end(),
                               kTableType) != command.table_types.end();
  // (schema, table, served name), sorted as the protocol asks.
  std::vector<std::tuple<std::string, std::string, std::string>> listed;
  if (InCatalog(command.catalog) && type_listed) {
    for (const std::string& name : table_names) {
      auto [schema, table] = SplitTableName(name);
      if (Matches(command.db_schema_filter_pattern, schema) &&
          Matches(command.table_name_filter_pattern, table)) {
        listed.emplace_back(std::move(schema), std::move(table), name);
      }
    }
  }
  std::sort(listed.begin(), listed.end());
  arrow::StringBuilder catalogs, schemas, tables, types;
  arrow::BinaryBuilder table_schemas;
  for (const auto& [schema, table, name] : listed) {
    ARROW_RETURN_NOT_OK(catalogs.Append(kCatalogName));
    ARROW_RETURN_NOT_OK(schemas.Append(schema));
    ARROW_RETURN_NOT_OK(tables.Append(table));
    ARROW_RETURN_NOT_OK(types.Append(kTableType));
    if (command.include_schema) {
      ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Schema> columns, schema_of(name));
      ARROW_ASSIGN_OR_RAISE(auto serialized, arrow::ipc::SerializeSchema(*columns));
      ARROW_RETURN_NOT_OK(table_schemas.Append(serialized->data(), serialized->size()));
    }
  }
  arrow::ArrayVector columns(4);
  ARROW_RETURN_NOT_OK(catalogs.Finish(&columns[0]));
  ARROW_RETURN_NOT_OK(schemas.Finish(&columns[1]));
  ARROW_RETURN_NOT_OK(tables.Finish(&columns[2]));
  ARROW_RETURN_NOT_OK(types.Finish(&columns[3]));
  if (command.include_schema) {
    ARROW_ASSIGN_OR_RAISE(auto serialized, table_schemas.Finish());
    columns.push_back(std::move(serialized));
  }
  return arrow::RecordBatch::Make(TablesSchema(command.include_schema),
                                  static_cast<int64_t>(listed.size()), std::move(columns));
}

arrow::Result<std::shared_ptr<arrow::RecordBatch>> ListTableTypes() {
  ARROW_ASSIGN_OR_RAISE(auto types, Strings({std::string(kTableType)}));
  return arrow::RecordBatch::Make(TableTypesSchema(), 1, {types});
}

}  // namespace nlk::flightsql
