// What an authenticated caller may read, from the access rules declared in the catalog
// (catalog.h: read grants, column policies, row filters; docs/catalog.md "Access"):
//
//   AccessRules            the rules of every served catalog table, built once at startup
//   AccessPolicy           those rules applied to one caller (principal and groups)
//
// Served tables that do not come from a catalog (-t, a config file) have no rules: every
// authenticated caller reads them whole. A catalog table is read by the principals and groups
// its database or itself grants, and by nobody else. To a caller who may not read it, a table
// does not exist: every endpoint answers exactly as for an unknown name, and listings leave it
// out.
//
// Without authentication (no tokens file) there is no policy (a null pointer) and every
// table is served whole, as before.
//
// Immutable; safe to share between threads.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "server/token_store.h"
#include "sql/table_catalog.h"

namespace nlk::server {

// A catalog table's rules, with its database's grants merged in.
struct TableAccessRules {
  catalog::ReadGrants read;
  std::vector<catalog::ColumnPolicy> column_policies;
  std::vector<catalog::RowFilter> row_filters;
};

TableAccessRules AccessRulesOf(const catalog::Database& database, const catalog::Table& table);

// Served table name ("database.table") -> its rules.
using AccessRules = std::map<std::string, TableAccessRules>;

class AccessPolicy {
 public:
  AccessPolicy(std::shared_ptr<const AccessRules> rules, Identity identity)
      : rules_(std::move(rules)), identity_(std::move(identity)) {}

  // `table` is a served name; time-travel suffixes are the caller's business.
  bool CanRead(const std::string& table) const;
  // The row filter and masks that apply to this caller; empty for tables without rules.
  sql::TableRestriction RestrictionFor(const std::string& table) const;
  // Of `names`, those this caller may read, in order.
  std::vector<std::string> Readable(const std::vector<std::string>& names) const;

  const Identity& identity() const { return identity_; }

 private:
  bool InGroup(const std::vector<std::string>& groups) const;

  std::shared_ptr<const AccessRules> rules_;
  Identity identity_;
};

// The policy for a caller: null without an identity (authentication is off).
std::shared_ptr<const AccessPolicy> PolicyFor(const std::shared_ptr<const AccessRules>& rules,
                                              const std::optional<Identity>& identity);

}  // namespace nlk::server
