#include "delta/log/checkpoint_reader.h"

#include <arrow/array.h>
#include <arrow/memory_pool.h>
#include <arrow/record_batch.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/schema.h>

#include <numeric>

#include "delta/log/action_json.h"
#include "delta/log/action_schema.h"
#include "delta/log/log_error.h"
#include "delta/log/path_encoding.h"

namespace nlk::delta {

namespace {

namespace schema = action_schema;

// The columns of every action a checkpoint may hold.
std::set<std::string> AllActionColumns() {
  std::set<std::string> columns;
  schema::ForEach(schema::kActions, [&](const auto& description) {
    if (description.in_checkpoint != schema::InCheckpoint::kNo) {
      columns.emplace(description.name);
    }
  });
  return columns;
}

// Typed, null-tolerant access to one row of a struct column.
class Row {
 public:
  Row(const arrow::StructArray* array, int64_t index) : array_(array), index_(index) {}

  const arrow::Array* Child(std::string_view name) const {
    if (array_ == nullptr) return nullptr;
    const int field = array_->struct_type()->GetFieldIndex(std::string(name));
    return field < 0 ? nullptr : array_->field(field).get();
  }

  bool Has(std::string_view name) const {
    const arrow::Array* child = Child(name);
    return child != nullptr && child->IsValid(index_);
  }

  std::optional<std::string> String(std::string_view name) const {
    const arrow::Array* child = Child(name);
    if (child == nullptr || child->IsNull(index_)) return std::nullopt;
    return StringValue(*child, index_);
  }

  std::optional<int64_t> Int(std::string_view name) const {
    const arrow::Array* child = Child(name);
    if (child == nullptr || child->IsNull(index_)) return std::nullopt;
    switch (child->type_id()) {
      case arrow::Type::INT64:
        return static_cast<const arrow::Int64Array*>(child)->Value(index_);
      case arrow::Type::INT32:
        return static_cast<const arrow::Int32Array*>(child)->Value(index_);
      case arrow::Type::INT16:
        return static_cast<const arrow::Int16Array*>(child)->Value(index_);
      case arrow::Type::INT8:
        return static_cast<const arrow::Int8Array*>(child)->Value(index_);
      default:
        return std::nullopt;
    }
  }

  std::optional<bool> Bool(std::string_view name) const {
    const arrow::Array* child = Child(name);
    if (child == nullptr || child->IsNull(index_) || child->type_id() != arrow::Type::BOOL) {
      return std::nullopt;
    }
    return static_cast<const arrow::BooleanArray*>(child)->Value(index_);
  }

  std::optional<PartitionValues> Map(std::string_view name) const {
    const arrow::Array* child = Child(name);
    if (child == nullptr || child->IsNull(index_) || child->type_id() != arrow::Type::MAP) {
      return std::nullopt;
    }
    const auto* map = static_cast<const arrow::MapArray*>(child);
    PartitionValues values;
    const int64_t begin = map->value_offset(index_);
    const int64_t end = map->value_offset(index_ + 1);
    for (int64_t i = begin; i < end; ++i) {
      auto key = StringValue(*map->keys(), i);
      if (!key) continue;
      values.emplace(std::move(*key),
                     map->items()->IsNull(i) ? std::nullopt : StringValue(*map->items(), i));
    }
    return values;
  }

  std::optional<StringMap> NonNullMap(std::string_view name) const {
    auto nullable = Map(name);
    if (!nullable) return std::nullopt;
    StringMap map;
    for (auto& [key, value] : *nullable) {
      if (value) map.emplace(key, std::move(*value));
    }
    return map;
  }

  std::optional<std::vector<std::string>> Strings(std::string_view name) const {
    const arrow::Array* child = Child(name);
    if (child == nullptr || child->IsNull(index_) || child->type_id() != arrow::Type::LIST) {
      return std::nullopt;
    }
    const auto* list = static_cast<const arrow::ListArray*>(child);
    std::vector<std::string> strings;
    for (int64_t i = list->value_offset(index_); i < list->value_offset(index_ + 1); ++i) {
      if (auto text = StringValue(*list->values(), i)) strings.push_back(std::move(*text));
    }
    return strings;
  }

  std::optional<Row> Struct(std::string_view name) const {
    const arrow::Array* child = Child(name);
    if (child == nullptr || child->IsNull(index_) || child->type_id() != arrow::Type::STRUCT) {
      return std::nullopt;
    }
    return Row(static_cast<const arrow::StructArray*>(child), index_);
  }

