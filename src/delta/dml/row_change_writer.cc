#include "delta/dml/row_change_writer.h"

#include <arrow/array/util.h>
#include <arrow/scalar.h>

#include <algorithm>

#include "delta/change_feed.h"
#include "delta/data/deletion_vector_writer.h"

namespace nlk::delta::dml {

RowChangeWriter::RowChangeWriter(std::shared_ptr<storage::ObjectStore> store, Metadata metadata,
                                 bool deletion_vectors, const DmlOptions& options, int64_t now_ms)
    : store_(std::move(store)),
      metadata_(std::move(metadata)),
      deletion_vectors_(deletion_vectors),
      options_(options),
      now_ms_(now_ms) {
  if (RecordsChangeDataFeed(metadata_)) {
    auto change_metadata = ChangeDataFileMetadata(metadata_);
    // An unreadable schema has failed the operation before it gets here.
    if (change_metadata.ok()) change_metadata_ = std::make_unique<Metadata>(*change_metadata);
  }
}

arrow::Status RowChangeWriter::RecordChanges(const arrow::Table& rows, const char* change_type) {
  if (change_metadata_ == nullptr || change_type == nullptr || rows.num_rows() == 0) {
    return arrow::Status::OK();
  }
  ARROW_ASSIGN_OR_RAISE(
      auto types, arrow::MakeArrayFromScalar(arrow::StringScalar(change_type), rows.num_rows()));
  ARROW_ASSIGN_OR_RAISE(auto changes, rows.AddColumn(rows.num_columns(),
                                                     arrow::field(kChangeTypeColumn, arrow::utf8()),
                                                     std::make_shared<arrow::ChunkedArray>(types)));
  if (change_writer_ == nullptr) {
    data::WriteOptions write_options;
    write_options.target_file_size = options_.target_file_size_bytes;
    write_options.directory_prefix = "_change_data";
    write_options.file_prefix = "cdc";
    ARROW_ASSIGN_OR_RAISE(change_writer_,
                          data::DataFileWriter::Make(store_, *change_metadata_, write_options));
  }
  arrow::Status status = change_writer_->Write(*changes);
  if (!status.ok()) {
    change_writer_->Abandon();
    change_writer_.reset();
  }
  return status;
}

arrow::Status RowChangeWriter::RecordRows(const FileRows& file_rows,
                                          const std::vector<uint64_t>& rows,
                                          const char* change_type) {
  if (change_metadata_ == nullptr || rows.empty()) return arrow::Status::OK();
  ARROW_ASSIGN_OR_RAISE(auto changed, TakeRows(*file_rows.rows, rows, false, file_rows.deleted));
  return RecordChanges(*changed, change_type);
}

void RowChangeWriter::RemoveFile(const AddFile& file) {
  actions_.push_back(MakeRemoveFile(file, now_ms_));
  ++counts_.files_removed;
  counts_.bytes_removed += file.size;
  if (file.deletion_vector) ++counts_.deletion_vectors_removed;
}

arrow::Status RowChangeWriter::DropRows(const AddFile& file, const FileRows& file_rows,
                                        const std::vector<uint64_t>& rows,
                                        const char* change_type) {
  if (rows.empty()) return arrow::Status::OK();
  if (change_type != nullptr) ARROW_RETURN_NOT_OK(RecordRows(file_rows, rows, change_type));
  const int64_t physical_rows = file_rows.rows->num_rows();
  const auto already_deleted = static_cast<int64_t>(file_rows.deleted.Cardinality());
  if (already_deleted + static_cast<int64_t>(rows.size()) >= physical_rows) {
    RemoveFile(file);
    return arrow::Status::OK();
  }
  if (deletion_vectors_) {
    PendingVector pending;
    pending.file = file;
    std::vector<uint64_t> deleted = file_rows.deleted.ToVector();
    deleted.insert(deleted.end(), rows.begin(), rows.end());
    std::sort(deleted.begin(), deleted.end());
    // FromRows compresses runs, so a deleted range costs a few bytes.
    pending.vector = data::DeletionVector::FromRows(deleted);
    pending.physical_rows = physical_rows;
    pending_vectors_.push_back(std::move(pending));
    return arrow::Status::OK();
  }
  ARROW_ASSIGN_OR_RAISE(auto survivors, TakeRows(*file_rows.rows, rows, true, file_rows.deleted));
  counts_.rows_copied += survivors->num_rows();
  RemoveFile(file);
  return WriteRows(*survivors);
}

arrow::Status RowChangeWriter::RewriteLiveRows(const AddFile& file, const FileRows& file_rows) {
  ARROW_ASSIGN_OR_RAISE(auto survivors, TakeRows(*file_rows.rows, {}, true, file_rows.deleted));
  counts_.rows_copied += survivors->num_rows();
  RemoveFile(file);
  return WriteRows(*survivors);
}

arrow::Status RowChangeWriter::WriteRows(const arrow::Table& rows, const char* change_type) {
  if (rows.num_rows() == 0) return arrow::Status::OK();
  ARROW_RETURN_NOT_OK(RecordChanges(rows, change_type));
  if (data_writer_ == nullptr) {
    data::WriteOptions write_options;
    write_options.target_file_size = options_.target_file_size_bytes;
    ARROW_ASSIGN_OR_RAISE(data_writer_,
                          data::DataFileWriter::Make(store_, metadata_, write_options));
  }
  arrow::Status status = data_writer_->Write(rows);
  if (!status.ok()) {
    // The operation fails without a commit: its new files would only be orphans.
    data_writer_->Abandon();
    data_writer_.reset();
  }
  return status;
}

arrow::Result<std::vector<Action>> RowChangeWriter::Finish() {
  if (data_writer_ != nullptr) {
    ARROW_ASSIGN_OR_RAISE(std::vector<AddFile> added, data_writer_->Finish());
    data_writer_.reset();
    for (AddFile& file : added) {
      written_paths_.push_back(file.path);
      ++counts_.files_added;
      counts_.bytes_added += file.size;
      actions_.push_back(std::move(file));
    }
  }
  if (change_writer_ != nullptr) {
    ARROW_ASSIGN_OR_RAISE(std::vector<AddFile> changes, change_writer_->Finish());
    change_writer_.reset();
    for (AddFile& file : changes) {
      written_paths_.push_back(file.path);
      AddCdcFile cdc;
      cdc.path = std::move(file.path);
      cdc.partition_values = std::move(file.partition_values);
      cdc.size = file.size;
      actions_.push_back(std::move(cdc));
    }
  }
  if (pending_vectors_.empty()) return std::move(actions_);

  data::DeletionVectorWriteOptions vector_options;
  vector_options.max_inline_bytes = options_.max_inline_deletion_vector_bytes;
  data::DeletionVectorWriter vectors(store_, vector_options);
  for (const PendingVector& pending : pending_vectors_) vectors.Add(pending.vector);
  ARROW_ASSIGN_OR_RAISE(data::WrittenDeletionVectors written, vectors.Finish());
  if (written.file_path) written_paths_.push_back(*written.file_path);
  for (size_t i = 0; i < pending_vectors_.size(); ++i) {
    const PendingVector& pending = pending_vectors_[i];
    // The same file, now with the merged vector: a remove of the old logical file (path and
    // old vector) and an add of the new one.
    actions_.push_back(MakeRemoveFile(pending.file, now_ms_));
    AddFile updated = pending.file;
    updated.deletion_vector = written.descriptors[i];
    updated.data_change = true;
    ARROW_ASSIGN_OR_RAISE(std::string stats, data::StatisticsWithWideBounds(pending.file.stats,
                                                                            pending.physical_rows));
    updated.stats = std::move(stats);
    actions_.push_back(std::move(updated));
    if (pending.file.deletion_vector) {
      ++counts_.deletion_vectors_updated;
    } else {
      ++counts_.deletion_vectors_added;
    }
  }
  pending_vectors_.clear();
  return std::move(actions_);
}

}  // namespace nlk::delta::dml
