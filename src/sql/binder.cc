// The binder's entry point (binder.h): Binder, and WITH queries around each query block. The
// rest of the binding is in the binder*.cc files listed in binder_internal.h.
#include "sql/binder.h"

#include "sql/binder_internal.h"

namespace nlk::sql {

arrow::Result<BoundQuery> Binder::Implementation::BindQuery(const SelectStatement& select,
                                                            const Scope* outer) {
  common_tables_.emplace_back();
  for (const auto& common : select.with) {
    if (common_tables_.back().count(common.name) > 0) {
      return SqlError(sql_, common.location,
                      "WITH query name \"" + common.name + "\" specified more than once");
    }
    common_tables_.back()[common.name] = &common;
  }
  auto result = select.set_operation == SelectStatement::SetOperation::kNone
                    ? BindSelect(select, outer)
                    : BindSetOperation(select);
  common_tables_.pop_back();
  return result;
}

Binder::Binder(std::string_view sql, TableCatalog* catalog, int64_t now_microseconds,
               SubqueryRunner run_subquery)
    : implementation_(std::make_unique<Implementation>(sql, catalog, now_microseconds,
                                                       std::move(run_subquery))) {}

Binder::~Binder() = default;

arrow::Result<BoundQuery> Binder::Bind(const SelectStatement& select) {
  ARROW_ASSIGN_OR_RAISE(BoundQuery query, implementation_->BindQuery(select, nullptr));
  query.names = UniqueNames(query.names);
  return query;
}

}  // namespace nlk::sql