 private:
  static std::optional<std::string> StringValue(const arrow::Array& array, int64_t index) {
    if (array.IsNull(index)) return std::nullopt;
    switch (array.type_id()) {
      case arrow::Type::STRING:
        return static_cast<const arrow::StringArray&>(array).GetString(index);
      case arrow::Type::LARGE_STRING:
        return static_cast<const arrow::LargeStringArray&>(array).GetString(index);
      case arrow::Type::BINARY:
        return static_cast<const arrow::BinaryArray&>(array).GetString(index);
      case arrow::Type::STRING_VIEW:
        return std::string(static_cast<const arrow::StringViewArray&>(array).GetView(index));
      default:
        return std::nullopt;
    }
  }

  const arrow::StructArray* array_;
  int64_t index_;
};

// The value of field `name` of `row` as T (a value type of action_schema.h), or nullopt when
// the column is missing, null or of another type.
template <typename T>
std::optional<T> RowValue(const Row& row, std::string_view name) {
  if constexpr (std::is_same_v<T, std::string>) {
    return row.String(name);
  } else if constexpr (std::is_same_v<T, char>) {
    auto text = row.String(name);
    if (!text || text->empty()) return std::nullopt;
    return (*text)[0];
  } else if constexpr (std::is_same_v<T, int64_t>) {
    return row.Int(name);
  } else if constexpr (std::is_same_v<T, int32_t>) {
    auto number = row.Int(name);
    if (!number) return std::nullopt;
    return static_cast<int32_t>(*number);
  } else if constexpr (std::is_same_v<T, bool>) {
    return row.Bool(name);
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    return row.Strings(name);
  } else if constexpr (std::is_same_v<T, PartitionValues>) {
    return row.Map(name);
  } else {
    static_assert(std::is_same_v<T, StringMap>, "a field type action_schema.h does not list");
    return row.NonNullMap(name);
  }
}

// Turns checkpoint rows into actions, field by field as action_schema.h describes them.
class RowDecoder {
 public:
  RowDecoder(std::string path) : path_(std::move(path)) {}

  template <typename Description>
  arrow::Result<Action> Decode(const Description& description, const Row& row,
                               int64_t index) const {
    typename Description::ActionType action;
    ARROW_RETURN_NOT_OK(ReadFields(description.name, description.fields, row, index, &action));
    return action;
  }

 private:
  arrow::Status Missing(std::string_view column, std::string_view field, int64_t row) const {
    return LogError(LogErrorKind::kCorruptLog,
                    "Invalid checkpoint " + path_ + ": row " + std::to_string(row) + " has a '" +
                        std::string(column) + "' action without the required field '" +
                        std::string(field) + "'");
  }

  template <typename Owner, typename Fields>
  arrow::Status ReadFields(std::string_view column, const Fields& fields, const Row& row,
                           int64_t index, Owner* out) const {
    return schema::ForEachUntilError<arrow::Status>(
        fields, [&](const auto& element) { return ReadElement(column, element, row, index, out); });
  }

  template <typename Owner, typename Element>
  arrow::Status ReadElement(std::string_view column, const Element& element, const Row& row,
                            int64_t index, Owner* out) const {
    if constexpr (schema::IsField<Element>::value) {
      if (element.flags & schema::kCommitOnly) return arrow::Status::OK();
      using Value = schema::ValueTypeOf<typename Element::MemberType>;
      std::optional<Value> value = RowValue<Value>(row, element.name);
      if (!value) {
        if (element.presence == schema::Presence::kKey) {
          return Missing(column, element.name, index);
        }
        if constexpr (std::is_same_v<Value, bool>) {
          if (element.flags & schema::kFalseInCheckpoint) out->*element.member = false;
        }
        return arrow::Status::OK();
      }
      if constexpr (std::is_same_v<Value, std::string>) {
        if (element.flags & schema::kLogPath) *value = DecodeLogPath(*value);
      }
      out->*element.member = std::move(*value);
    } else if constexpr (schema::IsObject<Element>::value) {
      auto nested = row.Struct(element.name);
      if (!nested) return arrow::Status::OK();
      typename Element::ChildType child;
      ARROW_RETURN_NOT_OK(ReadFields(column, element.fields, *nested, index, &child));
      out->*element.member = std::move(child);
    } else {
      static_assert(schema::IsGroup<Element>::value);
      auto nested = row.Struct(element.name);
      if (!nested) return arrow::Status::OK();
      return ReadFields(column, element.fields, *nested, index, out);
    }
    return arrow::Status::OK();
  }

