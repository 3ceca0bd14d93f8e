#include "sql/logical_plan.h"

#include <arrow/type.h>

#include <utility>

namespace nlk::sql {

namespace compute = arrow::compute;

PlanPointer MakeProject(PlanPointer input, std::vector<compute::Expression> expressions,
                        std::vector<std::shared_ptr<arrow::Field>> fields) {
  auto project = std::make_shared<LogicalOperator>();
  project->kind = LogicalOperator::Kind::kProject;
  project->children.push_back(std::move(input));
  project->expressions = std::move(expressions);
  project->schema = arrow::schema(std::move(fields));
  return project;
}

PlanPointer MakeFilter(PlanPointer input, compute::Expression predicate) {
  auto filter = std::make_shared<LogicalOperator>();
  filter->kind = LogicalOperator::Kind::kFilter;
  filter->schema = input->schema;
  filter->children.push_back(std::move(input));
  filter->predicate = std::move(predicate);
  return filter;
}

PlanPointer MakeLimit(PlanPointer input, int64_t offset, std::optional<int64_t> count) {
  auto limit = std::make_shared<LogicalOperator>();
  limit->kind = LogicalOperator::Kind::kLimit;
  limit->schema = input->schema;
  limit->children.push_back(std::move(input));
  limit->offset = offset;
  limit->count = count;
  return limit;
}

std::vector<std::string> ReferencedColumns(const compute::Expression& expression) {
  std::vector<std::string> names;
  for (const arrow::FieldRef& reference : compute::FieldsInExpression(expression)) {
    if (reference.name() != nullptr) names.push_back(*reference.name());
  }
  return names;
}

compute::Expression RenameColumns(
    const compute::Expression& expression,
    const std::function<std::optional<std::string>(const std::string&)>& rename) {
  if (const arrow::FieldRef* reference = expression.field_ref()) {
    if (reference->name() == nullptr) return expression;
    auto renamed = rename(*reference->name());
    return renamed ? compute::field_ref(*renamed) : expression;
  }
  const compute::Expression::Call* call = expression.call();
  if (call == nullptr) return expression;
  std::vector<compute::Expression> arguments;
  for (const auto& argument : call->arguments) arguments.push_back(RenameColumns(argument, rename));
  return compute::call(call->function_name, std::move(arguments), call->options);
}

std::vector<compute::Expression> SplitConjunction(const compute::Expression& predicate) {
  const compute::Expression::Call* call = predicate.call();
  if (call != nullptr && (call->function_name == "and_kleene" || call->function_name == "and")) {
    std::vector<compute::Expression> terms;
    for (const auto& argument : call->arguments) {
      auto nested = SplitConjunction(argument);
      terms.insert(terms.end(), nested.begin(), nested.end());
    }
    return terms;
  }
  return {predicate};
}

namespace {

// and_kleene of terms[begin, end) as a balanced tree, log2(n) deep.
compute::Expression JoinRange(const std::vector<compute::Expression>& terms, size_t begin,
                              size_t end) {
  if (end - begin == 1) return terms[begin];
  size_t middle = begin + (end - begin) / 2;
  return compute::call("and_kleene",
                       {JoinRange(terms, begin, middle), JoinRange(terms, middle, end)});
}

}  // namespace

compute::Expression JoinConjunction(const std::vector<compute::Expression>& terms) {
  if (terms.empty()) return compute::literal(true);
  return JoinRange(terms, 0, terms.size());
}

}  // namespace nlk::sql
