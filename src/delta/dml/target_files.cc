#include "delta/dml/target_files.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <set>

#include "delta/data/column_mapping.h"
#include "delta/data/data_skipping.h"
#include "delta/data/partition_values.h"
#include "delta/data/scan.h"
#include "delta/data/schema.h"

namespace nlk::delta::dml {
namespace {

namespace compute = arrow::compute;

std::string TopLevelName(const arrow::FieldRef& reference) {
  if (const std::string* name = reference.name()) return *name;
  if (const auto* nested = reference.nested_refs(); nested != nullptr && !nested->empty()) {
    return TopLevelName(nested->front());
  }
  return "";
}

bool UsesOnlyPartitionColumns(const compute::Expression& predicate,
                              const std::vector<std::string>& partition_columns) {
  for (const auto& reference : compute::FieldsInExpression(predicate)) {
    const std::string name = TopLevelName(reference);
    if (std::find(partition_columns.begin(), partition_columns.end(), name) ==
        partition_columns.end()) {
      return false;
    }
  }
  return true;
}

}  // namespace

struct PartitionFilter::State {
  std::shared_ptr<arrow::Schema> schema;  // logical partition columns
  std::vector<std::string> physical_names;
  compute::Expression predicate;             // unbound
  std::optional<compute::Expression> bound;  // bound to `schema` when it only uses those columns

