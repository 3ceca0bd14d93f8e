#include "server/served_table.h"

#include <arrow/compute/api.h>
#include <arrow/compute/exec.h>
#include <arrow/filesystem/api.h>
#include <parquet/arrow/reader.h>

#include <algorithm>
#include <chrono>

#include "delta/data/schema.h"
#include "delta/log/data_freshness.h"

namespace nlk::server {
namespace {

namespace compute = arrow::compute;

// How far back the log is read for the newest commit that brought data, when the latest one
// did not and the previous state cannot tell.
constexpr int64_t kDataHistoryCommits = 50;

// Time-travel snapshots kept per table; a dashboard pinning a few versions stays cached, a scan
// over history does not grow memory without bound.
constexpr size_t kMaxCachedVersions = 8;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string FileKey(const delta::AddFile& add) {
  return add.deletion_vector ? add.path + "#" + add.deletion_vector->UniqueId() : add.path;
}

int64_t BatchBytes(const arrow::RecordBatchVector& batches) {
  int64_t bytes = 0;
  for (const auto& batch : batches) {
    for (const auto& column : batch->columns()) {
      for (const auto& buffer : column->data()->buffers) {
        if (buffer) bytes += buffer->size();
      }
    }
  }
  return bytes;
}

// Filters, projects and limits in-memory batches lazily, one batch per ReadNext.
class MemoryScanReader : public arrow::RecordBatchReader {
 public:
  MemoryScanReader(std::shared_ptr<arrow::Schema> output_schema,
                   std::vector<std::shared_ptr<arrow::RecordBatch>> batches,
                   std::optional<compute::Expression> bound_filter, std::vector<int> projection,
                   std::optional<int64_t> limit, std::shared_ptr<delta::data::ScanMetrics> metrics)
      : output_schema_(std::move(output_schema)),
        batches_(std::move(batches)),
        bound_filter_(std::move(bound_filter)),
        projection_(std::move(projection)),
        remaining_(limit),
        metrics_(std::move(metrics)) {}

  std::shared_ptr<arrow::Schema> schema() const override { return output_schema_; }

  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    *out = nullptr;
    while (next_ < batches_.size() && (!remaining_ || *remaining_ > 0)) {
      std::shared_ptr<arrow::RecordBatch> batch = batches_[next_++];
      metrics_->rows_read += batch->num_rows();
      if (bound_filter_) {
        ARROW_ASSIGN_OR_RAISE(arrow::Datum mask, compute::ExecuteScalarExpression(
                                                     *bound_filter_, compute::ExecBatch(*batch)));
        if (mask.is_scalar()) {
          const auto& scalar = mask.scalar_as<arrow::BooleanScalar>();
          if (!scalar.is_valid || !scalar.value) continue;
        } else {
          ARROW_ASSIGN_OR_RAISE(arrow::Datum filtered, compute::Filter(batch, mask));
          batch = filtered.record_batch();
        }
      }
      if (batch->num_rows() == 0) continue;
      ARROW_ASSIGN_OR_RAISE(batch, batch->SelectColumns(projection_));
      if (remaining_) {
        if (batch->num_rows() > *remaining_) batch = batch->Slice(0, *remaining_);
        *remaining_ -= batch->num_rows();
      }
      metrics_->rows_output += batch->num_rows();
      *out = std::move(batch);
      return arrow::Status::OK();
    }
    return arrow::Status::OK();
  }

 private:
  std::shared_ptr<arrow::Schema> output_schema_;
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches_;
  std::optional<compute::Expression> bound_filter_;
  std::vector<int> projection_;
  std::optional<int64_t> remaining_;
  std::shared_ptr<delta::data::ScanMetrics> metrics_;
  size_t next_ = 0;
};

arrow::Result<std::vector<int>> ProjectionIndices(const arrow::Schema& schema,
                                                  const std::vector<std::string>& columns) {
  std::vector<int> indices;
  if (columns.empty()) {
    for (int i = 0; i < schema.num_fields(); ++i) indices.push_back(i);
    return indices;
  }
  for (const std::string& column : columns) {
    int index = schema.GetFieldIndex(column);
    if (index < 0) {
      std::string names;
      for (const auto& field : schema.fields())
        names += (names.empty() ? "" : ", ") + field->name();
      return arrow::Status::KeyError("column '", column, "' is not in the table (columns: ", names,
                                     ")");
    }
    indices.push_back(index);
  }
  return indices;
}

}  // namespace

