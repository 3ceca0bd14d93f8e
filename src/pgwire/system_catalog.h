// The system catalog a PostgreSQL client expects, built from the tables the server serves:
// pg_namespace, pg_class, pg_attribute, pg_type, pg_database, pg_roles and the other pg_catalog
// relations clients read on connect and in their table browsers, and the information_schema
// views (schemata, tables, columns, ...). Every served table and column is a real row; the
// relations describing what this server has none of (indexes, constraints, triggers, policies,
// functions, ...) exist with their columns and no rows, so the standard client queries run and
// find nothing. Served names with a dot ("neural.samples", from --catalog) are table "samples"
// in schema "neural"; the others are in "public". OIDs are stable for the life of the server.
//
// Immutable after Build; thread-safe to read.
#pragma once

#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgwire/catalog_value.h"
#include "pgwire/session_settings.h"

namespace nlk::pgwire {

// A table as the server serves it.
struct ServedTableInfo {
  std::string name;  // as queries name it, e.g. "samples" or "neural.samples"
  std::shared_ptr<arrow::Schema> schema;
};

struct CatalogColumn {
  std::string name;
  int32_t type;
  int32_t modifier = -1;  // atttypmod: numeric's precision and scale; -1 none
};

struct CatalogRelation {
  int64_t oid = 0;
  std::string schema;  // "pg_catalog", "information_schema", "public", ...
  std::string name;
  char kind = 'r';  // 'r' table, 'v' view
  std::vector<CatalogColumn> columns;
  std::vector<bool> not_null;  // per column
  std::vector<Row> rows;
  bool served = false;  // one of the server's tables (its rows are not here)
};

inline constexpr int64_t kPublicNamespaceOid = 2200;
inline constexpr int64_t kInformationSchemaOid = 13000;
// The role that owns every object (PostgreSQL's bootstrap superuser has OID 10).
inline constexpr int64_t kOwnerRoleOid = 10;
inline constexpr const char* kOwnerRoleName = "nlk";

class SystemCatalog {
 public:
  // `tables` in any order; `settings` gives the user, database and search_path.
  static arrow::Result<std::shared_ptr<const SystemCatalog>> Build(
      const std::vector<ServedTableInfo>& tables, const SessionSettings& settings);

  // A relation by schema and name; an empty schema searches pg_catalog, then the search path.
  const CatalogRelation* Find(std::string_view schema, std::string_view name) const;
  // Whether `name` is a pg_catalog or information_schema relation this catalog emulates.
  static bool IsSystemRelation(std::string_view schema, std::string_view name);

  // pg_table_is_visible: the relation's schema is pg_catalog or on the search path.
  bool RelationVisible(int64_t oid) const;
  std::optional<std::string> NamespaceName(int64_t oid) const;
  std::optional<std::string> RoleName(int64_t oid) const;
  std::optional<int64_t> NamespaceOid(std::string_view name) const;
  const CatalogRelation* RelationByOid(int64_t oid) const;

  // Names for regclass/regtype/regnamespace/regrole values.
  const NameResolver& resolver() const { return resolver_; }

 private:
  explicit SystemCatalog(const SessionSettings& settings) : settings_(settings) {}
  void AddRelation(CatalogRelation relation);
  void FillRows();

  SessionSettings settings_;
  std::vector<std::string> search_path_;
  std::vector<CatalogRelation> relations_;
  std::map<std::pair<std::string, std::string>, size_t> by_name_;
  std::map<int64_t, size_t> by_oid_;
  std::map<int64_t, std::string> namespaces_;
  std::map<int64_t, std::string> roles_;
  NameResolver resolver_;
};

}  // namespace nlk::pgwire
