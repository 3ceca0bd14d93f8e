#include "delta/dml/merge.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <future>
#include <iterator>
#include <set>
#include <unordered_map>

#include "common/json_writer.h"
#include "delta/dml/row_change_writer.h"
#include "delta/dml/row_level_internal.h"
#include "delta/dml/target_files.h"

namespace nlk::delta::dml {

std::string TargetField(const std::string& column) { return "target." + column; }
std::string SourceField(const std::string& column) { return "source." + column; }

namespace {

namespace compute = arrow::compute;
using Clock = std::chrono::steady_clock;
using internal::MillisSince;

const char* ActionName(MergeAction action) {
  switch (action) {
    case MergeAction::kUpdate:
      return "update";
    case MergeAction::kDelete:
      return "delete";
    case MergeAction::kInsert:
      return "insert";
  }
  return "";
}

const char* KindName(MergeClauseKind kind) {
  switch (kind) {
    case MergeClauseKind::kMatched:
      return "WHEN MATCHED";
    case MergeClauseKind::kNotMatched:
      return "WHEN NOT MATCHED";
    case MergeClauseKind::kNotMatchedBySource:
      return "WHEN NOT MATCHED BY SOURCE";
  }
  return "";
}

// The clauses of each kind: allowed actions, and only the last may go without a condition
// (Spark's rule: a clause after an unconditional one could never act).
arrow::Status CheckClauses(const MergeSpec& spec) {
  if (spec.clauses.empty()) {
    return arrow::Status::Invalid("MERGE needs at least one WHEN clause");
  }
  for (MergeClauseKind kind : {MergeClauseKind::kMatched, MergeClauseKind::kNotMatched,
                               MergeClauseKind::kNotMatchedBySource}) {
    bool unconditional_seen = false;
    for (const MergeClause& clause : spec.clauses) {
      if (clause.kind != kind) continue;
      const bool insert = clause.action == MergeAction::kInsert;
      if (insert != (kind == MergeClauseKind::kNotMatched)) {
        return arrow::Status::Invalid(
            "MERGE: ", KindName(kind), " cannot ", ActionName(clause.action),
            kind == MergeClauseKind::kNotMatched ? " (only INSERT)" : " (only UPDATE or DELETE)");
      }
      if (unconditional_seen) {
        return arrow::Status::Invalid("MERGE: only the last ", KindName(kind),
                                      " clause may omit its condition (AND ...); a clause after "
                                      "an unconditional one could never apply");
      }
      if (!clause.condition) unconditional_seen = true;
      if (clause.action == MergeAction::kDelete &&
          (clause.all_columns || !clause.assignments.empty())) {
        return arrow::Status::Invalid("MERGE: a DELETE clause takes no assignments");
      }
      if (kind == MergeClauseKind::kNotMatchedBySource && clause.all_columns) {
        return arrow::Status::Invalid(
            "MERGE: WHEN NOT MATCHED BY SOURCE cannot UPDATE SET * (there is no source row); "
            "assign the columns");
      }
      if (clause.action != MergeAction::kDelete && !clause.all_columns &&
          clause.assignments.empty()) {
        return arrow::Status::Invalid("MERGE: ", KindName(kind), " ", ActionName(clause.action),
                                      " needs assignments or *");
      }
    }
  }
  return arrow::Status::OK();
}

std::shared_ptr<arrow::Schema> Prefixed(const arrow::Schema& schema, bool target) {
  arrow::FieldVector fields;
  for (const auto& field : schema.fields()) {
    fields.push_back(
        field->WithName(target ? TargetField(field->name()) : SourceField(field->name()))
            ->WithNullable(true));
  }
  return arrow::schema(std::move(fields));
}

// The fields an expression reads, as names.
std::set<std::string> FieldNames(const compute::Expression& expression) {
  std::set<std::string> names;
  for (const auto& reference : compute::FieldsInExpression(expression)) {
    if (const std::string* name = reference.name()) {
      names.insert(*name);
    } else {
      names.insert("");  // a nested or positional reference: neither side's alone
    }
  }
  return names;
}

bool AllWithPrefix(const std::set<std::string>& names, const std::string& prefix) {
  if (names.empty()) return false;
  return std::all_of(names.begin(), names.end(), [&prefix](const std::string& name) {
    return name.compare(0, prefix.size(), prefix) == 0;
  });
}

void Conjuncts(const compute::Expression& expression, std::vector<compute::Expression>* out) {
  if (const compute::Expression::Call* call = expression.call()) {
    if ((call->function_name == "and_kleene" || call->function_name == "and") &&
        call->arguments.size() == 2) {
      Conjuncts(call->arguments[0], out);
      Conjuncts(call->arguments[1], out);
      return;
    }
  }
  out->push_back(expression);
}

// One hash join key: an expression of the target's fields equal to one of the source's, both
// evaluated as `type`.
struct JoinKey {
  compute::Expression target;  // bound to the prefixed target schema, cast to `type`
  compute::Expression source;  // bound to the prefixed source schema, cast to `type`
  std::shared_ptr<arrow::DataType> type;
  std::optional<std::string> target_column;  // when the target side is (a cast of) a column
};

arrow::Result<compute::Expression> BindAs(const compute::Expression& expression,
                                          const arrow::Schema& schema,
                                          const std::shared_ptr<arrow::DataType>& type) {
  ARROW_ASSIGN_OR_RAISE(auto bound, expression.Bind(schema));
  if (bound.type()->Equals(*type)) return bound;
  return compute::call("cast", {expression}, compute::CastOptions::Safe(type)).Bind(schema);
}

std::optional<std::string> ColumnOf(const compute::Expression& expression) {
  const compute::Expression* current = &expression;
  while (const compute::Expression::Call* call = current->call()) {
    if (call->function_name != "cast" || call->arguments.size() != 1) return std::nullopt;
    current = &call->arguments[0];
  }
  if (const arrow::FieldRef* reference = current->field_ref()) {
    if (const std::string* name = reference->name()) {
      const std::string prefix = TargetField("");
      if (name->compare(0, prefix.size(), prefix) == 0) return name->substr(prefix.size());
    }
  }
  return std::nullopt;
}

arrow::Result<std::vector<JoinKey>> ExtractKeys(const MergeSpec& spec, const arrow::Schema& joined,
                                                const arrow::Schema& target,
                                                const arrow::Schema& source) {
  std::vector<compute::Expression> conjuncts;
  Conjuncts(spec.on, &conjuncts);
  std::vector<JoinKey> keys;
  const std::string target_prefix = TargetField("");
  const std::string source_prefix = SourceField("");
  for (const compute::Expression& conjunct : conjuncts) {
    const compute::Expression::Call* call = conjunct.call();
    if (call == nullptr || call->function_name != "equal" || call->arguments.size() != 2) {
      continue;
    }
    std::set<std::string> left = FieldNames(call->arguments[0]);
    std::set<std::string> right = FieldNames(call->arguments[1]);
    int target_side = -1;
    if (AllWithPrefix(left, target_prefix) && AllWithPrefix(right, source_prefix)) {
      target_side = 0;
    } else if (AllWithPrefix(left, source_prefix) && AllWithPrefix(right, target_prefix)) {
      target_side = 1;
    } else {
      continue;
    }
    // The equality bound over the joined row shows the type both sides are compared as.
    auto bound = conjunct.Bind(joined);
    if (!bound.ok()) {
      return arrow::Status::Invalid("MERGE ON: ", bound.status().message());
    }
    const auto& bound_call = *bound->call();
    JoinKey key;
    key.type = bound_call.arguments[0].type()->GetSharedPtr();
    // Dictionary indexes differ between arrays: hash the values.
    if (key.type->id() == arrow::Type::DICTIONARY) {
      key.type = static_cast<const arrow::DictionaryType&>(*key.type).value_type();
    }
    const compute::Expression& target_expression = call->arguments[target_side];
    const compute::Expression& source_expression = call->arguments[1 - target_side];
    ARROW_ASSIGN_OR_RAISE(key.target, BindAs(target_expression, target, key.type));
    ARROW_ASSIGN_OR_RAISE(key.source, BindAs(source_expression, source, key.type));
    key.target_column = ColumnOf(target_expression);
    keys.push_back(std::move(key));
  }
  if (keys.empty()) {
    return arrow::Status::NotImplemented(
        "MERGE ON '", spec.on_text.empty() ? spec.on.ToString() : spec.on_text,
        "' has no equality between a target expression and a source expression (such as "
        "t.id = s.id); MERGE joins on those equalities and does not run other joins");
  }
  return keys;
}

arrow::Result<std::shared_ptr<arrow::Array>> Evaluate(const compute::Expression& bound,
                                                      const arrow::RecordBatch& batch) {
  ARROW_ASSIGN_OR_RAISE(arrow::Datum value,
                        compute::ExecuteScalarExpression(bound, compute::ExecBatch(batch)));
  if (value.is_scalar()) return arrow::MakeArrayFromScalar(*value.scalar(), batch.num_rows());
  return value.make_array();
}

// Row i's key values as bytes; false when one of them is null (a null key matches nothing).
class KeyEncoder {
 public:
  explicit KeyEncoder(std::vector<std::shared_ptr<arrow::Array>> columns)
      : columns_(std::move(columns)) {}

