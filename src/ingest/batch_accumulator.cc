#include "ingest/batch_accumulator.h"

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/compute/api.h>
#include <arrow/type.h>
#include <arrow/util/byte_size.h>

#include <utility>

#include "delta/data/array_conform.h"
#include "delta/data/compute_registry.h"

namespace nlk::ingest {
namespace {

// The CellValue alternative each column type takes (std::variant index).
constexpr size_t kBoolCell = 1;
constexpr size_t kIntegerCell = 2;
constexpr size_t kFloatingCell = 3;
constexpr size_t kBytesCell = 4;

}  // namespace

bool IsSupportedColumnType(const arrow::DataType& type) {
  switch (type.id()) {
    case arrow::Type::BOOL:
    case arrow::Type::INT8:
    case arrow::Type::INT16:
    case arrow::Type::INT32:
    case arrow::Type::INT64:
    case arrow::Type::FLOAT:
    case arrow::Type::DOUBLE:
    case arrow::Type::DATE32:
    case arrow::Type::TIMESTAMP:
    case arrow::Type::STRING:
    case arrow::Type::LARGE_STRING:
    case arrow::Type::BINARY:
      return true;
    default:
      return false;
  }
}

BatchAccumulator::BatchAccumulator(std::shared_ptr<arrow::Schema> schema, arrow::MemoryPool* pool)
    : schema_(std::move(schema)), pool_(pool) {}

arrow::Result<std::unique_ptr<BatchAccumulator>> BatchAccumulator::Make(
    std::shared_ptr<arrow::Schema> schema, arrow::MemoryPool* pool) {
  if (schema == nullptr) return arrow::Status::Invalid("the ingest schema is missing");
  std::unique_ptr<BatchAccumulator> accumulator(new BatchAccumulator(schema, pool));
  for (const auto& field : schema->fields()) {
    ARROW_RETURN_NOT_OK(accumulator->AddBuilder(field));
  }
  return accumulator;
}

arrow::Status BatchAccumulator::AddBuilder(const std::shared_ptr<arrow::Field>& field) {
  ColumnKind kind;
  switch (field->type()->id()) {
    case arrow::Type::BOOL:
      kind = ColumnKind::kBoolean;
      break;
    case arrow::Type::INT8:
      kind = ColumnKind::kInt8;
      break;
    case arrow::Type::INT16:
      kind = ColumnKind::kInt16;
      break;
    case arrow::Type::INT32:
      kind = ColumnKind::kInt32;
      break;
    case arrow::Type::INT64:
      kind = ColumnKind::kInt64;
      break;
    case arrow::Type::FLOAT:
      kind = ColumnKind::kFloat32;
      break;
    case arrow::Type::DOUBLE:
      kind = ColumnKind::kFloat64;
      break;
    case arrow::Type::DATE32:
      kind = ColumnKind::kDate32;
      break;
    case arrow::Type::TIMESTAMP:
      kind = ColumnKind::kTimestamp;
      break;
    case arrow::Type::STRING:
      kind = ColumnKind::kString;
      break;
    case arrow::Type::LARGE_STRING:
      kind = ColumnKind::kLargeString;
      break;
    case arrow::Type::BINARY:
      kind = ColumnKind::kBinary;
      break;
    default:
      return arrow::Status::NotImplemented(
          "column '", field->name(), "' has type ", field->type()->ToString(),
          ", which streaming ingest cannot fill; supported: boolean, int8-64, float, double, "
          "date32, timestamp, string, large_string, binary");
  }
  ARROW_ASSIGN_OR_RAISE(auto builder, arrow::MakeBuilder(field->type(), pool_));
  kinds_.push_back(kind);
  builders_.push_back(std::move(builder));
  return arrow::Status::OK();
}

arrow::Status BatchAccumulator::AppendRow(std::span<const CellValue> cells) {
  if (cells.size() != builders_.size()) {
    return arrow::Status::Invalid("a row of ", cells.size(), " cells for ", builders_.size(),
                                  " columns");
  }
  // Checked before anything is appended, so a wrong row leaves the builders aligned.
  for (size_t column = 0; column < cells.size(); ++column) {
    size_t index = cells[column].index();
    if (index == 0) continue;
    size_t expected = kIntegerCell;
    switch (kinds_[column]) {
      case ColumnKind::kBoolean:
        expected = kBoolCell;
        break;
      case ColumnKind::kFloat32:
      case ColumnKind::kFloat64:
        expected = kFloatingCell;
        break;
      case ColumnKind::kString:
      case ColumnKind::kLargeString:
      case ColumnKind::kBinary:
        expected = kBytesCell;
        break;
      default:
        break;
    }
    if (index != expected) {
      return arrow::Status::Invalid("cell for column '", schema_->field(column)->name(),
                                    "' holds the wrong kind of value");
    }
  }
  for (size_t column = 0; column < cells.size(); ++column) {
    ARROW_RETURN_NOT_OK(AppendCell(column, cells[column]));
  }
  ++builder_rows_;
  ++num_rows_;
  return arrow::Status::OK();
}

arrow::Status BatchAccumulator::AppendCell(size_t column, const CellValue& cell) {
  arrow::ArrayBuilder* builder = builders_[column].get();
  if (std::holds_alternative<std::monostate>(cell)) {
    buffered_bytes_ += 1;
    return builder->AppendNull();
  }
  switch (kinds_[column]) {
    case ColumnKind::kBoolean:
      buffered_bytes_ += 1;
      return static_cast<arrow::BooleanBuilder*>(builder)->Append(std::get<bool>(cell));
    case ColumnKind::kInt8:
      buffered_bytes_ += 1;
      return static_cast<arrow::Int8Builder*>(builder)->Append(
          static_cast<int8_t>(std::get<int64_t>(cell)));
    case ColumnKind::kInt16:
      buffered_bytes_ += 2;
      return static_cast<arrow::Int16Builder*>(builder)->Append(
          static_cast<int16_t>(std::get<int64_t>(cell)));
    case ColumnKind::kInt32:
      buffered_bytes_ += 4;
      return static_cast<arrow::Int32Builder*>(builder)->Append(
          static_cast<int32_t>(std::get<int64_t>(cell)));
    case ColumnKind::kInt64:
      buffered_bytes_ += 8;
      return static_cast<arrow::Int64Builder*>(builder)->Append(std::get<int64_t>(cell));
    case ColumnKind::kFloat32:
      buffered_bytes_ += 4;
      return static_cast<arrow::FloatBuilder*>(builder)->Append(
          static_cast<float>(std::get<double>(cell)));
    case ColumnKind::kFloat64:
      buffered_bytes_ += 8;
      return static_cast<arrow::DoubleBuilder*>(builder)->Append(std::get<double>(cell));
    case ColumnKind::kDate32:
      buffered_bytes_ += 4;
      return static_cast<arrow::Date32Builder*>(builder)->Append(
          static_cast<int32_t>(std::get<int64_t>(cell)));
    case ColumnKind::kTimestamp:
      buffered_bytes_ += 8;
      return static_cast<arrow::TimestampBuilder*>(builder)->Append(std::get<int64_t>(cell));
    case ColumnKind::kString: {
      std::string_view value = std::get<std::string_view>(cell);
      buffered_bytes_ += 4 + static_cast<int64_t>(value.size());
      return static_cast<arrow::StringBuilder*>(builder)->Append(value);
    }
    case ColumnKind::kLargeString: {
      std::string_view value = std::get<std::string_view>(cell);
      buffered_bytes_ += 8 + static_cast<int64_t>(value.size());
      return static_cast<arrow::LargeStringBuilder*>(builder)->Append(value);
    }
    case ColumnKind::kBinary: {
      std::string_view value = std::get<std::string_view>(cell);
      buffered_bytes_ += 4 + static_cast<int64_t>(value.size());
      return static_cast<arrow::BinaryBuilder*>(builder)->Append(value);
    }
  }
  return arrow::Status::UnknownError("unhandled column kind");
}

arrow::Status BatchAccumulator::AppendBatch(std::shared_ptr<arrow::RecordBatch> batch) {
  const arrow::Schema& given = *batch->schema();
  bool same = given.num_fields() == schema_->num_fields();
  for (int i = 0; same && i < given.num_fields(); ++i) {
    const arrow::Field& field = *given.field(i);
    const arrow::Field& ours = *schema_->field(i);
    same = field.name() == ours.name() && field.nullable() == ours.nullable() &&
           (field.type()->Equals(*ours.type()) ||
            (ours.type()->id() == arrow::Type::STRING &&
             delta::data::HoldsStringDictionary(*batch->column(i))));
  }
  if (!same) {
    return arrow::Status::Invalid("batch schema ", given.ToString(),
                                  " differs from the accumulator's ", schema_->ToString());
  }
  if (batch->num_rows() == 0) return arrow::Status::OK();
  ARROW_RETURN_NOT_OK(FinishBuilders());
  num_rows_ += batch->num_rows();
  buffered_bytes_ += arrow::util::TotalBufferSize(*batch);
  // Rebuilt on our schema object so that field metadata carried by the message cannot make
  // chunks disagree at concatenation.
  chunks_.push_back(
      arrow::RecordBatch::Make(delta::data::WithColumnTypes(schema_, batch->columns()),
                               batch->num_rows(), batch->columns()));
  return arrow::Status::OK();
}

arrow::Status BatchAccumulator::AddField(std::shared_ptr<arrow::Field> field) {
  if (schema_->GetFieldIndex(field->name()) >= 0) {
    return arrow::Status::Invalid("column '", field->name(), "' already exists");
  }
  ARROW_RETURN_NOT_OK(FinishBuilders());
  field = field->WithNullable(true);
  ARROW_RETURN_NOT_OK(AddBuilder(field));
  ARROW_ASSIGN_OR_RAISE(schema_, schema_->AddField(schema_->num_fields(), std::move(field)));
  return arrow::Status::OK();
}

arrow::Status BatchAccumulator::FinishBuilders() {
  if (builder_rows_ == 0) return arrow::Status::OK();
  std::vector<std::shared_ptr<arrow::Array>> columns;
  columns.reserve(builders_.size());
  for (auto& builder : builders_) {
    ARROW_ASSIGN_OR_RAISE(auto column, builder->Finish());
    columns.push_back(std::move(column));
  }
  chunks_.push_back(arrow::RecordBatch::Make(schema_, builder_rows_, std::move(columns)));
  builder_rows_ = 0;
  return arrow::Status::OK();
}

arrow::Result<std::shared_ptr<arrow::RecordBatch>> BatchAccumulator::Flush() {
  ARROW_ASSIGN_OR_RAISE(auto chunks, TakeBatches());
  if (chunks.empty()) return arrow::RecordBatch::MakeEmpty(schema_, pool_);
  for (auto& chunk : chunks) {
    if (chunk->schema() == schema_) continue;
    // String columns appended dictionary-encoded are decoded to the schema's strings.
    ARROW_RETURN_NOT_OK(delta::data::EnsureComputeFunctions());
    std::vector<std::shared_ptr<arrow::Array>> columns = chunk->columns();
    for (int i = 0; i < chunk->num_columns(); ++i) {
      if (columns[static_cast<size_t>(i)]->type_id() != arrow::Type::DICTIONARY) continue;
      arrow::compute::ExecContext context(pool_);
      ARROW_ASSIGN_OR_RAISE(
          arrow::Datum decoded,
          arrow::compute::Cast(columns[static_cast<size_t>(i)], schema_->field(i)->type(),
                               arrow::compute::CastOptions::Safe(), &context));
      columns[static_cast<size_t>(i)] = decoded.make_array();
    }
    chunk = arrow::RecordBatch::Make(schema_, chunk->num_rows(), std::move(columns));
  }
  if (chunks.size() == 1) return chunks.front();
  return arrow::ConcatenateRecordBatches(chunks, pool_);
}

arrow::Result<std::vector<std::shared_ptr<arrow::RecordBatch>>> BatchAccumulator::TakeBatches() {
  ARROW_RETURN_NOT_OK(FinishBuilders());
  std::vector<std::shared_ptr<arrow::RecordBatch>> chunks = std::move(chunks_);
  chunks_.clear();
  num_rows_ = 0;
  buffered_bytes_ = 0;
  for (auto& chunk : chunks) {
    if (chunk->num_columns() == schema_->num_fields()) continue;
    // Columns are only ever added at the end, so an older chunk lacks a suffix of them.
    std::vector<std::shared_ptr<arrow::Array>> columns = chunk->columns();
    for (int i = chunk->num_columns(); i < schema_->num_fields(); ++i) {
      ARROW_ASSIGN_OR_RAISE(
          auto nulls, arrow::MakeArrayOfNull(schema_->field(i)->type(), chunk->num_rows(), pool_));
      columns.push_back(std::move(nulls));
    }
    // Dictionary-encoded columns keep their type.
    auto schema = delta::data::WithColumnTypes(schema_, columns);
    chunk = arrow::RecordBatch::Make(std::move(schema), chunk->num_rows(), std::move(columns));
  }
  return chunks;
}

}  // namespace nlk::ingest
