#include "sql/optimizer.h"

#include <arrow/type.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

namespace nlk::sql {

namespace compute = arrow::compute;
using Kind = LogicalOperator::Kind;

namespace {

bool ReadsOnly(const compute::Expression& expression, const arrow::Schema& schema) {
  for (const auto& name : ReferencedColumns(expression)) {
    if (schema.GetFieldByName(name) == nullptr) return false;
  }
  return true;
}

// Conjuncts that mention no column are evaluated once per row by Acero anyway; pushing them is
// harmless, so "reads only" also holds for them.
PlanPointer PushFilters(PlanPointer node, std::vector<compute::Expression> terms);

PlanPointer WrapFilter(PlanPointer node, const std::vector<compute::Expression>& terms) {
  if (terms.empty()) return node;
  return MakeFilter(std::move(node), JoinConjunction(terms));
}

PlanPointer PushIntoChildren(PlanPointer node) {
  for (auto& child : node->children) child = PushFilters(child, {});
  return node;
}

PlanPointer PushFilters(PlanPointer node, std::vector<compute::Expression> terms) {
  switch (node->kind) {
    case Kind::kFilter: {
      if (node->barrier) {
        return WrapFilter(PushFilters(node->children[0], SplitConjunction(node->predicate)), terms);
      }
      for (auto& term : SplitConjunction(node->predicate)) terms.push_back(term);
      return PushFilters(node->children[0], std::move(terms));
    }
    case Kind::kScan: {
      if (terms.empty()) return node;
      // Internal names back to the table's column names.
      std::map<std::string, std::string> table_names;
      for (size_t index = 0; index < node->columns.size(); ++index) {
        table_names[node->schema->field(static_cast<int>(index))->name()] = node->columns[index];
      }
      std::vector<compute::Expression> pushed;
      if (node->pushed_filter) pushed.push_back(*node->pushed_filter);
      for (const auto& term : terms) {
        pushed.push_back(RenameColumns(term, [&](const std::string& name) {
          auto found = table_names.find(name);
          return found == table_names.end() ? std::nullopt
                                            : std::optional<std::string>(found->second);
        }));
      }
      node->pushed_filter = JoinConjunction(pushed);
      return node;
    }
    case Kind::kProject: {
      // A term passes a projection when every column it reads is a plain column there.
      std::map<std::string, std::string> sources;
      for (int index = 0; index < node->schema->num_fields(); ++index) {
        const auto* reference = node->expressions[index].field_ref();
        if (reference != nullptr && reference->name() != nullptr) {
          sources[node->schema->field(index)->name()] = *reference->name();
        }
      }
      std::vector<compute::Expression> below;
      std::vector<compute::Expression> above;
      for (auto& term : terms) {
        bool passes = true;
        for (const auto& name : ReferencedColumns(term)) passes &= sources.count(name) > 0;
        if (!passes) {
          above.push_back(term);
          continue;
        }
        below.push_back(RenameColumns(term, [&](const std::string& name) {
          return std::optional<std::string>(sources[name]);
        }));
      }
      node->children[0] = PushFilters(node->children[0], std::move(below));
      return WrapFilter(node, above);
    }
    case Kind::kSort: {
      node->children[0] = PushFilters(node->children[0], std::move(terms));
      return node;
    }
    case Kind::kAggregate: {
      std::set<std::string> keys(node->keys.begin(), node->keys.end());
      std::vector<compute::Expression> below;
      std::vector<compute::Expression> above;
      for (auto& term : terms) {
        bool on_keys = !node->keys.empty();
        for (const auto& name : ReferencedColumns(term)) on_keys &= keys.count(name) > 0;
        (on_keys ? below : above).push_back(term);
      }
      node->children[0] = PushFilters(node->children[0], std::move(below));
      return WrapFilter(node, above);
    }
    case Kind::kJoin: {
      auto type = node->join_type;
      bool left_ok =
          type == arrow::acero::JoinType::INNER || type == arrow::acero::JoinType::LEFT_OUTER ||
          type == arrow::acero::JoinType::LEFT_SEMI || type == arrow::acero::JoinType::LEFT_ANTI;
      bool right_ok =
          type == arrow::acero::JoinType::INNER || type == arrow::acero::JoinType::RIGHT_OUTER;
      std::vector<compute::Expression> left;
      std::vector<compute::Expression> right;
      std::vector<compute::Expression> above;
      for (auto& term : terms) {
        if (left_ok && ReadsOnly(term, *node->children[0]->schema)) {
          left.push_back(term);
        } else if (right_ok && ReadsOnly(term, *node->children[1]->schema)) {
          right.push_back(term);
        } else {
          above.push_back(term);
        }
      }
      node->children[0] = PushFilters(node->children[0], std::move(left));
      node->children[1] = PushFilters(node->children[1], std::move(right));
      return WrapFilter(node, above);
    }
    case Kind::kUnion: {
      // The binder gives every side the union's column names, so a filter above applies to each
      // side as written and reaches each side's scans.
      bool same_names = true;
      for (const auto& child : node->children) same_names &= child->schema->Equals(*node->schema);
      if (!same_names) return WrapFilter(PushIntoChildren(node), terms);
      for (auto& child : node->children) child = PushFilters(child, terms);
      return node;
    }
    case Kind::kSingleRow:
    case Kind::kTopK:
    case Kind::kLimit:
    case Kind::kWindow:
      return WrapFilter(PushIntoChildren(node), terms);
  }
  return WrapFilter(node, terms);
}

void AddAll(std::set<std::string>* required, const std::vector<std::string>& names) {
  required->insert(names.begin(), names.end());
}

// Drops unused columns below `node`, given the columns its parent needs; recomputes schemas.
void Prune(const PlanPointer& node, std::set<std::string> required, bool is_root) {
  switch (node->kind) {
    case Kind::kScan: {
      std::vector<std::string> columns;
      arrow::FieldVector fields;
      for (int index = 0; index < node->schema->num_fields(); ++index) {
        const auto& field = node->schema->field(index);
        if (required.count(field->name()) > 0) {
          columns.push_back(node->columns[index]);
          fields.push_back(field);
        }
      }
      if (fields.empty() && node->schema->num_fields() > 0) {
        // count(*) and friends need rows, not values: read the first column only.
        columns.push_back(node->columns[0]);
        fields.push_back(node->schema->field(0));
      }
      node->columns = std::move(columns);
      node->schema = arrow::schema(std::move(fields));
      return;
    }
    case Kind::kSingleRow:
      return;
    case Kind::kProject: {
      std::set<std::string> below;
      std::vector<compute::Expression> expressions;
      arrow::FieldVector fields;
      for (int index = 0; index < node->schema->num_fields(); ++index) {
        const auto& field = node->schema->field(index);
        if (!is_root && required.count(field->name()) == 0) continue;
        expressions.push_back(node->expressions[index]);
        fields.push_back(field);
        AddAll(&below, ReferencedColumns(node->expressions[index]));
      }
      if (fields.empty() && node->schema->num_fields() > 0) {
        expressions.push_back(node->expressions[0]);
        fields.push_back(node->schema->field(0));
        AddAll(&below, ReferencedColumns(node->expressions[0]));
      }
      node->expressions = std::move(expressions);
      node->schema = arrow::schema(std::move(fields));
      Prune(node->children[0], std::move(below), false);
      return;
    }
    case Kind::kFilter:
    case Kind::kSort:
    case Kind::kTopK:
    case Kind::kLimit: {
      if (is_root) {
        for (const auto& field : node->schema->fields()) required.insert(field->name());
      }
      if (node->kind == Kind::kFilter) AddAll(&required, ReferencedColumns(node->predicate));
      for (const auto& key : node->sort_keys) required.insert(key.column);
      Prune(node->children[0], required, false);
      node->schema = node->children[0]->schema;
      return;
    }
    case Kind::kAggregate: {
      std::set<std::string> below(node->keys.begin(), node->keys.end());
      for (const auto& call : node->aggregates) {
        if (!call.input.empty()) below.insert(call.input);
      }
      Prune(node->children[0], std::move(below), false);
      return;
    }
    case Kind::kJoin: {
      if (is_root) {
        for (const auto& field : node->schema->fields()) required.insert(field->name());
      }
      AddAll(&required, node->left_keys);
      AddAll(&required, node->right_keys);
      AddAll(&required, ReferencedColumns(node->join_filter));
      Prune(node->children[0], required, false);
      Prune(node->children[1], required, false);
      arrow::FieldVector fields = node->children[0]->schema->fields();
      if (node->join_type != arrow::acero::JoinType::LEFT_SEMI &&
          node->join_type != arrow::acero::JoinType::LEFT_ANTI) {
        for (const auto& field : node->children[1]->schema->fields()) fields.push_back(field);
      }
      node->schema = arrow::schema(std::move(fields));
      return;
    }
    case Kind::kUnion: {
      // Both sides must keep the same columns: keep them all.
      for (const auto& child : node->children) Prune(child, {}, true);
      return;
    }
    case Kind::kWindow: {
      if (is_root) {
        for (const auto& field : node->schema->fields()) required.insert(field->name());
      }
      for (const auto& call : node->windows) {
        if (!call.input.empty()) required.insert(call.input);
        if (!call.default_value_column.empty()) required.insert(call.default_value_column);
        AddAll(&required, call.partition_by);
        for (const auto& key : call.order_by) required.insert(key.column);
      }
      Prune(node->children[0], required, false);
      arrow::FieldVector fields = node->children[0]->schema->fields();
      for (const auto& call : node->windows) {
        fields.push_back(arrow::field(call.output, call.output_type));
      }
      node->schema = arrow::schema(std::move(fields));
      return;
    }
  }
}

// LIMIT over SORT becomes TOP-K; LIMIT over a scan (through projections) caps the scan.
PlanPointer RewriteLimits(PlanPointer node) {
  for (auto& child : node->children) child = RewriteLimits(child);
  if (node->kind != Kind::kLimit || !node->count) return node;
  PlanPointer child = node->children[0];
  if (child->kind == Kind::kSort) {
    child->kind = Kind::kTopK;
    child->offset = node->offset;
    child->count = node->count;
    return child;
  }
  while (child->kind == Kind::kProject) child = child->children[0];
  if (child->kind == Kind::kScan) {
    // The limit stays above as well: the scan cap is a hint that saves reading files.
    child->pushed_limit = node->offset + *node->count;
  }
  return node;
}

}  // namespace

arrow::Result<PlanPointer> Optimize(PlanPointer plan) {
  plan = PushFilters(std::move(plan), {});
  Prune(plan, {}, true);
  return RewriteLimits(std::move(plan));
}

}  // namespace nlk::sql
