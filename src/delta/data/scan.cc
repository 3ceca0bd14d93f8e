#include "delta/data/scan.h"

#include <arrow/array/util.h>
#include <arrow/builder.h>
#include <arrow/compute/api.h>
#include <arrow/compute/exec.h>
#include <arrow/io/interfaces.h>
#include <arrow/util/future.h>
#include <arrow/util/thread_pool.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/schema.h>
#include <parquet/file_reader.h>
#include <parquet/metadata.h>
#include <parquet/statistics.h>

#include <deque>
#include <functional>
#include <set>
#include <thread>

#include "delta/data/array_conform.h"
#include "delta/data/compute_registry.h"
#include "delta/data/data_skipping.h"
#include "delta/data/deletion_vector.h"
#include "delta/data/page_selection.h"
#include "delta/data/partition_values.h"
#include "delta/data/schema.h"
#include "delta/data/statistics.h"

namespace nlk::delta::data {

struct Scan::Counters {
  std::atomic<int64_t> files_read{0};
  std::atomic<int64_t> row_groups_total{0};
  std::atomic<int64_t> row_groups_pruned{0};
  std::atomic<int64_t> row_groups_unfiltered{0};
  std::atomic<int64_t> rows_skipped_by_page_index{0};
  std::atomic<int64_t> bytes_read{0};
  std::atomic<int64_t> rows_read{0};
  std::atomic<int64_t> rows_deleted{0};
  std::atomic<int64_t> rows_output{0};
};

namespace {

std::string FirstName(const arrow::FieldRef& reference) {
  if (const std::string* name = reference.name()) return *name;
  if (const auto* nested = reference.nested_refs()) {
    if (!nested->empty() && nested->front().name() != nullptr) return *nested->front().name();
  }
  return "";
}

// Bounds that describe a file's partition values (min == max == the value), merged into
// `bounds`. `rows` is the file's record count when known.
arrow::Status AddPartitionBounds(const arrow::Schema& table_schema,
                                 const std::vector<std::string>& partition_columns,
                                 ColumnMappingMode mode, const AddFile& add,
                                 std::optional<int64_t> rows, FileStatistics* bounds) {
  for (const auto& column : partition_columns) {
    const auto& field = table_schema.GetFieldByName(column);
    ARROW_ASSIGN_OR_RAISE(std::string physical, PhysicalName(*field, mode));
    auto it = add.partition_values.find(physical);
    std::optional<std::string> text;
    if (it != add.partition_values.end()) text = it->second;
    auto scalar = ParsePartitionValue(text, field->type());
    if (!scalar.ok()) {
      return scalar.status().WithMessage("data file '", add.path, "', partition column '", column,
                                         "': ", scalar.status().message());
    }
    ColumnStatistics statistics;
    int64_t records = rows.value_or(1);
    if ((*scalar)->is_valid) {
      statistics.min = *scalar;
      statistics.max = *scalar;
      statistics.null_count = 0;
    } else {
      statistics.null_count = records;
    }
    bounds->columns[{column}] = std::move(statistics);
  }
  if (!bounds->num_records) bounds->num_records = rows.value_or(1);
  return arrow::Status::OK();
}

void CollectLeaves(const parquet::arrow::SchemaField& field, std::vector<int>* leaves) {
  if (field.children.empty()) {
    if (field.column_index >= 0) leaves->push_back(field.column_index);
    return;
  }
  for (const auto& child : field.children) CollectLeaves(child, leaves);
}

// Turns a data file path from the log into one relative to the store root.
arrow::Result<std::string> RelativeDataPath(const std::string& path, const std::string& root) {
  if (path.find("://") == std::string::npos && !path.starts_with("file:") &&
      !path.starts_with("/")) {
    return path;
  }
  auto strip = [](std::string_view uri) {
    for (std::string_view scheme : {"file://", "file:"}) {
      if (uri.starts_with(scheme)) {
        uri.remove_prefix(scheme.size());
        break;
      }
    }
    while (uri.size() > 1 && uri.back() == '/') uri.remove_suffix(1);
    return std::string(uri);
  };
  std::string stripped_root = strip(root);
  std::string stripped_path = strip(path);
  if (stripped_path.starts_with(stripped_root + "/")) {
    return stripped_path.substr(stripped_root.size() + 1);
  }
  return arrow::Status::NotImplemented("data file '", path, "' lies outside the table root '", root,
                                       "'");
}

arrow::Result<std::shared_ptr<arrow::RecordBatch>> FilterRows(
    const std::shared_ptr<arrow::RecordBatch>& batch, const arrow::Datum& mask) {
  if (mask.is_scalar()) {
    const auto& keep = mask.scalar_as<arrow::BooleanScalar>();
    if (keep.is_valid && keep.value) return batch;
    return batch->Slice(0, 0);
  }
  ARROW_ASSIGN_OR_RAISE(arrow::Datum filtered, arrow::compute::Filter(batch, mask));
  return filtered.record_batch();
}

// Threads that read whole data files ahead of a ScanReader. Not Arrow's I/O pool: readers are
// consumed from I/O-pool tasks (Acero's record_batch_reader_source runs there) and wait for
// their read-ahead, so read-ahead queued on that same pool never runs once every I/O thread
// waits. Tasks here wait only on LeafReadContext's pool, whose tasks wait on nothing, so no
// cycle of waits can form whatever the pool sizes.
//
// The pools are destroyed at exit, which joins their threads: a leaked pool's worker could still
// be finishing a task (destroying what it captured) while exit tears down Arrow's function
// registry, and crash the process after its work was done. They are created after Arrow's own
// statics, so they are destroyed before them.
arrow::internal::Executor* FileReadExecutor() {
  static const std::shared_ptr<arrow::internal::ThreadPool> pool =
      arrow::internal::ThreadPool::Make(
          std::max(4, 2 * static_cast<int>(std::thread::hardware_concurrency())))
          .ValueOrDie();
  return pool.get();
}

// Byte-range reads of Parquet pre-buffering (object stores): leaf tasks that never block on
// other tasks.
const arrow::io::IOContext& LeafReadContext() {
  static const std::shared_ptr<arrow::internal::ThreadPool> pool =
      arrow::internal::ThreadPool::Make(16).ValueOrDie();
  static const arrow::io::IOContext context(arrow::default_memory_pool(), pool.get());
  return context;
}

bool IsLocalStore(const storage::ObjectStore& store) {
  const std::string& root = store.root_uri();
  return root.find("://") == std::string::npos || root.starts_with("file://");
}

// Streams a scan's files, reading up to `parallelism` ahead on FileReadExecutor().
class ScanReader : public arrow::RecordBatchReader {
 public:
  ScanReader(std::shared_ptr<const Scan> scan, int parallelism, std::optional<int64_t> limit,
             std::function<void(int64_t)> count_output, std::function<arrow::Status()> cancellation)
      : scan_(std::move(scan)),
        // A single file is read on the caller's thread: a hand-off would only add latency.
        parallelism_(scan_->files().size() <= 1 ? 1 : std::max(parallelism, 1)),
        remaining_(limit),
        count_output_(std::move(count_output)),
        cancellation_(std::move(cancellation)) {}

