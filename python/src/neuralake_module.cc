// neuralake._core: the Python package's binding to the C++ core. It only marshals: tables are
// opened, read, written and maintained by delta::Table, queries run on sql::SqlEngine and
// catalogs are read, validated and written by catalog/, exactly as the nlk commands do. Rows
// cross the boundary through the Arrow C stream interface (no copies, no serialisation), and a
// non-OK arrow::Status becomes a neuralake.errors exception carrying the same message.
//
// Thread-safety: every call that reads or writes data releases the GIL, so Python threads run
// concurrently with it; the objects themselves are as thread-safe as the C++ types they wrap.
#include <arrow/c/abi.h>
#include <arrow/c/bridge.h>
#include <arrow/record_batch.h>
#include <nanobind/nanobind.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "catalog/manifest.h"
#include "catalog/manifest_reader.h"
#include "catalog/validation.h"
#include "common/arrow_runtime.h"
#include "delta/data/scan.h"
#include "delta/data/schema.h"
#include "delta/log/log_error.h"
#include "delta/optimize.h"
#include "delta/table.h"
#include "delta/vacuum.h"
#include "sql/sql_engine.h"
#include "sql/table_at_uri.h"

namespace nb = nanobind;

namespace nlk::python {
namespace {

// A failed arrow::Status on its way to Python; the translator registered below turns it into
// the neuralake.errors class for its code.
class StatusError : public std::exception {
 public:
  explicit StatusError(arrow::Status status) : status_(std::move(status)) {}
  const arrow::Status& status() const { return status_; }
  const char* what() const noexcept override { return status_.message().c_str(); }

 private:
  arrow::Status status_;
};

void Check(const arrow::Status& status) {
  if (!status.ok()) throw StatusError(status);
}

template <typename T>
T Unwrap(arrow::Result<T> result) {
  Check(result.status());
  return std::move(result).ValueUnsafe();
}

// The Arrow PyCapsule interface: capsules named "arrow_array_stream" / "arrow_schema" own a C
// struct whose release callback frees it unless a consumer has moved it out.
void ReleaseStreamCapsule(void* pointer) noexcept {
  auto* stream = static_cast<ArrowArrayStream*>(pointer);
  if (stream->release != nullptr) stream->release(stream);
  delete stream;
}

void ReleaseSchemaCapsule(void* pointer) noexcept {
  auto* schema = static_cast<ArrowSchema*>(pointer);
  if (schema->release != nullptr) schema->release(schema);
  delete schema;
}

nb::capsule ExportStream(std::shared_ptr<arrow::RecordBatchReader> reader) {
  auto stream = std::make_unique<ArrowArrayStream>();
  Check(arrow::ExportRecordBatchReader(std::move(reader), stream.get()));
  return nb::capsule(stream.release(), "arrow_array_stream", &ReleaseStreamCapsule);
}

nb::capsule ExportSchemaCapsule(const arrow::Schema& schema) {
  auto exported = std::make_unique<ArrowSchema>();
  Check(arrow::ExportSchema(schema, exported.get()));
  return nb::capsule(exported.release(), "arrow_schema", &ReleaseSchemaCapsule);
}

// Takes the stream out of an "arrow_array_stream" capsule (the capsule is left released, as the
// interface requires of a consumer).
std::shared_ptr<arrow::RecordBatchReader> ImportStream(nb::handle capsule) {
  auto* stream =
      static_cast<ArrowArrayStream*>(PyCapsule_GetPointer(capsule.ptr(), "arrow_array_stream"));
  if (stream == nullptr) throw nb::python_error();
  if (stream->release == nullptr) {
    throw StatusError(arrow::Status::Invalid("the Arrow stream was already consumed"));
  }
  return Unwrap(arrow::ImportRecordBatchReader(stream));
}

std::shared_ptr<arrow::Schema> ImportSchemaCapsule(nb::handle capsule) {
  auto* schema = static_cast<ArrowSchema*>(PyCapsule_GetPointer(capsule.ptr(), "arrow_schema"));
  if (schema == nullptr) throw nb::python_error();
  return Unwrap(arrow::ImportSchema(schema));
}

using Metrics = std::map<std::string, int64_t>;

Metrics ToDict(const delta::data::ScanMetrics& metrics) {
  return {{"files_total", metrics.files_total},
          {"files_pruned_by_partition", metrics.files_pruned_by_partition},
          {"files_skipped_by_stats", metrics.files_skipped_by_stats},
          {"files_skipped_by_limit", metrics.files_skipped_by_limit},
          {"files_read", metrics.files_read},
          {"row_groups_total", metrics.row_groups_total},
          {"row_groups_pruned", metrics.row_groups_pruned},
          {"rows_scanned", metrics.rows_read},
          {"bytes_scanned", metrics.bytes_read},
          {"rows_returned", metrics.rows_output}};
}

Metrics ToDict(const sql::QueryMetrics& metrics) {
  return {{"files_total", metrics.files_total},
          {"files_pruned_by_partition", metrics.files_pruned_by_partition},
          {"files_skipped_by_stats", metrics.files_skipped_by_stats},
          {"files_skipped_by_limit", metrics.files_skipped_by_limit},
          {"files_read", metrics.files_read},
          {"row_groups_total", metrics.row_groups_total},
          {"row_groups_pruned", metrics.row_groups_pruned},
          {"rows_scanned", metrics.rows_scanned},
          {"bytes_scanned", metrics.bytes_scanned},
          {"rows_returned", metrics.rows_returned}};
}

// Rows on their way to Python, with the scan figures of what produced them. The stream can be
// taken once; the figures stay readable afterwards (files pruned are final at once, rows and
// bytes scanned grow as the rows are consumed).
class RowStream {
 public:
  RowStream(std::shared_ptr<arrow::RecordBatchReader> reader, std::function<Metrics()> metrics)
      : reader_(std::move(reader)), metrics_(std::move(metrics)) {}