  bool Encode(int64_t row, std::string* out) const {
    out->clear();
    for (const auto& column : columns_) {
      if (column->IsNull(row)) return false;
      const arrow::DataType& type = *column->type();
      if (arrow::is_base_binary_like(type.id())) {
        std::string_view view =
            type.id() == arrow::Type::LARGE_STRING || type.id() == arrow::Type::LARGE_BINARY
                ? static_cast<const arrow::LargeBinaryArray&>(*column).GetView(row)
                : static_cast<const arrow::BinaryArray&>(*column).GetView(row);
        AppendLength(view.size(), out);
        out->append(view);
      } else if (type.id() == arrow::Type::BOOL) {
        out->push_back(static_cast<const arrow::BooleanArray&>(*column).Value(row) ? 1 : 0);
      } else if (type.id() == arrow::Type::DOUBLE || type.id() == arrow::Type::FLOAT) {
        double value = type.id() == arrow::Type::DOUBLE
                           ? static_cast<const arrow::DoubleArray&>(*column).Value(row)
                           : static_cast<const arrow::FloatArray&>(*column).Value(row);
        if (value == 0) value = 0;  // -0.0 equals 0.0
        out->append(reinterpret_cast<const char*>(&value), sizeof(value));
      } else if (arrow::is_fixed_width(type.id())) {
        const int width = type.byte_width();
        const uint8_t* values = column->data()->GetValues<uint8_t>(1, 0);
        out->append(reinterpret_cast<const char*>(values + (column->offset() + row) * width),
                    static_cast<size_t>(width));
      } else {
        auto scalar = column->GetScalar(row);
        std::string text = scalar.ok() ? (*scalar)->ToString() : "";
        AppendLength(text.size(), out);
        out->append(text);
      }
    }
    return true;
  }

