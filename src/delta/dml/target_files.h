// Which files a row-level operation must look at, and their rows: the planning half of
// DELETE, UPDATE and MERGE. Partition pruning and statistics skipping come from the scan
// planner (data/scan.h, data/data_skipping.h), so a file they rule out is never opened; a
// predicate over partition columns only is decided per file from its partition values.
#pragma once

#include <arrow/compute/expression.h>
#include <arrow/result.h>
#include <arrow/table.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "delta/data/deletion_vector.h"
#include "delta/log/actions.h"
#include "storage/object_store.h"

namespace nlk::delta::dml {

struct TargetFile {
  AddFile file;
  // Every row of the file matches, known from its partition values alone (or no predicate).
  bool all_rows_match = false;
};

struct TargetFiles {
  std::vector<TargetFile> files;
  int64_t files_total = 0;
  int64_t files_pruned_by_partition = 0;
  int64_t files_skipped_by_stats = 0;
};

// Plans the files of `files` (a snapshot's live files) that may hold rows matching `predicate`
// (all files when absent). Unknown columns and non-boolean predicates are errors.
arrow::Result<TargetFiles> PlanTargetFiles(
    const std::shared_ptr<storage::ObjectStore>& store, const Metadata& metadata,
    const std::vector<AddFile>& files, const std::optional<arrow::compute::Expression>& predicate);

// Whether a file with these partition values might hold a row matching `predicate`, from the
// values alone (conservative: true unless it cannot). For conflict detection: the partitions a
// row-level operation read.
class PartitionFilter {
 public:
  static arrow::Result<PartitionFilter> Make(const Metadata& metadata,
                                             arrow::compute::Expression predicate);
  bool MightMatch(const PartitionValues& values) const;
  // Whether every row (true) or no row (false) of a file with these partition values matches;
  // nullopt when the predicate also uses data columns.
  arrow::Result<std::optional<bool>> Decide(const PartitionValues& values) const;

 private:
  struct State;
  explicit PartitionFilter(std::shared_ptr<const State> state) : state_(std::move(state)) {}
  std::shared_ptr<const State> state_;
};

// The rows of one data file in physical order, deletion vector not applied, with the logical
// columns `columns` (all when empty; partition columns restored), and the file's deletion
// vector (empty when it has none).
struct FileRows {
  std::shared_ptr<arrow::Table> rows;
  data::DeletionVector deleted;
};
arrow::Result<FileRows> ReadFileRows(const std::shared_ptr<storage::ObjectStore>& store,
                                     const Metadata& metadata, const AddFile& file,
                                     const std::vector<std::string>& columns);

// Physical indexes of the rows of `file_rows` that `bound_predicate` makes true and that the
// deletion vector has not already deleted (all live rows when the predicate is absent).
arrow::Result<std::vector<uint64_t>> MatchingRows(
    const FileRows& file_rows, const std::optional<arrow::compute::Expression>& bound_predicate);

// The rows of `rows` at `indexes` (ascending), or at every index not in `indexes` and not
// deleted by `deleted` when `complement` is set.
arrow::Result<std::shared_ptr<arrow::Table>> TakeRows(const arrow::Table& rows,
                                                      const std::vector<uint64_t>& indexes,
                                                      bool complement,
                                                      const data::DeletionVector& deleted);

}  // namespace nlk::delta::dml