  // The PyCapsule interface lets a producer that does not cast answer a requested schema
  // with its own; the consumer sees the schema in the stream and casts if it must.
  nb::capsule TakeStream(nb::object /*requested_schema*/) {
    if (reader_ == nullptr) {
      throw StatusError(arrow::Status::Invalid("these rows were already taken"));
    }
    return ExportStream(std::move(reader_));
  }

  Metrics metrics() const { return metrics_(); }

 private:
  std::shared_ptr<arrow::RecordBatchReader> reader_;
  std::function<Metrics()> metrics_;
};

nb::dict ToDict(const delta::WriteResult& result) {
  nb::dict out;
  out["version"] = result.version < 0 ? nb::none() : nb::cast(result.version);
  out["files_added"] = result.files_added;
  out["files_removed"] = result.files_removed;
  out["rows_written"] = result.rows_written;
  // The commit stands even when the checkpoint after it failed; say so without raising.
  out["maintenance_error"] =
      result.maintenance_status.ok() ? nb::none() : nb::cast(result.maintenance_status.message());
  return out;
}

class TableHandle {
 public:
  explicit TableHandle(std::shared_ptr<delta::Table> table, std::string uri)
      : table_(std::move(table)), uri_(std::move(uri)) {}

  static std::shared_ptr<TableHandle> Open(const std::string& uri) {
    std::shared_ptr<delta::Table> table;
    {
      nb::gil_scoped_release release;
      table = Unwrap(delta::Table::Open(uri));
    }
    return std::make_shared<TableHandle>(std::move(table), uri);
  }

  const std::string& uri() const { return uri_; }

  int64_t Version() {
    nb::gil_scoped_release release;
    return Unwrap(table_->log()->Latest())->version();
  }

  nb::capsule Schema(std::optional<int64_t> version) {
    std::shared_ptr<arrow::Schema> schema;
    {
      nb::gil_scoped_release release;
      delta::ReadOptions options;
      options.version = version;
      auto snapshot = Unwrap(table_->SnapshotFor(options));
      schema = Unwrap(delta::data::ParseDeltaSchema(snapshot->metadata().schema_string));
    }
    return ExportSchemaCapsule(*schema);
  }

  std::shared_ptr<RowStream> Scan(std::vector<std::string> columns,
                                  std::optional<std::string> filter, std::optional<int64_t> version,
                                  std::optional<int64_t> timestamp_ms,
                                  std::optional<int64_t> limit) {
    delta::ReadOptions options;
    options.columns = std::move(columns);
    options.filter = std::move(filter);
    options.version = version;
    options.timestamp_ms = timestamp_ms;
    options.limit = limit;
    nb::gil_scoped_release release;
    std::shared_ptr<delta::data::Scan> scan = Unwrap(table_->PlanRead(options));
    auto reader = Unwrap(scan->ToRecordBatchReader());
    return std::make_shared<RowStream>(std::move(reader),
                                       [scan] { return ToDict(scan->metrics()); });
  }

  // (version, timestamp in ms, commitInfo JSON or None), newest first.
  std::vector<std::tuple<int64_t, int64_t, std::optional<std::string>>> History(
      std::optional<int64_t> limit) {
    nb::gil_scoped_release release;
    std::vector<std::tuple<int64_t, int64_t, std::optional<std::string>>> out;
    for (const auto& commit : Unwrap(table_->log()->History(limit))) {
      std::optional<std::string> info;
      if (commit.commit_info) info = commit.commit_info->json;
      out.emplace_back(commit.version, commit.timestamp_ms, std::move(info));
    }
    return out;
  }