arrow::Result<std::shared_ptr<ServedTable>> ServedTable::Open(const TableConfig& config,
                                                              std::chrono::milliseconds reload) {
  std::shared_ptr<ServedTable> served(new ServedTable(config, reload));
  if (config.format == TableFormat::kParquet) {
    ARROW_RETURN_NOT_OK(served->LoadParquet());
    return served;
  }
  if (config.format == TableFormat::kMemory) {
    ARROW_RETURN_NOT_OK(served->LoadRows());
    return served;
  }
  ARROW_ASSIGN_OR_RAISE(served->table_, delta::Table::Open(config.uri));
  ARROW_ASSIGN_OR_RAISE(auto snapshot, served->table_->log()->Latest());
  ARROW_ASSIGN_OR_RAISE(served->state_, served->BuildDeltaState(std::move(snapshot), nullptr));
  return served;
}

arrow::Status ServedTable::LoadParquet() {
  std::string path;
  ARROW_ASSIGN_OR_RAISE(auto file_system, arrow::fs::FileSystemFromUriOrPath(config_.uri, &path));
  ARROW_ASSIGN_OR_RAISE(auto info, file_system->GetFileInfo(path));
  std::vector<std::string> files;
  if (info.IsDirectory()) {
    arrow::fs::FileSelector selector;
    selector.base_dir = path;
    selector.recursive = true;
    ARROW_ASSIGN_OR_RAISE(auto listed, file_system->GetFileInfo(selector));
    for (const auto& entry : listed) {
      if (entry.IsFile() && entry.extension() == "parquet") files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
  } else if (info.IsFile()) {
    files.push_back(path);
  } else {
    return arrow::Status::IOError("table '", config_.name, "': no Parquet file or directory at ",
                                  config_.uri);
  }
  auto state = std::make_shared<State>();
  auto memory_files = std::make_shared<std::map<std::string, MemoryFile>>();
  std::vector<std::shared_ptr<arrow::Table>> tables;
  for (const std::string& file : files) {
    ARROW_ASSIGN_OR_RAISE(auto input, file_system->OpenInputFile(file));
    ARROW_ASSIGN_OR_RAISE(auto reader,
                          parquet::arrow::OpenFile(input, arrow::default_memory_pool()));
    ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Table> table, reader->ReadTable());
    if (state->schema && !state->schema->Equals(*table->schema(), false)) {
      return arrow::Status::Invalid("table '", config_.name, "': ", file,
                                    " has a different schema than the other files");
    }
    state->schema = table->schema()->WithMetadata(nullptr);
    MemoryFile memory_file;
    memory_file.add.path = file;
    ARROW_ASSIGN_OR_RAISE(memory_file.batches, arrow::TableBatchReader(*table).ToRecordBatches());
    for (auto& batch : memory_file.batches) batch = batch->ReplaceSchemaMetadata(nullptr);
    memory_file.bytes = BatchBytes(memory_file.batches);
    state->memory_bytes += memory_file.bytes;
    tables.push_back(table->ReplaceSchemaMetadata(nullptr));
    (*memory_files)[file] = std::move(memory_file);
  }
  if (!state->schema) {
    return arrow::Status::IOError("table '", config_.name, "': no .parquet files under ",
                                  config_.uri);
  }
  ARROW_ASSIGN_OR_RAISE(state->memory_table, arrow::ConcatenateTables(tables));
  state->memory_files = std::move(memory_files);
  state->checked_at_ms = NowMs();
  state_ = std::move(state);
  return arrow::Status::OK();
}

