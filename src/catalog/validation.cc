#include "catalog/validation.h"

#include <arrow/type.h>

#include <algorithm>
#include <set>
#include <string_view>

#include "delta/data/schema.h"
#include "delta/predicate.h"

namespace nlk::catalog {
namespace {

std::string ColumnList(const arrow::Schema& schema) {
  std::string names;
  for (const auto& field : schema.fields()) names += (names.empty() ? "" : ", ") + field->name();
  return names;
}

// Collects problems under one subject ("table neural.samples"), each prefixed with it.
class ProblemList {
 public:
  ProblemList(std::vector<std::string>* problems, std::string subject)
      : problems_(problems), subject_(std::move(subject)) {}

  void Add(std::string_view field, const std::string& message) {
    problems_->push_back(subject_ + ": " + std::string(field) + ": " + message);
  }

 private:
  std::vector<std::string>* problems_;
  std::string subject_;
};

void CheckName(std::string_view name, std::string_view field, ProblemList& problems) {
  std::string problem = NameProblem(name);
  if (!problem.empty()) problems.Add(field, "'" + std::string(name) + "' " + problem);
}

// Column lists (partition and unique columns): no empty or repeated entries, and, when the
// schema is declared, only columns it has.
void CheckColumnList(const std::vector<std::string>& columns, std::string_view field,
                     const arrow::Schema* schema, ProblemList& problems) {
  std::set<std::string> seen;
  for (const std::string& column : columns) {
    if (column.empty()) {
      problems.Add(field, "has an empty column name");
      continue;
    }
    if (!seen.insert(column).second) problems.Add(field, "lists '" + column + "' twice");
    if (schema != nullptr && schema->GetFieldByName(column) == nullptr) {
      problems.Add(field, "'" + column + "' is not a column of the declared schema (columns: " +
                              ColumnList(*schema) + ")");
    }
  }
}

void CheckSource(const Table& table, ProblemList& problems) {
  switch (table.kind) {
    case TableKind::kDelta:
    case TableKind::kParquet:
      if (table.uri.empty()) {
        problems.Add("uri", "is missing: a " + std::string(TableKindName(table.kind)) +
                                " table needs the location of its data (absolute, or relative "
                                "to the catalog root)");
      }
      if (table.function) {
        problems.Add("function", "is only for function tables (kind = TableKind::kFunction)");
      }
      break;
    case TableKind::kFunction:
      if (!table.function) problems.Add("function", "is missing: a function table needs one");
      if (!table.uri.empty()) {
        problems.Add("uri", "must be empty for a function table (its rows come from code)");
      }
      if (!table.partition_columns.empty()) {
        problems.Add("partition_columns", "must be empty for a function table");
      }
      break;
  }
}

void CheckSchema(const Table& table, ProblemList& problems) {
  if (table.schema == nullptr) return;
  std::set<std::string> seen;
  for (const auto& field : table.schema->fields()) {
    if (field->name().empty()) problems.Add("schema", "has a column without a name");
    if (!seen.insert(field->name()).second) {
      problems.Add("schema", "has column '" + field->name() + "' twice");
    }
  }
  auto serialized = delta::data::SerializeDeltaSchema(*table.schema);
  if (!serialized.ok()) problems.Add("schema", serialized.status().message());
}

void CheckDocsFilters(const Table& table, ProblemList& problems) {
  for (size_t index = 0; index < table.docs_filters.size(); ++index) {
    const DocsFilter& docs_filter = table.docs_filters[index];
    std::string field = "docs_filters[" + std::to_string(index) + "]";
    if (docs_filter.filter.empty()) {
      problems.Add(field, "has an empty filter");
      continue;
    }
    if (table.schema == nullptr) continue;
    auto parsed = delta::ParsePredicate(docs_filter.filter, *table.schema);
    if (!parsed.ok()) {
      problems.Add(field,
                   "'" + docs_filter.filter + "' does not parse: " + parsed.status().message());
    }
  }
}

void CheckComputedColumns(const Table& table, ProblemList& problems) {
  std::set<std::string> seen;
  for (size_t index = 0; index < table.computed_columns.size(); ++index) {
    const ComputedColumn& column = table.computed_columns[index];
    std::string field = "computed_columns[" + std::to_string(index) + "]";
    if (column.name.empty()) problems.Add(field, "has no name");
    if (!column.name.empty() && !seen.insert(column.name).second) {
      problems.Add(field, "repeats the name '" + column.name + "'");
    }
    if (table.schema != nullptr && table.schema->GetFieldByName(column.name) != nullptr) {
      problems.Add(field, "'" + column.name + "' is already a stored column; pick another name");
    }
    if (column.expression.empty()) problems.Add(field, "has no expression");
  }
}

void CheckTags(const Table& table, ProblemList& problems) {
  std::set<std::string> seen;
  for (const std::string& tag : table.tags) {
    if (tag.empty()) problems.Add("tags", "has an empty tag");
    if (!tag.empty() && !seen.insert(tag).second) problems.Add("tags", "lists '" + tag + "' twice");
  }
}

void CheckRetention(const Table& table, ProblemList& problems) {
  if (!table.retention) return;
  const Retention& retention = *table.retention;
  if (table.kind != TableKind::kDelta) {
    problems.Add("retention", "is for Delta tables only (it deletes partitions with a commit)");
  }
  if (retention.keep.count() <= 0) {
    problems.Add("retention.keep", "must be a positive number of days, e.g. std::chrono::days{90}");
  }
  if (retention.column.empty()) {
    problems.Add("retention.column", "is missing: name a date or timestamp partition column");
    return;
  }
  if (std::find(table.partition_columns.begin(), table.partition_columns.end(), retention.column) ==
      table.partition_columns.end()) {
    problems.Add("retention.column",
                 "'" + retention.column +
                     "' is not one of partition_columns: retention deletes whole partitions "
                     "(deleting rows inside files is a DML DELETE)");
  }
  if (table.schema != nullptr) {
    auto field = table.schema->GetFieldByName(retention.column);
    if (field != nullptr && field->type()->id() != arrow::Type::DATE32 &&
        field->type()->id() != arrow::Type::TIMESTAMP) {
      problems.Add("retention.column", "'" + retention.column + "' is " +
                                           field->type()->ToString() +
                                           "; retention needs a date or timestamp column");
    }
  }
}

void CheckDeprecation(const Catalog& catalog, const Table& table, ProblemList& problems) {
  if (!table.deprecation) return;
  if (table.deprecation->message.empty()) {
    problems.Add("deprecation.message", "is missing: say why and what to use instead");
  }
  const std::string& replacement = table.deprecation->replacement;
  if (replacement.empty()) return;
  size_t dot = replacement.find('.');
  if (dot == std::string::npos ||
      catalog.FindTable(std::string_view(replacement).substr(0, dot),
                        std::string_view(replacement).substr(dot + 1)) == nullptr) {
    problems.Add("deprecation.replacement",
                 "'" + replacement + "' is not a table of this catalog (write database.table)");
  }
}

void CheckWriterAndLineage(const Catalog& catalog, const Database& database, const Table& table,
                           ProblemList& problems) {
  if (table.kind == TableKind::kFunction && table.writer != WriterEngine::kNlk) {
    problems.Add("writer",
                 "must be left as nlk for a function table (its rows are computed, "
                 "never written)");
  }
  const Lineage& lineage = table.lineage;
  if (!lineage.sources.empty() && lineage.job.empty()) {
    problems.Add("lineage.job", "is missing: say which job derives the table from its sources");
  }
  if (lineage.sources.empty() && !lineage.job.empty()) {
    problems.Add("lineage.sources", "is empty: list the tables job '" + lineage.job + "' reads");
  }
  std::set<std::string> seen;
  const std::string self = QualifiedName(database, table);
  for (const std::string& source : lineage.sources) {
    if (!seen.insert(source).second)
      problems.Add("lineage.sources", "lists '" + source + "' twice");
    if (source == self) problems.Add("lineage.sources", "lists the table itself");
    size_t dot = source.find('.');
    if (dot == std::string::npos ||
        catalog.FindTable(std::string_view(source).substr(0, dot),
                          std::string_view(source).substr(dot + 1)) == nullptr) {
      problems.Add("lineage.sources",
                   "'" + source + "' is not a table of this catalog (write database.table)");
    }
  }
}

// Principals and groups as tokens carry them: letters, digits and . _ @ - (1 to 128).
void CheckPrincipal(const std::string& name, std::string_view field, ProblemList& problems) {
  bool valid = !name.empty() && name.size() <= 128;
  for (char c : name) {
    bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '.' || c == '_' || c == '@' || c == '-';
    if (!allowed) valid = false;
  }
  if (!valid) {
    problems.Add(field, "'" + name +
                            "' is not a principal or group name (1 to 128 letters, digits "
                            "and . _ @ -, as `nlk auth token create` accepts)");
  }
}

void CheckNames(const std::vector<std::string>& names, std::string_view field,
                ProblemList& problems) {
  std::set<std::string> seen;
  for (const std::string& name : names) {
    CheckPrincipal(name, field, problems);
    if (!name.empty() && !seen.insert(name).second) {
      problems.Add(field, "lists '" + name + "' twice");
    }
  }
}

void CheckReadGrants(const ReadGrants& grants, ProblemList& problems) {
  CheckNames(grants.principals, "read.principals", problems);
  CheckNames(grants.groups, "read.groups", problems);
}

bool Sensitive(Classification classification) {
  return classification == Classification::kPii || classification == Classification::kPhi;
}

// Column policies name real columns once each; PII and PHI columns are masked (or denied), and
// only they are.
void CheckColumnPolicies(const Table& table, ProblemList& problems) {
  std::set<std::string> seen;
  for (size_t index = 0; index < table.column_policies.size(); ++index) {
    const ColumnPolicy& policy = table.column_policies[index];
    const std::string field = "column_policies[" + std::to_string(index) + "]";
    if (policy.column.empty()) {
      problems.Add(field, "names no column");
      continue;
    }
    if (!seen.insert(policy.column).second) {
      problems.Add(field, "repeats column '" + policy.column + "'");
    }
    bool computed = false;
    for (const ComputedColumn& column : table.computed_columns) {
      if (column.name == policy.column) computed = true;
    }
    if (table.schema != nullptr && !computed &&
        table.schema->GetFieldByName(policy.column) == nullptr) {
      problems.Add(field, "'" + policy.column +
                              "' is not a column of the declared schema (columns: " +
                              ColumnList(*table.schema) + ")");
    }
    if (Sensitive(policy.classification) && policy.mask.empty()) {
      problems.Add(field, "'" + policy.column + "' is " +
                              std::string(ClassificationName(policy.classification)) +
                              " but has no mask: set mask to an expression or \"deny\"");
    }
    if (!Sensitive(policy.classification) && !policy.mask.empty()) {
      problems.Add(field, "'" + policy.column +
                              "' has a mask but is not classified pii or phi: masks protect "
                              "those");
    }
    if (policy.mask.empty() && !policy.unmasked_groups.empty()) {
      problems.Add(field, "unmasked_groups without a mask");
    }
    CheckNames(policy.unmasked_groups, field + ".unmasked_groups", problems);
  }
}

void CheckRowFilters(const Table& table, ProblemList& problems) {
  std::set<std::string> seen;
  for (size_t index = 0; index < table.row_filters.size(); ++index) {
    const RowFilter& filter = table.row_filters[index];
    const std::string field = "row_filters[" + std::to_string(index) + "]";
    CheckPrincipal(filter.group, field + ".group", problems);
    if (!filter.group.empty() && !seen.insert(filter.group).second) {
      problems.Add(field, "repeats group '" + filter.group + "': one filter per group");
    }
    if (filter.predicate.empty()) problems.Add(field, "has an empty predicate");
  }
}

void CheckTable(const Catalog& catalog, const Database& database, const Table& table,
                std::vector<std::string>* out) {
  ProblemList problems(out, "table " + QualifiedName(database, table));
  CheckName(table.name.view(), "name", problems);
  CheckSource(table, problems);
  if (table.description.empty()) {
    problems.Add("description", "is missing: say what a row is and what the table is for");
  }
  CheckSchema(table, problems);
  CheckColumnList(table.partition_columns, "partition_columns", table.schema.get(), problems);
  CheckColumnList(table.unique_columns, "unique_columns", table.schema.get(), problems);
  CheckDocsFilters(table, problems);
  CheckComputedColumns(table, problems);
  CheckTags(table, problems);
  CheckRetention(table, problems);
  CheckDeprecation(catalog, table, problems);
  CheckWriterAndLineage(catalog, database, table, problems);
  if (table.freshness.slo_seconds < 0) {
    problems.Add("freshness.slo_seconds",
                 "is negative: give the most seconds new data may take "
                 "to land, or 0 for no objective");
  }
  if (table.freshness.slo_seconds > 0 && table.kind == TableKind::kFunction) {
    problems.Add("freshness.slo_seconds",
                 "is set on a function table, which is computed when read and has no commits");
  }
  CheckReadGrants(table.read, problems);
  CheckColumnPolicies(table, problems);
  CheckRowFilters(table, problems);
}

}  // namespace

std::vector<std::string> FindCatalogProblems(const Catalog& catalog) {
  std::vector<std::string> problems;
  ProblemList catalog_problems(&problems, "catalog " + catalog.name.str());
  CheckName(catalog.name.view(), "name", catalog_problems);
  if (catalog.databases.empty()) catalog_problems.Add("databases", "is empty");
  std::set<std::string_view> database_names;
  for (const Database& database : catalog.databases) {
    ProblemList database_problems(&problems, "database " + database.name.str());
    CheckName(database.name.view(), "name", database_problems);
    if (!database_names.insert(database.name.view()).second) {
      database_problems.Add("name", "is declared twice in catalog " + catalog.name.str());
    }
    CheckReadGrants(database.read, database_problems);
    std::set<std::string_view> table_names;
    for (const Table& table : database.tables) {
      if (!table_names.insert(table.name.view()).second) {
        problems.push_back("table " + QualifiedName(database, table) +
                           ": name: is declared twice in database " + database.name.str());
      }
      CheckTable(catalog, database, table, &problems);
    }
  }
  return problems;
}

arrow::Status ValidateCatalog(const Catalog& catalog) {
  std::vector<std::string> problems = FindCatalogProblems(catalog);
  if (problems.empty()) return arrow::Status::OK();
  std::string message = "catalog " + catalog.name.str() + " has " +
                        std::to_string(problems.size()) +
                        (problems.size() == 1 ? " problem:" : " problems:");
  for (const std::string& problem : problems) message += "\n  " + problem;
  return arrow::Status::Invalid(message);
}

}  // namespace nlk::catalog
