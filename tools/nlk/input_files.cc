#include "input_files.h"

#include <arrow/io/file.h>
#include <arrow/type.h>
#include <parquet/arrow/reader.h>
#include <parquet/exception.h>

namespace nlk::cli {
namespace {

arrow::Result<std::unique_ptr<parquet::arrow::FileReader>> OpenParquet(const std::string& path) {
  auto file = arrow::io::ReadableFile::Open(path);
  if (!file.ok())
    return arrow::Status::IOError("cannot open input ", path, ": ", file.status().message());
  auto reader = parquet::arrow::OpenFile(*file, arrow::default_memory_pool());
  if (!reader.ok()) {
    return arrow::Status::Invalid("input ", path,
                                  " is not a Parquet file: ", reader.status().message());
  }
  return std::move(*reader);
}

// Chains the files; opens each one only when the previous is exhausted.
class ChainedParquetReader : public arrow::RecordBatchReader {
 public:
  ChainedParquetReader(std::vector<std::string> paths, std::shared_ptr<arrow::Schema> schema)
      : paths_(std::move(paths)), schema_(std::move(schema)) {}

  std::shared_ptr<arrow::Schema> schema() const override { return schema_; }

  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* batch) override {
    while (true) {
      if (current_) {
        ARROW_RETURN_NOT_OK(current_->ReadNext(batch));
        if (*batch) return arrow::Status::OK();
        current_.reset();
        file_reader_.reset();
      }
      if (next_ >= paths_.size()) {
        *batch = nullptr;
        return arrow::Status::OK();
      }
      const std::string& path = paths_[next_++];
      ARROW_ASSIGN_OR_RAISE(file_reader_, OpenParquet(path));
      ARROW_ASSIGN_OR_RAISE(current_, file_reader_->GetRecordBatchReader());
      if (!current_->schema()->Equals(*schema_, /*check_metadata=*/false)) {
        return arrow::Status::Invalid("input ", path, " has a different schema than ", paths_[0],
                                      ": ", current_->schema()->ToString(), " vs ",
                                      schema_->ToString());
      }
    }
  }

 private:
  std::vector<std::string> paths_;
  std::shared_ptr<arrow::Schema> schema_;
  size_t next_ = 0;
  std::unique_ptr<parquet::arrow::FileReader> file_reader_;
  std::shared_ptr<arrow::RecordBatchReader> current_;
};

}  // namespace

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenParquetInputs(
    const std::vector<std::string>& paths) {
  if (paths.empty()) return arrow::Status::Invalid("no --input file given");
  ARROW_ASSIGN_OR_RAISE(auto first, OpenParquet(paths[0]));
  std::shared_ptr<arrow::Schema> schema;
  ARROW_RETURN_NOT_OK(first->GetSchema(&schema));
  return std::make_shared<ChainedParquetReader>(paths, schema->RemoveMetadata());
}

}  // namespace nlk::cli