arrow::Status ServedTable::LoadRows() {
  if (config_.rows == nullptr) {
    return arrow::Status::Invalid("table '", config_.name, "': no rows given for a memory table");
  }
  auto state = std::make_shared<State>();
  std::shared_ptr<arrow::Table> rows = config_.rows->ReplaceSchemaMetadata(nullptr);
  state->schema = rows->schema();
  MemoryFile memory_file;
  memory_file.add.path = config_.name;
  ARROW_ASSIGN_OR_RAISE(memory_file.batches, arrow::TableBatchReader(*rows).ToRecordBatches());
  memory_file.bytes = BatchBytes(memory_file.batches);
  state->memory_bytes = memory_file.bytes;
  auto memory_files = std::make_shared<std::map<std::string, MemoryFile>>();
  (*memory_files)[config_.name] = std::move(memory_file);
  state->memory_files = std::move(memory_files);
  state->memory_table = std::move(rows);
  state->checked_at_ms = NowMs();
  state_ = std::move(state);
  return arrow::Status::OK();
}

arrow::Result<std::shared_ptr<const ServedTable::State>> ServedTable::BuildDeltaState(
    std::shared_ptr<const delta::Snapshot> snapshot, const State* previous) const {
  auto state = std::make_shared<State>();
  ARROW_ASSIGN_OR_RAISE(state->schema,
                        delta::data::ParseDeltaSchema(snapshot->metadata().schema_string));
  state->checked_at_ms = NowMs();
  if (config_.use_memory_table) {
    // Reuse the rows of files both versions share; a schema change reloads everything, since
    // old batches would not match the new columns.
    bool reuse =
        previous && previous->memory_files && previous->snapshot &&
        previous->snapshot->metadata().schema_string == snapshot->metadata().schema_string &&
        previous->snapshot->metadata().partition_columns == snapshot->metadata().partition_columns;
    auto files = std::make_shared<std::map<std::string, MemoryFile>>();
    for (const delta::AddFile& add : snapshot->files()) {
      std::string key = FileKey(add);
      if (reuse) {
        auto found = previous->memory_files->find(key);
        if (found != previous->memory_files->end()) {
          state->memory_bytes += found->second.bytes;
          files->emplace(key, found->second);
          continue;
        }
      }
      ARROW_ASSIGN_OR_RAISE(
          auto scan, table_->NewScan().Snapshot(snapshot).Files({add}).Parallelism(1).Plan());
      MemoryFile memory_file;
      memory_file.add = add;
      if (!scan->files().empty()) {
        ARROW_ASSIGN_OR_RAISE(memory_file.batches, scan->ReadFile(0));
      }
      memory_file.bytes = BatchBytes(memory_file.batches);
      state->memory_bytes += memory_file.bytes;
      files->emplace(std::move(key), std::move(memory_file));
    }
    arrow::RecordBatchVector all;
    for (const auto& [key, file] : *files) {
      all.insert(all.end(), file.batches.begin(), file.batches.end());
    }
    ARROW_ASSIGN_OR_RAISE(state->memory_table, arrow::Table::FromRecordBatches(state->schema, all));
    state->memory_files = std::move(files);
  }
  // Most refreshes see one new commit, whose commitInfo says whether it brought data; after a
  // gap, or at the start, the log's recent history does.
  const delta::Snapshot& latest = *snapshot;
  if (delta::MayBringNewData(latest.commit_info())) {
    state->data_timestamp_ms = latest.timestamp_ms();
  } else if (previous != nullptr && previous->snapshot != nullptr &&
             latest.version() <= previous->snapshot->version() + 1) {
    state->data_timestamp_ms = previous->data_timestamp_ms;
  } else {
    ARROW_ASSIGN_OR_RAISE(auto history, table_->log()->History(kDataHistoryCommits));
    state->data_timestamp_ms = delta::NewestDataCommitMs(history).value_or(latest.timestamp_ms());
  }
  state->snapshot = std::move(snapshot);
  return state;
}

