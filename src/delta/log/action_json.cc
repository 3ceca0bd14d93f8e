#include "delta/log/action_json.h"

#include <limits>

#include "common/json_value.h"
#include "common/json_writer.h"
#include "delta/log/log_error.h"
#include "delta/log/path_encoding.h"

namespace nlk::delta {

namespace {

// Reads the fields of one JSON object, producing errors that say where the bad value is.
class FieldReader {
 public:
  FieldReader(const JsonValue& fields, std::string field_prefix, std::string_view source,
              int64_t line_number)
      : fields_(&fields),
        prefix_(std::move(field_prefix)),
        source_(source),
        line_number_(line_number) {}

  arrow::Status Error(std::string_view key, std::string_view problem) const {
    return LogError(LogErrorKind::kCorruptLog,
                    "Invalid Delta log entry in " + std::string(source_) + " line " +
                        std::to_string(line_number_) + ": field '" + prefix_ + std::string(key) +
                        "' " + std::string(problem));
  }

  // The value, or nullptr when the key is absent or null (the protocol treats both alike).
  const JsonValue* Find(std::string_view key) const {
    const JsonValue* value = fields_->Find(key);
    return value == nullptr || value->is_null() ? nullptr : value;
  }

  arrow::Status WrongType(std::string_view key, std::string_view expected,
                          const JsonValue& value) const {
    return Error(key, "must be " + std::string(expected) + ", got " + value.TypeName());
  }

  arrow::Status Missing(std::string_view key) const { return Error(key, "is required"); }

  arrow::Result<std::optional<std::string>> OptionalString(std::string_view key) const {
    const JsonValue* value = Find(key);
    if (value == nullptr) return std::nullopt;
    if (value->type() != JsonValue::Type::kString) return WrongType(key, "a string", *value);
    return value->string();
  }

  arrow::Result<std::string> RequiredString(std::string_view key) const {
    ARROW_ASSIGN_OR_RAISE(auto text, OptionalString(key));
    if (!text) return Missing(key);
    return std::move(*text);
  }

  arrow::Result<std::optional<int64_t>> OptionalInt(std::string_view key) const {
    const JsonValue* value = Find(key);
    if (value == nullptr) return std::nullopt;
    if (value->type() == JsonValue::Type::kInteger) return value->integer();
    if (value->is_integer_overflow()) {
      return Error(key, "is out of the range of a 64-bit signed integer");
    }
    return WrongType(key, "an integer", *value);
  }

  arrow::Result<int64_t> RequiredInt(std::string_view key) const {
    ARROW_ASSIGN_OR_RAISE(auto number, OptionalInt(key));
    if (!number) return Missing(key);
    return *number;
  }

  arrow::Result<std::optional<int32_t>> OptionalInt32(std::string_view key) const {
    ARROW_ASSIGN_OR_RAISE(auto number, OptionalInt(key));
    if (!number) return std::nullopt;
    if (*number < std::numeric_limits<int32_t>::min() ||
        *number > std::numeric_limits<int32_t>::max()) {
      return Error(key, "is out of the range of a 32-bit integer");
    }
    return static_cast<int32_t>(*number);
  }

  arrow::Result<int32_t> RequiredInt32(std::string_view key) const {
    ARROW_ASSIGN_OR_RAISE(auto number, OptionalInt32(key));
    if (!number) return Missing(key);
    return *number;
  }

  arrow::Result<std::optional<bool>> OptionalBool(std::string_view key) const {
    const JsonValue* value = Find(key);
    if (value == nullptr) return std::nullopt;
    if (value->type() != JsonValue::Type::kBool) return WrongType(key, "a boolean", *value);
    return value->boolean();
  }

