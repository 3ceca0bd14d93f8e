#include "delta/optimize.h"

#include <arrow/array/builder_base.h>
#include <arrow/compute/api.h>
#include <arrow/record_batch.h>
#include <arrow/table.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <tuple>
#include <utility>

#include "common/json_writer.h"
#include "delta/data/file_writer.h"
#include "delta/data/partition_values.h"
#include "delta/data/scan.h"
#include "delta/data/schema.h"
#include "delta/log/log_error.h"
#include "delta/log/protocol_support.h"
#include "delta/log/transaction.h"
#include "delta/predicate.h"

namespace nlk::delta {
namespace {

namespace compute = arrow::compute;

std::string PartitionColumnList(const std::vector<std::string>& columns) {
  std::string list;
  for (const std::string& column : columns) list += (list.empty() ? "" : ", ") + column;
  return list.empty() ? "the table has none" : list;
}

// The files whose partition values satisfy `where`, evaluated in one pass over a batch holding
// one row of partition values per file.
arrow::Result<std::vector<AddFile>> FilesInPartitions(std::vector<AddFile> files,
                                                      const std::string& where,
                                                      const arrow::Schema& table_schema,
                                                      const std::vector<std::string>& columns) {
  arrow::FieldVector fields;
  for (const std::string& column : columns) fields.push_back(table_schema.GetFieldByName(column));
  auto partition_schema = arrow::schema(fields);
  auto parsed = ParsePredicate(where, *partition_schema);
  if (!parsed.ok()) {
    return arrow::Status::Invalid("optimize --where may only use partition columns (",
                                  PartitionColumnList(columns), "): ", parsed.status().message());
  }
  ARROW_ASSIGN_OR_RAISE(auto bound, parsed->Bind(*partition_schema));

  arrow::ArrayVector arrays;
  for (const auto& field : fields) {
    ARROW_ASSIGN_OR_RAISE(auto builder, arrow::MakeBuilder(field->type()));
    for (const AddFile& file : files) {
      auto value = file.partition_values.find(field->name());
      ARROW_ASSIGN_OR_RAISE(
          auto scalar,
          data::ParsePartitionValue(
              value == file.partition_values.end() ? std::nullopt : value->second, field->type()));
      ARROW_RETURN_NOT_OK(builder->AppendScalar(*scalar));
    }
    ARROW_ASSIGN_OR_RAISE(auto array, builder->Finish());
    arrays.push_back(std::move(array));
  }
  auto batch =
      arrow::RecordBatch::Make(partition_schema, static_cast<int64_t>(files.size()), arrays);
  ARROW_ASSIGN_OR_RAISE(arrow::Datum mask,
                        compute::ExecuteScalarExpression(bound, compute::ExecBatch(*batch)));
  std::shared_ptr<arrow::Array> mask_array;
  if (mask.is_scalar()) {
    // A predicate without column references folds to one value for every file.
    ARROW_ASSIGN_OR_RAISE(mask_array, arrow::MakeArrayFromScalar(*mask.scalar(), 1));
  } else {
    mask_array = mask.make_array();
  }
  const auto& selected = static_cast<const arrow::BooleanArray&>(*mask_array);
  std::vector<AddFile> matching;
  for (size_t i = 0; i < files.size(); ++i) {
    int64_t row = mask_array->length() == 1 ? 0 : static_cast<int64_t>(i);
    if (selected.IsValid(row) && selected.Value(row)) matching.push_back(std::move(files[i]));
  }
  return matching;
}

// Spark's OPTIMIZE operationParameters (commitInfo stores every value as a string): predicate
// and zOrderBy hold JSON arrays, so history readers that parse Spark's commits parse ours.
StringMap OperationParameters(const OptimizeOptions& options) {
  std::string predicates = "[";
  if (options.where) AppendJsonString(&predicates, *options.where);
  predicates += "]";
  return {{"predicate", predicates}, {"zOrderBy", "[]"}, {"auto", "false"}};
}

arrow::Status ValidateOptions(const OptimizeOptions& options, const arrow::Schema& schema) {
  if (options.target_file_size <= 0) {
    return arrow::Status::Invalid("optimize: the target file size must be positive, not ",
                                  options.target_file_size, " bytes");
  }
  if (options.min_files_per_bin < 1) {
    return arrow::Status::Invalid("optimize: the minimum files per bin must be at least 1, not ",
                                  options.min_files_per_bin);
  }
  if (options.sort_by && schema.GetFieldByName(*options.sort_by) == nullptr) {
    std::string names;
    for (const auto& field : schema.fields()) names += (names.empty() ? "" : ", ") + field->name();
    return arrow::Status::Invalid("optimize: sort column '", *options.sort_by,
                                  "' is not in the table (columns: ", names, ")");
  }
  return arrow::Status::OK();
}

struct RewrittenBin {
  std::vector<AddFile> files;
  int64_t rows = 0;
};

void DeleteQuietly(storage::ObjectStore& store, const std::vector<AddFile>& files) {
  for (const AddFile& file : files) {
    // Best effort: a file left behind is an unreferenced orphan that vacuum removes later.
    (void)store.Delete(file.path);
  }
}

arrow::Result<RewrittenBin> RewriteBin(const std::shared_ptr<storage::ObjectStore>& store,
                                       const Metadata& metadata, const CompactionBin& bin,
                                       const OptimizeOptions& options) {
  ARROW_ASSIGN_OR_RAISE(auto scan, data::ScanBuilder(store, metadata, bin.files).Build());
  data::WriteOptions write_options;
  write_options.target_file_size = options.target_file_size;
  write_options.data_change = false;
  ARROW_ASSIGN_OR_RAISE(auto writer, data::DataFileWriter::Make(store, metadata, write_options));
  RewrittenBin rewritten;
  if (options.sort_by) {
    // Sorting needs the whole bin in memory; a bin is bounded by the target file size.
    ARROW_ASSIGN_OR_RAISE(auto table, scan->ToTable());
    compute::SortOptions sort_options({compute::SortKey(
        *options.sort_by, compute::SortOrder::Ascending, compute::NullPlacement::AtEnd)});
    ARROW_ASSIGN_OR_RAISE(auto indices, compute::SortIndices(arrow::Datum(table), sort_options));
    ARROW_ASSIGN_OR_RAISE(arrow::Datum sorted, compute::Take(arrow::Datum(table), indices));
    rewritten.rows = table->num_rows();
    ARROW_RETURN_NOT_OK(writer->Write(*sorted.table()));
  } else {
    ARROW_ASSIGN_OR_RAISE(auto reader, scan->ToRecordBatchReader());
    std::shared_ptr<arrow::RecordBatch> batch;
    while (true) {
      ARROW_RETURN_NOT_OK(reader->ReadNext(&batch));
      if (!batch) break;
      rewritten.rows += batch->num_rows();
      ARROW_RETURN_NOT_OK(writer->Write(*batch));
    }
  }
  ARROW_ASSIGN_OR_RAISE(rewritten.files, writer->Finish());
  return rewritten;
}

// The first input of `bin` that is no longer live in `snapshot` (same path and deletion
// vector), or nullptr when all are.
const AddFile* FindVanishedInput(const CompactionBin& bin, const Snapshot& snapshot) {
  for (const AddFile& file : bin.files) {
    const AddFile* live = snapshot.FindFile(file.path);
    if (live == nullptr || LogicalFileKey(live->path, live->deletion_vector) !=
                               LogicalFileKey(file.path, file.deletion_vector)) {
      return &file;
    }
  }
  return nullptr;
}

int64_t ElapsedMs(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

}  // namespace

std::vector<CompactionBin> PlanCompactionBins(const std::vector<AddFile>& files,
                                              const OptimizeOptions& options) {
  std::map<PartitionValues, std::vector<const AddFile*>> small_files_by_partition;
  for (const AddFile& file : files) {
    if (file.size < options.target_file_size) {
      small_files_by_partition[file.partition_values].push_back(&file);
    }
  }
  std::vector<CompactionBin> bins;
  for (auto& [partition_values, candidates] : small_files_by_partition) {
    std::sort(candidates.begin(), candidates.end(), [](const AddFile* a, const AddFile* b) {
      return std::tie(a->modification_time, a->path) < std::tie(b->modification_time, b->path);
    });
    CompactionBin current;
    current.partition_values = partition_values;
    auto close_current = [&] {
      if (static_cast<int64_t>(current.files.size()) >= options.min_files_per_bin) {
        bins.push_back(std::move(current));
      }
      current = CompactionBin();
      current.partition_values = partition_values;
    };
    for (const AddFile* file : candidates) {
      if (!current.files.empty() && current.total_size + file->size > options.target_file_size) {
        close_current();
      }
      current.files.push_back(*file);
      current.total_size += file->size;
    }
    close_current();
  }
  return bins;
}

arrow::Result<OptimizeMetrics> Optimize(DeltaLog& log, const OptimizeOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  ARROW_ASSIGN_OR_RAISE(auto snapshot, log.Latest());
  ARROW_RETURN_NOT_OK(CheckWriteSupported(snapshot->protocol(), snapshot->metadata()));
  // A copy: `snapshot` is replaced by newer ones below.
  const Metadata metadata = snapshot->metadata();
  ARROW_ASSIGN_OR_RAISE(auto schema, data::ParseDeltaSchema(metadata.schema_string));
  ARROW_RETURN_NOT_OK(ValidateOptions(options, *schema));

  std::vector<AddFile> candidates = snapshot->files();
  if (options.where) {
    ARROW_ASSIGN_OR_RAISE(candidates, FilesInPartitions(std::move(candidates), *options.where,
                                                        *schema, metadata.partition_columns));
  }
  std::vector<CompactionBin> bins = PlanCompactionBins(candidates, options);

  OptimizeMetrics metrics;
  metrics.read_version = snapshot->version();
  metrics.small_files =
      std::count_if(candidates.begin(), candidates.end(),
                    [&](const AddFile& file) { return file.size < options.target_file_size; });
  metrics.bins_planned = static_cast<int64_t>(bins.size());
  std::set<PartitionValues> optimized_partitions;
  const StringMap parameters = OperationParameters(options);
  const auto& store = log.store();

  for (const CompactionBin& bin : bins) {
    if (options.stop_requested && options.stop_requested()) {
      metrics.stopped = true;
      break;
    }
    // Re-read the log before each bin, so a bin whose inputs are already gone is skipped
    // without rewriting it and each commit rebases over as few commits as possible.
    ARROW_ASSIGN_OR_RAISE(snapshot, log.Update(snapshot));
    if (snapshot->metadata().schema_string != metadata.schema_string ||
        snapshot->metadata().partition_columns != metadata.partition_columns) {
      metrics.abandoned_bins.push_back(
          {bin.partition_values, static_cast<int64_t>(bin.files.size()),
           "the table schema changed at version " + std::to_string(snapshot->version())});
      continue;
    }
    if (const AddFile* vanished = FindVanishedInput(bin, *snapshot)) {
      metrics.abandoned_bins.push_back(
          {bin.partition_values, static_cast<int64_t>(bin.files.size()),
           "input file '" + vanished->path +
               "' was removed by a concurrent commit (before version " +
               std::to_string(snapshot->version() + 1) + ")"});
      continue;
    }

    ARROW_ASSIGN_OR_RAISE(RewrittenBin rewritten, RewriteBin(store, metadata, bin, options));
    auto transaction = log.StartTransaction(snapshot);
    transaction->SetIsolationLevel(IsolationLevel::kSnapshotIsolation);
    const int64_t now = log.NowMs();
    for (const AddFile& input : bin.files) {
      // Reading each input makes its concurrent removal a conflict instead of a silent
      // resurrection of deleted rows.
      transaction->ReadFile(input.path);
      transaction->RemoveFile(MakeRemoveFile(input, now, /*data_change=*/false));
    }
    int64_t bytes_added = 0;
    for (const AddFile& output : rewritten.files) {
      bytes_added += output.size;
      transaction->AddFile(output);
    }
    transaction->SetOperation("OPTIMIZE", parameters);
    auto committed = transaction->Commit();
    if (!committed.ok()) {
      if (IsConcurrentModification(committed.status())) {
        DeleteQuietly(*store, rewritten.files);
        metrics.abandoned_bins.push_back({bin.partition_values,
                                          static_cast<int64_t>(bin.files.size()),
                                          committed.status().message()});
        continue;
      }
      // After an I/O error the commit may have landed, so its files must stay.
      if (!committed.status().IsIOError()) DeleteQuietly(*store, rewritten.files);
      return committed.status();
    }
    metrics.committed_versions.push_back(committed->version);
    ++metrics.bins_committed;
    optimized_partitions.insert(bin.partition_values);
    metrics.files_removed += static_cast<int64_t>(bin.files.size());
    metrics.files_added += static_cast<int64_t>(rewritten.files.size());
    metrics.bytes_removed += bin.total_size;
    metrics.bytes_added += bytes_added;
    metrics.rows_rewritten += rewritten.rows;
  }
  metrics.partitions_optimized = static_cast<int64_t>(optimized_partitions.size());
  metrics.duration_ms = ElapsedMs(start);
  return metrics;
}

}  // namespace nlk::delta
