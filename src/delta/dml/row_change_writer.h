// The writing half of DELETE, UPDATE and MERGE: turns "these rows of this file go" and "these
// rows are new" into data files, deletion vectors and the add/remove actions of one commit,
// in copy-on-write or deletion-vector mode (row_level_operation.h).
//
// Thread-safety: not thread-safe; one writer per operation.
#pragma once

#include <arrow/result.h>
#include <arrow/table.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "delta/data/deletion_vector.h"
#include "delta/data/file_writer.h"
#include "delta/dml/row_level_operation.h"
#include "delta/dml/target_files.h"
#include "delta/log/actions.h"
#include "storage/object_store.h"

namespace nlk::delta::dml {

class RowChangeWriter {
 public:
  RowChangeWriter(std::shared_ptr<storage::ObjectStore> store, Metadata metadata,
                  bool deletion_vectors, const DmlOptions& options, int64_t now_ms);

  // Removes `file` without reading it (every row goes).
  void RemoveFile(const AddFile& file);
  // Drops the rows at `rows` (physical indexes, ascending, none deleted already) from `file`,
  // read as `file_rows` (with every column in copy-on-write mode). Deletion-vector mode marks
  // them in the file's vector, merged with the one it has; copy-on-write rewrites the other
  // live rows to a new file. A file left without live rows is removed.
  arrow::Status DropRows(const AddFile& file, const FileRows& file_rows,
                         const std::vector<uint64_t>& rows);
  // Rewrites the live rows of `file` (read as `file_rows`, every column) to a new file and
  // removes it, so the rows its deletion vector hides are gone from the new version's files.
  arrow::Status RewriteLiveRows(const AddFile& file, const FileRows& file_rows);
  // Writes new rows (updated or inserted), all table columns, to new files.
  arrow::Status WriteRows(const arrow::Table& rows);

  // Closes the data files, writes the deletion vectors, and returns the actions to commit.
  arrow::Result<std::vector<Action>> Finish();
  // Data and deletion vector files written so far, to delete when the commit fails.
  const std::vector<std::string>& written_paths() const { return written_paths_; }
  // File counts, bytes and deletion vector counts (the row counts are the caller's).
  const DmlResult& counts() const { return counts_; }

 private:
  struct PendingVector {
    AddFile file;
    data::DeletionVector vector;
    int64_t physical_rows = 0;
  };

  std::shared_ptr<storage::ObjectStore> store_;
  Metadata metadata_;
  bool deletion_vectors_;
  DmlOptions options_;
  int64_t now_ms_;
  std::unique_ptr<data::DataFileWriter> data_writer_;
  std::vector<Action> actions_;
  std::vector<PendingVector> pending_vectors_;
  std::vector<std::string> written_paths_;
  DmlResult counts_;
};

}  // namespace nlk::delta::dml
