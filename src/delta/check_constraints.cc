#include "delta/check_constraints.h"

#include <arrow/array.h>
#include <arrow/array/util.h>
#include <arrow/compute/api.h>

#include <algorithm>
#include <cctype>

#include "delta/data/scan.h"
#include "delta/data/schema.h"
#include "delta/log/expression_compiler.h"
#include "delta/log/protocol_support.h"
#include "delta/log/table_constraints.h"
#include "delta/log/transaction.h"

namespace nlk::delta {
namespace {

namespace cp = arrow::compute;

arrow::Status CheckName(const std::string& name) {
  const bool valid = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
  if (!valid) {
    return arrow::Status::Invalid("constraint name '", name,
                                  "' must be letters, digits and underscores");
  }
  return arrow::Status::OK();
}

std::string ExistingNames(const Metadata& metadata) {
  std::string names;
  for (const auto& [key, value] : metadata.configuration) {
    if (key.rfind(kConstraintPropertyPrefix, 0) == 0) {
      names += (names.empty() ? "" : ", ") + key.substr(kConstraintPropertyPrefix.size());
    }
  }
  return names.empty() ? "none" : names;
}

// The protocol with checkConstraints supported, as Spark upgrades it.
Protocol WithCheckConstraints(Protocol protocol) {
  if (ProtocolSupportsFeature(protocol, "checkConstraints")) return protocol;
  if (protocol.min_writer_version >= 7) {
    if (!protocol.writer_features) protocol.writer_features.emplace();
    protocol.writer_features->push_back("checkConstraints");
  } else {
    protocol.min_writer_version = 3;
  }
  return protocol;
}

// The number of rows of `snapshot` for which `expression` is false or NULL, and one of them.
struct Violations {
  int64_t rows_checked = 0;
  int64_t count = 0;
  std::string example;
};

arrow::Result<Violations> FindViolations(Table& table,
                                         const std::shared_ptr<const Snapshot>& snapshot,
                                         const std::string& expression) {
  ARROW_ASSIGN_OR_RAISE(auto schema, data::ParseDeltaSchema(snapshot->metadata().schema_string));
  ExpressionCompileOptions options;
  options.predicate = true;
  ARROW_ASSIGN_OR_RAISE(auto compiled, CompileSqlExpression(expression, *schema, options));
  ReadOptions read;
  read.version = snapshot->version();
  std::vector<std::string> columns;
  for (const arrow::FieldRef& ref : cp::FieldsInExpression(compiled)) {
    if (ref.name() != nullptr &&
        std::find(columns.begin(), columns.end(), *ref.name()) == columns.end()) {
      columns.push_back(*ref.name());
    }
  }
  if (columns.empty()) columns.push_back(schema->field(0)->name());
  read.columns = columns;
  ARROW_ASSIGN_OR_RAISE(auto reader, table.Read(read));
  Violations violations;
  std::shared_ptr<cp::Expression> bound;
  while (true) {
    std::shared_ptr<arrow::RecordBatch> batch;
    ARROW_RETURN_NOT_OK(reader->ReadNext(&batch));
    if (batch == nullptr) break;
    if (bound == nullptr) {
      ARROW_ASSIGN_OR_RAISE(auto made, compiled.Bind(*batch->schema()));
      bound = std::make_shared<cp::Expression>(std::move(made));
    }
    ARROW_ASSIGN_OR_RAISE(arrow::Datum result,
                          cp::ExecuteScalarExpression(*bound, cp::ExecBatch(*batch)));
    std::shared_ptr<arrow::Array> outcome;
    if (result.is_scalar()) {
      ARROW_ASSIGN_OR_RAISE(outcome,
                            arrow::MakeArrayFromScalar(*result.scalar(), batch->num_rows()));
    } else {
      outcome = result.make_array();
    }
    const auto& booleans = static_cast<const arrow::BooleanArray&>(*outcome);
    violations.rows_checked += batch->num_rows();
    for (int64_t row = 0; row < booleans.length(); ++row) {
      if (booleans.IsValid(row) && booleans.Value(row)) continue;
      if (violations.count++ == 0) {
        for (int i = 0; i < batch->num_columns(); ++i) {
          const auto& column = batch->column(i);
          std::string value = "NULL";
          if (column->IsValid(row)) {
            ARROW_ASSIGN_OR_RAISE(auto scalar, column->GetScalar(row));
            value = scalar->ToString();
          }
          violations.example +=
              (i == 0 ? "" : ", ") + batch->schema()->field(i)->name() + " = " + value;
        }
      }
    }
  }
  return violations;
}

}  // namespace

arrow::Result<ConstraintChange> AddCheckConstraint(Table& table, const std::string& name,
                                                   const std::string& expression) {
  ARROW_RETURN_NOT_OK(CheckName(name));
  ARROW_ASSIGN_OR_RAISE(auto snapshot, table.log()->Latest());
  ARROW_RETURN_NOT_OK(CheckWriteSupported(snapshot->protocol(), snapshot->metadata()));
  const std::string key = ConstraintPropertyKey(name);
  Metadata metadata = snapshot->metadata();
  if (auto existing = metadata.configuration.find(key); existing != metadata.configuration.end()) {
    return arrow::Status::Invalid("the table already has CHECK constraint ",
                                  key.substr(kConstraintPropertyPrefix.size()), " (",
                                  existing->second, "); drop it first to replace it");
  }
  auto found = FindViolations(table, snapshot, expression);
  if (!found.ok()) {
    return found.status().WithMessage("CHECK constraint ", name, " (", expression,
                                      "): ", found.status().message());
  }
  if (found->count > 0) {
    return arrow::Status::Invalid("CHECK constraint ", name, " (", expression, ") is violated by ",
                                  found->count, " of the ", found->rows_checked,
                                  " existing rows (false or NULL), e.g. the row with ",
                                  found->example, "; the constraint was not added");
  }
  metadata.configuration[key] = expression;
  auto transaction = table.log()->StartTransaction(snapshot);
  transaction->ReadWholeTable();
  Protocol upgraded = WithCheckConstraints(snapshot->protocol());
  const Protocol& current = snapshot->protocol();
  if (upgraded.min_writer_version != current.min_writer_version ||
      upgraded.writer_features != current.writer_features) {
    transaction->UpdateProtocol(upgraded);
  }
  transaction->UpdateMetadata(metadata);
  transaction->SetOperation("ADD CONSTRAINT", {{"name", name}, {"expr", expression}});
  ARROW_ASSIGN_OR_RAISE(CommitResult committed, transaction->Commit());
  ConstraintChange change;
  change.version = committed.version;
  change.rows_checked = found->rows_checked;
  change.expression = expression;
  return change;
}

arrow::Result<ConstraintChange> DropCheckConstraint(Table& table, const std::string& name,
                                                    bool if_exists) {
  ARROW_RETURN_NOT_OK(CheckName(name));
  ARROW_ASSIGN_OR_RAISE(auto snapshot, table.log()->Latest());
  Metadata metadata = snapshot->metadata();
  const std::string key = ConstraintPropertyKey(name);
  auto existing = metadata.configuration.find(key);
  ConstraintChange change;
  if (existing == metadata.configuration.end()) {
    if (if_exists) return change;
    return arrow::Status::KeyError("the table has no CHECK constraint ", name,
                                   " (it has: ", ExistingNames(metadata), ")");
  }
  ARROW_RETURN_NOT_OK(CheckWriteSupported(snapshot->protocol(), snapshot->metadata()));
  change.expression = existing->second;
  metadata.configuration.erase(existing);
  auto transaction = table.log()->StartTransaction(snapshot);
  transaction->UpdateMetadata(metadata);
  transaction->SetOperation("DROP CONSTRAINT", {{"name", name}, {"expr", change.expression}});
  ARROW_ASSIGN_OR_RAISE(CommitResult committed, transaction->Commit());
  change.version = committed.version;
  return change;
}

}  // namespace nlk::delta
