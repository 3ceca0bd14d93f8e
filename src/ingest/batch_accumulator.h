// Rows decoded from Kafka messages, buffered in Arrow builders until the writer flushes them as
// one record batch for one Delta commit.
//
// Thread-safety: not thread-safe; one writer thread owns an accumulator.
#pragma once

#include <arrow/memory_pool.h>
#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/status.h>
#include <arrow/type_fwd.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

namespace nlk::ingest {

// One cell as a decoder hands it over, already converted to the column's physical value:
//   std::monostate    null
//   bool              boolean
//   int64_t           int8/int16/int32/int64 (range-checked by the decoder), date32 (days since
//                     the epoch), timestamp (count of the column's unit since the epoch)
//   double            float32/float64
//   std::string_view  utf8, large_utf8, binary (copied into the builder; need not outlive the call)
using CellValue = std::variant<std::monostate, bool, int64_t, double, std::string_view>;

// The column types a decoder can fill; everything else is rejected when the accumulator is made,
// so an unsupported table schema fails at start-up rather than on the first message.
bool IsSupportedColumnType(const arrow::DataType& type);

class BatchAccumulator {
 public:
  static arrow::Result<std::unique_ptr<BatchAccumulator>> Make(
      std::shared_ptr<arrow::Schema> schema,
      arrow::MemoryPool* pool = arrow::default_memory_pool());

  // Grows with AddField; never shrinks.
  const std::shared_ptr<arrow::Schema>& schema() const { return schema_; }
  int64_t num_rows() const { return num_rows_; }
  // The memory the buffered rows hold, for the flush policy's byte limit: an estimate for rows
  // still in builders, the referenced buffer sizes for batches appended whole.
  int64_t buffered_bytes() const { return buffered_bytes_; }

  // Appends one row; `cells` follows schema() order and CellValue's mapping.
  arrow::Status AppendRow(std::span<const CellValue> cells);
  // Appends a batch whose schema equals schema(), without copying it until Flush. A string
  // column may come as dictionary<int32, string> instead (its dictionary without nulls); it stays
  // so in the pieces TakeBatches returns, and Flush decodes it.
  arrow::Status AppendBatch(std::shared_ptr<arrow::RecordBatch> batch);
  // Adds a nullable column at the end (schema evolution); rows buffered before read null.
  arrow::Status AddField(std::shared_ptr<arrow::Field> field);

  // Returns everything buffered since the last flush as one batch of schema() (zero rows when
  // nothing was buffered) and starts empty again.
  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Flush();
  // Like Flush, but leaves the pieces unconcatenated (each of schema(), but for string columns
  // appended dictionary-encoded; none when nothing was buffered), so that whoever writes them
  // pays for the copy, on its own thread.
  arrow::Result<std::vector<std::shared_ptr<arrow::RecordBatch>>> TakeBatches();

 private:
  // The builder to use for each column, resolved once so appends do not dispatch on type ids.
  enum class ColumnKind {
    kBoolean,
    kInt8,
    kInt16,
    kInt32,
    kInt64,
    kFloat32,
    kFloat64,
    kDate32,
    kTimestamp,
    kString,
    kLargeString,
    kBinary
  };

  BatchAccumulator(std::shared_ptr<arrow::Schema> schema, arrow::MemoryPool* pool);
  arrow::Status AddBuilder(const std::shared_ptr<arrow::Field>& field);
  arrow::Status AppendCell(size_t column, const CellValue& cell);
  // Moves the rows in the builders into a finished chunk, so that whole batches and new columns
  // keep the arrival order of rows.
  arrow::Status FinishBuilders();

  std::shared_ptr<arrow::Schema> schema_;
  arrow::MemoryPool* pool_;
  std::vector<ColumnKind> kinds_;
  std::vector<std::unique_ptr<arrow::ArrayBuilder>> builders_;
  int64_t builder_rows_ = 0;
  // Finished pieces in arrival order; a chunk made before AddField lacks the newer columns.
  std::vector<std::shared_ptr<arrow::RecordBatch>> chunks_;
  int64_t num_rows_ = 0;
  int64_t buffered_bytes_ = 0;
};

}  // namespace nlk::ingest