  nb::dict Append(nb::handle stream, bool schema_evolution) {
    auto reader = ImportStream(stream);
    delta::WriteResult result;
    {
      nb::gil_scoped_release release;
      delta::WriteOptions options;
      options.schema_evolution = schema_evolution;
      result = Unwrap(table_->Append(std::move(reader), options));
    }
    return ToDict(result);
  }

  nb::dict Overwrite(nb::handle stream, std::optional<std::string> where, bool schema_evolution) {
    auto reader = ImportStream(stream);
    delta::WriteResult result;
    {
      nb::gil_scoped_release release;
      delta::WriteOptions options;
      options.schema_evolution = schema_evolution;
      result = Unwrap(table_->Overwrite(std::move(reader), where, options));
    }
    return ToDict(result);
  }

  nb::dict Optimize(int64_t target_file_size, int64_t min_files_per_bin,
                    std::optional<std::string> where, std::optional<std::string> sort_by) {
    delta::OptimizeMetrics metrics;
    {
      nb::gil_scoped_release release;
      delta::OptimizeOptions options;
      options.target_file_size = target_file_size;
      options.min_files_per_bin = min_files_per_bin;
      options.where = std::move(where);
      options.sort_by = std::move(sort_by);
      metrics = Unwrap(delta::Optimize(*table_->log(), options));
    }
    nb::dict out;
    out["read_version"] = metrics.read_version;
    out["bins_planned"] = metrics.bins_planned;
    out["bins_committed"] = metrics.bins_committed;
    out["partitions_optimized"] = metrics.partitions_optimized;
    out["files_removed"] = metrics.files_removed;
    out["files_added"] = metrics.files_added;
    out["bytes_removed"] = metrics.bytes_removed;
    out["bytes_added"] = metrics.bytes_added;
    out["rows_rewritten"] = metrics.rows_rewritten;
    out["committed_versions"] = metrics.committed_versions;
    nb::list abandoned;
    for (const delta::AbandonedBin& bin : metrics.abandoned_bins) {
      abandoned.append(nb::make_tuple(bin.input_files, bin.reason));
    }
    out["abandoned_bins"] = abandoned;
    out["duration_ms"] = metrics.duration_ms;
    return out;
  }

  nb::dict Vacuum(std::optional<int64_t> retention_ms, bool allow_short_retention, bool dry_run) {
    delta::VacuumResult result;
    {
      nb::gil_scoped_release release;
      delta::VacuumOptions options;
      options.retention_ms = retention_ms;
      options.allow_short_retention = allow_short_retention;
      options.dry_run = dry_run;
      result = Unwrap(delta::Vacuum(*table_->log(), options));
    }
    nb::dict out;
    out["snapshot_version"] = result.snapshot_version;
    out["retention_ms"] = result.retention_ms;
    out["files_listed"] = result.files_listed;
    out["files_referenced"] = result.files_referenced;
    nb::list deletable;
    for (const storage::ObjectInfo& file : result.deletable) deletable.append(file.path);
    out["deletable"] = deletable;
    out["files_deleted"] = result.files_deleted;
    out["bytes_deleted"] = result.bytes_deleted;
    out["log_files_deleted"] = result.log_files_deleted;
    out["dry_run"] = result.dry_run;
    return out;
  }