  std::string path_;
};

// Leaf column indices under `field`, leaving out the derived *_parsed structs.
void CollectLeaves(const parquet::arrow::SchemaField& field, bool top_level,
                   std::vector<int>* leaves) {
  if (!top_level) {
    const std::string& name = field.field->name();
    if (name == "stats_parsed" || name == "partitionValues_parsed") return;
  }
  if (field.is_leaf()) {
    leaves->push_back(field.column_index);
    return;
  }
  for (const auto& child : field.children) CollectLeaves(child, false, leaves);
}

}  // namespace

std::string SidecarPath(const Sidecar& sidecar) {
  // Sidecars always live in _delta_log/_sidecars; writers should store the bare file name, and
  // for a longer path only the name identifies the file inside that directory.
  const size_t slash = sidecar.path.rfind('/');
  const std::string name =
      slash == std::string::npos ? sidecar.path : sidecar.path.substr(slash + 1);
  return std::string(kSidecarDirectory) + name;
}

arrow::Status ReadCheckpointParquet(storage::ObjectStore& store, const std::string& path,
                                    const std::set<std::string>& columns, const ActionSink& sink) {
  ARROW_ASSIGN_OR_RAISE(auto file, store.OpenForRead(path));
  // Checkpoint columns are decoded, turned into actions and dropped at once; the system
  // allocator returns that transient memory for the actions built next, where the default
  // pool (mimalloc) would keep it and raise the peak of loading a large table by ~40%.
  auto opened = parquet::arrow::OpenFile(file, arrow::system_memory_pool());
  if (!opened.ok()) {
    return LogError(LogErrorKind::kCorruptLog,
                    "Cannot read checkpoint " + path + " as Parquet: " + opened.status().message());
  }
  std::unique_ptr<parquet::arrow::FileReader> reader = std::move(opened).ValueUnsafe();
  std::vector<int> leaves;
  for (const auto& field : reader->manifest().schema_fields) {
    if (columns.count(field.field->name()) > 0) CollectLeaves(field, true, &leaves);
  }
  if (leaves.empty()) return arrow::Status::OK();
  std::vector<int> row_groups(reader->num_row_groups());
  std::iota(row_groups.begin(), row_groups.end(), 0);
  auto batches = reader->GetRecordBatchReader(row_groups, leaves);
  if (!batches.ok()) {
    return LogError(LogErrorKind::kCorruptLog,
                    "Cannot read checkpoint " + path + ": " + batches.status().message());
  }
  const RowDecoder decoder(path);
  int64_t row_base = 0;
  while (true) {
    std::shared_ptr<arrow::RecordBatch> batch;
    auto status = (*batches)->ReadNext(&batch);
    if (!status.ok()) {
      return LogError(LogErrorKind::kCorruptLog,
                      "Cannot read checkpoint " + path + ": " + status.message());
    }
    if (batch == nullptr) break;
    for (int column = 0; column < batch->num_columns(); ++column) {
      const std::string& name = batch->schema()->field(column)->name();
      const auto& array = batch->column(column);
      if (columns.count(name) == 0 || array->type_id() != arrow::Type::STRUCT) continue;
      const auto* structs = static_cast<const arrow::StructArray*>(array.get());
      arrow::Status status;
      schema::ForEach(schema::kActions, [&](const auto& description) {
        if (description.in_checkpoint == schema::InCheckpoint::kNo || name != description.name) {
          return;
        }
        for (int64_t row = 0; row < structs->length() && status.ok(); ++row) {
          if (structs->IsNull(row)) continue;
          auto action = decoder.Decode(description, Row(structs, row), row_base + row);
          status = action.ok() ? sink(std::move(*action)) : action.status();
        }
      });
      ARROW_RETURN_NOT_OK(status);
    }
    row_base += batch->num_rows();
  }
  return arrow::Status::OK();
}

arrow::Status ReadCheckpoint(storage::ObjectStore& store, const std::vector<LogFile>& parts,
                             const ActionSink& sink) {
  std::vector<Sidecar> sidecars;
  const ActionSink collect = [&](Action action) -> arrow::Status {
    if (auto* sidecar = std::get_if<Sidecar>(&action)) {
      sidecars.push_back(std::move(*sidecar));
      return arrow::Status::OK();
    }
    return sink(std::move(action));
  };
  for (const auto& part : parts) {
    if (part.is_json) {
      ARROW_ASSIGN_OR_RAISE(auto buffer, store.Read(part.object.path));
      ARROW_ASSIGN_OR_RAISE(auto actions,
                            ParseActionLines(std::string_view(*buffer), part.object.path));
      for (auto& action : actions) ARROW_RETURN_NOT_OK(collect(std::move(action)));
    } else {
      static const std::set<std::string> kAllActionColumns = AllActionColumns();
      ARROW_RETURN_NOT_OK(
          ReadCheckpointParquet(store, part.object.path, kAllActionColumns, collect));
    }
  }
  for (const auto& sidecar : sidecars) {
    ARROW_RETURN_NOT_OK(
        ReadCheckpointParquet(store, SidecarPath(sidecar), {"add", "remove"}, sink));
  }
  return arrow::Status::OK();
}

}  // namespace nlk::delta
