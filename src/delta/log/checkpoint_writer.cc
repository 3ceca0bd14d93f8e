#include "delta/log/checkpoint_writer.h"

#include <arrow/builder.h>
#include <arrow/io/memory.h>
#include <arrow/table.h>
#include <parquet/arrow/writer.h>
#include <parquet/properties.h>

#include "delta/log/action_schema.h"
#include "delta/log/last_checkpoint.h"
#include "delta/log/log_files.h"
#include "delta/log/path_encoding.h"

namespace nlk::delta {

namespace {

namespace schema = action_schema;

std::shared_ptr<arrow::DataType> StringMapType() {
  return arrow::map(arrow::utf8(), arrow::field("value", arrow::utf8(), true));
}

template <typename T>
std::shared_ptr<arrow::DataType> ArrowTypeOf() {
  if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, char>) {
    return arrow::utf8();
  } else if constexpr (std::is_same_v<T, int64_t>) {
    return arrow::int64();
  } else if constexpr (std::is_same_v<T, int32_t>) {
    return arrow::int32();
  } else if constexpr (std::is_same_v<T, bool>) {
    return arrow::boolean();
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    return arrow::list(arrow::utf8());
  } else {
    static_assert(std::is_same_v<T, PartitionValues> || std::is_same_v<T, StringMap>,
                  "a field type action_schema.h does not list");
    return StringMapType();
  }
}

// The checkpoint struct of the described fields, in their order.
template <typename Fields>
std::shared_ptr<arrow::DataType> StructTypeOf(const Fields& fields) {
  arrow::FieldVector children;
  schema::ForEach(fields, [&](const auto& element) {
    using Element = std::decay_t<decltype(element)>;
    if constexpr (schema::IsField<Element>::value) {
      if (element.flags & schema::kCommitOnly) return;
      using Value = schema::ValueTypeOf<typename Element::MemberType>;
      children.push_back(arrow::field(std::string(element.name), ArrowTypeOf<Value>()));
    } else {
      children.push_back(arrow::field(std::string(element.name), StructTypeOf(element.fields)));
    }
  });
  return arrow::struct_(std::move(children));
}

// Top-level columns: the actions checkpoints hold, in the order Spark writes them.
std::shared_ptr<arrow::Schema> CheckpointSchema() {
  arrow::FieldVector columns;
  schema::ForEach(schema::kActions, [&](const auto& description) {
    if (description.in_checkpoint != schema::InCheckpoint::kReadWrite) return;
    columns.push_back(
        arrow::field(std::string(description.name), StructTypeOf(description.fields)));
  });
  return arrow::schema(std::move(columns));
}

// The top-level column of action type `Action`.
template <typename Action>
int CheckpointColumnOf() {
  static const int column = [] {
    int index = 0;
    int found = -1;
    schema::ForEach(schema::kActions, [&](const auto& description) {
      if (description.in_checkpoint != schema::InCheckpoint::kReadWrite) return;
      using Described = typename std::decay_t<decltype(description)>::ActionType;
      if (std::is_same_v<Described, Action>) found = index;
      ++index;
    });
    return found;
  }();
  return column;
}

// Appends values to the child builders of one struct builder, field by field in schema order.
class StructWriter {
 public:
  explicit StructWriter(arrow::StructBuilder* builder) : builder_(builder) {}

  arrow::Status Begin() { return builder_->Append(); }

  // Appends `value` (nullptr: null) to the next child, T being a value type of
  // action_schema.h.
  template <typename T>
  arrow::Status Value(const T* value) {
    arrow::ArrayBuilder* child = Next();
    if (value == nullptr) return child->AppendNull();
    if constexpr (std::is_same_v<T, std::string>) {
      return static_cast<arrow::StringBuilder*>(child)->Append(*value);
    } else if constexpr (std::is_same_v<T, char>) {
      return static_cast<arrow::StringBuilder*>(child)->Append(std::string_view(value, 1));
    } else if constexpr (std::is_same_v<T, int64_t>) {
      return static_cast<arrow::Int64Builder*>(child)->Append(*value);
    } else if constexpr (std::is_same_v<T, int32_t>) {
      return static_cast<arrow::Int32Builder*>(child)->Append(*value);
    } else if constexpr (std::is_same_v<T, bool>) {
      return static_cast<arrow::BooleanBuilder*>(child)->Append(*value);
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      auto* list = static_cast<arrow::ListBuilder*>(child);
      ARROW_RETURN_NOT_OK(list->Append());
      auto* items = static_cast<arrow::StringBuilder*>(list->value_builder());
      for (const auto& item : *value) ARROW_RETURN_NOT_OK(items->Append(item));
      return arrow::Status::OK();
    } else {
      auto* map = static_cast<arrow::MapBuilder*>(child);
      ARROW_RETURN_NOT_OK(map->Append());
      auto* keys = static_cast<arrow::StringBuilder*>(map->key_builder());
      auto* items = static_cast<arrow::StringBuilder*>(map->item_builder());
      for (const auto& [key, item] : *value) {
        ARROW_RETURN_NOT_OK(keys->Append(key));
        if constexpr (std::is_same_v<T, PartitionValues>) {
          ARROW_RETURN_NOT_OK(item ? items->Append(*item) : items->AppendNull());
        } else {
          ARROW_RETURN_NOT_OK(items->Append(item));
        }
      }
      return arrow::Status::OK();
    }
  }