  ~ScanReader() override {
    // Outstanding reads hold the scan alive; wait so no work outlives the reader.
    for (auto& future : in_flight_) future.Wait();
  }

  std::shared_ptr<arrow::Schema> schema() const override { return scan_->schema(); }

  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    while (true) {
      if (remaining_ && *remaining_ <= 0) {
        *out = nullptr;
        return arrow::Status::OK();
      }
      if (position_ < current_.size()) {
        auto batch = current_[position_++];
        if (remaining_) {
          if (batch->num_rows() > *remaining_) batch = batch->Slice(0, *remaining_);
          *remaining_ -= batch->num_rows();
        }
        count_output_(batch->num_rows());
        *out = std::move(batch);
        return arrow::Status::OK();
      }
      if (cancellation_) ARROW_RETURN_NOT_OK(cancellation_());
      Fill();
      if (in_flight_.empty()) {
        *out = nullptr;
        return arrow::Status::OK();
      }
      auto future = std::move(in_flight_.front());
      in_flight_.pop_front();
      ARROW_ASSIGN_OR_RAISE(current_, future.result());
      position_ = 0;
      Fill();
    }
  }

  arrow::Status Close() override {
    for (auto& future : in_flight_) future.Wait();
    in_flight_.clear();
    current_.clear();
    next_file_ = scan_->files().size();
    return arrow::Status::OK();
  }

