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
  //
  // With the change data feed on, `change_type` (if not null) records the dropped rows in a
  // change data file (RecordRows).
  arrow::Status DropRows(const AddFile& file, const FileRows& file_rows,
                         const std::vector<uint64_t>& rows, const char* change_type = "delete");
  // Rewrites the live rows of `file` (read as `file_rows`, every column) to a new file and
  // removes it, so the rows its deletion vector hides are gone from the new version's files.
  arrow::Status RewriteLiveRows(const AddFile& file, const FileRows& file_rows);
  // Writes new rows (updated or inserted), all table columns, to new files; with the change
  // data feed on and a `change_type` ("update_postimage", "insert"), records them too.
  arrow::Status WriteRows(const arrow::Table& rows, const char* change_type = nullptr);

  // The table records its change data feed (delta.enableChangeDataFeed): every row an operation
  // deletes, updates or inserts also goes to a change data file (`_change_data/`, a cdc action)
  // with its `_change_type`, as PROTOCOL.md "Change Data Files" requires of writers. Rows copied
  // unchanged by a rewrite are not recorded.
  bool records_changes() const { return change_metadata_ != nullptr; }
  // Records rows `rows` (physical indexes) of `file_rows` as changed with `change_type`
  // ("delete", "update_preimage"); nothing when the feed is off.
  arrow::Status RecordRows(const FileRows& file_rows, const std::vector<uint64_t>& rows,
                           const char* change_type);

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
  // The table's metadata with `_change_type` added (null: the feed is off), and the writer of
  // change data files.
  std::unique_ptr<Metadata> change_metadata_;
  std::unique_ptr<data::DataFileWriter> change_writer_;
  arrow::Status RecordChanges(const arrow::Table& rows, const char* change_type);
  std::vector<Action> actions_;
  std::vector<PendingVector> pending_vectors_;
  std::vector<std::string> written_paths_;
  DmlResult counts_;
};

}  // namespace nlk::delta::dml