  // The next child, a struct; nullptr when `present` is false (a null is appended).
  arrow::Result<std::optional<StructWriter>> Nested(bool present) {
    auto* child = static_cast<arrow::StructBuilder*>(Next());
    if (!present) {
      ARROW_RETURN_NOT_OK(child->AppendNull());
      return std::nullopt;
    }
    StructWriter nested(child);
    ARROW_RETURN_NOT_OK(nested.Begin());
    return nested;
  }

 private:
  arrow::ArrayBuilder* Next() { return builder_->child_builder(next_child_++).get(); }

  arrow::StructBuilder* builder_;
  int next_child_ = 0;
};

// Writes the described members of `value`; the field named `nulled` (if any) is written as null.
template <typename Owner, typename Fields>
arrow::Status WriteFields(StructWriter& writer, const Fields& fields, const Owner& value,
                          std::string_view nulled) {
  return schema::ForEachUntilError<arrow::Status>(
      fields, [&](const auto& element) -> arrow::Status {
        using Element = std::decay_t<decltype(element)>;
        if constexpr (schema::IsField<Element>::value) {
          if (element.flags & schema::kCommitOnly) return arrow::Status::OK();
          using Member = typename Element::MemberType;
          using Value = schema::ValueTypeOf<Member>;
          if (element.name == nulled) return writer.Value<Value>(nullptr);
          if constexpr (std::is_same_v<Value, bool>) {
            if (element.flags & schema::kFalseInCheckpoint) {
              const bool no_change = false;
              return writer.Value(&no_change);
            }
          }
          const Member& member = value.*element.member;
          const Value* present = nullptr;
          if constexpr (schema::IsOptional<Member>::value) {
            present = member ? &*member : nullptr;
          } else {
            present = &member;
          }
          if constexpr (std::is_same_v<Value, std::string>) {
            if (present != nullptr && (element.flags & schema::kLogPath)) {
              const std::string encoded = EncodeLogPath(*present);
              return writer.Value(&encoded);
            }
          }
          return writer.Value(present);
        } else if constexpr (schema::IsObject<Element>::value) {
          const auto& member = value.*element.member;
          ARROW_ASSIGN_OR_RAISE(auto nested, writer.Nested(member.has_value()));
          if (!nested) return arrow::Status::OK();
          return WriteFields(*nested, element.fields, *member, nulled);
        } else {
          ARROW_ASSIGN_OR_RAISE(auto nested, writer.Nested(true));
          return WriteFields(*nested, element.fields, value, nulled);
        }
      });
}

class CheckpointBuilder {
 public:
  arrow::Status Init() {
    schema_ = CheckpointSchema();
    for (const auto& field : schema_->fields()) {
      std::unique_ptr<arrow::ArrayBuilder> builder;
      ARROW_RETURN_NOT_OK(
          arrow::MakeBuilder(arrow::default_memory_pool(), field->type(), &builder));
      builders_.emplace_back(static_cast<arrow::StructBuilder*>(builder.release()));
    }
    return arrow::Status::OK();
  }

  // Appends a row whose only non-null column is `action`'s; the field named `nulled` (if any) is
  // written as null.
  template <typename Action>
  arrow::Status Append(const Action& action, std::string_view nulled = {}) {
    const int column = CheckpointColumnOf<Action>();
    for (int i = 0; i < static_cast<int>(builders_.size()); ++i) {
      if (i != column) ARROW_RETURN_NOT_OK(builders_[i]->AppendNull());
    }
    ++num_rows_;
    StructWriter writer(builders_[column].get());
    ARROW_RETURN_NOT_OK(writer.Begin());
    return WriteFields(writer, schema::DescriptionOf<Action>().fields, action, nulled);
  }

  arrow::Result<std::shared_ptr<arrow::Table>> Finish() {
    std::vector<std::shared_ptr<arrow::Array>> arrays;
    for (auto& builder : builders_) {
      std::shared_ptr<arrow::Array> array;
      ARROW_RETURN_NOT_OK(builder->Finish(&array));
      arrays.push_back(std::move(array));
    }
    return arrow::Table::Make(schema_, arrays, num_rows_);
  }