 private:
  void Fill() {
    while (static_cast<int>(in_flight_.size()) < parallelism_ &&
           next_file_ < scan_->files().size()) {
      size_t index = next_file_++;
      if (parallelism_ == 1) {
        in_flight_.push_back(
            arrow::Future<arrow::RecordBatchVector>::MakeFinished(scan_->ReadFile(index)));
        continue;
      }
      // The reader keeps the scan alive until every read it started has finished (see the
      // destructor), so the task need not own it, and the scan is never destroyed on a pool
      // thread.
      const Scan* scan = scan_.get();
      in_flight_.push_back(arrow::DeferNotOk(
          FileReadExecutor()->Submit([scan, index]() { return scan->ReadFile(index); })));
    }
  }

  std::shared_ptr<const Scan> scan_;
  int parallelism_;
  std::optional<int64_t> remaining_;
  std::function<void(int64_t)> count_output_;
  std::function<arrow::Status()> cancellation_;
  size_t next_file_ = 0;
  std::deque<arrow::Future<arrow::RecordBatchVector>> in_flight_;
  arrow::RecordBatchVector current_;
  size_t position_ = 0;
};

}  // namespace

ScanBuilder::ScanBuilder(std::shared_ptr<storage::ObjectStore> store, Metadata metadata,
                         std::vector<AddFile> files)
    : store_(std::move(store)), metadata_(std::move(metadata)), files_(std::move(files)) {}

ScanBuilder& ScanBuilder::Select(std::vector<std::string> columns) {
  columns_ = std::move(columns);
  return *this;
}

ScanBuilder& ScanBuilder::Filter(arrow::compute::Expression filter) {
  filter_ = std::move(filter);
  return *this;
}

ScanBuilder& ScanBuilder::Limit(int64_t rows) {
  limit_ = rows;
  return *this;
}

ScanBuilder& ScanBuilder::BatchSize(int64_t rows) {
  batch_size_ = rows;
  return *this;
}

ScanBuilder& ScanBuilder::Parallelism(int files) {
  parallelism_ = files;
  return *this;
}

ScanBuilder& ScanBuilder::Cancellation(std::function<arrow::Status()> check) {
  cancellation_ = std::move(check);
  return *this;
}

ScanBuilder& ScanBuilder::Cache(std::shared_ptr<ScanCache> cache) {
  cache_ = std::move(cache);
  return *this;
}

Scan::Scan() : counters_(std::make_unique<Counters>()) {}

