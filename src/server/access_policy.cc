#include "server/access_policy.h"

#include <algorithm>

namespace nlk::server {
namespace {

void Append(std::vector<std::string>& to, const std::vector<std::string>& values) {
  for (const std::string& value : values) {
    if (std::find(to.begin(), to.end(), value) == to.end()) to.push_back(value);
  }
}

}  // namespace

TableAccessRules AccessRulesOf(const catalog::Database& database, const catalog::Table& table) {
  TableAccessRules rules;
  rules.read = database.read;
  Append(rules.read.principals, table.read.principals);
  Append(rules.read.groups, table.read.groups);
  rules.column_policies = table.column_policies;
  rules.row_filters = table.row_filters;
  return rules;
}

bool AccessPolicy::InGroup(const std::vector<std::string>& groups) const {
  for (const std::string& group : identity_.groups) {
    if (std::find(groups.begin(), groups.end(), group) != groups.end()) return true;
  }
  return false;
}

bool AccessPolicy::CanRead(const std::string& table) const {
  auto found = rules_ ? rules_->find(table) : AccessRules::const_iterator();
  if (!rules_ || found == rules_->end()) return true;  // not a catalog table
  const catalog::ReadGrants& read = found->second.read;
  if (std::find(read.principals.begin(), read.principals.end(), identity_.principal) !=
      read.principals.end()) {
    return true;
  }
  return InGroup(read.groups);
}

sql::TableRestriction AccessPolicy::RestrictionFor(const std::string& table) const {
  sql::TableRestriction restriction;
  if (!rules_) return restriction;
  auto found = rules_->find(table);
  if (found == rules_->end()) return restriction;
  const TableAccessRules& rules = found->second;
  for (const catalog::ColumnPolicy& policy : rules.column_policies) {
    if (policy.mask.empty() || InGroup(policy.unmasked_groups)) continue;
    restriction.masks.emplace_back(policy.column,
                                   policy.mask == catalog::kMaskDeny ? "NULL" : policy.mask);
  }
  // A caller in several filtered groups sees what any of them may.
  for (const catalog::RowFilter& filter : rules.row_filters) {
    if (std::find(identity_.groups.begin(), identity_.groups.end(), filter.group) ==
        identity_.groups.end()) {
      continue;
    }
    restriction.row_filter +=
        (restriction.row_filter.empty() ? "(" : " OR (") + filter.predicate + ")";
  }
  return restriction;
}

std::vector<std::string> AccessPolicy::Readable(const std::vector<std::string>& names) const {
  std::vector<std::string> readable;
  for (const std::string& name : names) {
    if (CanRead(name)) readable.push_back(name);
  }
  return readable;
}

std::shared_ptr<const AccessPolicy> PolicyFor(const std::shared_ptr<const AccessRules>& rules,
                                              const std::optional<Identity>& identity) {
  if (!identity) return nullptr;
  return std::make_shared<const AccessPolicy>(rules, *identity);
}

}  // namespace nlk::server