  arrow::Result<std::optional<std::vector<std::string>>> OptionalStringArray(
      std::string_view key) const {
    const JsonValue* value = Find(key);
    if (value == nullptr) return std::nullopt;
    if (value->type() != JsonValue::Type::kArray) {
      return WrongType(key, "an array of strings", *value);
    }
    std::vector<std::string> strings;
    for (const JsonValue& item : value->array()) {
      if (item.type() != JsonValue::Type::kString) {
        return Error(key, std::string("must hold only strings, got ") + item.TypeName());
      }
      strings.push_back(item.string());
    }
    return strings;
  }

  // A string map whose null values map to nullopt (partition values).
  arrow::Result<std::optional<PartitionValues>> OptionalNullableStringMap(
      std::string_view key) const {
    const JsonValue* value = Find(key);
    if (value == nullptr) return std::nullopt;
    if (value->type() != JsonValue::Type::kObject) {
      return WrongType(key, "an object of strings", *value);
    }
    PartitionValues map;
    for (const auto& [name, entry] : value->object()) {
      if (entry.is_null()) {
        map.insert_or_assign(name, std::nullopt);
      } else if (entry.type() == JsonValue::Type::kString) {
        map.insert_or_assign(name, entry.string());
      } else {
        return Error(key, "must map to strings, got " + std::string(entry.TypeName()) +
                              " for key '" + name + "'");
      }
    }
    return map;
  }

  arrow::Result<std::optional<StringMap>> OptionalStringMap(std::string_view key) const {
    ARROW_ASSIGN_OR_RAISE(auto nullable, OptionalNullableStringMap(key));
    if (!nullable) return std::nullopt;
    StringMap map;
    for (auto& [name, value] : *nullable) {
      // Configuration maps hold no nulls in practice; a null reads as "unset".
      if (value) map.emplace(name, std::move(*value));
    }
    return map;
  }

  arrow::Result<std::optional<FieldReader>> OptionalObject(std::string_view key) const {
    const JsonValue* value = Find(key);
    if (value == nullptr) return std::nullopt;
    if (value->type() != JsonValue::Type::kObject) return WrongType(key, "an object", *value);
    return FieldReader(*value, prefix_ + std::string(key) + ".", source_, line_number_);
  }

