// Per-file statistics (PROTOCOL.md "Per-file Statistics"): computed while writing a data file
// (statistics.cc) and parsed back for data skipping (statistics_parser.cc).
//
// Following Spark, min/max are kept for numeric, decimal, date, timestamp, timestamp_ntz and
// string columns; nullCount for every leaf (arrays and maps count as leaves); nothing inside
// arrays or maps. Statistics are keyed by physical column names (the writer requirement of
// column mapping) and nested like the struct columns they describe.
#pragma once

#include <arrow/result.h>
#include <arrow/scalar.h>
#include <arrow/table.h>
#include <parquet/metadata.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "delta/data/column_mapping.h"

namespace nlk::delta::data {

struct StatisticsOptions {
  // Strings are cut to this many characters (Delta's delta.dataSkippingStringPrefixLength).
  int32_t string_prefix_length = 32;
};

// The stats JSON for `data`, the logical columns exactly as stored in one data file (partition
// columns excluded). String minimums are truncated prefixes; a truncated maximum gets U+10FFFF
// appended so it stays an upper bound (or is omitted when that cannot be guaranteed).
// Timestamps are written with millisecond precision as Spark does, minimums rounded down and
// maximums rounded up. Floating-point columns holding NaN or infinities get no min/max.
arrow::Result<std::string> ComputeStatisticsJson(const arrow::Table& data, ColumnMappingMode mode,
                                                 const StatisticsOptions& options = {});

// Accumulates the same statistics batch by batch, so a writer need not keep a file's rows.
//
// Thread-safety: not thread-safe; use one per data file being written.
class StatisticsCollector {
 public:
  // `schema`: the logical columns stored in the file (partition columns excluded).
  static arrow::Result<std::unique_ptr<StatisticsCollector>> Make(
      const arrow::Schema& schema, ColumnMappingMode mode, const StatisticsOptions& options = {});
  ~StatisticsCollector();

  // `batch` must have the schema given to Make.
  arrow::Status Update(const arrow::RecordBatch& batch);
  // Adds the batches of the next row group of a Parquet file being written, leaving the
  // bounds of top-level string, integer, date, floating-point and millisecond or microsecond
  // timestamp columns to ReadParquetBounds: the Parquet writer computes the same min/max for its
  // column chunk statistics, so the values are not compared twice. A row group holding a string
  // longer than kParquetBoundLimit bytes, for which Parquet may keep no statistics, is measured
  // here instead, and a floating-point column holding NaN or an infinity gets no bounds, as in
  // Update.
  arrow::Status UpdateRowGroup(const std::vector<std::shared_ptr<arrow::RecordBatch>>& batches);
  // Merges in the bounds of the row groups UpdateRowGroup left to Parquet, from the
  // written file's footer. A column whose footer lacks them (or names it ambiguously) gets no
  // bounds at all, never partial ones; so does a footer whose row groups are not the ones given
  // to UpdateRowGroup.
  arrow::Status ReadParquetBounds(const parquet::FileMetaData& metadata);
  // Marks the top-level string column `physical_name` as one whose Parquet statistics the writer
  // turned off (see WriteOptions::dictionary_strings): UpdateRowGroup then measures its bounds
  // itself, from each dictionary-encoded piece's dictionary rather than its rows.
  arrow::Status MeasureStringBounds(const std::string& physical_name);
  static constexpr int64_t kParquetBoundLimit = 1024;
  int64_t num_records() const { return num_records_; }
  // The stats JSON of everything seen so far.
  std::string ToJson() const;

  struct Leaf;

 private:
  StatisticsCollector() = default;
  arrow::Status CheckColumns(const arrow::RecordBatch& batch) const;

  StatisticsOptions options_;
  std::shared_ptr<arrow::Schema> schema_;
  // Field tree with per-leaf accumulators, in schema order.
  std::vector<std::unique_ptr<Leaf>> roots_;
  int64_t num_records_ = 0;
  // Rows of each row group given to UpdateRowGroup, in order: the footer must match them.
  std::vector<int64_t> row_group_rows_;
};

// Bounds of one leaf column in one file. Each member may be absent.
struct ColumnStatistics {
  std::shared_ptr<arrow::Scalar> min;  // typed as the column's logical Arrow type
  std::shared_ptr<arrow::Scalar> max;
  std::optional<int64_t> null_count;
};

// Column path, logical names from the top-level column down, e.g. {"reading", "channel"}.
using ColumnPath = std::vector<std::string>;

struct FileStatistics {
  std::optional<int64_t> num_records;
  // False when bounds are "wide" (may be outdated by deletion vectors, still valid bounds).
  bool tight_bounds = true;
  std::map<ColumnPath, ColumnStatistics> columns;

  // Nullptr when the file has no statistics for the column.
  const ColumnStatistics* Find(const ColumnPath& path) const;
};

// Parses stats JSON against a table schema. Built once per scan and reused for every file.
// Parsing is conservative: values it cannot read exactly are dropped rather than guessed, and
// timestamp maximums are widened by 999 microseconds because writers truncate them to
// milliseconds.
//
// Thread-safety: Parse is const and safe to call from many threads.
class StatisticsParser {
 public:
  static arrow::Result<StatisticsParser> Make(const arrow::Schema& logical_schema,
                                              ColumnMappingMode mode);

  arrow::Result<FileStatistics> Parse(std::string_view stats_json) const;

  // One node per schema field, keyed by physical name (what the stats JSON uses).
  struct Node {
    std::string logical_name;
    std::shared_ptr<arrow::DataType> type;
    std::map<std::string, Node> children;  // struct fields only
  };

 private:
  std::map<std::string, Node> root_;
};

}  // namespace nlk::delta::data