  int64_t num_rows() const { return num_rows_; }

 private:
  std::shared_ptr<arrow::Schema> schema_;
  std::vector<std::unique_ptr<arrow::StructBuilder>> builders_;
  int64_t num_rows_ = 0;
};

arrow::Status AppendSnapshot(const Snapshot& snapshot, int64_t now_ms, CheckpointBuilder& builder) {
  Protocol protocol = snapshot.protocol();
  // Feature lists must be non-null exactly on reader 3 / writer 7 tables.
  if (protocol.min_reader_version >= 3) {
    if (!protocol.reader_features) protocol.reader_features.emplace();
  } else {
    protocol.reader_features.reset();
  }
  if (protocol.min_writer_version >= 7) {
    if (!protocol.writer_features) protocol.writer_features.emplace();
  } else {
    protocol.writer_features.reset();
  }
  ARROW_RETURN_NOT_OK(builder.Append(protocol));
  ARROW_RETURN_NOT_OK(builder.Append(snapshot.metadata()));
  for (const auto& [app_id, txn] : snapshot.app_transactions()) {
    ARROW_RETURN_NOT_OK(builder.Append(txn));
  }
  for (const auto& [name, domain] : snapshot.domain_metadata()) {
    ARROW_RETURN_NOT_OK(builder.Append(domain));
  }
  const auto write_stats = snapshot.properties().Get("delta.checkpoint.writeStatsAsJson");
  const bool include_stats = !write_stats || *write_stats != "false";
  for (const auto& file : snapshot.files()) {
    ARROW_RETURN_NOT_OK(builder.Append(file, include_stats ? "" : "stats"));
  }
  ARROW_ASSIGN_OR_RAISE(auto tombstones, snapshot.UnexpiredTombstones(now_ms));
  for (const auto& remove : tombstones) ARROW_RETURN_NOT_OK(builder.Append(remove));
  return arrow::Status::OK();
}

}  // namespace

arrow::Result<std::shared_ptr<arrow::Buffer>> BuildCheckpointParquet(const Snapshot& snapshot,
                                                                     int64_t now_ms,
                                                                     int64_t* num_actions) {
  CheckpointBuilder builder;
  ARROW_RETURN_NOT_OK(builder.Init());
  ARROW_RETURN_NOT_OK(AppendSnapshot(snapshot, now_ms, builder));
  ARROW_ASSIGN_OR_RAISE(auto table, builder.Finish());
  *num_actions = builder.num_rows();

  ARROW_ASSIGN_OR_RAISE(auto sink, arrow::io::BufferOutputStream::Create());
  // Snappy: what Spark writes for checkpoints, and readable by every Parquet reader.
  auto properties =
      parquet::WriterProperties::Builder().compression(parquet::Compression::SNAPPY)->build();
  ARROW_RETURN_NOT_OK(parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), sink,
                                                 /*chunk_size=*/64 * 1024, properties));
  return sink->Finish();
}

arrow::Result<CheckpointInfo> WriteCheckpoint(storage::ObjectStore& store, const Snapshot& snapshot,
                                              int64_t now_ms) {
  CheckpointInfo info;
  info.version = snapshot.version();
  info.path = ClassicCheckpointPath(snapshot.version());
  info.num_add_files = static_cast<int64_t>(snapshot.files().size());
  ARROW_ASSIGN_OR_RAISE(auto buffer, BuildCheckpointParquet(snapshot, now_ms, &info.num_actions));
  info.size_in_bytes = buffer->size();
  // Built in memory and written in one call, so no reader ever sees half a checkpoint.
  ARROW_RETURN_NOT_OK(store.Write(info.path, buffer));

  // _last_checkpoint is only a hint, but moving it backwards would make readers replay more.
  auto existing = store.Read(kLastCheckpointPath);
  if (existing.ok()) {
    auto parsed = ParseLastCheckpoint(std::string_view(**existing));
    if (parsed.ok() && parsed->version > info.version) return info;
  }
  LastCheckpoint last_checkpoint;
  last_checkpoint.version = info.version;
  last_checkpoint.size = info.num_actions;
  last_checkpoint.size_in_bytes = info.size_in_bytes;
  last_checkpoint.num_of_add_files = info.num_add_files;
  ARROW_RETURN_NOT_OK(store.Write(
      kLastCheckpointPath, arrow::Buffer::FromString(SerializeLastCheckpoint(last_checkpoint))));
  return info;
}

}  // namespace nlk::delta