arrow::Result<std::shared_ptr<Scan>> ScanBuilder::Build() {
  if (batch_size_ <= 0) return arrow::Status::Invalid("scan batch size must be positive");
  if (limit_ && *limit_ < 0) return arrow::Status::Invalid("scan limit must not be negative");
  ARROW_RETURN_NOT_OK(EnsureComputeFunctions());
  std::shared_ptr<Scan> scan(new Scan());
  scan->store_ = store_;
  scan->cache_ = cache_;
  scan->batch_size_ = batch_size_;
  scan->parallelism_ = parallelism_;
  scan->limit_ = limit_;
  scan->cancellation_ = cancellation_;
  ARROW_ASSIGN_OR_RAISE(scan->mode_, ColumnMappingModeOf(metadata_.configuration));
  ARROW_ASSIGN_OR_RAISE(scan->table_schema_, ParseDeltaSchema(metadata_.schema_string));
  const auto& table_schema = *scan->table_schema_;
  for (const auto& column : metadata_.partition_columns) {
    if (table_schema.GetFieldIndex(column) < 0) {
      return arrow::Status::Invalid("partition column '", column, "' is not in the table schema");
    }
  }
  scan->partition_columns_ = metadata_.partition_columns;

  // Output columns, then everything the filter needs.
  std::vector<std::string> output_names;
  if (columns_) {
    std::set<std::string> seen;
    for (const auto& name : *columns_) {
      if (table_schema.GetFieldIndex(name) < 0) {
        std::string names;
        for (const auto& field : table_schema.fields()) {
          names += (names.empty() ? "" : ", ") + field->name();
        }
        return arrow::Status::KeyError("column '", name, "' is not in the table (columns: ", names,
                                       ")");
      }
      if (!seen.insert(name).second) {
        return arrow::Status::Invalid("column '", name, "' is selected twice");
      }
      output_names.push_back(name);
    }
  } else {
    for (const auto& field : table_schema.fields()) output_names.push_back(field->name());
  }
  std::set<std::string> needed(output_names.begin(), output_names.end());
  if (filter_) {
    for (const auto& reference : arrow::compute::FieldsInExpression(*filter_)) {
      std::string name = FirstName(reference);
      if (name.empty() || table_schema.GetFieldIndex(name) < 0) {
        return arrow::Status::KeyError("filter refers to column '", reference.ToString(),
                                       "', which is not in the table");
      }
      needed.insert(name);
    }
  }
  arrow::FieldVector read_fields;
  for (const auto& field : table_schema.fields()) {
    if (needed.count(field->name())) read_fields.push_back(field);
  }
  scan->read_schema_ = arrow::schema(std::move(read_fields));
  arrow::FieldVector output_fields;
  for (const auto& name : output_names) output_fields.push_back(table_schema.GetFieldByName(name));
  scan->output_schema_ = arrow::schema(std::move(output_fields));
  if (filter_) {
    scan->filter_ = filter_;
    auto bound = filter_->Bind(*scan->read_schema_);
    if (!bound.ok()) {
      return bound.status().WithMessage("cannot apply filter ", filter_->ToString(), ": ",
                                        bound.status().message());
    }
    if (bound->type()->id() != arrow::Type::BOOL) {
      return arrow::Status::TypeError("filter ", filter_->ToString(), " is not boolean");
    }
    scan->bound_filter_ = std::move(*bound);
  }

  // Plan: partition pruning, then stats skipping, then limit pushdown.
  ScanMetrics& metrics = scan->planning_metrics_;
  metrics.files_total = static_cast<int64_t>(files_.size());
  std::optional<StatisticsParser> stats_parser;
  // Statistics are parsed against the logical schema and mapping mode, so those key the cache.
  const std::string schema_key = std::to_string(static_cast<int>(scan->mode_)) + ":" +
                                 std::to_string(std::hash<std::string>{}(metadata_.schema_string));
  auto statistics_of = [&](const AddFile& add) -> std::shared_ptr<const FileStatistics> {
    if (!add.stats) return nullptr;
    if (cache_) {
      if (auto cached = cache_->FindStatistics(schema_key, add.path, *add.stats)) return cached;
    }
    if (!stats_parser) {
      auto made = StatisticsParser::Make(table_schema, scan->mode_);
      if (!made.ok()) return nullptr;
      stats_parser = std::move(*made);
    }
    auto parsed = stats_parser->Parse(*add.stats);
    if (!parsed.ok()) return nullptr;  // unreadable stats only cost skipping
    auto statistics = std::make_shared<const FileStatistics>(std::move(*parsed));
    if (cache_) cache_->InsertStatistics(schema_key, add.path, *add.stats, statistics);
    return statistics;
  };
  int64_t rows_planned = 0;
  bool rows_known = true;
  for (auto& add : files_) {
    if (limit_ && !filter_ && rows_known && rows_planned >= *limit_) {
      ++metrics.files_skipped_by_limit;
      continue;
    }
    std::shared_ptr<const FileStatistics> statistics = statistics_of(add);
    if (filter_) {
      if (!scan->partition_columns_.empty()) {
        FileStatistics partition_bounds;
        ARROW_RETURN_NOT_OK(AddPartitionBounds(table_schema, scan->partition_columns_, scan->mode_,
                                               add, std::nullopt, &partition_bounds));
        if (!MightMatch(*filter_, partition_bounds)) {
          ++metrics.files_pruned_by_partition;
          continue;
        }
      }
      if (statistics) {
        const FileStatistics* bounds = statistics.get();
        FileStatistics with_partitions;
        if (!scan->partition_columns_.empty()) {
          with_partitions = *statistics;
          ARROW_RETURN_NOT_OK(AddPartitionBounds(table_schema, scan->partition_columns_,
                                                 scan->mode_, add, statistics->num_records,
                                                 &with_partitions));
          bounds = &with_partitions;
        }
        if (!MightMatch(*filter_, *bounds)) {
          ++metrics.files_skipped_by_stats;
          continue;
        }
      }
    }
    if (statistics && statistics->num_records) {
      rows_planned +=
          *statistics->num_records - (add.deletion_vector ? add.deletion_vector->cardinality : 0);
    } else {
      rows_known = false;
    }
    scan->files_.push_back(std::move(add));
  }
  return scan;
}