 private:
  const JsonValue* fields_;
  std::string prefix_;
  std::string_view source_;
  int64_t line_number_;
};

arrow::Result<std::optional<DeletionVectorDescriptor>> ParseDeletionVector(
    const FieldReader& parent) {
  ARROW_ASSIGN_OR_RAISE(auto reader, parent.OptionalObject("deletionVector"));
  if (!reader) return std::nullopt;
  DeletionVectorDescriptor descriptor;
  ARROW_ASSIGN_OR_RAISE(auto storage_type, reader->RequiredString("storageType"));
  if (storage_type.size() != 1) {
    return reader->Error("storageType",
                         "must be one character ('u', 'i' or 'p'), got '" + storage_type + "'");
  }
  descriptor.storage_type = storage_type[0];
  ARROW_ASSIGN_OR_RAISE(descriptor.path_or_inline_dv, reader->RequiredString("pathOrInlineDv"));
  ARROW_ASSIGN_OR_RAISE(descriptor.offset, reader->OptionalInt32("offset"));
  ARROW_ASSIGN_OR_RAISE(descriptor.size_in_bytes, reader->RequiredInt32("sizeInBytes"));
  ARROW_ASSIGN_OR_RAISE(descriptor.cardinality, reader->RequiredInt("cardinality"));
  return descriptor;
}

arrow::Result<AddFile> ParseAdd(const FieldReader& reader) {
  AddFile add;
  ARROW_ASSIGN_OR_RAISE(auto path, reader.RequiredString("path"));
  add.path = DecodeLogPath(path);
  ARROW_ASSIGN_OR_RAISE(auto partition_values, reader.OptionalNullableStringMap("partitionValues"));
  if (partition_values) add.partition_values = std::move(*partition_values);
  ARROW_ASSIGN_OR_RAISE(add.size, reader.RequiredInt("size"));
  ARROW_ASSIGN_OR_RAISE(auto modification_time, reader.OptionalInt("modificationTime"));
  add.modification_time = modification_time.value_or(0);
  ARROW_ASSIGN_OR_RAISE(auto data_change, reader.OptionalBool("dataChange"));
  add.data_change = data_change.value_or(true);
  ARROW_ASSIGN_OR_RAISE(add.stats, reader.OptionalString("stats"));
  ARROW_ASSIGN_OR_RAISE(add.tags, reader.OptionalStringMap("tags"));
  ARROW_ASSIGN_OR_RAISE(add.deletion_vector, ParseDeletionVector(reader));
  ARROW_ASSIGN_OR_RAISE(add.base_row_id, reader.OptionalInt("baseRowId"));
  ARROW_ASSIGN_OR_RAISE(add.default_row_commit_version,
                        reader.OptionalInt("defaultRowCommitVersion"));
  ARROW_ASSIGN_OR_RAISE(add.clustering_provider, reader.OptionalString("clusteringProvider"));
  return add;
}

arrow::Result<RemoveFile> ParseRemove(const FieldReader& reader) {
  RemoveFile remove;
  ARROW_ASSIGN_OR_RAISE(auto path, reader.RequiredString("path"));
  remove.path = DecodeLogPath(path);
  ARROW_ASSIGN_OR_RAISE(remove.deletion_timestamp, reader.OptionalInt("deletionTimestamp"));
  ARROW_ASSIGN_OR_RAISE(auto data_change, reader.OptionalBool("dataChange"));
  remove.data_change = data_change.value_or(true);
  ARROW_ASSIGN_OR_RAISE(remove.extended_file_metadata, reader.OptionalBool("extendedFileMetadata"));
  ARROW_ASSIGN_OR_RAISE(remove.partition_values,
                        reader.OptionalNullableStringMap("partitionValues"));
  ARROW_ASSIGN_OR_RAISE(remove.size, reader.OptionalInt("size"));
  ARROW_ASSIGN_OR_RAISE(remove.stats, reader.OptionalString("stats"));
  ARROW_ASSIGN_OR_RAISE(remove.tags, reader.OptionalStringMap("tags"));
  ARROW_ASSIGN_OR_RAISE(remove.deletion_vector, ParseDeletionVector(reader));
  ARROW_ASSIGN_OR_RAISE(remove.base_row_id, reader.OptionalInt("baseRowId"));
  ARROW_ASSIGN_OR_RAISE(remove.default_row_commit_version,
                        reader.OptionalInt("defaultRowCommitVersion"));
  return remove;
}

arrow::Result<AddCdcFile> ParseCdc(const FieldReader& reader) {
  AddCdcFile cdc;
  ARROW_ASSIGN_OR_RAISE(auto path, reader.RequiredString("path"));
  cdc.path = DecodeLogPath(path);
  ARROW_ASSIGN_OR_RAISE(auto partition_values, reader.OptionalNullableStringMap("partitionValues"));
  if (partition_values) cdc.partition_values = std::move(*partition_values);
  ARROW_ASSIGN_OR_RAISE(auto size, reader.OptionalInt("size"));
  cdc.size = size.value_or(0);
  ARROW_ASSIGN_OR_RAISE(auto data_change, reader.OptionalBool("dataChange"));
  cdc.data_change = data_change.value_or(false);
  ARROW_ASSIGN_OR_RAISE(cdc.tags, reader.OptionalStringMap("tags"));
  return cdc;
}

arrow::Result<Metadata> ParseMetadata(const FieldReader& reader) {
  Metadata metadata;
  ARROW_ASSIGN_OR_RAISE(metadata.id, reader.RequiredString("id"));
  ARROW_ASSIGN_OR_RAISE(metadata.name, reader.OptionalString("name"));
  ARROW_ASSIGN_OR_RAISE(metadata.description, reader.OptionalString("description"));
  ARROW_ASSIGN_OR_RAISE(auto format, reader.OptionalObject("format"));
  if (format) {
    ARROW_ASSIGN_OR_RAISE(auto provider, format->OptionalString("provider"));
    if (provider) metadata.format_provider = std::move(*provider);
    ARROW_ASSIGN_OR_RAISE(auto options, format->OptionalStringMap("options"));
    if (options) metadata.format_options = std::move(*options);
  }
  ARROW_ASSIGN_OR_RAISE(metadata.schema_string, reader.RequiredString("schemaString"));
  ARROW_ASSIGN_OR_RAISE(auto partition_columns, reader.OptionalStringArray("partitionColumns"));
  if (partition_columns) metadata.partition_columns = std::move(*partition_columns);
  ARROW_ASSIGN_OR_RAISE(auto configuration, reader.OptionalStringMap("configuration"));
  if (configuration) metadata.configuration = std::move(*configuration);
  ARROW_ASSIGN_OR_RAISE(metadata.created_time, reader.OptionalInt("createdTime"));
  return metadata;
}

arrow::Result<Protocol> ParseProtocol(const FieldReader& reader) {
  Protocol protocol;
  ARROW_ASSIGN_OR_RAISE(protocol.min_reader_version, reader.RequiredInt32("minReaderVersion"));
  ARROW_ASSIGN_OR_RAISE(protocol.min_writer_version, reader.RequiredInt32("minWriterVersion"));
  ARROW_ASSIGN_OR_RAISE(protocol.reader_features, reader.OptionalStringArray("readerFeatures"));
  ARROW_ASSIGN_OR_RAISE(protocol.writer_features, reader.OptionalStringArray("writerFeatures"));
  return protocol;
}

arrow::Result<SetTransaction> ParseTxn(const FieldReader& reader) {
  SetTransaction txn;
  ARROW_ASSIGN_OR_RAISE(txn.app_id, reader.RequiredString("appId"));
  ARROW_ASSIGN_OR_RAISE(txn.version, reader.RequiredInt("version"));
  ARROW_ASSIGN_OR_RAISE(txn.last_updated, reader.OptionalInt("lastUpdated"));
  return txn;
}

arrow::Result<CommitInfo> ParseCommitInfo(const FieldReader& reader, const JsonValue& raw) {
  CommitInfo info;
  // The object as written: a log line holds no newlines, so it stays one line when rewritten.
  info.json = std::string(raw.raw());
  // commitInfo is free-form: a field of an unexpected type is not worth refusing the table.
  auto timestamp = reader.OptionalInt("timestamp");
  if (timestamp.ok()) info.timestamp = *timestamp;
  ARROW_ASSIGN_OR_RAISE(info.in_commit_timestamp, reader.OptionalInt("inCommitTimestamp"));
  auto operation = reader.OptionalString("operation");
  if (operation.ok()) info.operation = *operation;
  auto blind_append = reader.OptionalBool("isBlindAppend");
  if (blind_append.ok()) info.is_blind_append = *blind_append;
  return info;
}

arrow::Result<DomainMetadata> ParseDomainMetadata(const FieldReader& reader) {
  DomainMetadata domain;
  ARROW_ASSIGN_OR_RAISE(domain.domain, reader.RequiredString("domain"));
  ARROW_ASSIGN_OR_RAISE(auto configuration, reader.OptionalString("configuration"));
  domain.configuration = configuration.value_or("");
  ARROW_ASSIGN_OR_RAISE(auto removed, reader.OptionalBool("removed"));
  domain.removed = removed.value_or(false);
  return domain;
}

arrow::Result<CheckpointMetadata> ParseCheckpointMetadata(const FieldReader& reader) {
  CheckpointMetadata metadata;
  ARROW_ASSIGN_OR_RAISE(metadata.version, reader.RequiredInt("version"));
  ARROW_ASSIGN_OR_RAISE(metadata.tags, reader.OptionalStringMap("tags"));
  return metadata;
}

arrow::Result<Sidecar> ParseSidecar(const FieldReader& reader) {
  Sidecar sidecar;
  ARROW_ASSIGN_OR_RAISE(auto path, reader.RequiredString("path"));
  sidecar.path = DecodeLogPath(path);
  ARROW_ASSIGN_OR_RAISE(sidecar.size_in_bytes, reader.RequiredInt("sizeInBytes"));
  ARROW_ASSIGN_OR_RAISE(auto modification_time, reader.OptionalInt("modificationTime"));
  sidecar.modification_time = modification_time.value_or(0);
  ARROW_ASSIGN_OR_RAISE(sidecar.tags, reader.OptionalStringMap("tags"));
  return sidecar;
}

arrow::Result<std::optional<Action>> ParseLine(std::string_view line, std::string_view source,
                                               int64_t line_number) {
  if (line.find_first_not_of(" \t\r") == std::string_view::npos) return std::nullopt;
  auto where = [&] {
    return "Invalid Delta log entry in " + std::string(source) + " line " +
           std::to_string(line_number) + ": ";
  };
  auto parsed = ParseJson(line);
  if (!parsed.ok()) {
    return LogError(LogErrorKind::kCorruptLog,
                    where() + "malformed JSON (" + parsed.status().message() +
                        "); the file may be truncated or was not written by a Delta writer");
  }
  const JsonValue& root = *parsed;
  if (root.type() != JsonValue::Type::kObject) {
    return LogError(LogErrorKind::kCorruptLog,
                    where() + "expected a JSON object, got " + root.TypeName());
  }
  for (const auto& [kind, body] : root.object()) {
    const bool known = kind == "add" || kind == "remove" || kind == "metaData" ||
                       kind == "protocol" || kind == "txn" || kind == "commitInfo" ||
                       kind == "cdc" || kind == "domainMetadata" || kind == "checkpointMetadata" ||
                       kind == "sidecar";
    if (!known || body.is_null()) continue;
    if (body.type() != JsonValue::Type::kObject) {
      return LogError(LogErrorKind::kCorruptLog,
                      where() + "action '" + kind + "' must be an object, got " + body.TypeName());
    }
    FieldReader reader(body, kind + ".", source, line_number);
    if (kind == "add") return ParseAdd(reader);
    if (kind == "remove") return ParseRemove(reader);
    if (kind == "metaData") return ParseMetadata(reader);
    if (kind == "protocol") return ParseProtocol(reader);
    if (kind == "txn") return ParseTxn(reader);
    if (kind == "commitInfo") return ParseCommitInfo(reader, body);
    if (kind == "cdc") return ParseCdc(reader);
    if (kind == "domainMetadata") return ParseDomainMetadata(reader);
    if (kind == "checkpointMetadata") return ParseCheckpointMetadata(reader);
    return ParseSidecar(reader);
  }
  return std::nullopt;
}

void WriteStringMap(JsonWriter& writer, const StringMap& map) {
  writer.BeginObject();
  for (const auto& [key, value] : map) {
    writer.Key(key);
    writer.String(value);
  }
  writer.EndObject();
}

void WritePartitionValues(JsonWriter& writer, const PartitionValues& values) {
  writer.BeginObject();
  for (const auto& [key, value] : values) {
    writer.Key(key);
    if (value) {
      writer.String(*value);
    } else {
      writer.Null();
    }
  }
  writer.EndObject();
}

void WriteStrings(JsonWriter& writer, const std::vector<std::string>& strings) {
  writer.BeginArray();
  for (const auto& text : strings) writer.String(text);
  writer.EndArray();
}

void WriteDeletionVector(JsonWriter& writer, const DeletionVectorDescriptor& descriptor) {
  writer.BeginObject();
  writer.Key("storageType");
  writer.String(std::string(1, descriptor.storage_type));
  writer.Key("pathOrInlineDv");
  writer.String(descriptor.path_or_inline_dv);
  if (descriptor.offset) {
    writer.Key("offset");
    writer.Int(*descriptor.offset);
  }
  writer.Key("sizeInBytes");
  writer.Int(descriptor.size_in_bytes);
  writer.Key("cardinality");
  writer.Int(descriptor.cardinality);
  writer.EndObject();
}

template <typename T>
void WriteOptionalInt(JsonWriter& writer, std::string_view key, const std::optional<T>& value) {
  if (!value) return;
  writer.Key(key);
  writer.Int(*value);
}

void WriteOptionalString(JsonWriter& writer, std::string_view key,
                         const std::optional<std::string>& value) {
  if (!value) return;
  writer.Key(key);
  writer.String(*value);
}

void WriteOptionalTags(JsonWriter& writer, const std::optional<StringMap>& tags) {
  if (!tags) return;
  writer.Key("tags");
  WriteStringMap(writer, *tags);
}

struct ActionSerializer {
  JsonWriter& writer;