  // The partition values of a file as one row of `schema`.
  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Row(const PartitionValues& values) const {
    arrow::ArrayVector columns;
    for (int i = 0; i < schema->num_fields(); ++i) {
      auto it = values.find(physical_names[i]);
      std::optional<std::string> text = it == values.end() ? std::nullopt : it->second;
      ARROW_ASSIGN_OR_RAISE(auto array,
                            data::MakePartitionArray(text, schema->field(i)->type(), 1));
      columns.push_back(std::move(array));
    }
    return arrow::RecordBatch::Make(schema, 1, std::move(columns));
  }
};

arrow::Result<PartitionFilter> PartitionFilter::Make(const Metadata& metadata,
                                                     compute::Expression predicate) {
  auto state = std::make_shared<State>();
  ARROW_ASSIGN_OR_RAISE(auto table_schema, data::ParseDeltaSchema(metadata.schema_string));
  ARROW_ASSIGN_OR_RAISE(auto mode, data::ColumnMappingModeOf(metadata.configuration));
  arrow::FieldVector fields;
  for (const std::string& column : metadata.partition_columns) {
    auto field = table_schema->GetFieldByName(column);
    if (field == nullptr) {
      return arrow::Status::Invalid("partition column '", column, "' is not in the table schema");
    }
    fields.push_back(field);
    ARROW_ASSIGN_OR_RAISE(std::string physical, data::PhysicalName(*field, mode));
    state->physical_names.push_back(std::move(physical));
  }
  state->schema = arrow::schema(std::move(fields));
  state->predicate = predicate;
  if (UsesOnlyPartitionColumns(predicate, metadata.partition_columns)) {
    ARROW_ASSIGN_OR_RAISE(state->bound, predicate.Bind(*state->schema));
  }
  return PartitionFilter(std::move(state));
}

bool PartitionFilter::MightMatch(const PartitionValues& values) const {
  auto row = state_->Row(values);
  if (!row.ok()) return true;  // undecidable: counts as read
  data::FileStatistics bounds;
  bounds.num_records = 1;
  for (int i = 0; i < state_->schema->num_fields(); ++i) {
    auto scalar = (*row)->column(i)->GetScalar(0);
    if (!scalar.ok()) return true;
    data::ColumnStatistics column;
    column.null_count = (*scalar)->is_valid ? 0 : 1;
    if ((*scalar)->is_valid) column.min = column.max = *scalar;
    bounds.columns[{state_->schema->field(i)->name()}] = std::move(column);
  }
  return data::MightMatch(state_->predicate, bounds);
}

arrow::Result<std::optional<bool>> PartitionFilter::Decide(const PartitionValues& values) const {
  if (!state_->bound) return std::nullopt;
  ARROW_ASSIGN_OR_RAISE(auto row, state_->Row(values));
  ARROW_ASSIGN_OR_RAISE(arrow::Datum result,
                        compute::ExecuteScalarExpression(*state_->bound, compute::ExecBatch(*row)));
  std::shared_ptr<arrow::Scalar> value;
  if (result.is_scalar()) {
    value = result.scalar();
  } else {
    ARROW_ASSIGN_OR_RAISE(value, result.make_array()->GetScalar(0));
  }
  return value->is_valid && static_cast<const arrow::BooleanScalar&>(*value).value;
}

arrow::Result<TargetFiles> PlanTargetFiles(
    const std::shared_ptr<storage::ObjectStore>& store, const Metadata& metadata,
    const std::vector<AddFile>& files, const std::optional<arrow::compute::Expression>& predicate) {
  TargetFiles plan;
  plan.files_total = static_cast<int64_t>(files.size());
  if (!predicate) {
    for (const AddFile& file : files) plan.files.push_back({file, true});
    return plan;
  }
  data::ScanBuilder builder(store, metadata, files);
  builder.Filter(*predicate);
  ARROW_ASSIGN_OR_RAISE(auto scan, builder.Build());
  const data::ScanMetrics metrics = scan->metrics();
  plan.files_pruned_by_partition = metrics.files_pruned_by_partition;
  plan.files_skipped_by_stats = metrics.files_skipped_by_stats;

  ARROW_ASSIGN_OR_RAISE(PartitionFilter filter, PartitionFilter::Make(metadata, *predicate));
  for (const AddFile& file : scan->files()) {
    ARROW_ASSIGN_OR_RAISE(std::optional<bool> decided, filter.Decide(file.partition_values));
    if (decided && !*decided) {
      ++plan.files_pruned_by_partition;
      continue;
    }
    plan.files.push_back({file, decided.value_or(false)});
  }
  return plan;
}

arrow::Result<FileRows> ReadFileRows(const std::shared_ptr<storage::ObjectStore>& store,
                                     const Metadata& metadata, const AddFile& file,
                                     const std::vector<std::string>& columns) {
  // Read every physical row: the row indexes are what a deletion vector refers to.
  AddFile whole = file;
  whole.deletion_vector.reset();
  data::ScanBuilder builder(store, metadata, {whole});
  if (!columns.empty()) builder.Select(columns);
  builder.Parallelism(1);
  ARROW_ASSIGN_OR_RAISE(auto scan, builder.Build());
  ARROW_ASSIGN_OR_RAISE(auto batches, scan->ReadFile(0));
  FileRows result;
  ARROW_ASSIGN_OR_RAISE(result.rows, arrow::Table::FromRecordBatches(scan->schema(), batches));
  if (file.deletion_vector) {
    ARROW_ASSIGN_OR_RAISE(result.deleted, data::LoadDeletionVector(*store, *file.deletion_vector));
  }
  return result;
}

arrow::Result<std::vector<uint64_t>> MatchingRows(
    const FileRows& file_rows, const std::optional<arrow::compute::Expression>& predicate) {
  std::vector<uint64_t> matching;
  const arrow::Table& rows = *file_rows.rows;
  if (!predicate) {
    for (int64_t row = 0; row < rows.num_rows(); ++row) {
      if (!file_rows.deleted.Contains(static_cast<uint64_t>(row))) matching.push_back(row);
    }
    return matching;
  }
  ARROW_ASSIGN_OR_RAISE(compute::Expression bound, predicate->Bind(*rows.schema()));
  arrow::TableBatchReader reader(rows);
  uint64_t base = 0;
  std::shared_ptr<arrow::RecordBatch> batch;
  while (true) {
    ARROW_RETURN_NOT_OK(reader.ReadNext(&batch));
    if (batch == nullptr) break;
    ARROW_ASSIGN_OR_RAISE(arrow::Datum result,
                          compute::ExecuteScalarExpression(bound, compute::ExecBatch(*batch)));
    ARROW_ASSIGN_OR_RAISE(auto mask,
                          result.is_scalar()
                              ? arrow::MakeArrayFromScalar(*result.scalar(), batch->num_rows())
                              : arrow::Result<std::shared_ptr<arrow::Array>>(result.make_array()));
    const auto& booleans = static_cast<const arrow::BooleanArray&>(*mask);
    for (int64_t i = 0; i < booleans.length(); ++i) {
      const uint64_t row = base + static_cast<uint64_t>(i);
      if (booleans.IsValid(i) && booleans.Value(i) && !file_rows.deleted.Contains(row)) {
        matching.push_back(row);
      }
    }
    base += static_cast<uint64_t>(batch->num_rows());
  }
  return matching;
}

arrow::Result<std::shared_ptr<arrow::Table>> TakeRows(const arrow::Table& rows,
                                                      const std::vector<uint64_t>& indexes,
                                                      bool complement,
                                                      const data::DeletionVector& deleted) {
  arrow::UInt64Builder builder;
  if (complement) {
    size_t next = 0;
    for (uint64_t row = 0; row < static_cast<uint64_t>(rows.num_rows()); ++row) {
      if (next < indexes.size() && indexes[next] == row) {
        ++next;
        continue;
      }
      if (!deleted.Contains(row)) ARROW_RETURN_NOT_OK(builder.Append(row));
    }
  } else {
    ARROW_RETURN_NOT_OK(builder.AppendValues(indexes));
  }
  ARROW_ASSIGN_OR_RAISE(auto take, builder.Finish());
  ARROW_ASSIGN_OR_RAISE(arrow::Datum taken, compute::Take(arrow::Datum(rows), arrow::Datum(take)));
  return taken.table();
}

}  // namespace nlk::delta::dml