 private:
  static void AppendLength(size_t length, std::string* out) {
    uint64_t value = length;
    out->append(reinterpret_cast<const char*>(&value), sizeof(value));
  }
  std::vector<std::shared_ptr<arrow::Array>> columns_;
};

// The source rows by key: chains of row indexes.
class SourceIndex {
 public:
  arrow::Status Build(const std::vector<JoinKey>& keys, const arrow::RecordBatch& source) {
    std::vector<std::shared_ptr<arrow::Array>> columns;
    for (const JoinKey& key : keys) {
      auto column = Evaluate(key.source, source);
      if (!column.ok()) {
        return arrow::Status::Invalid("MERGE ON: computing the source's key failed: ",
                                      column.status().message());
      }
      columns.push_back(std::move(*column));
    }
    key_columns_ = columns;
    KeyEncoder encoder(std::move(columns));
    next_.assign(static_cast<size_t>(source.num_rows()), -1);
    heads_.reserve(static_cast<size_t>(source.num_rows()));
    std::string key;
    // Backwards, so that each chain lists rows in source order.
    for (int64_t row = source.num_rows() - 1; row >= 0; --row) {
      if (!encoder.Encode(row, &key)) continue;
      auto [it, inserted] = heads_.try_emplace(key, row);
      if (!inserted) {
        next_[static_cast<size_t>(row)] = it->second;
        it->second = row;
      }
    }
    return arrow::Status::OK();
  }

  int64_t First(const std::string& key) const {
    auto it = heads_.find(key);
    return it == heads_.end() ? -1 : it->second;
  }
  int64_t Next(int64_t row) const { return next_[static_cast<size_t>(row)]; }
  bool empty() const { return heads_.empty(); }
  const std::vector<std::shared_ptr<arrow::Array>>& key_columns() const { return key_columns_; }

 private:
  std::unordered_map<std::string, int64_t> heads_;
  std::vector<int64_t> next_;
  std::vector<std::shared_ptr<arrow::Array>> key_columns_;
};

// `column >= min AND column <= max` over the target's logical columns, from the source's
// non-null key values, for each key on a target column; nullopt when no key allows it.
// Sets `no_keys` when the source has no non-null key at all.
arrow::Result<std::optional<compute::Expression>> SourceKeyRange(const std::vector<JoinKey>& keys,
                                                                 const SourceIndex& index,
                                                                 const arrow::Schema& target,
                                                                 bool* no_keys) {
  *no_keys = index.empty();
  std::vector<compute::Expression> bounds;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!keys[i].target_column) continue;
    auto field = target.GetFieldByName(*keys[i].target_column);
    if (field == nullptr) continue;
    const auto& values = index.key_columns()[i];
    if (values->length() == values->null_count()) continue;
    auto type_id = field->type()->id();
    if (!arrow::is_integer(type_id) && !arrow::is_floating(type_id) && !arrow::is_string(type_id) &&
        !arrow::is_temporal(type_id) && !arrow::is_decimal(type_id)) {
      continue;
    }
    auto min_max = compute::MinMax(values, compute::ScalarAggregateOptions(/*skip_nulls=*/true));
    if (!min_max.ok()) continue;
    const auto& pair = static_cast<const arrow::StructScalar&>(*min_max->scalar());
    auto min = pair.value[0]->CastTo(field->type());
    auto max = pair.value[1]->CastTo(field->type());
    if (!min.ok() || !max.ok() || !(*min)->is_valid || !(*max)->is_valid) continue;
    // A cast that changed a value (a wider key type) cannot bound the column exactly.
    auto min_back = (*min)->CastTo(keys[i].type);
    auto max_back = (*max)->CastTo(keys[i].type);
    if (!min_back.ok() || !max_back.ok() || !(*min_back)->Equals(*pair.value[0]) ||
        !(*max_back)->Equals(*pair.value[1])) {
      continue;
    }
    compute::Expression column = compute::field_ref(*keys[i].target_column);
    bounds.push_back(compute::and_(compute::greater_equal(column, compute::literal(*min)),
                                   compute::less_equal(column, compute::literal(*max))));
  }
  if (bounds.empty()) return std::nullopt;
  return compute::and_(std::move(bounds));
}

// `expression` over the target's logical columns, when it reads only target fields and is
// built of field references, literals and calls.
std::optional<compute::Expression> OverTargetColumns(const compute::Expression& expression) {
  if (const arrow::FieldRef* reference = expression.field_ref()) {
    const std::string prefix = TargetField("");
    const std::string* name = reference->name();
    if (name == nullptr || name->compare(0, prefix.size(), prefix) != 0) return std::nullopt;
    return compute::field_ref(name->substr(prefix.size()));
  }
  if (expression.literal() != nullptr) return expression;
  if (const compute::Expression::Call* call = expression.call()) {
    std::vector<compute::Expression> arguments;
    for (const compute::Expression& argument : call->arguments) {
      std::optional<compute::Expression> rewritten = OverTargetColumns(argument);
      if (!rewritten) return std::nullopt;
      arguments.push_back(std::move(*rewritten));
    }
    return compute::call(call->function_name, std::move(arguments), call->options);
  }
  return std::nullopt;
}

// The conjuncts of ON that read the target only (t.region = 'eu'): a target row failing one
// matches no source row, so they prune target files like the key range.
std::optional<compute::Expression> TargetOnlyConditions(const compute::Expression& on) {
  std::vector<compute::Expression> conjuncts;
  Conjuncts(on, &conjuncts);
  std::vector<compute::Expression> kept;
  for (const compute::Expression& conjunct : conjuncts) {
    if (!AllWithPrefix(FieldNames(conjunct), TargetField(""))) continue;
    if (std::optional<compute::Expression> logical = OverTargetColumns(conjunct)) {
      kept.push_back(std::move(*logical));
    }
  }
  if (kept.empty()) return std::nullopt;
  return compute::and_(std::move(kept));
}

// One clause, bound: its condition, and for UPDATE and INSERT the value of every target column
// over the joined row.
struct BoundClause {
  const MergeClause* clause = nullptr;
  std::optional<compute::Expression> condition;
  std::vector<compute::Expression> values;  // one per target column, cast to its type
};

std::string ClauseName(const MergeClause& clause) {
  std::string name = KindName(clause.kind);
  if (!clause.condition_text.empty()) name += " AND " + clause.condition_text;
  return name + " THEN " +
         (clause.action == MergeAction::kUpdate   ? "UPDATE"
          : clause.action == MergeAction::kDelete ? "DELETE"
                                                  : "INSERT");
}