  void operator()(const AddFile& add) {
    writer.Key("add");
    writer.BeginObject();
    writer.Key("path");
    writer.String(EncodeLogPath(add.path));
    writer.Key("partitionValues");
    WritePartitionValues(writer, add.partition_values);
    writer.Key("size");
    writer.Int(add.size);
    writer.Key("modificationTime");
    writer.Int(add.modification_time);
    writer.Key("dataChange");
    writer.Bool(add.data_change);
    WriteOptionalString(writer, "stats", add.stats);
    WriteOptionalTags(writer, add.tags);
    if (add.deletion_vector) {
      writer.Key("deletionVector");
      WriteDeletionVector(writer, *add.deletion_vector);
    }
    WriteOptionalInt(writer, "baseRowId", add.base_row_id);
    WriteOptionalInt(writer, "defaultRowCommitVersion", add.default_row_commit_version);
    WriteOptionalString(writer, "clusteringProvider", add.clustering_provider);
    writer.EndObject();
  }

  void operator()(const RemoveFile& remove) {
    writer.Key("remove");
    writer.BeginObject();
    writer.Key("path");
    writer.String(EncodeLogPath(remove.path));
    WriteOptionalInt(writer, "deletionTimestamp", remove.deletion_timestamp);
    writer.Key("dataChange");
    writer.Bool(remove.data_change);
    if (remove.extended_file_metadata) {
      writer.Key("extendedFileMetadata");
      writer.Bool(*remove.extended_file_metadata);
    }
    if (remove.partition_values) {
      writer.Key("partitionValues");
      WritePartitionValues(writer, *remove.partition_values);
    }
    WriteOptionalInt(writer, "size", remove.size);
    WriteOptionalString(writer, "stats", remove.stats);
    WriteOptionalTags(writer, remove.tags);
    if (remove.deletion_vector) {
      writer.Key("deletionVector");
      WriteDeletionVector(writer, *remove.deletion_vector);
    }
    WriteOptionalInt(writer, "baseRowId", remove.base_row_id);
    WriteOptionalInt(writer, "defaultRowCommitVersion", remove.default_row_commit_version);
    writer.EndObject();
  }

