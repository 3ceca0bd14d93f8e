#include "delta/dml/row_level_operation.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "common/json_writer.h"
#include "delta/data/schema.h"
#include "delta/dml/row_change_writer.h"
#include "delta/dml/row_level_internal.h"
#include "delta/dml/target_files.h"
#include "delta/log/protocol_support.h"
#include "delta/log/table_constraints.h"
#include "delta/log/table_properties.h"
#include "delta/log/transaction.h"

namespace nlk::delta::dml {
// Shared with merge.cc through row_level_internal.h.
namespace internal {

namespace compute = arrow::compute;
using Clock = std::chrono::steady_clock;

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t MillisSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

bool PropertyIsTrue(const Metadata& metadata, const std::string& key) {
  auto it = metadata.configuration.find(key);
  return it != metadata.configuration.end() && (it->second == "true" || it->second == "TRUE");
}

arrow::Result<Target> OpenTarget(DeltaLog& log, const DmlOptions& options,
                                 const std::string& operation) {
  Target target;
  ARROW_ASSIGN_OR_RAISE(target.snapshot, log.Latest());
  const Metadata& metadata = target.snapshot->metadata();
  ARROW_RETURN_NOT_OK(CheckWriteSupported(target.snapshot->protocol(), metadata));
  if (PropertyIsTrue(metadata, "delta.appendOnly")) {
    return arrow::Status::Invalid(
        operation,
        " refused: the table only allows appends (delta.appendOnly=true); nothing "
        "was changed");
  }
  ARROW_ASSIGN_OR_RAISE(target.schema, data::ParseDeltaSchema(metadata.schema_string));
  const bool table_has_vectors =
      PropertyIsTrue(metadata, "delta.enableDeletionVectors") &&
      ProtocolSupportsFeature(target.snapshot->protocol(), "deletionVectors");
  switch (options.mode) {
    case RowChangeMode::kTableDefault:
      target.deletion_vectors = table_has_vectors;
      break;
    case RowChangeMode::kCopyOnWrite:
      target.deletion_vectors = false;
      break;
    case RowChangeMode::kDeletionVectors:
      if (!ProtocolSupportsFeature(target.snapshot->protocol(), "deletionVectors")) {
        return arrow::Status::Invalid(
            operation,
            " with deletion vectors refused: the table's protocol does not list the "
            "deletionVectors feature (create it with delta.enableDeletionVectors=true)");
      }
      target.deletion_vectors = true;
      break;
  }
  return target;
}

// Rows a whole-file removal deletes, from the file's statistics; nullopt when they lack
// numRecords.
std::optional<int64_t> LiveRowsFromStatistics(const AddFile& file) {
  if (!file.stats) return std::nullopt;
  const std::string key = "\"numRecords\":";
  size_t at = file.stats->find(key);
  if (at == std::string::npos) return std::nullopt;
  try {
    int64_t records = std::stoll(file.stats->substr(at + key.size()));
    return records - (file.deletion_vector ? file.deletion_vector->cardinality : 0);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string JsonArrayOfOne(const std::string& text) {
  std::string json = "[";
  AppendJsonString(&json, text);
  return json + "]";
}

// Counts shared by DELETE and UPDATE, under the names Spark records.
StringMap CommonMetrics(const DmlResult& result, int64_t execution_ms, int64_t scan_ms,
                        int64_t rewrite_ms) {
  return {{"numRemovedFiles", std::to_string(result.files_removed)},
          {"numAddedFiles", std::to_string(result.files_added)},
          {"numCopiedRows", std::to_string(result.rows_copied)},
          {"numAddedChangeFiles", "0"},
          {"numDeletionVectorsAdded", std::to_string(result.deletion_vectors_added)},
          {"numDeletionVectorsUpdated", std::to_string(result.deletion_vectors_updated)},
          {"numDeletionVectorsRemoved", std::to_string(result.deletion_vectors_removed)},
          {"numRemovedBytes", std::to_string(result.bytes_removed)},
          {"numAddedBytes", std::to_string(result.bytes_added)},
          {"executionTimeMs", std::to_string(execution_ms)},
          {"scanTimeMs", std::to_string(scan_ms)},
          {"rewriteTimeMs", std::to_string(rewrite_ms)}};
}

void CopyWriterCounts(const RowChangeWriter& writer, DmlResult* result) {
  const DmlResult& counts = writer.counts();
  result->files_removed = counts.files_removed;
  result->files_added = counts.files_added;
  result->rows_copied = counts.rows_copied;
  result->deletion_vectors_added = counts.deletion_vectors_added;
  result->deletion_vectors_updated = counts.deletion_vectors_updated;
  result->deletion_vectors_removed = counts.deletion_vectors_removed;
  result->bytes_removed = counts.bytes_removed;
  result->bytes_added = counts.bytes_added;
}

// What the operation depends on: the partitions its predicate may touch and every file it
// looked at, so that a concurrent change to them is a conflict (delta-spark's readPredicates
// and readFiles).
arrow::Status RegisterReads(Transaction& transaction, const Metadata& metadata,
                            const std::optional<compute::Expression>& predicate,
                            const TargetFiles& plan) {
  if (predicate) {
    ARROW_ASSIGN_OR_RAISE(PartitionFilter filter, PartitionFilter::Make(metadata, *predicate));
    transaction.ReadPartitions(
        [filter](const PartitionValues& values) { return filter.MightMatch(values); });
  } else {
    transaction.ReadWholeTable();
  }
  for (const TargetFile& target : plan.files) transaction.ReadFile(target.file.path);
  return arrow::Status::OK();
}

// Commits the writer's actions; when the commit definitely failed (a conflict, a refused
// action), deletes the files written for it, which no version references.
arrow::Status CommitChanges(Transaction& transaction, RowChangeWriter& writer,
                            std::vector<Action> actions, storage::ObjectStore& store,
                            const DmlOptions& options, DmlResult* result) {
  for (Action& action : actions) transaction.AddAction(std::move(action));
  if (options.before_commit) options.before_commit();
  auto committed = transaction.Commit();
  if (!committed.ok()) {
    if (!committed.status().IsIOError()) {
      for (const std::string& path : writer.written_paths()) (void)store.Delete(path);
    }
    return committed.status();
  }
  result->version = committed->version;
  result->committed = true;
  result->maintenance_status = committed->post_commit_status;
  return arrow::Status::OK();
}

DmlResult StartResult(const Target& target, const TargetFiles& plan) {
  DmlResult result;
  result.version = target.snapshot->version();
  result.used_deletion_vectors = target.deletion_vectors;
  result.files_total = plan.files_total;
  result.files_pruned_by_partition = plan.files_pruned_by_partition;
  result.files_skipped_by_stats = plan.files_skipped_by_stats;
  return result;
}

// Columns the predicate needs (top-level names), for reading only those in deletion-vector
// mode; empty means all.
std::vector<std::string> PredicateColumns(const compute::Expression& predicate,
                                          const arrow::Schema& schema) {
  std::set<std::string> names;
  for (const auto& reference : compute::FieldsInExpression(predicate)) {
    if (const std::string* name = reference.name()) names.insert(*name);
    if (const auto* nested = reference.nested_refs(); nested != nullptr && !nested->empty()) {
      if (const std::string* name = nested->front().name()) names.insert(*name);
    }
  }
  std::vector<std::string> columns;
  for (const auto& field : schema.fields()) {
    if (names.count(field->name())) columns.push_back(field->name());
  }
  if (columns.empty() && schema.num_fields() > 0) columns.push_back(schema.field(0)->name());
  return columns;
}

struct BoundAssignment {
  int column_index = -1;
  std::shared_ptr<arrow::Field> field;
  compute::Expression value;  // bound, cast to the column's type
};

arrow::Result<std::vector<BoundAssignment>> BindAssignments(
    const std::vector<Assignment>& assignments, const arrow::Schema& schema) {
  if (assignments.empty()) return arrow::Status::Invalid("UPDATE needs at least one assignment");
  std::vector<BoundAssignment> bound;
  std::set<std::string> seen;
  for (const Assignment& assignment : assignments) {
    BoundAssignment item;
    item.column_index = schema.GetFieldIndex(assignment.column);
    if (item.column_index < 0) {
      std::string names;
      for (const auto& field : schema.fields())
        names += (names.empty() ? "" : ", ") + field->name();
      return arrow::Status::KeyError("UPDATE: unknown column '", assignment.column,
                                     "' (columns: ", names, ")");
    }
    if (!seen.insert(assignment.column).second) {
      return arrow::Status::Invalid("UPDATE: column '", assignment.column, "' is assigned twice");
    }
    item.field = schema.field(item.column_index);
    auto value = assignment.value.Bind(schema);
    if (!value.ok()) {
      return arrow::Status::Invalid("UPDATE: cannot compute '", assignment.column,
                                    "': ", value.status().message());
    }
    if (!value->type()->Equals(*item.field->type())) {
      auto cast = compute::call("cast", {*value}, compute::CastOptions::Safe(item.field->type()))
                      .Bind(schema);
      if (!cast.ok()) {
        return arrow::Status::Invalid("UPDATE: a ", value->type()->ToString(),
                                      " value cannot be stored in column '", assignment.column,
                                      "' of type ", item.field->type()->ToString());
      }
      item.value = std::move(*cast);
    } else {
      item.value = std::move(*value);
    }
    bound.push_back(std::move(item));
  }
  return bound;
}

// The rows of `matched` with the assignments applied.
arrow::Result<std::shared_ptr<arrow::Table>> ApplyAssignments(
    const arrow::Table& matched, const std::vector<BoundAssignment>& assignments) {
  ARROW_ASSIGN_OR_RAISE(auto batch, matched.CombineChunksToBatch());
  compute::ExecBatch input(*batch);
  auto updated = batch;
  for (const BoundAssignment& assignment : assignments) {
    auto value = compute::ExecuteScalarExpression(assignment.value, input);
    if (!value.ok()) {
      return arrow::Status::Invalid("UPDATE: computing column '", assignment.field->name(),
                                    "' failed: ", value.status().message(),
                                    " (nothing was changed)");
    }
    std::shared_ptr<arrow::Array> array;
    if (value->is_scalar()) {
      ARROW_ASSIGN_OR_RAISE(array, arrow::MakeArrayFromScalar(*value->scalar(), batch->num_rows()));
    } else {
      array = value->make_array();
    }
    if (!assignment.field->nullable() && array->null_count() > 0) {
      return arrow::Status::Invalid("UPDATE: column '", assignment.field->name(),
                                    "' is NOT NULL but would be set to null (nothing was changed)");
    }
    ARROW_ASSIGN_OR_RAISE(
        updated, updated->SetColumn(assignment.column_index, assignment.field, std::move(array)));
  }
  return arrow::Table::FromRecordBatches(matched.schema(), {updated});
}

// One target file read: its rows and the live ones the predicate matches, timed as scanning.
struct ReadTarget {
  FileRows rows;
  std::vector<uint64_t> matching;
};

arrow::Result<ReadTarget> ReadMatchingRows(const std::shared_ptr<storage::ObjectStore>& store,
                                           const Metadata& metadata, const TargetFile& candidate,
                                           const std::vector<std::string>& columns,
                                           const std::optional<compute::Expression>& predicate,
                                           DmlResult* result, int64_t* scan_ms) {
  const auto scan_started = Clock::now();
  ReadTarget read;
  ARROW_ASSIGN_OR_RAISE(read.rows, ReadFileRows(store, metadata, candidate.file, columns));
  ++result->files_opened;
  ARROW_ASSIGN_OR_RAISE(
      read.matching, MatchingRows(read.rows, candidate.all_rows_match ? std::nullopt : predicate));
  *scan_ms += MillisSince(scan_started);
  return read;
}

// What DeleteRows and UpdateRows name differently in the commit.
struct OperationRecord {
  std::string operation;  // commitInfo.operation
  StringMap parameters;
  std::string row_metric;  // numDeletedRows or numUpdatedRows
  int64_t rows = 0;
};

// Finishes the writer's files and commits them; commits nothing when no row changed.
arrow::Status FinishAndCommit(DeltaLog& log, storage::ObjectStore& store, const Target& target,
                              const std::optional<compute::Expression>& predicate,
                              const TargetFiles& plan, RowChangeWriter& writer,
                              const OperationRecord& record, Clock::time_point started,
                              int64_t scan_ms, const DmlOptions& options, DmlResult* result) {
  const auto rewrite_started = Clock::now();
  ARROW_ASSIGN_OR_RAISE(std::vector<Action> actions, writer.Finish());
  const int64_t rewrite_ms = MillisSince(rewrite_started);
  CopyWriterCounts(writer, result);
  if (actions.empty()) return arrow::Status::OK();

  auto transaction = log.StartTransaction(target.snapshot);
  ARROW_RETURN_NOT_OK(RegisterReads(*transaction, target.snapshot->metadata(), predicate, plan));
  transaction->SetOperation(record.operation, record.parameters);
  StringMap metrics = CommonMetrics(*result, MillisSince(started), scan_ms, rewrite_ms);
  metrics[record.row_metric] = std::to_string(record.rows);
  transaction->SetOperationMetrics(std::move(metrics));
  return CommitChanges(*transaction, writer, std::move(actions), store, options, result);
}

}  // namespace internal

using namespace internal;  // NOLINT(build/namespaces): this file defines them

arrow::Result<DmlResult> DeleteRows(const std::shared_ptr<DeltaLog>& log,
                                    const std::shared_ptr<storage::ObjectStore>& store,
                                    const std::optional<arrow::compute::Expression>& predicate,
                                    const DmlOptions& options) {
  const auto started = Clock::now();
  ARROW_ASSIGN_OR_RAISE(Target target, OpenTarget(*log, options, "DELETE"));
  if (options.purge_deleted_matches && target.deletion_vectors) {
    return arrow::Status::Invalid(
        "DELETE: purging deleted rows needs copy-on-write, not deletion vectors");
  }
  const Metadata& metadata = target.snapshot->metadata();
  ARROW_ASSIGN_OR_RAISE(TargetFiles plan,
                        PlanTargetFiles(store, metadata, target.snapshot->files(), predicate));
  DmlResult result = StartResult(target, plan);
  const int64_t now = NowMillis();
  RowChangeWriter writer(store, metadata, target.deletion_vectors, options, now);
  // Deletion vectors need only the predicate's columns, unless the deleted rows are recorded
  // in the change data feed.
  const std::vector<std::string> columns =
      target.deletion_vectors && predicate && !writer.records_changes()
          ? PredicateColumns(*predicate, *target.schema)
          : std::vector<std::string>{};
  int64_t scan_ms = 0;
  for (const TargetFile& candidate : plan.files) {
    // A file removed unread would leave its rows out of the change data files.
    if (candidate.all_rows_match && !writer.records_changes()) {
      if (auto rows = LiveRowsFromStatistics(candidate.file)) {
        result.rows_deleted += *rows;
        ++result.files_removed_without_reading;
        writer.RemoveFile(candidate.file);
        continue;
      }
    }
    ARROW_ASSIGN_OR_RAISE(ReadTarget read, ReadMatchingRows(store, metadata, candidate, columns,
                                                            predicate, &result, &scan_ms));
    result.rows_deleted += static_cast<int64_t>(read.matching.size());
    if (read.matching.empty() && options.purge_deleted_matches &&
        read.rows.deleted.Cardinality() > 0) {
      // No live row matches; the file still goes if its vector hides one that does.
      ARROW_ASSIGN_OR_RAISE(auto physical, MatchingRows(FileRows{read.rows.rows, {}}, predicate));
      bool hides_match = std::any_of(physical.begin(), physical.end(),
                                     [&](uint64_t row) { return read.rows.deleted.Contains(row); });
      if (hides_match) {
        ++result.files_purged;
        ARROW_RETURN_NOT_OK(writer.RewriteLiveRows(candidate.file, read.rows));
      }
      continue;
    }
    ARROW_RETURN_NOT_OK(writer.DropRows(candidate.file, read.rows, read.matching));
  }
  OperationRecord record{"DELETE",
                         {{"predicate", predicate ? JsonArrayOfOne(options.predicate_text) : "[]"}},
                         "numDeletedRows",
                         result.rows_deleted};
  ARROW_RETURN_NOT_OK(FinishAndCommit(*log, *store, target, predicate, plan, writer, record,
                                      started, scan_ms, options, &result));
  return result;
}

arrow::Result<DmlResult> UpdateRows(const std::shared_ptr<DeltaLog>& log,
                                    const std::shared_ptr<storage::ObjectStore>& store,
                                    const std::vector<Assignment>& assignments,
                                    const std::optional<arrow::compute::Expression>& predicate,
                                    const DmlOptions& options) {
  const auto started = Clock::now();
  ARROW_ASSIGN_OR_RAISE(Target target, OpenTarget(*log, options, "UPDATE"));
  const Metadata& metadata = target.snapshot->metadata();
  ARROW_ASSIGN_OR_RAISE(std::vector<BoundAssignment> bound,
                        BindAssignments(assignments, *target.schema));
  ARROW_ASSIGN_OR_RAISE(TableConstraints constraints, ReadTableConstraints(metadata));
  std::vector<int> recomputed;  // indexes of unassigned generated columns, ascending
  for (const GeneratedColumn& generated : constraints.generated_columns) {
    const int index = target.schema->GetFieldIndex(generated.column);
    const bool assigned = std::any_of(bound.begin(), bound.end(), [&](const auto& assignment) {
      return assignment.column_index == index;
    });
    if (index >= 0 && !assigned) recomputed.push_back(index);
  }
  std::sort(recomputed.begin(), recomputed.end());
  ARROW_ASSIGN_OR_RAISE(TargetFiles plan,
                        PlanTargetFiles(store, metadata, target.snapshot->files(), predicate));
  DmlResult result = StartResult(target, plan);
  RowChangeWriter writer(store, metadata, target.deletion_vectors, options, NowMillis());
  int64_t scan_ms = 0;
  for (const TargetFile& candidate : plan.files) {
    ARROW_ASSIGN_OR_RAISE(ReadTarget read, ReadMatchingRows(store, metadata, candidate, {},
                                                            predicate, &result, &scan_ms));
    if (read.matching.empty()) continue;
    ARROW_ASSIGN_OR_RAISE(auto matched,
                          TakeRows(*read.rows.rows, read.matching, false, read.rows.deleted));
    ARROW_ASSIGN_OR_RAISE(auto updated, ApplyAssignments(*matched, bound));
    // Generated columns not assigned are left out, so the file writer computes them again from
    // the updated values (as Spark's UPDATE does); an assigned one is checked against its formula.
    for (auto it = recomputed.rbegin(); it != recomputed.rend(); ++it) {
      ARROW_ASSIGN_OR_RAISE(updated, updated->RemoveColumn(*it));
    }
    result.rows_updated += updated->num_rows();
    ARROW_RETURN_NOT_OK(
        writer.DropRows(candidate.file, read.rows, read.matching, "update_preimage"));
    ARROW_RETURN_NOT_OK(writer.WriteRows(*updated, "update_postimage"));
  }
  OperationRecord record{"UPDATE", {}, "numUpdatedRows", result.rows_updated};
  if (predicate) record.parameters["predicate"] = options.predicate_text;
  ARROW_RETURN_NOT_OK(FinishAndCommit(*log, *store, target, predicate, plan, writer, record,
                                      started, scan_ms, options, &result));
  return result;
}

}  // namespace nlk::delta::dml