ScanMetrics Scan::metrics() const {
  ScanMetrics metrics = planning_metrics_;
  metrics.files_read = counters_->files_read;
  metrics.row_groups_total = counters_->row_groups_total;
  metrics.row_groups_pruned = counters_->row_groups_pruned;
  metrics.row_groups_unfiltered = counters_->row_groups_unfiltered;
  metrics.rows_skipped_by_page_index = counters_->rows_skipped_by_page_index;
  metrics.bytes_read = counters_->bytes_read;
  metrics.rows_read = counters_->rows_read;
  metrics.rows_deleted = counters_->rows_deleted;
  metrics.rows_output = counters_->rows_output;
  return metrics;
}

arrow::Result<arrow::RecordBatchVector> Scan::ReadFile(size_t file_index) const {
  if (file_index >= files_.size()) return arrow::Status::IndexError("no file ", file_index);
  if (cancellation_) ARROW_RETURN_NOT_OK(cancellation_());
  const AddFile& add = files_[file_index];
  auto fail = [&add](const arrow::Status& status) {
    return status.WithMessage("data file '", add.path, "': ", status.message());
  };
  ARROW_ASSIGN_OR_RAISE(std::string path, RelativeDataPath(add.path, store_->root_uri()));
  auto opened = store_->OpenForRead(path);
  if (!opened.ok()) {
    return arrow::Status::IOError("cannot open data file '", add.path,
                                  "' listed in the Delta log (missing or unreadable in storage): ",
                                  opened.status().message());
  }
  // A file's size is part of its identity: a file replaced in place under the same name (which
  // Delta writers never do) is read afresh rather than with a stale footer.
  const std::string location = store_->root_uri() + "/" + path;
  std::shared_ptr<parquet::FileMetaData> cached_footer;
  if (cache_ && add.size > 0) cached_footer = cache_->FindFooter(location, add.size);
  parquet::arrow::FileReaderBuilder builder;
  auto status = builder.Open(*opened, parquet::default_reader_properties(), cached_footer);
  if (!status.ok()) return fail(status);
  parquet::ArrowReaderProperties properties;
  properties.set_batch_size(batch_size_);
  if (IsLocalStore(*store_)) {
    // Local reads are cheap and synchronous on this thread; pre-buffering would only hand each
    // column chunk to another thread.
    properties.set_pre_buffer(false);
  } else {
    properties.set_pre_buffer(true);
    properties.set_io_context(LeafReadContext());
  }
  // Spark writes timestamps as INT96; read them at Delta's microsecond precision, since
  // nanoseconds overflow for dates past 2262 (e.g. 9999-12-31).
  properties.set_coerce_int96_timestamp_unit(arrow::TimeUnit::MICRO);
  builder.properties(properties);
  auto built = builder.Build();
  if (!built.ok()) return fail(built.status());
  std::unique_ptr<parquet::arrow::FileReader> reader = std::move(*built);
  std::shared_ptr<arrow::Schema> file_schema;
  ARROW_RETURN_NOT_OK(reader->GetSchema(&file_schema));
  const auto& manifest = reader->manifest();
  auto file_metadata = reader->parquet_reader()->metadata();
  if (cache_ && add.size > 0 && cached_footer == nullptr) {
    cache_->InsertFooter(location, add.size, file_metadata);
  }
  ++counters_->files_read;

  // Resolve each logical column to the file's column (by physical name or field id).
  const MatchBy match_by = mode_ == ColumnMappingMode::kId ? MatchBy::kFieldId : MatchBy::kName;
  struct Resolved {
    std::shared_ptr<arrow::Field> logical;
    std::shared_ptr<arrow::Field> physical;
    int file_index = -1;  // top-level field in the file, -1 if absent
    bool is_partition = false;
  };
  std::vector<Resolved> columns;
  std::vector<int> leaves;
  for (const auto& field : read_schema_->fields()) {
    Resolved resolved;
    resolved.logical = field;
    resolved.is_partition = std::find(partition_columns_.begin(), partition_columns_.end(),
                                      field->name()) != partition_columns_.end();
    if (!resolved.is_partition) {
      ARROW_ASSIGN_OR_RAISE(resolved.physical, PhysicalField(*field, mode_));
      resolved.file_index = FindMatchingField(file_schema->fields(), *resolved.physical, match_by);
      if (resolved.file_index >= 0)
        CollectLeaves(manifest.schema_fields[resolved.file_index], &leaves);
    }
    columns.push_back(std::move(resolved));
  }

  // Row-group pruning from Parquet statistics of top-level primitive columns.
  const int row_group_count = file_metadata->num_row_groups();
  counters_->row_groups_total += row_group_count;
  std::vector<int> row_groups;
  std::vector<int64_t> first_rows;
  // Per kept row group: whether its statistics leave rows the filter may reject (else every
  // row passes, and neither pages nor rows are filtered).
  std::vector<bool> needs_filter;
  int64_t first_row = 0;
  for (int group = 0; group < row_group_count; ++group) {
    auto group_metadata = file_metadata->RowGroup(group);
    int64_t group_rows = group_metadata->num_rows();
    bool keep = true;
    bool filter_rows = filter_.has_value();
    if (filter_) {
      FileStatistics bounds;
      bounds.num_records = group_rows;
      for (const auto& column : columns) {
        if (column.file_index < 0) continue;
        const auto& schema_field = manifest.schema_fields[column.file_index];
        if (!schema_field.children.empty() || schema_field.column_index < 0) continue;
        auto chunk = group_metadata->ColumnChunk(schema_field.column_index);
        auto statistics = chunk->statistics();
        if (statistics == nullptr) continue;
        ColumnStatistics column_bounds;
        if (statistics->HasNullCount()) column_bounds.null_count = statistics->null_count();
        if (statistics->HasMinMax()) {
          std::shared_ptr<arrow::Scalar> min;
          std::shared_ptr<arrow::Scalar> max;
          if (parquet::arrow::StatisticsAsScalars(*statistics, &min, &max).ok()) {
            const auto& type = column.logical->type();
            auto min_cast = min->type->Equals(*type) ? min : min->CastTo(type).ValueOr(nullptr);
            auto max_cast = max->type->Equals(*type) ? max : max->CastTo(type).ValueOr(nullptr);
            if (min_cast && max_cast) {
              column_bounds.min = std::move(min_cast);
              column_bounds.max = std::move(max_cast);
            }
          }
        }
        bounds.columns[{column.logical->name()}] = std::move(column_bounds);
      }
      ARROW_RETURN_NOT_OK(
          AddPartitionBounds(*table_schema_, partition_columns_, mode_, add, group_rows, &bounds));
      const BoundsVerdict verdict = JudgeFilter(*filter_, bounds);
      keep = verdict.might_match;
      filter_rows = !verdict.matches_all;
    }
    if (keep) {
      row_groups.push_back(group);
      first_rows.push_back(first_row);
      needs_filter.push_back(filter_rows);
      if (filter_ && !filter_rows) ++counters_->row_groups_unfiltered;
      for (int leaf : leaves) {
        counters_->bytes_read += group_metadata->ColumnChunk(leaf)->total_compressed_size();
      }
    } else {
      ++counters_->row_groups_pruned;
    }
    first_row += group_rows;
  }

  // Page-level pruning needs every stored column read to be decodable by row ranges.
  std::vector<PageIndexColumn> page_index_columns;
  bool read_by_pages = filter_.has_value() && !leaves.empty();
  for (const auto& column : columns) {
    if (!read_by_pages || column.file_index < 0) continue;
    const auto& schema_field = manifest.schema_fields[column.file_index];
    if (!schema_field.children.empty() || schema_field.column_index < 0 ||
        !CanReadRowRanges(*file_metadata->schema()->Column(schema_field.column_index),
                          *file_schema->field(column.file_index)->type())) {
      read_by_pages = false;
      break;
    }
    page_index_columns.push_back(
        {schema_field.column_index, column.logical->name(), column.logical->type()});
  }

  std::optional<DeletionVector> deleted;
  if (add.deletion_vector && !row_groups.empty()) {
    auto loaded = LoadDeletionVector(*store_, *add.deletion_vector);
    if (!loaded.ok()) return fail(loaded.status());
    deleted = std::move(*loaded);
  }

  std::vector<int> output_indexes;
  for (const auto& field : output_schema_->fields()) {
    output_indexes.push_back(read_schema_->GetFieldIndex(field->name()));
  }

  arrow::RecordBatchVector result;
  bool filter_rows = true;  // the current row group's needs_filter
  auto emit = [&](int64_t base_row, int64_t rows,
                  const std::shared_ptr<arrow::RecordBatch>& file_batch) -> arrow::Status {
    counters_->rows_read += rows;
    arrow::ArrayVector arrays;
    for (const auto& column : columns) {
      std::shared_ptr<arrow::Array> array;
      if (column.is_partition) {
        ARROW_ASSIGN_OR_RAISE(std::string physical, PhysicalName(*column.logical, mode_));
        auto it = add.partition_values.find(physical);
        std::optional<std::string> text;
        if (it != add.partition_values.end()) text = it->second;
        ARROW_ASSIGN_OR_RAISE(array, MakePartitionArray(text, column.logical->type(), rows));
      } else if (column.file_index >= 0 && file_batch != nullptr) {
        const std::string& file_name = file_schema->field(column.file_index)->name();
        auto source = file_batch->GetColumnByName(file_name);
        if (source == nullptr) return arrow::Status::Invalid("column ", file_name, " not read");
        ARROW_ASSIGN_OR_RAISE(array, ConformArray(source, *column.logical, *column.physical,
                                                  match_by, column.logical->name()));
      } else {
        // A column added by schema evolution after this file was written.
        ARROW_ASSIGN_OR_RAISE(array, arrow::MakeArrayOfNull(column.logical->type(), rows));
      }
      arrays.push_back(std::move(array));
    }
    auto batch = arrow::RecordBatch::Make(read_schema_, rows, std::move(arrays));
    if (deleted) {
      std::vector<int64_t> offsets = deleted->DeletedInRange(static_cast<uint64_t>(base_row), rows);
      if (!offsets.empty()) {
        counters_->rows_deleted += static_cast<int64_t>(offsets.size());
        arrow::BooleanBuilder keep;
        ARROW_RETURN_NOT_OK(keep.Reserve(rows));
        size_t next = 0;
        for (int64_t row = 0; row < rows; ++row) {
          bool is_deleted = next < offsets.size() && offsets[next] == row;
          if (is_deleted) ++next;
          keep.UnsafeAppend(!is_deleted);
        }
        ARROW_ASSIGN_OR_RAISE(auto mask, keep.Finish());
        ARROW_ASSIGN_OR_RAISE(batch, FilterRows(batch, mask));
      }
    }
    if (bound_filter_ && filter_rows && batch->num_rows() > 0) {
      ARROW_ASSIGN_OR_RAISE(auto input, arrow::compute::MakeExecBatch(*read_schema_, batch));
      ARROW_ASSIGN_OR_RAISE(arrow::Datum mask,
                            arrow::compute::ExecuteScalarExpression(*bound_filter_, input));
      ARROW_ASSIGN_OR_RAISE(batch, FilterRows(batch, mask));
    }
    if (batch->num_rows() == 0) return arrow::Status::OK();
    ARROW_ASSIGN_OR_RAISE(auto projected, batch->SelectColumns(output_indexes));
    result.push_back(std::move(projected));
    return arrow::Status::OK();
  };

  for (size_t i = 0; i < row_groups.size(); ++i) {
    int64_t base_row = first_rows[i];
    int64_t group_rows = file_metadata->RowGroup(row_groups[i])->num_rows();
    filter_rows = needs_filter[i];
    if (leaves.empty()) {
      // Nothing stored is needed (only partition or missing columns): count rows only.
      for (int64_t offset = 0; offset < group_rows; offset += batch_size_) {
        ARROW_RETURN_NOT_OK(
            emit(base_row + offset, std::min(batch_size_, group_rows - offset), nullptr));
      }
      continue;
    }
    if (read_by_pages && filter_rows) {
      auto selected = SelectRowsByPageIndex(*reader->parquet_reader(), row_groups[i], *filter_,
                                            page_index_columns);
      int64_t selected_rows = 0;
      if (selected) {
        for (const RowRange& range : *selected) selected_rows += range.size();
      }
      if (selected && selected_rows < group_rows) {
        counters_->rows_skipped_by_page_index += group_rows - selected_rows;
        // Batches of at most batch_size_ rows; every column is read by the same pieces.
        std::vector<RowRange> pieces;
        for (const RowRange& range : *selected) {
          for (int64_t begin = range.begin; begin < range.end; begin += batch_size_) {
            pieces.push_back({begin, std::min(range.end, begin + batch_size_)});
          }
        }
        if (pieces.empty()) continue;
        std::shared_ptr<parquet::RowGroupReader> group_reader;
        try {
          if (!IsLocalStore(*store_)) {
            // One round of concurrent ranged reads instead of a request per column chunk.
            reader->parquet_reader()->PreBuffer({row_groups[i]}, leaves, LeafReadContext(),
                                                arrow::io::CacheOptions::Defaults());
            ARROW_RETURN_NOT_OK(
                reader->parquet_reader()->WhenBuffered({row_groups[i]}, leaves).status());
          }
          group_reader = reader->parquet_reader()->RowGroup(row_groups[i]);
        } catch (const parquet::ParquetException& error) {
          return fail(arrow::Status::IOError(error.what()));
        }
        arrow::FieldVector fields;
        std::vector<arrow::ArrayVector> arrays_by_column;
        for (const auto& column : columns) {
          if (column.file_index < 0) continue;
          const auto& field = file_schema->field(column.file_index);
          auto read =
              ReadRowRanges(*group_reader, manifest.schema_fields[column.file_index].column_index,
                            field->type(), pieces);
          if (!read.ok()) return fail(read.status());
          fields.push_back(field);
          arrays_by_column.push_back(std::move(*read));
        }
        auto piece_schema = arrow::schema(std::move(fields));
        for (size_t piece = 0; piece < pieces.size(); ++piece) {
          arrow::ArrayVector arrays;
          for (const auto& column_arrays : arrays_by_column) arrays.push_back(column_arrays[piece]);
          auto batch =
              arrow::RecordBatch::Make(piece_schema, pieces[piece].size(), std::move(arrays));
          ARROW_RETURN_NOT_OK(emit(base_row + pieces[piece].begin, pieces[piece].size(), batch));
        }
        continue;
      }
    }
    auto batches = reader->GetRecordBatchReader({row_groups[i]}, leaves);
    if (!batches.ok()) return fail(batches.status());
    while (true) {
      std::shared_ptr<arrow::RecordBatch> file_batch;
      auto read = (*batches)->ReadNext(&file_batch);
      if (!read.ok()) return fail(read);
      if (file_batch == nullptr) break;
      ARROW_RETURN_NOT_OK(emit(base_row, file_batch->num_rows(), file_batch));
      base_row += file_batch->num_rows();
    }
  }
  return result;
}

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> Scan::ToRecordBatchReader() {
  auto self = shared_from_this();
  Counters* counters = counters_.get();
  return std::make_shared<ScanReader>(
      self, parallelism_, limit_, [self, counters](int64_t rows) { counters->rows_output += rows; },
      cancellation_);
}

arrow::Result<std::shared_ptr<arrow::Table>> Scan::ToTable() {
  ARROW_ASSIGN_OR_RAISE(auto reader, ToRecordBatchReader());
  return arrow::Table::FromRecordBatchReader(reader.get());
}

}  // namespace nlk::delta::data