  void operator()(const AddCdcFile& cdc) {
    writer.Key("cdc");
    writer.BeginObject();
    writer.Key("path");
    writer.String(EncodeLogPath(cdc.path));
    writer.Key("partitionValues");
    WritePartitionValues(writer, cdc.partition_values);
    writer.Key("size");
    writer.Int(cdc.size);
    writer.Key("dataChange");
    writer.Bool(cdc.data_change);
    WriteOptionalTags(writer, cdc.tags);
    writer.EndObject();
  }

  void operator()(const Metadata& metadata) {
    writer.Key("metaData");
    writer.BeginObject();
    writer.Key("id");
    writer.String(metadata.id);
    WriteOptionalString(writer, "name", metadata.name);
    WriteOptionalString(writer, "description", metadata.description);
    writer.Key("format");
    writer.BeginObject();
    writer.Key("provider");
    writer.String(metadata.format_provider);
    writer.Key("options");
    WriteStringMap(writer, metadata.format_options);
    writer.EndObject();
    writer.Key("schemaString");
    writer.String(metadata.schema_string);
    writer.Key("partitionColumns");
    WriteStrings(writer, metadata.partition_columns);
    writer.Key("configuration");
    WriteStringMap(writer, metadata.configuration);
    WriteOptionalInt(writer, "createdTime", metadata.created_time);
    writer.EndObject();
  }