 private:
  std::shared_ptr<delta::Table> table_;
  std::string uri_;
};

std::shared_ptr<TableHandle> CreateTable(const std::string& uri, nb::handle stream,
                                         std::vector<std::string> partition_by,
                                         std::map<std::string, std::string> properties,
                                         std::optional<std::string> name,
                                         std::optional<std::string> description) {
  auto reader = ImportStream(stream);
  std::shared_ptr<delta::Table> table;
  {
    nb::gil_scoped_release release;
    delta::CreateOptions options;
    options.partition_columns = std::move(partition_by);
    options.properties = std::move(properties);
    options.name = std::move(name);
    options.description = std::move(description);
    auto schema = reader->schema();
    table = Unwrap(delta::Table::Create(uri, schema, options, std::move(reader)));
  }
  return std::make_shared<TableHandle>(std::move(table), uri);
}

// `tables`: (name, uri) pairs, each registered as `nlk sql --table NAME=URI` registers it.
std::shared_ptr<RowStream> RunSql(const std::string& query,
                                  const std::vector<std::pair<std::string, std::string>>& tables) {
  nb::gil_scoped_release release;
  auto provider = std::make_shared<sql::MapTableCatalog>();
  for (const auto& [name, uri] : tables) Check(sql::RegisterTableAtUri(*provider, name, uri));
  sql::SqlEngine engine(provider);
  sql::QueryResult result = Unwrap(engine.Execute(query, {}));
  auto metrics = result.metrics_source;
  return std::make_shared<RowStream>(std::move(result.reader), [metrics] {
    return metrics ? ToDict(metrics()) : ToDict(sql::QueryMetrics{});
  });
}

// The canonical manifest of the declarations in `json` (any manifest, or the subset of one the
// Python decorators write): read by the C++ reader, validated and written by BuildManifest, so
// it is exactly what `nlk catalog manifest` would write for the same declarations.
std::string BuildManifest(const std::string& json, std::optional<std::string> root) {
  auto manifest = Unwrap(catalog::ParseManifest(json));
  return Unwrap(catalog::BuildManifest(manifest->catalog, {root.value_or(manifest->root)}));
}

std::vector<std::string> ManifestProblems(const std::string& json) {
  auto manifest = Unwrap(catalog::ParseManifest(json));
  return catalog::FindCatalogProblems(manifest->catalog);
}

std::string DeltaSchemaJson(nb::handle schema_capsule) {
  return Unwrap(delta::data::SerializeDeltaSchema(*ImportSchemaCapsule(schema_capsule)));
}

void TranslateStatusError(const std::exception_ptr& pointer, void*) {
  try {
    std::rethrow_exception(pointer);
  } catch (const StatusError& error) {
    nb::object errors = nb::module_::import_("neuralake.errors");
    // The Delta layer's typed detail tells a missing table or a lost commit race apart.
    const nlk::delta::LogErrorDetail* detail = nlk::delta::GetLogErrorDetail(error.status());
    nb::object kind = nb::none();
    if (nlk::delta::IsConcurrentModification(error.status())) {
      kind = nb::str("conflict");
    } else if (detail != nullptr) {
      kind = nb::str(nlk::delta::LogErrorKindName(detail->kind()));
    }
    nb::object exception =
        errors.attr("from_status")(error.status().CodeAsString(), error.status().message(), kind);
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exception.ptr())), exception.ptr());
  }
}

}  // namespace
}  // namespace nlk::python

NB_MODULE(_core, module) {
  using namespace nlk::python;
  module.doc() = "Binding of the Neuralake C++ core; use the neuralake package instead.";
  nb::register_exception_translator(&TranslateStatusError);
  Check(nlk::InitializeArrowCompute());

  nb::class_<RowStream>(module, "RowStream")
      .def("__arrow_c_stream__", &RowStream::TakeStream, nb::arg("requested_schema") = nb::none())
      .def("metrics", &RowStream::metrics);

  nb::class_<TableHandle>(module, "TableHandle")
      .def_static("open", &TableHandle::Open, nb::arg("uri"))
      .def_prop_ro("uri", &TableHandle::uri)
      .def("version", &TableHandle::Version)
      .def("schema", &TableHandle::Schema, nb::arg("version") = nb::none())
      .def("scan", &TableHandle::Scan, nb::arg("columns"), nb::arg("filter").none(),
           nb::arg("version").none(), nb::arg("timestamp_ms").none(), nb::arg("limit").none())
      .def("history", &TableHandle::History, nb::arg("limit").none())
      .def("append", &TableHandle::Append, nb::arg("stream"), nb::arg("schema_evolution"))
      .def("overwrite", &TableHandle::Overwrite, nb::arg("stream"), nb::arg("where").none(),
           nb::arg("schema_evolution"))
      .def("optimize", &TableHandle::Optimize, nb::arg("target_file_size"),
           nb::arg("min_files_per_bin"), nb::arg("where").none(), nb::arg("sort_by").none())
      .def("vacuum", &TableHandle::Vacuum, nb::arg("retention_ms").none(),
           nb::arg("allow_short_retention"), nb::arg("dry_run"));

  module.def("create_table", &CreateTable, nb::arg("uri"), nb::arg("stream"),
             nb::arg("partition_by"), nb::arg("properties"), nb::arg("name").none(),
             nb::arg("description").none());
  module.def("sql", &RunSql, nb::arg("query"), nb::arg("tables"));
  module.def("build_manifest", &BuildManifest, nb::arg("json"), nb::arg("root").none());
  module.def("manifest_problems", &ManifestProblems, nb::arg("json"));
  module.def("delta_schema_json", &DeltaSchemaJson, nb::arg("schema_capsule"));
  module.attr("DEFAULT_OPTIMIZE_TARGET_FILE_SIZE") = nlk::delta::kDefaultOptimizeTargetFileSize;
}
