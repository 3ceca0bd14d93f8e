#include "ingest/message_decoder.h"

#include <arrow/array.h>
#include <arrow/compute/api.h>
#include <arrow/io/memory.h>
#include <arrow/ipc/reader.h>
#include <arrow/record_batch.h>
#include <arrow/type.h>
#include <arrow/util/utf8.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "common/json_value.h"
#include "delta/data/array_conform.h"
#include "delta/data/compute_registry.h"
#include "ingest/iso8601.h"

namespace nlk::ingest {
namespace {

using JsonType = JsonValue::Type;

// Finer than JsonValue::TypeName: integer columns need to say why 1.5 or 1e20 does not fit.
std::string_view JsonKind(const JsonValue& value) {
  switch (value.type()) {
    case JsonType::kInteger:
      return "an integer";
    case JsonType::kDouble:
      return value.is_integer_overflow() ? "an integer" : "a fractional number";
    default:
      return value.TypeName();
  }
}

std::string FieldError(const arrow::Field& field, std::string_view problem) {
  return "field '" + field.name() + "' (" + field.type()->ToString() + "): " + std::string(problem);
}

std::string WrongType(const arrow::Field& field, std::string_view expected,
                      const JsonValue& value) {
  return FieldError(field,
                    "expected " + std::string(expected) + ", got " + std::string(JsonKind(value)));
}

// An integer column's value: whole JSON numbers within the column's range.
std::optional<std::string> ToInteger(const arrow::Field& field, const JsonValue& value,
                                     int64_t minimum, int64_t maximum, CellValue& cell) {
  if (value.type() == JsonType::kDouble && value.is_integer_overflow()) {
    return FieldError(field, std::string(value.raw()) + " is out of range");
  }
  if (value.type() != JsonType::kInteger) return WrongType(field, "an integer", value);
  int64_t number = value.integer();
  if (number < minimum || number > maximum) {
    return FieldError(field, std::to_string(number) + " is out of range");
  }
  cell = number;
  return std::nullopt;
}

std::optional<std::string> ToFloating(const arrow::Field& field, const JsonValue& value,
                                      bool single_precision, CellValue& cell) {
  if (value.type() != JsonType::kInteger && value.type() != JsonType::kDouble) {
    return WrongType(field, "a number", value);
  }
  double number = value.number();
  double limit =
      single_precision ? std::numeric_limits<float>::max() : std::numeric_limits<double>::max();
  if (!(std::fabs(number) <= limit)) {
    return FieldError(field, std::string(value.raw()) + " is out of range");
  }
  cell = number;
  return std::nullopt;
}

std::optional<std::string> ToTimestamp(const arrow::Field& field, const JsonValue& value,
                                       CellValue& cell) {
  const auto& type = static_cast<const arrow::TimestampType&>(*field.type());
  if (value.type() == JsonType::kInteger) {
    cell = value.integer();
    return std::nullopt;
  }
  if (value.type() != JsonType::kString) {
    return WrongType(field, "an ISO-8601 string or an integer count since the epoch", value);
  }
  auto instant = ParseIso8601Timestamp(value.string());
  if (!instant.ok()) return FieldError(field, instant.status().message());
  auto units = ToTimestampUnits(*instant, type.unit());
  if (!units.ok()) return FieldError(field, units.status().message());
  cell = *units;
  return std::nullopt;
}

std::optional<std::string> ToDate(const arrow::Field& field, const JsonValue& value,
                                  CellValue& cell) {
  if (value.type() == JsonType::kInteger) {
    return ToInteger(field, value, std::numeric_limits<int32_t>::min(),
                     std::numeric_limits<int32_t>::max(), cell);
  }
  if (value.type() != JsonType::kString) {
    return WrongType(field, "a \"YYYY-MM-DD\" string or a day count since the epoch", value);
  }
  auto days = ParseIso8601Date(value.string());
  if (!days.ok()) return FieldError(field, days.status().message());
  cell = static_cast<int64_t>(*days);
  return std::nullopt;
}

std::optional<std::string> ToText(const arrow::Field& field, const JsonValue& value,
                                  bool must_be_utf8, CellValue& cell) {
  if (value.type() != JsonType::kString) return WrongType(field, "a string", value);
  // JSON text may carry raw bytes that are not UTF-8; Arrow string columns must not.
  if (must_be_utf8 && !arrow::util::ValidateUTF8(value.string())) {
    return FieldError(field, "the string is not valid UTF-8");
  }
  cell = std::string_view(value.string());
  return std::nullopt;
}

// Converts a non-null JSON value to the cell of `field`'s column, or returns why it cannot.
std::optional<std::string> ToCell(const arrow::Field& field, const JsonValue& value,
                                  CellValue& cell) {
  switch (field.type()->id()) {
    case arrow::Type::BOOL:
      if (value.type() != JsonType::kBool) return WrongType(field, "true or false", value);
      cell = value.boolean();
      return std::nullopt;
    case arrow::Type::INT8:
      return ToInteger(field, value, INT8_MIN, INT8_MAX, cell);
    case arrow::Type::INT16:
      return ToInteger(field, value, INT16_MIN, INT16_MAX, cell);
    case arrow::Type::INT32:
      return ToInteger(field, value, INT32_MIN, INT32_MAX, cell);
    case arrow::Type::INT64:
      return ToInteger(field, value, INT64_MIN, INT64_MAX, cell);
    case arrow::Type::FLOAT:
      return ToFloating(field, value, /*single_precision=*/true, cell);
    case arrow::Type::DOUBLE:
      return ToFloating(field, value, /*single_precision=*/false, cell);
    case arrow::Type::DATE32:
      return ToDate(field, value, cell);
    case arrow::Type::TIMESTAMP:
      return ToTimestamp(field, value, cell);
    case arrow::Type::STRING:
    case arrow::Type::LARGE_STRING:
      return ToText(field, value, /*must_be_utf8=*/true, cell);
    case arrow::Type::BINARY:
      return ToText(field, value, /*must_be_utf8=*/false, cell);
    default:
      return FieldError(field, "unsupported column type");
  }
}

// The column type a new field gets under schema evolution; nullptr when its value has none
// (null says nothing about the type, and nested values are not supported).
std::shared_ptr<arrow::DataType> InferColumnType(const JsonValue& value) {
  switch (value.type()) {
    case JsonType::kInteger:
      return arrow::int64();
    case JsonType::kDouble:
      return arrow::float64();
    case JsonType::kString:
      return arrow::utf8();
    case JsonType::kBool:
      return arrow::boolean();
    default:
      return nullptr;
  }
}

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
};

// Bytes [offsets[0], offsets[n]) of a string column hold valid UTF-8 and no value starts on a
// continuation byte: then every value is a whole number of characters, hence valid UTF-8.
template <typename Offset>
arrow::Status ValidateStringsInBulk(const arrow::ArrayData& data) {
  const int64_t n = data.length;
  if (n == 0) return arrow::Status::OK();
  const Offset* offsets = data.GetValues<Offset>(1);
  const int64_t size = data.buffers[2] == nullptr ? 0 : data.buffers[2]->size();
  if (offsets[0] < 0 || offsets[n] > size) {
    return arrow::Status::Invalid("string offsets ", offsets[0], "..", offsets[n],
                                  " outside the data buffer of ", size, " bytes");
  }
  for (int64_t i = 0; i < n; ++i) {
    if (offsets[i + 1] < offsets[i]) {
      return arrow::Status::Invalid("string offsets decrease at value ", i);
    }
  }
  const Offset first = offsets[0];
  const Offset last = offsets[n];
  if (first == last) return arrow::Status::OK();
  const uint8_t* bytes = data.buffers[2]->data();
  if (!arrow::util::ValidateUTF8(bytes + first, static_cast<int64_t>(last - first))) {
    return arrow::Status::Invalid("a string is not valid UTF-8");
  }
  for (int64_t i = 1; i < n; ++i) {
    if (offsets[i] < last && (bytes[offsets[i]] & 0xC0) == 0x80) {
      return arrow::Status::Invalid("string value ", i, " is not valid UTF-8");
    }
  }
  return arrow::Status::OK();
}

// Every index of a dictionary array without nulls lies within its dictionary. One pass for the
// smallest and largest index, which compilers vectorise, instead of a check per value.
template <typename Index>
arrow::Status IndicesInRange(const arrow::ArrayData& data, int64_t size) {
  if (data.length == 0) return arrow::Status::OK();
  const Index* indices = data.GetValues<Index>(1);
  Index low = indices[0];
  Index high = indices[0];
  for (int64_t i = 1; i < data.length; ++i) {
    low = std::min(low, indices[i]);
    high = std::max(high, indices[i]);
  }
  bool below = false;
  if constexpr (std::is_signed_v<Index>) below = low < 0;
  if (below || static_cast<uint64_t>(high) >= static_cast<uint64_t>(size)) {
    return arrow::Status::Invalid("dictionary indices range from ", +low, " to ", +high,
                                  " but the dictionary has ", size, " values");
  }
  return arrow::Status::OK();
}

// A dictionary-encoded column without nulls: its dictionary is checked in full (few values),
// its indices only for their range, which is all ValidateFull checks of them.
arrow::Status ValidateDictionaryInBulk(const arrow::ArrayData& data) {
  ARROW_RETURN_NOT_OK(arrow::MakeArray(data.dictionary)->ValidateFull());
  const int64_t size = data.dictionary->length;
  switch (static_cast<const arrow::DictionaryType&>(*data.type).index_type()->id()) {
    case arrow::Type::INT8:
      return IndicesInRange<int8_t>(data, size);
    case arrow::Type::UINT8:
      return IndicesInRange<uint8_t>(data, size);
    case arrow::Type::INT16:
      return IndicesInRange<int16_t>(data, size);
    case arrow::Type::UINT16:
      return IndicesInRange<uint16_t>(data, size);
    case arrow::Type::INT32:
      return IndicesInRange<int32_t>(data, size);
    case arrow::Type::UINT32:
      return IndicesInRange<uint32_t>(data, size);
    case arrow::Type::INT64:
      return IndicesInRange<int64_t>(data, size);
    case arrow::Type::UINT64:
      return IndicesInRange<uint64_t>(data, size);
    default:
      return arrow::MakeArray(std::make_shared<arrow::ArrayData>(data))->ValidateFull();
  }
}
}  // namespace

