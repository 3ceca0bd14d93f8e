// Writes Arrow data into new Parquet data files of a Delta table and describes them as AddFile
// actions, ready for a commit (which is the log layer's job: nothing here touches _delta_log).
//
// Files are laid out Hive-style under the table root ("col=value/part-00000-<uuid>.c000.snappy
// .parquet", the codec named as Spark names it), partition columns are not stored in the files, and
// with column mapping the files use physical names and carry field ids. Each AddFile gets partition
// values and statistics keyed by physical names.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/table.h>
#include <parquet/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "delta/data/column_mapping.h"
#include "delta/data/constraint_enforcer.h"
#include "delta/data/statistics.h"
#include "delta/log/actions.h"
#include "storage/object_store.h"

namespace nlk::delta::data {

struct WriteOptions {
  // A file is closed once it reaches this many bytes (checked after each row group).
  int64_t target_file_size = int64_t{128} << 20;
  // A row group is written once this many rows, or this many in-memory bytes, are buffered for
  // its partition.
  int64_t row_group_rows = int64_t{1} << 20;
  int64_t row_group_bytes = int64_t{64} << 20;
  // Recorded in each AddFile; false for rewrites that do not change the data (OPTIMIZE).
  bool data_change = true;
  // Dictionary encoding of top-level float and double columns. Measured samples (voltages) are
  // nearly all distinct, so the dictionary only costs hashing until Parquet falls back to plain
  // encoding; a writer of such data turns it off. Readers see plain pages either way.
  bool dictionary_for_floating_point = true;
  // Dictionary encoding of top-level integer, date and timestamp columns. A stream's time
  // stamps, sequence numbers and channel numbers take little more room as plain values under
  // the codec than as dictionary indices, and are encoded two to four times faster: a writer
  // of such data turns it off.
  bool dictionary_for_integers = true;
  // The codec of every column. LZ4 is LZ4_RAW in the file (read by Spark with Parquet 1.13+,
  // delta-rs, Polars, DuckDB and Arrow): faster than snappy on plain integers, which it also
  // compresses tighter.
  parquet::Compression::type compression = parquet::Compression::SNAPPY;
  // Hands Parquet each top-level string column of a row group as one dictionary and its indices,
  // which Parquet writes as they are, instead of hashing every value itself. Pieces whose rows
  // all hold one value (a stream's device in one message) are recognised by comparing values.
  // The values and encodings in the files are the same as without it (dictionary-encoded
  // BYTE_ARRAY columns; a column whose dictionary comes out larger than half its rows is written
  // as before), but these columns carry no Parquet statistics: Parquet would hash the indices of
  // every write batch to find the values they reference. The file's Delta statistics hold their
  // bounds, read from the pieces' dictionaries, which is what Delta readers skip files by.
  bool dictionary_strings = false;
  // Computes a row group's statistics on another thread while Parquet encodes it, and lets
  // Parquet encode the columns of row groups made of small pieces on Arrow's CPU thread pool.
  // The files are the same; only the elapsed time differs.
  bool use_threads = false;
  StatisticsOptions statistics;
  // Where the files go and what their names start with: data files at the table root ("part"),
  // change data files under "_change_data" ("cdc"), partition directories inside either.
  std::string directory_prefix;
  std::string file_prefix = "part";
};

// Streams batches into data files, keeping one open file per partition.
//
// Thread-safety: not thread-safe; one writer per writing thread.
class DataFileWriter {
 public:
  // `metadata` gives the schema, the partition columns, the column mapping mode and the rules
  // every row must satisfy (CHECK constraints, invariants, generated columns); a rule that cannot
  // be compiled (see log/expression_compiler.h) is an error naming it.
  static arrow::Result<std::unique_ptr<DataFileWriter>> Make(
      std::shared_ptr<storage::ObjectStore> store, const Metadata& metadata,
      const WriteOptions& options = {});
  ~DataFileWriter();

  // Checks `batch` against the table schema (see ConformToTableSchema), computes its generated
  // columns and checks the table's CHECK constraints and invariants on every row (see
  // ConstraintEnforcer), and buffers or writes its rows. On error nothing of this batch is
  // written, and the caller must not commit what the writer wrote before.
  arrow::Status Write(const arrow::RecordBatch& batch);
  arrow::Status Write(const arrow::Table& table);

  // Flushes and closes every file and returns their AddFile actions. Files written before an
  // error stay in storage unreferenced until Abandon or VACUUM removes them.
  arrow::Result<std::vector<AddFile>> Finish();

  // After a failed Write: closes the open files and deletes every file this writer wrote, so a
  // refused write (a row breaking a CHECK constraint, say) leaves nothing behind. Best effort:
  // a file that cannot be deleted stays for VACUUM.
  void Abandon();

 private:
  struct Partition;
  struct OpenFile;

  DataFileWriter() = default;
  arrow::Status Append(const std::string& directory, const PartitionValues& values,
                       std::shared_ptr<arrow::RecordBatch> rows);
  arrow::Status FlushRowGroup(Partition* partition);
  arrow::Status CloseFile(Partition* partition);

  std::shared_ptr<storage::ObjectStore> store_;
  WriteOptions options_;
  ColumnMappingMode mode_ = ColumnMappingMode::kNone;
  std::shared_ptr<arrow::Schema> table_schema_;          // logical, all columns
  std::unique_ptr<ConstraintEnforcer> constraints_;      // null when the table has no rules
  std::vector<int> partition_indexes_;                   // into table_schema_
  std::vector<std::string> partition_physical_names_;    // parallel to partition_indexes_
  std::vector<int> data_indexes_;                        // into table_schema_
  std::shared_ptr<arrow::Schema> data_schema_;           // logical, stored columns
  std::shared_ptr<arrow::Schema> physical_data_schema_;  // as written to Parquet
  // physical_data_schema_, with dictionary-typed strings when options_.dictionary_strings is set:
  // the Arrow schema the Parquet writer is given.
  std::shared_ptr<arrow::Schema> file_schema_;
  std::map<std::string, std::unique_ptr<Partition>> partitions_;  // by directory
  std::vector<AddFile> added_;
  int file_counter_ = 0;
};

// Writes `table` with a fresh DataFileWriter.
arrow::Result<std::vector<AddFile>> WriteDataFiles(std::shared_ptr<storage::ObjectStore> store,
                                                   const Metadata& metadata,
                                                   const arrow::Table& table,
                                                   const WriteOptions& options = {});

}  // namespace nlk::delta::data