// The source column `name` is matched exactly, else case-insensitively (as Spark resolves it).
std::optional<std::string> SourceColumn(const arrow::Schema& source, const std::string& name) {
  if (source.GetFieldIndex(name) >= 0) return name;
  std::optional<std::string> found;
  for (const auto& field : source.fields()) {
    if (field->name().size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < name.size() && same; ++i) {
      same = std::tolower(static_cast<unsigned char>(name[i])) ==
             std::tolower(static_cast<unsigned char>(field->name()[i]));
    }
    if (same) found = field->name();
  }
  return found;
}

arrow::Result<compute::Expression> BindValue(const compute::Expression& value,
                                             const arrow::Schema& joined,
                                             const arrow::Field& column,
                                             const std::string& clause_name) {
  auto bound = value.Bind(joined);
  if (!bound.ok()) {
    return arrow::Status::Invalid("MERGE ", clause_name, ": cannot compute '", column.name(),
                                  "': ", bound.status().message());
  }
  if (bound->type()->Equals(*column.type())) return std::move(*bound);
  auto cast =
      compute::call("cast", {value}, compute::CastOptions::Safe(column.type())).Bind(joined);
  if (!cast.ok()) {
    return arrow::Status::Invalid("MERGE ", clause_name, ": a ", bound->type()->ToString(),
                                  " value cannot be stored in column '", column.name(),
                                  "' of type ", column.type()->ToString());
  }
  return std::move(*cast);
}

arrow::Result<BoundClause> BindClause(const MergeClause& clause, const arrow::Schema& joined,
                                      const arrow::Schema& target, const arrow::Schema& source) {
  BoundClause bound;
  bound.clause = &clause;
  const std::string name = ClauseName(clause);
  if (clause.condition) {
    auto condition = clause.condition->Bind(joined);
    if (!condition.ok()) {
      return arrow::Status::Invalid("MERGE ", name, ": ", condition.status().message());
    }
    if (condition->type()->id() != arrow::Type::BOOL) {
      return arrow::Status::Invalid("MERGE ", name, ": the condition is a ",
                                    condition->type()->ToString(), ", not a boolean");
    }
    bound.condition = std::move(*condition);
  }
  if (clause.action == MergeAction::kDelete) return bound;

  std::vector<std::optional<compute::Expression>> assigned(target.num_fields());
  for (const Assignment& assignment : clause.assignments) {
    const int index = target.GetFieldIndex(assignment.column);
    if (index < 0) {
      std::string names;
      for (const auto& field : target.fields()) {
        names += (names.empty() ? "" : ", ") + field->name();
      }
      return arrow::Status::KeyError("MERGE ", name, ": unknown target column '", assignment.column,
                                     "' (columns: ", names, ")");
    }
    if (assigned[index]) {
      return arrow::Status::Invalid("MERGE ", name, ": column '", assignment.column,
                                    "' is assigned twice");
    }
    ARROW_ASSIGN_OR_RAISE(assigned[index],
                          BindValue(assignment.value, joined, *target.field(index), name));
  }
  for (int i = 0; i < target.num_fields(); ++i) {
    const auto& field = target.field(i);
    if (assigned[i]) {
      bound.values.push_back(std::move(*assigned[i]));
    } else if (clause.all_columns) {
      std::optional<std::string> column = SourceColumn(source, field->name());
      if (!column) {
        return arrow::Status::Invalid("MERGE ", name, " *: the source has no column '",
                                      field->name(), "' for the target column of that name");
      }
      ARROW_ASSIGN_OR_RAISE(
          auto value, BindValue(compute::field_ref(SourceField(*column)), joined, *field, name));
      bound.values.push_back(std::move(value));
    } else if (clause.action == MergeAction::kUpdate) {
      ARROW_ASSIGN_OR_RAISE(auto value,
                            compute::field_ref(TargetField(field->name())).Bind(joined));
      bound.values.push_back(std::move(value));
    } else {
      if (!field->nullable()) {
        return arrow::Status::Invalid("MERGE ", name, ": column '", field->name(),
                                      "' is NOT NULL and the INSERT gives it no value");
      }
      ARROW_ASSIGN_OR_RAISE(auto value,
                            compute::literal(arrow::MakeNullScalar(field->type())).Bind(joined));
      bound.values.push_back(std::move(value));
    }
  }
  return bound;
}

// A joined batch: the target's rows at `target_rows` (null when -1) beside the source's rows
// at `source_rows` (null when -1), both as long as the other.
arrow::Result<std::shared_ptr<arrow::RecordBatch>> Join(
    const std::shared_ptr<arrow::Schema>& joined, const std::shared_ptr<arrow::RecordBatch>& target,
    const std::vector<int64_t>& target_rows, int target_fields,
    const std::shared_ptr<arrow::RecordBatch>& source, const std::vector<int64_t>& source_rows) {
  const int64_t length = static_cast<int64_t>(std::max(target_rows.size(), source_rows.size()));
  arrow::ArrayVector columns;
  auto take = [&](const std::shared_ptr<arrow::RecordBatch>& batch,
                  const std::vector<int64_t>& rows) -> arrow::Status {
    arrow::Int64Builder indexes;
    ARROW_RETURN_NOT_OK(indexes.Reserve(length));
    for (int64_t row : rows) {
      if (row < 0) {
        indexes.UnsafeAppendNull();
      } else {
        indexes.UnsafeAppend(row);
      }
    }
    ARROW_ASSIGN_OR_RAISE(auto index_array, indexes.Finish());
    ARROW_ASSIGN_OR_RAISE(arrow::Datum taken, compute::Take(batch, index_array));
    for (const auto& column : taken.record_batch()->columns()) columns.push_back(column);
    return arrow::Status::OK();
  };
  if (target != nullptr) {
    ARROW_RETURN_NOT_OK(take(target, target_rows));
  } else {
    for (int i = 0; i < target_fields; ++i) {
      ARROW_ASSIGN_OR_RAISE(auto nulls, arrow::MakeArrayOfNull(joined->field(i)->type(), length));
      columns.push_back(std::move(nulls));
    }
  }
  if (source != nullptr) {
    ARROW_RETURN_NOT_OK(take(source, source_rows));
  } else {
    for (int i = target_fields; i < joined->num_fields(); ++i) {
      ARROW_ASSIGN_OR_RAISE(auto nulls, arrow::MakeArrayOfNull(joined->field(i)->type(), length));
      columns.push_back(std::move(nulls));
    }
  }
  return arrow::RecordBatch::Make(joined, length, std::move(columns));
}