// Parses each message completely (common/json_value.h) before looking at any value, so a message
// is either fully decoded or rejected. (Not simdjson: pyarrow's libparquet exports its own
// simdjson under the same symbols, which breaks the system one; see json_value.h.)
class MessageDecoder::JsonDecoder {
 public:
  arrow::Result<std::optional<std::string>> Decode(const KafkaMessage& message,
                                                   BatchAccumulator& accumulator,
                                                   bool schema_evolution) {
    std::string_view text(reinterpret_cast<const char*>(message.payload->data()),
                          static_cast<size_t>(message.payload->size()));
    arrow::Result<JsonValue> parsed = ParseJson(text);
    if (!parsed.ok()) return "not valid JSON: " + parsed.status().message();
    const JsonValue& document = *parsed;
    if (document.type() != JsonType::kObject) {
      return "expected a JSON object, got " + std::string(JsonKind(document));
    }

    const std::shared_ptr<arrow::Schema> schema = accumulator.schema();
    RefreshColumns(schema);
    std::fill(slots_.begin(), slots_.end(), nullptr);
    new_fields_.clear();
    for (const auto& [name, value] : document.object()) {
      auto column = columns_.find(name);
      if (column != columns_.end()) {
        const JsonValue*& slot = slots_[static_cast<size_t>(column->second)];
        if (slot != nullptr) return "field '" + name + "' appears more than once";
        slot = &value;
        continue;
      }
      if (!schema_evolution) {
        return "unknown field '" + name +
               "': the table has no such column (enable schema evolution to add it)";
      }
      for (const auto& [seen, unused] : new_fields_) {
        if (*seen == name) return "field '" + name + "' appears more than once";
      }
      if (value.is_null()) continue;
      if (InferColumnType(value) == nullptr) {
        return "new field '" + name + "' holds " + std::string(JsonKind(value)) +
               "; only numbers, strings and booleans can become new columns";
      }
      new_fields_.emplace_back(&name, &value);
    }

    cells_.assign(static_cast<size_t>(schema->num_fields()) + new_fields_.size(), std::monostate{});
    for (int i = 0; i < schema->num_fields(); ++i) {
      const arrow::Field& field = *schema->field(i);
      const JsonValue* slot = slots_[static_cast<size_t>(i)];
      if (slot == nullptr || slot->is_null()) {
        if (!field.nullable()) {
          return slot ? "field '" + field.name() + "' is null but required"
                      : "missing required field '" + field.name() + "'";
        }
        continue;
      }
      if (auto reason = ToCell(field, *slot, cells_[static_cast<size_t>(i)])) return reason;
    }
    std::vector<std::shared_ptr<arrow::Field>> added;
    for (size_t i = 0; i < new_fields_.size(); ++i) {
      const auto& [name, value] = new_fields_[i];
      added.push_back(arrow::field(*name, InferColumnType(*value), /*nullable=*/true));
      size_t cell = static_cast<size_t>(schema->num_fields()) + i;
      if (auto reason = ToCell(*added.back(), *value, cells_[cell])) return reason;
    }
    // Only a message that is valid throughout may change the schema.
    for (auto& field : added) ARROW_RETURN_NOT_OK(accumulator.AddField(std::move(field)));
    ARROW_RETURN_NOT_OK(accumulator.AppendRow(cells_));
    return std::nullopt;
  }