  void operator()(const Protocol& protocol) {
    writer.Key("protocol");
    writer.BeginObject();
    writer.Key("minReaderVersion");
    writer.Int(protocol.min_reader_version);
    writer.Key("minWriterVersion");
    writer.Int(protocol.min_writer_version);
    if (protocol.reader_features) {
      writer.Key("readerFeatures");
      WriteStrings(writer, *protocol.reader_features);
    }
    if (protocol.writer_features) {
      writer.Key("writerFeatures");
      WriteStrings(writer, *protocol.writer_features);
    }
    writer.EndObject();
  }

  void operator()(const SetTransaction& txn) {
    writer.Key("txn");
    writer.BeginObject();
    writer.Key("appId");
    writer.String(txn.app_id);
    writer.Key("version");
    writer.Int(txn.version);
    WriteOptionalInt(writer, "lastUpdated", txn.last_updated);
    writer.EndObject();
  }

  void operator()(const CommitInfo& info) {
    writer.Key("commitInfo");
    writer.Raw(info.json.empty() ? std::string_view("{}") : std::string_view(info.json));
  }

  void operator()(const DomainMetadata& domain) {
    writer.Key("domainMetadata");
    writer.BeginObject();
    writer.Key("domain");
    writer.String(domain.domain);
    writer.Key("configuration");
    writer.String(domain.configuration);
    writer.Key("removed");
    writer.Bool(domain.removed);
    writer.EndObject();
  }