bool IsTrue(const arrow::BooleanArray& mask, int64_t row) {
  return mask.IsValid(row) && mask.Value(row);
}

// For each row of `rows`, the index in `clauses` of the first clause whose condition holds,
// or -1.
arrow::Result<std::vector<int>> ChooseClauses(const std::vector<BoundClause>& clauses,
                                              const arrow::RecordBatch& rows) {
  std::vector<int> chosen(static_cast<size_t>(rows.num_rows()), -1);
  int64_t open = rows.num_rows();
  for (size_t c = 0; c < clauses.size() && open > 0; ++c) {
    if (!clauses[c].condition) {
      for (int& choice : chosen) {
        if (choice < 0) choice = static_cast<int>(c);
      }
      break;
    }
    auto mask = Evaluate(*clauses[c].condition, rows);
    if (!mask.ok()) {
      return arrow::Status::Invalid("MERGE ", ClauseName(*clauses[c].clause),
                                    ": evaluating the condition failed: ", mask.status().message());
    }
    const auto& booleans = static_cast<const arrow::BooleanArray&>(**mask);
    for (int64_t row = 0; row < rows.num_rows(); ++row) {
      if (chosen[row] < 0 && IsTrue(booleans, row)) {
        chosen[row] = static_cast<int>(c);
        --open;
      }
    }
  }
  return chosen;
}

// The new target rows a clause makes of the joined rows `rows`.
arrow::Result<std::shared_ptr<arrow::Table>> ComputeRows(
    const BoundClause& clause, const arrow::RecordBatch& rows,
    const std::shared_ptr<arrow::Schema>& target) {
  arrow::ArrayVector columns;
  for (int i = 0; i < target->num_fields(); ++i) {
    const auto& field = target->field(i);
    auto value = Evaluate(clause.values[i], rows);
    if (!value.ok()) {
      return arrow::Status::Invalid("MERGE ", ClauseName(*clause.clause), ": computing column '",
                                    field->name(), "' failed: ", value.status().message(),
                                    " (nothing was changed)");
    }
    if (!field->nullable() && (*value)->null_count() > 0) {
      return arrow::Status::Invalid("MERGE ", ClauseName(*clause.clause), ": column '",
                                    field->name(),
                                    "' is NOT NULL but would be set to null (nothing was changed)");
    }
    columns.push_back(std::move(*value));
  }
  return arrow::Table::Make(target, std::move(columns), rows.num_rows());
}

std::string ClausesJson(const MergeSpec& spec, MergeClauseKind kind) {
  std::string json = "[";
  for (const MergeClause& clause : spec.clauses) {
    if (clause.kind != kind) continue;
    if (json.size() > 1) json += ",";
    json += "{";
    if (clause.condition) {
      json += "\"predicate\":";
      AppendJsonString(&json, clause.condition_text.empty() ? clause.condition->ToString()
                                                            : clause.condition_text);
      json += ",";
    }
    json += "\"actionType\":";
    AppendJsonString(&json, ActionName(clause.action));
    json += "}";
  }
  return json + "]";
}

StringMap MergeMetrics(const MergeResult& result, int64_t execution_ms, int64_t scan_ms,
                       int64_t rewrite_ms, int64_t source_ms) {
  auto n = [](int64_t value) { return std::to_string(value); };
  return {
      {"numSourceRows", n(result.source_rows)},
      {"numTargetRowsInserted", n(result.rows_inserted)},
      {"numTargetRowsUpdated", n(result.rows_updated)},
      {"numTargetRowsMatchedUpdated", n(result.rows_matched_updated)},
      {"numTargetRowsNotMatchedBySourceUpdated", n(result.rows_not_matched_by_source_updated)},
      {"numTargetRowsDeleted", n(result.rows_deleted)},
      {"numTargetRowsMatchedDeleted", n(result.rows_matched_deleted)},
      {"numTargetRowsNotMatchedBySourceDeleted", n(result.rows_not_matched_by_source_deleted)},
      {"numTargetRowsCopied", n(result.rows_copied)},
      {"numOutputRows", n(result.rows_inserted + result.rows_updated + result.rows_copied)},
      {"numTargetFilesAdded", n(result.files_added)},
      {"numTargetFilesRemoved", n(result.files_removed)},
      {"numTargetChangeFilesAdded", "0"},
      {"numTargetDeletionVectorsAdded", n(result.deletion_vectors_added)},
      {"numTargetDeletionVectorsUpdated", n(result.deletion_vectors_updated)},
      {"numTargetDeletionVectorsRemoved", n(result.deletion_vectors_removed)},
      {"numTargetBytesAdded", n(result.bytes_added)},
      {"numTargetBytesRemoved", n(result.bytes_removed)},
      {"executionTimeMs", n(execution_ms)},
      {"scanTimeMs", n(scan_ms)},
      {"rewriteTimeMs", n(rewrite_ms)},
      {"materializeSourceTimeMs", n(source_ms)},
  };
}

