#include "delta/data/file_writer.h"

#include <arrow/array/array_dict.h>
#include <arrow/array/concatenate.h>
#include <arrow/builder.h>
#include <arrow/compute/api.h>
#include <parquet/arrow/writer.h>
#include <parquet/properties.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <future>
#include <unordered_map>

#include "delta/data/array_conform.h"
#include "delta/data/compute_registry.h"
#include "delta/data/partition_values.h"
#include "delta/data/schema.h"
#include "delta/data/schema_enforcement.h"
#include "delta/data/uuid.h"

namespace nlk::delta::data {
namespace {

constexpr int64_t kWriteBatchRows = 16 * 1024;
// Pieces of this many rows or more on average go to Parquet as they are; smaller ones are first
// made contiguous in stretches of kEncodeRows. See FlushRowGroup.
constexpr int64_t kDirectPieceRows = 2 * 1024;
constexpr int64_t kEncodeRows = 64 * 1024;

// The codec in a data file's name, as Spark names its files (".c000.snappy.parquet").
std::string CodecSuffix(parquet::Compression::type codec) {
  switch (codec) {
    case parquet::Compression::UNCOMPRESSED:
      return "";
    case parquet::Compression::SNAPPY:
      return ".snappy";
    case parquet::Compression::GZIP:
      return ".gz";
    case parquet::Compression::LZ4:
      return ".lz4raw";
    case parquet::Compression::ZSTD:
      return ".zstd";
    case parquet::Compression::BROTLI:
      return ".br";
    default:
      return "";
  }
}

// Whether `array` holds one value in every row, no nulls, for the fixed-width types that
// partition columns usually have (dates, integers): the common case of a streaming flush, told
// without hashing every row.
bool HoldsOneValue(const arrow::Array& array) {
  if (array.length() == 0 || array.null_count() != 0) return false;
  const auto* fixed = dynamic_cast<const arrow::FixedWidthType*>(array.type().get());
  if (fixed == nullptr || array.type_id() == arrow::Type::BOOL) return false;
  const int64_t width = fixed->bit_width() / 8;
  if (width == 0) return false;
  const uint8_t* bytes = array.data()->buffers[1]->data() + array.offset() * width;
  // Every value equals the first exactly when the bytes repeat with period `width`: one memcmp
  // of the values against themselves shifted by one value.
  return std::memcmp(bytes + width, bytes, static_cast<size_t>((array.length() - 1) * width)) == 0;
}

// `column` (strings) as dictionary<int32, string> chunks that all share one dictionary, so that
// Parquet writes the dictionary and the indices as they are; nullptr when the dictionary would
// hold more than half the rows (then hashing buys nothing). See WriteOptions::dictionary_strings.
//
// A piece may also arrive as dictionary<int32, string> (kept from the message it came in, see
// ConformToTableSchema); its dictionary joins the others and its indices are renumbered, or
// replaced by the repeated index of its one value.
arrow::Result<std::shared_ptr<arrow::ChunkedArray>> WithOneDictionary(
    std::shared_ptr<arrow::ChunkedArray> column) {
  const bool all_strings =
      std::all_of(column->chunks().begin(), column->chunks().end(),
                  [](const auto& chunk) { return chunk->type_id() == arrow::Type::STRING; });
  // Pieces of a few rows each (JSON messages) are cheaper to encode as one.
  if (all_strings && column->num_chunks() > 1 && column->length() < 64 * column->num_chunks()) {
    ARROW_ASSIGN_OR_RAISE(auto combined, arrow::Concatenate(column->chunks()));
    column = std::make_shared<arrow::ChunkedArray>(std::move(combined));
  }
  ARROW_ASSIGN_OR_RAISE(auto unifier, arrow::DictionaryUnifier::Make(arrow::utf8()));
  struct Piece {
    std::shared_ptr<arrow::DictionaryArray> encoded;  // null for a one-value piece of strings
    std::shared_ptr<arrow::Buffer> transpose;
    int64_t length = 0;
  };
  std::vector<Piece> pieces;
  for (const auto& chunk : column->chunks()) {
    Piece piece;
    piece.length = chunk->length();
    if (IsStringDictionary(*chunk->type())) {
      piece.encoded = std::static_pointer_cast<arrow::DictionaryArray>(chunk);
      ARROW_RETURN_NOT_OK(unifier->Unify(*piece.encoded->dictionary(), &piece.transpose));
      pieces.push_back(std::move(piece));
      continue;
    }
    const auto& strings = static_cast<const arrow::StringArray&>(*chunk);
    if (HoldsOneString(strings)) {
      ARROW_RETURN_NOT_OK(unifier->Unify(*chunk->Slice(0, 1), &piece.transpose));
    } else {
      ARROW_ASSIGN_OR_RAISE(arrow::Datum encoded, arrow::compute::DictionaryEncode(chunk));
      piece.encoded = std::static_pointer_cast<arrow::DictionaryArray>(encoded.make_array());
      ARROW_RETURN_NOT_OK(unifier->Unify(*piece.encoded->dictionary(), &piece.transpose));
    }
    pieces.push_back(std::move(piece));
  }
  std::shared_ptr<arrow::Array> dictionary;
  ARROW_RETURN_NOT_OK(unifier->GetResultWithIndexType(arrow::int32(), &dictionary));
  if (2 * dictionary->length() > column->length()) return nullptr;
  const auto type = arrow::dictionary(arrow::int32(), arrow::utf8());
  // A one-value piece's indices are one index repeated: all the pieces with the same value share
  // (a prefix of) one buffer of it, rather than each getting a fresh buffer to fill.
  auto one_value = [](const Piece& piece) {
    return piece.encoded == nullptr || piece.encoded->dictionary()->length() == 1;
  };
  int64_t longest = 0;
  for (const Piece& piece : pieces) {
    if (one_value(piece)) {
      longest = std::max(longest, piece.length + (piece.encoded ? piece.encoded->offset() : 0));
    }
  }
  std::unordered_map<int32_t, std::shared_ptr<arrow::Buffer>> repeated;
  auto repeated_index = [&](int32_t value) -> arrow::Result<std::shared_ptr<arrow::Buffer>> {
    auto& buffer = repeated[value];
    if (buffer == nullptr) {
      ARROW_ASSIGN_OR_RAISE(auto filled,
                            arrow::AllocateBuffer(longest * static_cast<int64_t>(sizeof(int32_t))));
      auto* values = reinterpret_cast<int32_t*>(filled->mutable_data());
      std::fill(values, values + longest, value);
      buffer = std::move(filled);
    }
    return buffer;
  };
  arrow::ArrayVector chunks;
  for (const Piece& piece : pieces) {
    const auto* transpose = reinterpret_cast<const int32_t*>(piece.transpose->data());
    if (piece.encoded != nullptr && !one_value(piece)) {
      ARROW_ASSIGN_OR_RAISE(auto transposed, piece.encoded->Transpose(type, dictionary, transpose));
      chunks.push_back(std::move(transposed));
      continue;
    }
    ARROW_ASSIGN_OR_RAISE(auto indices, repeated_index(transpose[0]));
    std::shared_ptr<arrow::ArrayData> data;
    if (piece.encoded != nullptr) {
      // Its validity (and offset) as they are; its index of every valid row is 0.
      data = piece.encoded->data()->Copy();
      data->type = type;
      data->buffers[1] = std::move(indices);
    } else {
      data = arrow::ArrayData::Make(type, piece.length, {nullptr, std::move(indices)}, 0);
    }
    data->dictionary = dictionary->data();
    chunks.push_back(arrow::MakeArray(std::move(data)));
  }
  return std::make_shared<arrow::ChunkedArray>(std::move(chunks), type);
}

struct PartitionKey {
  std::string directory;
  PartitionValues values;
};

// One partition's directory and values, from its value of each partition column (nullptr for
// null), in the table's partition column order.
arrow::Result<PartitionKey> KeyOf(const std::vector<std::string>& physical_names,
                                  const std::vector<std::shared_ptr<arrow::Scalar>>& scalars) {
  PartitionKey key;
  std::vector<std::pair<std::string, std::optional<std::string>>> ordered;
  for (size_t i = 0; i < scalars.size(); ++i) {
    std::optional<std::string> text;
    if (scalars[i] != nullptr) {
      ARROW_ASSIGN_OR_RAISE(text, SerializePartitionValue(*scalars[i]));
    }
    key.values[physical_names[i]] = text;
    ordered.emplace_back(physical_names[i], text);
  }
  key.directory = HivePartitionDirectory(ordered);
  return key;
}

}  // namespace

struct DataFileWriter::OpenFile {
  std::string path;
  std::shared_ptr<arrow::io::OutputStream> stream;
  std::unique_ptr<parquet::arrow::FileWriter> writer;
  std::unique_ptr<StatisticsCollector> statistics;
};

struct DataFileWriter::Partition {
  std::string directory;  // "" when the table is not partitioned
  PartitionValues values;
  std::vector<std::shared_ptr<arrow::RecordBatch>> pending;  // logical data columns
  int64_t pending_rows = 0;
  int64_t pending_bytes = 0;
  std::unique_ptr<OpenFile> file;
};

DataFileWriter::~DataFileWriter() = default;

arrow::Result<std::unique_ptr<DataFileWriter>> DataFileWriter::Make(
    std::shared_ptr<storage::ObjectStore> store, const Metadata& metadata,
    const WriteOptions& options) {
  if (options.target_file_size <= 0 || options.row_group_rows <= 0 ||
      options.row_group_bytes <= 0) {
    return arrow::Status::Invalid("write options: sizes must be positive");
  }
  ARROW_RETURN_NOT_OK(EnsureComputeFunctions());
  std::unique_ptr<DataFileWriter> writer(new DataFileWriter());
  writer->store_ = std::move(store);
  writer->options_ = options;
  ARROW_ASSIGN_OR_RAISE(writer->mode_, ColumnMappingModeOf(metadata.configuration));
  ARROW_ASSIGN_OR_RAISE(writer->table_schema_, ParseDeltaSchema(metadata.schema_string));
  ARROW_ASSIGN_OR_RAISE(writer->constraints_,
                        ConstraintEnforcer::Make(metadata, writer->table_schema_));
  for (const auto& column : metadata.partition_columns) {
    int index = writer->table_schema_->GetFieldIndex(column);
    if (index < 0) {
      return arrow::Status::Invalid("partition column '", column, "' is not in the table schema");
    }
    writer->partition_indexes_.push_back(index);
    ARROW_ASSIGN_OR_RAISE(auto physical,
                          PhysicalName(*writer->table_schema_->field(index), writer->mode_));
    writer->partition_physical_names_.push_back(std::move(physical));
  }
  arrow::FieldVector data_fields;
  for (int i = 0; i < writer->table_schema_->num_fields(); ++i) {
    if (std::find(writer->partition_indexes_.begin(), writer->partition_indexes_.end(), i) !=
        writer->partition_indexes_.end()) {
      continue;
    }
    writer->data_indexes_.push_back(i);
    data_fields.push_back(writer->table_schema_->field(i));
  }
  writer->data_schema_ = arrow::schema(std::move(data_fields));
  ARROW_ASSIGN_OR_RAISE(writer->physical_data_schema_,
                        PhysicalSchema(*writer->data_schema_, writer->mode_));
  writer->file_schema_ = writer->physical_data_schema_;
  if (options.dictionary_strings) {
    arrow::FieldVector fields;
    for (const auto& field : writer->physical_data_schema_->fields()) {
      fields.push_back(field->type()->id() == arrow::Type::STRING
                           ? field->WithType(arrow::dictionary(arrow::int32(), arrow::utf8()))
                           : field);
    }
    writer->file_schema_ =
        arrow::schema(std::move(fields), writer->physical_data_schema_->metadata());
  }
  return writer;
}

arrow::Status DataFileWriter::Write(const arrow::Table& table) {
  arrow::TableBatchReader reader(table);
  std::shared_ptr<arrow::RecordBatch> batch;
  while (true) {
    ARROW_RETURN_NOT_OK(reader.ReadNext(&batch));
    if (batch == nullptr) return arrow::Status::OK();
    ARROW_RETURN_NOT_OK(Write(*batch));
  }
}

arrow::Status DataFileWriter::Write(const arrow::RecordBatch& batch) {
  std::shared_ptr<arrow::RecordBatch> conformed;
  if (constraints_ == nullptr) {
    ARROW_ASSIGN_OR_RAISE(conformed,
                          ConformToTableSchema(batch, *table_schema_, options_.dictionary_strings));
  } else {
    ARROW_ASSIGN_OR_RAISE(conformed, ConformToTableSchema(batch, *constraints_->conform_schema(),
                                                          options_.dictionary_strings));
    ARROW_ASSIGN_OR_RAISE(conformed, constraints_->Apply(conformed, *batch.schema()));
  }
  ARROW_ASSIGN_OR_RAISE(auto data, conformed->SelectColumns(data_indexes_));
  if (partition_indexes_.empty()) return Append("", {}, std::move(data));
  if (batch.num_rows() == 0) return arrow::Status::OK();
  for (int index : partition_indexes_) {
    // Partition values are found from plain strings; a partition column is not stored.
    if (IsStringDictionary(*conformed->column(index)->type())) {
      ARROW_ASSIGN_OR_RAISE(arrow::Datum decoded,
                            arrow::compute::Cast(conformed->column(index), arrow::utf8()));
      ARROW_ASSIGN_OR_RAISE(conformed, conformed->SetColumn(index, table_schema_->field(index),
                                                            decoded.make_array()));
    }
  }

  if (std::all_of(partition_indexes_.begin(), partition_indexes_.end(),
                  [&](int index) { return HoldsOneValue(*conformed->column(index)); })) {
    std::vector<std::shared_ptr<arrow::Scalar>> scalars;
    for (int index : partition_indexes_) {
      ARROW_ASSIGN_OR_RAISE(auto scalar, conformed->column(index)->GetScalar(0));
      scalars.push_back(std::move(scalar));
    }
    ARROW_ASSIGN_OR_RAISE(PartitionKey key, KeyOf(partition_physical_names_, scalars));
    return Append(key.directory, key.values, std::move(data));
  }

  // Dictionary-encode each partition column so rows group by small integer keys and each
  // distinct value is serialized once.
  const int64_t rows = conformed->num_rows();
  std::vector<std::shared_ptr<arrow::Int32Array>> codes;
  std::vector<std::shared_ptr<arrow::Array>> dictionaries;
  bool single_partition = true;
  for (int index : partition_indexes_) {
    ARROW_ASSIGN_OR_RAISE(arrow::Datum encoded,
                          arrow::compute::DictionaryEncode(conformed->column(index)));
    auto dictionary_array = std::static_pointer_cast<arrow::DictionaryArray>(encoded.make_array());
    ARROW_ASSIGN_OR_RAISE(auto indices,
                          arrow::compute::Cast(*dictionary_array->indices(), arrow::int32()));
    codes.push_back(std::static_pointer_cast<arrow::Int32Array>(indices));
    dictionaries.push_back(dictionary_array->dictionary());
    const int64_t nulls = codes.back()->null_count();
    if (!(nulls == rows || (nulls == 0 && dictionaries.back()->length() == 1))) {
      single_partition = false;
    }
  }
  // Rows by partition key (-1: null), in key order.
  std::map<std::vector<int32_t>, std::vector<int64_t>> groups;
  std::vector<int32_t> key(codes.size());
  if (single_partition) {
    // The usual streaming case (one date per flush): no per-row grouping and no copy.
    for (size_t i = 0; i < codes.size(); ++i) key[i] = codes[i]->IsNull(0) ? -1 : 0;
    groups[key];
  } else {
    for (int64_t row = 0; row < rows; ++row) {
      for (size_t i = 0; i < codes.size(); ++i) {
        key[i] = codes[i]->IsNull(row) ? -1 : codes[i]->Value(row);
      }
      groups[key].push_back(row);
    }
  }
  for (const auto& [group_key, group_rows] : groups) {
    std::vector<std::shared_ptr<arrow::Scalar>> scalars(group_key.size());
    for (size_t i = 0; i < group_key.size(); ++i) {
      if (group_key[i] >= 0) {
        ARROW_ASSIGN_OR_RAISE(scalars[i], dictionaries[i]->GetScalar(group_key[i]));
      }
    }
    ARROW_ASSIGN_OR_RAISE(PartitionKey key, KeyOf(partition_physical_names_, scalars));
    if (single_partition) {
      ARROW_RETURN_NOT_OK(Append(key.directory, key.values, data));
      continue;
    }
    arrow::Int64Builder indices_builder;
    ARROW_RETURN_NOT_OK(indices_builder.AppendValues(group_rows));
    ARROW_ASSIGN_OR_RAISE(auto indices, indices_builder.Finish());
    ARROW_ASSIGN_OR_RAISE(arrow::Datum taken, arrow::compute::Take(data, indices));
    ARROW_RETURN_NOT_OK(Append(key.directory, key.values, taken.record_batch()));
  }
  return arrow::Status::OK();
}

arrow::Status DataFileWriter::Append(const std::string& directory, const PartitionValues& values,
                                     std::shared_ptr<arrow::RecordBatch> rows) {
  auto& partition = partitions_[directory];
  if (!partition) {
    partition = std::make_unique<Partition>();
    partition->directory = directory;
    partition->values = values;
  }
  // Slice so no row group exceeds row_group_rows.
  int64_t offset = 0;
  while (offset < rows->num_rows()) {
    int64_t room = options_.row_group_rows - partition->pending_rows;
    int64_t take = std::min(room, rows->num_rows() - offset);
    auto slice = rows->Slice(offset, take);
    offset += take;
    partition->pending_rows += take;
    ARROW_ASSIGN_OR_RAISE(int64_t bytes, RowBytes(*slice));
    partition->pending_bytes += bytes;
    partition->pending.push_back(std::move(slice));
    if (partition->pending_rows >= options_.row_group_rows ||
        partition->pending_bytes >= options_.row_group_bytes) {
      ARROW_RETURN_NOT_OK(FlushRowGroup(partition.get()));
    }
  }
  return arrow::Status::OK();
}

arrow::Status DataFileWriter::FlushRowGroup(Partition* partition) {
  if (partition->pending_rows == 0) return arrow::Status::OK();
  if (!partition->file) {
    auto file = std::make_unique<OpenFile>();
    char counter[16];
    std::snprintf(counter, sizeof(counter), "%05d", file_counter_++);
    std::string name = options_.file_prefix + "-" + counter + "-" + UuidToString(RandomUuid()) +
                       ".c000" + CodecSuffix(options_.compression) + ".parquet";
    file->path = partition->directory.empty() ? name : partition->directory + "/" + name;
    if (!options_.directory_prefix.empty())
      file->path = options_.directory_prefix + "/" + file->path;
    ARROW_ASSIGN_OR_RAISE(file->stream, store_->OpenForWrite(file->path));
    parquet::WriterProperties::Builder builder;
    // Parquet hands a column to its encoder and statistics in batches of write_batch_size
    // rows (1,024 by default) and pays a fixed cost per batch: for a dictionary array, a hash
    // of the batch's indices and a gather of the values they reference, for the page
    // statistics (for columns that keep them, see WriteOptions::dictionary_strings). Larger
    // batches cut that cost without changing the values, encodings or row groups written; a
    // page is closed once it passes the page size limit, which Parquet checks after each batch,
    // so a page may run up to one batch past it.
    builder.compression(options_.compression)
        ->max_row_group_length(options_.row_group_rows)
        ->write_batch_size(kWriteBatchRows);
    std::vector<std::string> strings_without_statistics;
    for (int i = 0; i < physical_data_schema_->num_fields(); ++i) {
      const auto& field = physical_data_schema_->field(i);
      const arrow::Type::type id = field->type()->id();
      if (!options_.dictionary_for_floating_point && arrow::is_floating(id)) {
        builder.disable_dictionary(field->name());
      }
      if (!options_.dictionary_for_integers &&
          (arrow::is_integer(id) || id == arrow::Type::DATE32 || id == arrow::Type::DATE64 ||
           id == arrow::Type::TIMESTAMP)) {
        builder.disable_dictionary(field->name());
      }
      if (file_schema_->field(i)->type()->id() == arrow::Type::DICTIONARY) {
        // Handed over as one dictionary (see WriteOptions::dictionary_strings).
        builder.disable_statistics(field->name());
        strings_without_statistics.push_back(field->name());
      }
    }
    auto arrow_properties =
        parquet::ArrowWriterProperties::Builder().set_use_threads(options_.use_threads)->build();
    ARROW_ASSIGN_OR_RAISE(
        file->writer,
        parquet::arrow::FileWriter::Open(*file_schema_, arrow::default_memory_pool(), file->stream,
                                         builder.build(), std::move(arrow_properties)));
    ARROW_ASSIGN_OR_RAISE(file->statistics,
                          StatisticsCollector::Make(*data_schema_, mode_, options_.statistics));
    for (const auto& name : strings_without_statistics) {
      ARROW_RETURN_NOT_OK(file->statistics->MeasureStringBounds(name));
    }
    partition->file = std::move(file);
  }
  OpenFile& file = *partition->file;
  // The pending pieces' string columns may be plain or dictionary<int32, string>; the dictionary
  // step below makes each such column one type again.
  arrow::ChunkedArrayVector physical_columns;
  for (int i = 0; i < data_schema_->num_fields(); ++i) {
    arrow::ArrayVector chunks;
    for (const auto& piece : partition->pending) {
      const std::shared_ptr<arrow::Array>& chunk = piece->column(i);
      if (chunk->length() == 0) continue;
      if (IsStringDictionary(*chunk->type())) {
        chunks.push_back(chunk);  // a top-level string: nothing inside to rename
        continue;
      }
      ARROW_ASSIGN_OR_RAISE(auto renamed, ConformArray(chunk, *physical_data_schema_->field(i),
                                                       *data_schema_->field(i), MatchBy::kName,
                                                       data_schema_->field(i)->name()));
      chunks.push_back(std::move(renamed));
    }
    physical_columns.push_back(std::make_shared<arrow::ChunkedArray>(
        std::move(chunks), physical_data_schema_->field(i)->type()));
  }
  if (file_schema_ != physical_data_schema_) {
    for (size_t i = 0; i < physical_columns.size(); ++i) {
      if (!file_schema_->field(static_cast<int>(i))
               ->type()
               ->Equals(*physical_data_schema_->field(static_cast<int>(i))->type())) {
        ARROW_ASSIGN_OR_RAISE(auto encoded, WithOneDictionary(physical_columns[i]));
        if (encoded == nullptr) {
          // Too many distinct values for one dictionary to pay: encoded piece by piece, which
          // Parquet writes densely (the dictionaries differ), as it would the strings.
          arrow::ArrayVector pieces;
          for (const auto& chunk : physical_columns[i]->chunks()) {
            if (IsStringDictionary(*chunk->type())) {
              pieces.push_back(chunk);
              continue;
            }
            ARROW_ASSIGN_OR_RAISE(arrow::Datum piece, arrow::compute::DictionaryEncode(chunk));
            pieces.push_back(piece.make_array());
          }
          encoded = std::make_shared<arrow::ChunkedArray>(
              std::move(pieces), arrow::dictionary(arrow::int32(), arrow::utf8()));
        }
        physical_columns[i] = std::move(encoded);
      }
    }
  }
  auto physical =
      arrow::Table::Make(file_schema_, std::move(physical_columns), partition->pending_rows);
  auto update_statistics = [&file, &partition]() -> arrow::Status {
    return file.statistics->UpdateRowGroup(partition->pending);
  };
  // Parquet pays about a microsecond per call and column, so pieces of a few thousand rows (a
  // stream's Arrow messages, a scan's batches) are handed over as they are, one column after
  // the other, rather than copied. Smaller pieces are first made contiguous in stretches of
  // kEncodeRows, each small enough to be encoded from the cache and to reuse the memory of the
  // one before (one contiguous copy of the row group would be tens of megabytes of fresh pages
  // that the kernel zeroes); with use_threads Parquet encodes each stretch's columns in
  // parallel, in a buffered row group, which reaches the stream when the next one starts or the
  // file closes (so the size check below sees it one row group late).
  int chunks = 1;
  for (const auto& column : physical->columns()) chunks = std::max(chunks, column->num_chunks());
  auto encode = [&]() -> arrow::Status {
    if (physical->num_rows() >= kDirectPieceRows * chunks) {
      return file.writer->WriteTable(*physical, physical->num_rows());
    }
    ARROW_RETURN_NOT_OK(file.writer->NewBufferedRowGroup());
    for (int64_t offset = 0; offset < physical->num_rows(); offset += kEncodeRows) {
      ARROW_ASSIGN_OR_RAISE(auto stretch,
                            physical->Slice(offset, kEncodeRows)->CombineChunksToBatch());
      ARROW_RETURN_NOT_OK(file.writer->WriteRecordBatch(*stretch));
    }
    return arrow::Status::OK();
  };
  if (options_.use_threads) {
    // Both only read the (immutable) arrays, so they may overlap.
    std::future<arrow::Status> statistics = std::async(std::launch::async, update_statistics);
    arrow::Status written = encode();
    arrow::Status updated = statistics.get();
    ARROW_RETURN_NOT_OK(written);
    ARROW_RETURN_NOT_OK(updated);
  } else {
    ARROW_RETURN_NOT_OK(encode());
    ARROW_RETURN_NOT_OK(update_statistics());
  }
  partition->pending.clear();
  partition->pending_rows = 0;
  partition->pending_bytes = 0;
  ARROW_ASSIGN_OR_RAISE(int64_t written, file.stream->Tell());
  if (written >= options_.target_file_size) ARROW_RETURN_NOT_OK(CloseFile(partition));
  return arrow::Status::OK();
}

arrow::Status DataFileWriter::CloseFile(Partition* partition) {
  if (!partition->file) return arrow::Status::OK();
  std::unique_ptr<OpenFile> file = std::move(partition->file);
  ARROW_RETURN_NOT_OK(file->writer->Close());
  ARROW_RETURN_NOT_OK(file->statistics->ReadParquetBounds(*file->writer->metadata()));
  ARROW_ASSIGN_OR_RAISE(int64_t size, file->stream->Tell());
  ARROW_RETURN_NOT_OK(file->stream->Close());
  ARROW_ASSIGN_OR_RAISE(storage::ObjectInfo info, store_->Head(file->path));
  AddFile add;
  add.path = file->path;
  add.partition_values = partition->values;
  add.size = size;
  add.modification_time = info.last_modified_ms;
  add.data_change = options_.data_change;
  add.stats = file->statistics->ToJson();
  added_.push_back(std::move(add));
  return arrow::Status::OK();
}

arrow::Result<std::vector<AddFile>> DataFileWriter::Finish() {
  for (auto& [directory, partition] : partitions_) {
    ARROW_RETURN_NOT_OK(FlushRowGroup(partition.get()));
    ARROW_RETURN_NOT_OK(CloseFile(partition.get()));
  }
  partitions_.clear();
  return std::move(added_);
}

void DataFileWriter::Abandon() {
  for (auto& [directory, partition] : partitions_) {
    if (!partition->file) continue;
    std::unique_ptr<OpenFile> file = std::move(partition->file);
    (void)file->writer->Close();
    (void)file->stream->Close();
    (void)store_->Delete(file->path);
  }
  partitions_.clear();
  for (const AddFile& add : added_) (void)store_->Delete(add.path);
  added_.clear();
}

arrow::Result<std::vector<AddFile>> WriteDataFiles(std::shared_ptr<storage::ObjectStore> store,
                                                   const Metadata& metadata,
                                                   const arrow::Table& table,
                                                   const WriteOptions& options) {
  ARROW_ASSIGN_OR_RAISE(auto writer, DataFileWriter::Make(std::move(store), metadata, options));
  ARROW_RETURN_NOT_OK(writer->Write(table));
  return writer->Finish();
}

}  // namespace nlk::delta::data
