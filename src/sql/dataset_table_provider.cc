#include "sql/dataset_table_provider.h"

#include <arrow/dataset/discovery.h>
#include <arrow/dataset/file_parquet.h>
#include <arrow/dataset/scanner.h>
#include <arrow/filesystem/api.h>
#include <arrow/util/byte_size.h>

#include <atomic>
#include <utility>
#include <vector>

namespace nlk::sql {
namespace {

struct Counters {
  std::atomic<int64_t> rows{0};
  std::atomic<int64_t> bytes{0};
};

// Passes batches through, counting the rows and buffer bytes the scan produced.
class CountingReader : public arrow::RecordBatchReader {
 public:
  CountingReader(std::shared_ptr<arrow::RecordBatchReader> input,
                 std::shared_ptr<Counters> counters)
      : input_(std::move(input)), counters_(std::move(counters)) {}

  std::shared_ptr<arrow::Schema> schema() const override { return input_->schema(); }

  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    ARROW_RETURN_NOT_OK(input_->ReadNext(out));
    if (*out != nullptr) {
      counters_->rows += (*out)->num_rows();
      counters_->bytes += arrow::util::TotalBufferSize(**out);
    }
    return arrow::Status::OK();
  }

  arrow::Status Close() override { return input_->Close(); }

 private:
  std::shared_ptr<arrow::RecordBatchReader> input_;
  std::shared_ptr<Counters> counters_;
};

class DatasetScan : public PlannedScan {
 public:
  explicit DatasetScan(std::shared_ptr<arrow::dataset::Scanner> scanner)
      : scanner_(std::move(scanner)) {}

  arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> Read() override {
    ARROW_ASSIGN_OR_RAISE(auto reader, scanner_->ToRecordBatchReader());
    return std::make_shared<CountingReader>(std::move(reader), counters_);
  }

  QueryMetrics metrics() const override {
    QueryMetrics metrics;
    metrics.rows_scanned = counters_->rows;
    metrics.bytes_scanned = counters_->bytes;
    return metrics;
  }

 private:
  std::shared_ptr<arrow::dataset::Scanner> scanner_;
  std::shared_ptr<Counters> counters_ = std::make_shared<Counters>();
};

}  // namespace

arrow::Result<std::shared_ptr<DatasetTableProvider>> DatasetTableProvider::Parquet(
    const std::string& uri) {
  std::string path;
  ARROW_ASSIGN_OR_RAISE(auto filesystem, arrow::fs::FileSystemFromUriOrPath(uri, &path));
  ARROW_ASSIGN_OR_RAISE(auto info, filesystem->GetFileInfo(path));
  auto format = std::make_shared<arrow::dataset::ParquetFileFormat>();
  std::shared_ptr<arrow::dataset::DatasetFactory> factory;
  if (info.IsDirectory()) {
    arrow::fs::FileSelector selector;
    selector.base_dir = path;
    selector.recursive = true;
    ARROW_ASSIGN_OR_RAISE(
        factory, arrow::dataset::FileSystemDatasetFactory::Make(filesystem, selector, format, {}));
  } else if (info.IsFile()) {
    ARROW_ASSIGN_OR_RAISE(factory, arrow::dataset::FileSystemDatasetFactory::Make(
                                       filesystem, std::vector<std::string>{path}, format, {}));
  } else {
    return arrow::Status::IOError("no Parquet file or directory at '", uri, "'");
  }
  ARROW_ASSIGN_OR_RAISE(auto dataset, factory->Finish());
  return std::make_shared<DatasetTableProvider>(std::move(dataset), "parquet " + uri);
}

arrow::Result<std::shared_ptr<PlannedScan>> DatasetTableProvider::Scan(
    const ScanRequest& request) const {
  arrow::dataset::ScannerBuilder builder(dataset_);
  ARROW_RETURN_NOT_OK(builder.Project(request.columns));
  if (request.filter) ARROW_RETURN_NOT_OK(builder.Filter(*request.filter));
  ARROW_RETURN_NOT_OK(builder.UseThreads(true));
  ARROW_RETURN_NOT_OK(builder.Pool(request.pool));
  ARROW_ASSIGN_OR_RAISE(auto scanner, builder.Finish());
  return std::make_shared<DatasetScan>(std::move(scanner));
}

}  // namespace nlk::sql