// Everything bound once for the whole merge.
struct Plan {
  std::shared_ptr<arrow::Schema> target;           // logical
  std::shared_ptr<arrow::Schema> target_prefixed;  // target.<column>
  std::shared_ptr<arrow::Schema> joined;
  compute::Expression on;  // bound to `joined`
  std::vector<JoinKey> keys;
  std::vector<BoundClause> matched;
  std::vector<BoundClause> not_matched;
  std::vector<BoundClause> not_matched_by_source;
  // Several source rows may match one target row only when the one MATCHED clause is an
  // unconditional DELETE (Spark's rule).
  bool multiple_matches_allowed = false;
};

arrow::Result<Plan> BindPlan(const MergeSpec& spec, const std::shared_ptr<arrow::Schema>& target,
                             const arrow::Schema& source_schema,
                             const std::shared_ptr<arrow::Schema>& source_prefixed) {
  Plan plan;
  plan.target = target;
  plan.target_prefixed = Prefixed(*target, true);
  arrow::FieldVector fields = plan.target_prefixed->fields();
  for (const auto& field : source_prefixed->fields()) fields.push_back(field);
  plan.joined = arrow::schema(std::move(fields));
  auto on = spec.on.Bind(*plan.joined);
  if (!on.ok()) return arrow::Status::Invalid("MERGE ON: ", on.status().message());
  if (on->type()->id() != arrow::Type::BOOL) {
    return arrow::Status::Invalid("MERGE ON: the condition is a ", on->type()->ToString(),
                                  ", not a boolean");
  }
  plan.on = std::move(*on);
  ARROW_ASSIGN_OR_RAISE(plan.keys,
                        ExtractKeys(spec, *plan.joined, *plan.target_prefixed, *source_prefixed));
  for (const MergeClause& clause : spec.clauses) {
    ARROW_ASSIGN_OR_RAISE(BoundClause bound,
                          BindClause(clause, *plan.joined, *target, source_schema));
    switch (clause.kind) {
      case MergeClauseKind::kMatched:
        plan.matched.push_back(std::move(bound));
        break;
      case MergeClauseKind::kNotMatched:
        plan.not_matched.push_back(std::move(bound));
        break;
      case MergeClauseKind::kNotMatchedBySource:
        plan.not_matched_by_source.push_back(std::move(bound));
        break;
    }
  }
  plan.multiple_matches_allowed = plan.matched.size() == 1 &&
                                  plan.matched[0].clause->action == MergeAction::kDelete &&
                                  !plan.matched[0].condition;
  return plan;
}

// A file's rows as the table's logical columns, in schema order and of the schema's types,
// named target.<column>.
arrow::Result<std::shared_ptr<arrow::RecordBatch>> AsTargetRows(const arrow::RecordBatch& rows,
                                                                const Plan& plan,
                                                                const std::string& path) {
  arrow::ArrayVector columns;
  for (const auto& field : plan.target->fields()) {
    std::shared_ptr<arrow::Array> column = rows.GetColumnByName(field->name());
    if (column == nullptr) {
      return arrow::Status::Invalid("MERGE: file ", path, " was read without column '",
                                    field->name(), "'");
    }
    if (!column->type()->Equals(*field->type())) {
      ARROW_ASSIGN_OR_RAISE(column, compute::Cast(*column, field->type()));
    }
    columns.push_back(std::move(column));
  }
  return arrow::RecordBatch::Make(plan.target_prefixed, rows.num_rows(), std::move(columns));
}

// What a target file's rows become.
struct FileOutcome {
  std::vector<uint64_t> dropped;  // physical rows updated or deleted
  std::vector<uint64_t> deleted;  // those of them deleted
  std::vector<std::shared_ptr<arrow::Table>> written;
};

// Applies `clauses` to the joined rows `rows` whose target rows are `physical`; counts into
// `updated` / `deleted`.
arrow::Status ApplyClauses(const std::vector<BoundClause>& clauses,
                           const std::shared_ptr<arrow::RecordBatch>& batch,
                           const std::vector<int64_t>& physical,
                           const std::shared_ptr<arrow::Schema>& target, FileOutcome* outcome,
                           int64_t* updated, int64_t* deleted) {
  const arrow::RecordBatch& rows = *batch;
  if (rows.num_rows() == 0 || clauses.empty()) return arrow::Status::OK();
  ARROW_ASSIGN_OR_RAISE(std::vector<int> chosen, ChooseClauses(clauses, rows));
  for (size_t c = 0; c < clauses.size(); ++c) {
    arrow::Int64Builder picked;
    for (int64_t row = 0; row < rows.num_rows(); ++row) {
      if (chosen[row] != static_cast<int>(c)) continue;
      ARROW_RETURN_NOT_OK(picked.Append(row));
      outcome->dropped.push_back(static_cast<uint64_t>(physical[row]));
    }
    if (picked.length() == 0) continue;
    if (clauses[c].clause->action == MergeAction::kDelete) {
      *deleted += picked.length();
      for (int64_t row = 0; row < rows.num_rows(); ++row) {
        if (chosen[row] == static_cast<int>(c)) {
          outcome->deleted.push_back(static_cast<uint64_t>(physical[row]));
        }
      }
      continue;
    }
    *updated += picked.length();
    ARROW_ASSIGN_OR_RAISE(auto indexes, picked.Finish());
    ARROW_ASSIGN_OR_RAISE(arrow::Datum subset, compute::Take(batch, indexes));
    ARROW_ASSIGN_OR_RAISE(auto computed, ComputeRows(clauses[c], *subset.record_batch(), target));
    outcome->written.push_back(std::move(computed));
  }
  return arrow::Status::OK();
}

}  // namespace