  void operator()(const CheckpointMetadata& metadata) {
    writer.Key("checkpointMetadata");
    writer.BeginObject();
    writer.Key("version");
    writer.Int(metadata.version);
    WriteOptionalTags(writer, metadata.tags);
    writer.EndObject();
  }

  void operator()(const Sidecar& sidecar) {
    writer.Key("sidecar");
    writer.BeginObject();
    writer.Key("path");
    writer.String(EncodeLogPath(sidecar.path));
    writer.Key("sizeInBytes");
    writer.Int(sidecar.size_in_bytes);
    writer.Key("modificationTime");
    writer.Int(sidecar.modification_time);
    WriteOptionalTags(writer, sidecar.tags);
    writer.EndObject();
  }
};

}  // namespace

arrow::Result<std::optional<Action>> ParseActionLine(std::string_view line, std::string_view source,
                                                     int64_t line_number) {
  return ParseLine(line, source, line_number);
}

arrow::Result<std::vector<Action>> ParseActionLines(std::string_view contents,
                                                    std::string_view source) {
  std::vector<Action> actions;
  int64_t line_number = 0;
  size_t start = 0;
  while (start < contents.size()) {
    size_t end = contents.find('\n', start);
    if (end == std::string_view::npos) end = contents.size();
    ++line_number;
    ARROW_ASSIGN_OR_RAISE(auto action,
                          ParseLine(contents.substr(start, end - start), source, line_number));
    if (action) actions.push_back(std::move(*action));
    start = end + 1;
  }
  return actions;
}

std::string SerializeAction(const Action& action) {
  JsonWriter writer;
  writer.BeginObject();
  std::visit(ActionSerializer{writer}, action);
  writer.EndObject();
  return writer.Take();
}

std::string SerializeActions(const std::vector<Action>& actions) {
  std::string out;
  for (const auto& action : actions) {
    out += SerializeAction(action);
    out.push_back('\n');
  }
  return out;
}

}  // namespace nlk::delta