std::shared_ptr<const ServedTable::State> ServedTable::state() const {
  std::lock_guard<std::mutex> lock(state_mutex_);
  return state_;
}

std::shared_ptr<arrow::Schema> ServedTable::schema() const { return state()->schema; }

std::shared_ptr<arrow::Table> ServedTable::MemoryTable() const { return state()->memory_table; }

std::pair<std::shared_ptr<arrow::Table>, int64_t> ServedTable::MemoryTableAndVersion() const {
  std::shared_ptr<const State> current = state();
  return {current->memory_table, current->snapshot ? current->snapshot->version() : -1};
}

TableStatus ServedTable::status() const {
  std::shared_ptr<const State> current;
  TableStatus status;
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    current = state_;
    status.refresh_failures = refresh_failures_;
  }
  status.checked_at_ms = current->checked_at_ms;
  status.memory_bytes = current->memory_bytes;
  if (current->snapshot) {
    status.version = current->snapshot->version();
    status.commit_timestamp_ms = current->snapshot->timestamp_ms();
    status.data_timestamp_ms = current->data_timestamp_ms;
    status.files = static_cast<int64_t>(current->snapshot->files().size());
  } else if (current->memory_files) {
    status.files = static_cast<int64_t>(current->memory_files->size());
  }
  return status;
}

arrow::Status ServedTable::Refresh() {
  if (!is_delta()) return arrow::Status::OK();
  std::lock_guard<std::mutex> refresh_lock(refresh_mutex_);
  std::shared_ptr<const State> current = state();
  auto updated = table_->log()->Update(current->snapshot);
  if (!updated.ok()) {
    std::lock_guard<std::mutex> lock(state_mutex_);
    ++refresh_failures_;
    return updated.status();
  }
  std::shared_ptr<const State> next;
  if (updated->get() == current->snapshot.get()) {
    auto same = std::make_shared<State>(*current);
    same->checked_at_ms = NowMs();
    next = std::move(same);
  } else {
    auto built = BuildDeltaState(*updated, current.get());
    if (!built.ok()) {
      std::lock_guard<std::mutex> lock(state_mutex_);
      ++refresh_failures_;
      return built.status();
    }
    next = *std::move(built);
    // The first version loaded at start may be of any age; only versions a refresh brings in
    // measure how soon commits become queryable.
    freshness_.Observe((NowMs() - next->snapshot->timestamp_ms()) / 1000.0);
  }
  std::lock_guard<std::mutex> lock(state_mutex_);
  state_ = std::move(next);
  return arrow::Status::OK();
}

arrow::Result<std::shared_ptr<const delta::Snapshot>> ServedTable::SnapshotFor(
    const TableVersionRequest& at) {
  if (!is_delta()) {
    if (!at.latest()) {
      return arrow::Status::Invalid("table '", name(), "' is a ",
                                    config_.format == TableFormat::kParquet ? "Parquet" : "memory",
                                    " table: version and timestamp need Delta");
    }
    return arrow::Status::Invalid("table '", name(), "' is not a Delta table");
  }
  std::shared_ptr<const State> current = state();
  if (at.latest()) return current->snapshot;
  if (at.version) {
    if (*at.version == current->snapshot->version()) return current->snapshot;
    if (*at.version > current->snapshot->version()) {
      return arrow::Status::KeyError("table '", name(), "' has no version ", *at.version,
                                     " (latest is ", current->snapshot->version(), ")");
    }
    {
      std::lock_guard<std::mutex> lock(versions_mutex_);
      auto found = versions_.find(*at.version);
      if (found != versions_.end()) return found->second;
    }
    auto snapshot = table_->log()->AtVersion(*at.version);
    if (!snapshot.ok()) {
      return arrow::Status::KeyError("table '", name(), "' version ", *at.version,
                                     " cannot be read: ", snapshot.status().message());
    }
    std::lock_guard<std::mutex> lock(versions_mutex_);
    if (versions_.size() >= kMaxCachedVersions) versions_.erase(versions_.begin());
    versions_[*at.version] = *snapshot;
    return snapshot;
  }
  auto snapshot = table_->log()->AtTimestamp(*at.timestamp_ms);
  if (!snapshot.ok()) {
    return arrow::Status::KeyError("table '", name(), "' has no version at or before timestamp ",
                                   *at.timestamp_ms, " ms: ", snapshot.status().message());
  }
  return snapshot;
}