arrow::Result<MergeResult> MergeRows(const std::shared_ptr<DeltaLog>& log,
                                     const std::shared_ptr<storage::ObjectStore>& store,
                                     const std::shared_ptr<arrow::RecordBatchReader>& source,
                                     const MergeSpec& spec, const DmlOptions& options) {
  const auto started = Clock::now();
  if (source == nullptr) return arrow::Status::Invalid("MERGE needs a source");
  ARROW_RETURN_NOT_OK(CheckClauses(spec));
  ARROW_ASSIGN_OR_RAISE(internal::Target target, internal::OpenTarget(*log, options, "MERGE"));
  const Metadata& metadata = target.snapshot->metadata();

  // The source, materialized once: the join probes it for every target file.
  ARROW_ASSIGN_OR_RAISE(auto source_table, arrow::Table::FromRecordBatchReader(source.get()));
  ARROW_ASSIGN_OR_RAISE(auto source_rows, source_table->CombineChunksToBatch());
  auto source_prefixed = Prefixed(*source_rows->schema(), false);
  ARROW_ASSIGN_OR_RAISE(source_rows, source_rows->ReplaceSchema(source_prefixed));
  const int64_t source_ms = MillisSince(started);

  ARROW_ASSIGN_OR_RAISE(Plan plan,
                        BindPlan(spec, target.schema, *source_table->schema(), source_prefixed));
  SourceIndex index;
  ARROW_RETURN_NOT_OK(index.Build(plan.keys, *source_rows));

  // Which target files to read: all with a NOT MATCHED BY SOURCE clause, else those the
  // source's key range and the ON condition's target-only conjuncts may touch.
  const bool by_source = !plan.not_matched_by_source.empty();
  std::optional<compute::Expression> range;
  bool no_keys = false;
  ARROW_ASSIGN_OR_RAISE(range, SourceKeyRange(plan.keys, index, *target.schema, &no_keys));
  if (std::optional<compute::Expression> conditions = TargetOnlyConditions(spec.on)) {
    range = range ? compute::and_(*range, *conditions) : *conditions;
  }
  TargetFiles files;
  if (by_source) {
    range.reset();
    ARROW_ASSIGN_OR_RAISE(files, PlanTargetFiles(store, metadata, target.snapshot->files(), {}));
  } else if (no_keys) {
    files.files_total = static_cast<int64_t>(target.snapshot->files().size());
    files.files_skipped_by_stats = files.files_total;
  } else {
    ARROW_ASSIGN_OR_RAISE(files, PlanTargetFiles(store, metadata, target.snapshot->files(), range));
  }

  MergeResult result;
  result.version = target.snapshot->version();
  result.used_deletion_vectors = target.deletion_vectors;
  result.source_rows = source_rows->num_rows();
  result.files_total = files.files_total;
  result.files_pruned_by_partition = files.files_pruned_by_partition;
  result.files_skipped_by_stats = files.files_skipped_by_stats;

  RowChangeWriter writer(store, metadata, target.deletion_vectors, options, internal::NowMillis());
  std::vector<bool> source_matched(static_cast<size_t>(source_rows->num_rows()), false);
  int64_t scan_ms = 0;
  std::string key;
  // The next file is read while this one is joined and written.
  auto read_file = [&store, &metadata](const AddFile& file) {
    return ReadFileRows(store, metadata, file, {});
  };
  std::future<arrow::Result<FileRows>> next_read;
  if (!files.files.empty()) {
    next_read = std::async(std::launch::async, read_file, files.files[0].file);
  }
  for (size_t file_index = 0; file_index < files.files.size(); ++file_index) {
    const TargetFile& candidate = files.files[file_index];
    const auto scan_started = Clock::now();
    arrow::Result<FileRows> read = next_read.get();
    if (file_index + 1 < files.files.size()) {
      next_read = std::async(std::launch::async, read_file, files.files[file_index + 1].file);
    }
    ARROW_ASSIGN_OR_RAISE(FileRows file_rows, std::move(read));
    ++result.files_opened;
    ARROW_ASSIGN_OR_RAISE(auto rows, file_rows.rows->CombineChunksToBatch());
    ARROW_ASSIGN_OR_RAISE(rows, AsTargetRows(*rows, plan, candidate.file.path));

    // Candidate pairs by key, then the whole ON condition on them.
    std::vector<std::shared_ptr<arrow::Array>> key_columns;
    for (const JoinKey& join_key : plan.keys) {
      auto column = Evaluate(join_key.target, *rows);
      if (!column.ok()) {
        return arrow::Status::Invalid("MERGE ON: computing the target's key failed: ",
                                      column.status().message());
      }
      key_columns.push_back(std::move(*column));
    }
    KeyEncoder encoder(std::move(key_columns));
    std::vector<int64_t> pair_target;
    std::vector<int64_t> pair_source;
    for (int64_t row = 0; row < rows->num_rows(); ++row) {
      if (file_rows.deleted.Contains(static_cast<uint64_t>(row))) continue;
      if (!encoder.Encode(row, &key)) continue;
      for (int64_t match = index.First(key); match >= 0; match = index.Next(match)) {
        pair_target.push_back(row);
        pair_source.push_back(match);
      }
    }
    std::vector<int64_t> matched_target;
    std::vector<int64_t> matched_source;
    if (!pair_target.empty()) {
      ARROW_ASSIGN_OR_RAISE(auto pairs,
                            Join(plan.joined, rows, pair_target, plan.target_prefixed->num_fields(),
                                 source_rows, pair_source));
      auto on = Evaluate(plan.on, *pairs);
      if (!on.ok()) {
        return arrow::Status::Invalid("MERGE ON: evaluating the condition failed: ",
                                      on.status().message());
      }
      const auto& mask = static_cast<const arrow::BooleanArray&>(**on);
      for (int64_t i = 0; i < pairs->num_rows(); ++i) {
        if (!IsTrue(mask, i)) continue;
        source_matched[static_cast<size_t>(pair_source[i])] = true;
        // Pairs come grouped by target row.
        if (!matched_target.empty() && matched_target.back() == pair_target[i]) {
          if (!plan.matched.empty() && !plan.multiple_matches_allowed) {
            return arrow::Status::Invalid(
                "MERGE: a target row (file ", candidate.file.path, ", row ", pair_target[i],
                ") is matched by more than one source row (source rows ", matched_source.back(),
                " and ", pair_source[i],
                "); a MATCHED clause could change it in conflicting ways. Make the source "
                "unique on the ON keys (nothing was changed)");
          }
          continue;
        }
        matched_target.push_back(pair_target[i]);
        matched_source.push_back(pair_source[i]);
      }
    }
    scan_ms += MillisSince(scan_started);

    FileOutcome outcome;
    if (!plan.matched.empty() && !matched_target.empty()) {
      ARROW_ASSIGN_OR_RAISE(
          auto joined, Join(plan.joined, rows, matched_target, plan.target_prefixed->num_fields(),
                            source_rows, matched_source));
      ARROW_RETURN_NOT_OK(ApplyClauses(plan.matched, joined, matched_target, plan.target, &outcome,
                                       &result.rows_matched_updated, &result.rows_matched_deleted));
    }
    if (by_source) {
      std::vector<int64_t> unmatched;
      size_t next = 0;
      for (int64_t row = 0; row < rows->num_rows(); ++row) {
        if (next < matched_target.size() && matched_target[next] == row) {
          ++next;
          continue;
        }
        if (!file_rows.deleted.Contains(static_cast<uint64_t>(row))) unmatched.push_back(row);
      }
      if (!unmatched.empty()) {
        ARROW_ASSIGN_OR_RAISE(auto joined,
                              Join(plan.joined, rows, unmatched, plan.target_prefixed->num_fields(),
                                   nullptr, unmatched));
        ARROW_RETURN_NOT_OK(ApplyClauses(plan.not_matched_by_source, joined, unmatched, plan.target,
                                         &outcome, &result.rows_not_matched_by_source_updated,
                                         &result.rows_not_matched_by_source_deleted));
      }
    }
    if (outcome.dropped.empty()) continue;
    std::sort(outcome.dropped.begin(), outcome.dropped.end());
    if (writer.records_changes()) {
      // The change data feed tells updated rows (pre- and post-images) from deleted ones.
      std::sort(outcome.deleted.begin(), outcome.deleted.end());
      std::vector<uint64_t> updated_rows;
      std::set_difference(outcome.dropped.begin(), outcome.dropped.end(), outcome.deleted.begin(),
                          outcome.deleted.end(), std::back_inserter(updated_rows));
      ARROW_RETURN_NOT_OK(writer.RecordRows(file_rows, updated_rows, "update_preimage"));
      ARROW_RETURN_NOT_OK(writer.RecordRows(file_rows, outcome.deleted, "delete"));
    }
    ARROW_RETURN_NOT_OK(writer.DropRows(candidate.file, file_rows, outcome.dropped, nullptr));
    for (const auto& written : outcome.written) {
      ARROW_RETURN_NOT_OK(writer.WriteRows(*written, "update_postimage"));
    }
  }

  // Source rows no target row matched.
  if (!plan.not_matched.empty()) {
    std::vector<int64_t> unmatched;
    for (int64_t row = 0; row < source_rows->num_rows(); ++row) {
      if (!source_matched[static_cast<size_t>(row)]) unmatched.push_back(row);
    }
    if (!unmatched.empty()) {
      ARROW_ASSIGN_OR_RAISE(
          auto joined, Join(plan.joined, nullptr, unmatched, plan.target_prefixed->num_fields(),
                            source_rows, unmatched));
      ARROW_ASSIGN_OR_RAISE(std::vector<int> chosen, ChooseClauses(plan.not_matched, *joined));
      for (size_t c = 0; c < plan.not_matched.size(); ++c) {
        arrow::Int64Builder picked;
        for (int64_t row = 0; row < joined->num_rows(); ++row) {
          if (chosen[row] == static_cast<int>(c)) ARROW_RETURN_NOT_OK(picked.Append(row));
        }
        if (picked.length() == 0) continue;
        result.rows_inserted += picked.length();
        ARROW_ASSIGN_OR_RAISE(auto indexes, picked.Finish());
        ARROW_ASSIGN_OR_RAISE(arrow::Datum subset, compute::Take(joined, indexes));
        ARROW_ASSIGN_OR_RAISE(
            auto inserted, ComputeRows(plan.not_matched[c], *subset.record_batch(), plan.target));
        ARROW_RETURN_NOT_OK(writer.WriteRows(*inserted, "insert"));
      }
    }
  }
  result.rows_updated = result.rows_matched_updated + result.rows_not_matched_by_source_updated;
  result.rows_deleted = result.rows_matched_deleted + result.rows_not_matched_by_source_deleted;

  const auto rewrite_started = Clock::now();
  ARROW_ASSIGN_OR_RAISE(std::vector<Action> actions, writer.Finish());
  const int64_t rewrite_ms = MillisSince(rewrite_started);
  internal::CopyWriterCounts(writer, &result);
  if (actions.empty()) return result;

  auto transaction = log->StartTransaction(target.snapshot);
  ARROW_RETURN_NOT_OK(internal::RegisterReads(*transaction, metadata, range, files));
  std::string predicate = "[";
  AppendJsonString(&predicate, spec.on_text.empty() ? spec.on.ToString() : spec.on_text);
  predicate += "]";
  transaction->SetOperation(
      "MERGE",
      {{"predicate", predicate},
       {"matchedPredicates", ClausesJson(spec, MergeClauseKind::kMatched)},
       {"notMatchedPredicates", ClausesJson(spec, MergeClauseKind::kNotMatched)},
       {"notMatchedBySourcePredicates", ClausesJson(spec, MergeClauseKind::kNotMatchedBySource)}});
  transaction->SetOperationMetrics(
      MergeMetrics(result, MillisSince(started), scan_ms, rewrite_ms, source_ms));
  ARROW_RETURN_NOT_OK(
      internal::CommitChanges(*transaction, writer, std::move(actions), *store, options, &result));
  return result;
}

}  // namespace nlk::delta::dml