 private:
  void RefreshColumns(const std::shared_ptr<arrow::Schema>& schema) {
    if (schema == columns_schema_) return;
    columns_.clear();
    for (int i = 0; i < schema->num_fields(); ++i) columns_.emplace(schema->field(i)->name(), i);
    slots_.resize(static_cast<size_t>(schema->num_fields()));
    columns_schema_ = schema;
  }

  std::shared_ptr<arrow::Schema> columns_schema_;
  std::unordered_map<std::string, int, StringHash, std::equal_to<>> columns_;
  // Per column, the message's value for it; they point into the parsed document.
  std::vector<const JsonValue*> slots_;
  std::vector<std::pair<const std::string*, const JsonValue*>> new_fields_;
  std::vector<CellValue> cells_;
};

namespace {

// Whether `type` is a dictionary of strings with any integer index type, as Arrow writers
// encode repetitive string columns (a message's device and session, a pandas category).
bool IsStringsInAnyDictionary(const arrow::DataType& type) {
  if (type.id() != arrow::Type::DICTIONARY) return false;
  const auto& dictionary = static_cast<const arrow::DictionaryType&>(type);
  return dictionary.value_type()->id() == arrow::Type::STRING;
}

arrow::Result<std::variant<std::shared_ptr<arrow::RecordBatch>, std::string>>
NormalizeStringDictionaries(std::shared_ptr<arrow::RecordBatch> batch) {
  using delta::data::IsStringDictionary;
  std::vector<std::shared_ptr<arrow::Array>> columns;
  for (int i = 0; i < batch->num_columns(); ++i) {
    const auto& column = batch->column(i);
    if (!IsStringsInAnyDictionary(*column->type())) continue;
    const auto& encoded = static_cast<const arrow::DictionaryArray&>(*column);
    const std::string& name = batch->schema()->field(i)->name();
    if (encoded.dictionary()->null_count() > 0) {
      return "column '" + name +
             "': its dictionary holds nulls (a missing value is a null index, not a null entry)";
    }
    if (IsStringDictionary(*column->type())) continue;
    ARROW_RETURN_NOT_OK(delta::data::EnsureComputeFunctions());
    // Validated already: every index points into the dictionary, which has fewer than 2^31
    // entries (its offsets are 32-bit), so the narrowing cannot fail.
    ARROW_ASSIGN_OR_RAISE(arrow::Datum indices,
                          arrow::compute::Cast(encoded.indices(), arrow::int32()));
    if (columns.empty()) columns = batch->columns();
    columns[static_cast<size_t>(i)] =
        std::make_shared<arrow::DictionaryArray>(arrow::dictionary(arrow::int32(), arrow::utf8()),
                                                 indices.make_array(), encoded.dictionary());
  }
  if (columns.empty()) return batch;
  auto schema = delta::data::WithColumnTypes(batch->schema(), columns);
  return arrow::RecordBatch::Make(std::move(schema), batch->num_rows(), std::move(columns));
}

}  // namespace