arrow::Result<TableScan> ServedTable::Scan(const TableScanRequest& request) {
  std::shared_ptr<const State> current = state();
  if (current->memory_files && request.at.latest()) return ScanMemory(*current, request);
  ARROW_ASSIGN_OR_RAISE(auto snapshot, SnapshotFor(request.at));
  return ScanFiles(std::move(snapshot), request);
}

arrow::Result<TableScan> ServedTable::ScanMemory(const State& state,
                                                 const TableScanRequest& request) {
  ARROW_ASSIGN_OR_RAISE(std::vector<int> projection,
                        ProjectionIndices(*state.schema, request.columns));
  auto metrics = std::make_shared<delta::data::ScanMetrics>();
  std::optional<compute::Expression> bound;
  std::vector<const MemoryFile*> files;
  if (request.filter) {
    for (const auto& reference : compute::FieldsInExpression(*request.filter)) {
      if (reference.IsName() && state.schema->GetFieldIndex(*reference.name()) < 0) {
        return arrow::Status::KeyError("filter refers to column '", *reference.name(),
                                       "', which is not in the table");
      }
    }
    ARROW_ASSIGN_OR_RAISE(bound, request.filter->Bind(*state.schema));
  }
  if (state.snapshot && request.filter) {
    // Let the Delta layer prune by partition values and file statistics (no I/O: it only
    // plans), then filter the rows of the files it keeps.
    std::vector<delta::AddFile> adds;
    for (const auto& [key, file] : *state.memory_files) adds.push_back(file.add);
    ARROW_ASSIGN_OR_RAISE(auto plan, table_->NewScan()
                                         .Snapshot(state.snapshot)
                                         .Files(std::move(adds))
                                         .Filter(*request.filter)
                                         .Plan());
    *metrics = plan->metrics();
    for (const delta::AddFile& add : plan->files()) {
      files.push_back(&state.memory_files->at(FileKey(add)));
    }
  } else {
    for (const auto& [key, file] : *state.memory_files) files.push_back(&file);
    metrics->files_total = static_cast<int64_t>(files.size());
  }
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  for (const MemoryFile* file : files) {
    batches.insert(batches.end(), file->batches.begin(), file->batches.end());
    metrics->bytes_read += file->bytes;
  }
  metrics->files_read = static_cast<int64_t>(files.size());
  arrow::FieldVector fields;
  for (int index : projection) fields.push_back(state.schema->field(index));
  TableScan scan;
  scan.reader = std::make_shared<MemoryScanReader>(arrow::schema(fields), std::move(batches),
                                                   std::move(bound), std::move(projection),
                                                   request.limit, metrics);
  scan.metrics = [metrics] { return *metrics; };
  scan.version = state.snapshot ? state.snapshot->version() : -1;
  return scan;
}

arrow::Result<TableScan> ServedTable::ScanFiles(std::shared_ptr<const delta::Snapshot> snapshot,
                                                const TableScanRequest& request) {
  delta::TableScan files = table_->NewScan();
  files.Snapshot(snapshot);
  if (request.cancellation) files.Cancellation(request.cancellation);
  if (!request.columns.empty()) files.Columns(request.columns);
  if (request.filter) files.Filter(*request.filter);
  if (request.limit) files.Limit(*request.limit);
  ARROW_ASSIGN_OR_RAISE(auto planned, files.Plan());
  TableScan scan;
  ARROW_ASSIGN_OR_RAISE(scan.reader, planned->ToRecordBatchReader());
  scan.metrics = [planned] { return planned->metrics(); };
  scan.version = snapshot->version();
  return scan;
}

}  // namespace nlk::server