arrow::Result<MessageFormat> ParseMessageFormat(std::string_view name) {
  if (name == "json") return MessageFormat::kJson;
  if (name == "arrow") return MessageFormat::kArrow;
  return arrow::Status::Invalid("unknown message format '", name, "' (expected json or arrow)");
}

arrow::Status ValidateUntrustedBatch(const arrow::RecordBatch& batch) {
  ARROW_RETURN_NOT_OK(batch.Validate());
  for (int i = 0; i < batch.num_columns(); ++i) {
    const arrow::Array& column = *batch.column(i);
    // A null count of 0 makes every value present, whatever a validity bitmap says (Arrow
    // ignores the bitmap then), so the bulk check covers what ValidateFull would.
    const bool all_valid = column.null_count() == 0;
    arrow::Status valid;
    if (column.type_id() == arrow::Type::STRING && all_valid) {
      valid = ValidateStringsInBulk<int32_t>(*column.data());
    } else if (column.type_id() == arrow::Type::LARGE_STRING && all_valid) {
      valid = ValidateStringsInBulk<int64_t>(*column.data());
    } else if (column.type_id() == arrow::Type::DICTIONARY && all_valid) {
      valid = ValidateDictionaryInBulk(*column.data());
    } else {
      valid = column.ValidateFull();
    }
    if (!valid.ok()) {
      return arrow::Status::Invalid("column '", batch.schema()->field(i)->name(),
                                    "': ", valid.message());
    }
  }
  return arrow::Status::OK();
}

std::string_view MessageFormatName(MessageFormat format) {
  return format == MessageFormat::kJson ? "json" : "arrow";
}

MessageDecoder::MessageDecoder(DecoderOptions options)
    : options_(options), json_(std::make_unique<JsonDecoder>()) {
  arrow::util::InitializeUTF8();
}

MessageDecoder::~MessageDecoder() = default;

arrow::Result<std::optional<DeadLetter>> MessageDecoder::Decode(const KafkaMessage& message,
                                                                BatchAccumulator& accumulator) {
  std::optional<std::string> reason;
  if (message.payload == nullptr || message.payload->size() == 0) {
    reason = "empty payload (a message without a value)";
  } else if (options_.format == MessageFormat::kJson) {
    ARROW_ASSIGN_OR_RAISE(reason, json_->Decode(message, accumulator, options_.schema_evolution));
  } else {
    ARROW_ASSIGN_OR_RAISE(reason, DecodeArrow(message, accumulator));
  }
  if (!reason) return std::nullopt;
  return MakeDeadLetter(message, std::move(*reason));
}

arrow::Result<std::optional<std::string>> MessageDecoder::DecodeArrow(
    const KafkaMessage& message, BatchAccumulator& accumulator) {
  auto input = std::make_shared<arrow::io::BufferReader>(message.payload);
  auto read_options = arrow::ipc::IpcReadOptions::Defaults();
  read_options.use_threads = false;
  auto opened = arrow::ipc::RecordBatchStreamReader::Open(input, read_options);
  if (!opened.ok()) return "not an Arrow IPC stream: " + opened.status().message();
  std::shared_ptr<arrow::ipc::RecordBatchStreamReader> reader = *opened;
  const std::shared_ptr<arrow::Schema>& source = reader->schema();

  // Untrusted bytes: every batch is fully validated before a value is looked at.
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  while (true) {
    auto next = reader->ReadNext();
    if (!next.ok()) return "a damaged Arrow IPC stream: " + next.status().message();
    if (next->batch == nullptr) break;
    arrow::Status valid = ValidateUntrustedBatch(*next->batch);
    if (!valid.ok()) return "an invalid Arrow record batch: " + valid.message();
    ARROW_ASSIGN_OR_RAISE(auto normalized, NormalizeStringDictionaries(next->batch));
    if (std::holds_alternative<std::string>(normalized)) {
      return std::get<std::string>(std::move(normalized));
    }
    batches.push_back(std::get<std::shared_ptr<arrow::RecordBatch>>(std::move(normalized)));
  }

  const std::shared_ptr<arrow::Schema> target = accumulator.schema();
  std::vector<std::shared_ptr<arrow::Field>> new_fields;
  for (const auto& field : source->fields()) {
    if (source->GetAllFieldIndices(field->name()).size() > 1) {
      return "column '" + field->name() + "' appears more than once";
    }
    const auto& target_field = target->GetFieldByName(field->name());
    if (target_field == nullptr) {
      if (!options_.schema_evolution) {
        return "unknown column '" + field->name() +
               "': the table has no such column (enable schema evolution to add it)";
      }
      // A dictionary-encoded string column adds a string column.
      auto added =
          IsStringsInAnyDictionary(*field->type()) ? field->WithType(arrow::utf8()) : field;
      if (!IsSupportedColumnType(*added->type())) {
        return "new column '" + field->name() + "' has type " + field->type()->ToString() +
               ", which cannot be added";
      }
      new_fields.push_back(std::move(added));
      continue;
    }
    if (!field->type()->Equals(*target_field->type()) &&
        !(target_field->type()->id() == arrow::Type::STRING &&
          IsStringsInAnyDictionary(*field->type()))) {
      return "column '" + field->name() + "' has type " + field->type()->ToString() +
             " but the table expects " + target_field->type()->ToString();
    }
  }
  for (const auto& target_field : target->fields()) {
    int index = source->GetFieldIndex(target_field->name());
    if (target_field->nullable()) continue;
    if (index < 0) return "missing required column '" + target_field->name() + "'";
    for (const auto& batch : batches) {
      if (batch->column(index)->null_count() > 0) {
        return "column '" + target_field->name() + "' is required but holds " +
               std::to_string(batch->column(index)->null_count()) + " nulls";
      }
    }
  }

  for (auto& field : new_fields) ARROW_RETURN_NOT_OK(accumulator.AddField(std::move(field)));
  const std::shared_ptr<arrow::Schema>& schema = accumulator.schema();
  for (const auto& batch : batches) {
    std::vector<std::shared_ptr<arrow::Array>> columns;
    columns.reserve(static_cast<size_t>(schema->num_fields()));
    for (const auto& field : schema->fields()) {
      int index = source->GetFieldIndex(field->name());
      if (index >= 0) {
        columns.push_back(batch->column(index));
      } else {
        ARROW_ASSIGN_OR_RAISE(auto nulls, arrow::MakeArrayOfNull(field->type(), batch->num_rows()));
        columns.push_back(std::move(nulls));
      }
    }
    // The schema's fields, with the types the columns really have (dictionary-encoded strings).
    auto batch_schema = delta::data::WithColumnTypes(schema, columns);
    ARROW_RETURN_NOT_OK(accumulator.AppendBatch(
        arrow::RecordBatch::Make(std::move(batch_schema), batch->num_rows(), std::move(columns))));
  }
  return std::nullopt;
}

}  // namespace nlk::ingest
