#include "delta/log/protocol_support.h"

#include <algorithm>
#include <set>

#include "common/json_value.h"
#include "delta/log/expression_compiler.h"
#include "delta/log/log_error.h"
#include "delta/log/table_properties.h"

namespace nlk::delta {

namespace {

constexpr int32_t kMaxReaderVersion = 3;
constexpr int32_t kMaxWriterVersion = 7;

bool Contains(const std::optional<std::vector<std::string>>& list, std::string_view name) {
  return list && std::find(list->begin(), list->end(), name) != list->end();
}

// Features implied by legacy writer versions (PROTOCOL.md "Writer Version Requirements").
std::vector<std::string> LegacyWriterFeatures(int32_t writer_version) {
  std::vector<std::string> features;
  if (writer_version >= 2) {
    features.push_back("appendOnly");
    features.push_back("invariants");
  }
  if (writer_version >= 3) features.push_back("checkConstraints");
  if (writer_version >= 4) {
    features.push_back("changeDataFeed");
    features.push_back("generatedColumns");
  }
  if (writer_version >= 5) features.push_back("columnMapping");
  if (writer_version >= 6) features.push_back("identityColumns");
  return features;
}

// Every key of every column's "metadata" object in a schema string, recursively.
void CollectColumnMetadataKeys(const JsonValue& value, std::set<std::string>* keys) {
  if (value.type() == JsonValue::Type::kObject) {
    for (const auto& [name, member] : value.object()) {
      if (name == "metadata" && member.type() == JsonValue::Type::kObject) {
        for (const auto& entry : member.object()) keys->insert(entry.first);
      }
      CollectColumnMetadataKeys(member, keys);
    }
  } else if (value.type() == JsonValue::Type::kArray) {
    for (const auto& item : value.array()) CollectColumnMetadataKeys(item, keys);
  }
}

arrow::Result<std::set<std::string>> ColumnMetadataKeys(const Metadata& metadata) {
  std::set<std::string> keys;
  if (metadata.schema_string.empty()) return keys;
  auto parsed = ParseJson(metadata.schema_string);
  if (!parsed.ok()) {
    return LogError(
        LogErrorKind::kCorruptLog,
        "The table schema (metaData.schemaString) is not valid JSON: " + parsed.status().message());
  }
  CollectColumnMetadataKeys(*parsed, &keys);
  return keys;
}

bool AnyKeyStartsWith(const std::set<std::string>& keys, std::string_view prefix) {
  auto it = keys.lower_bound(std::string(prefix));
  return it != keys.end() && std::string_view(*it).substr(0, prefix.size()) == prefix;
}

arrow::Status Unsupported(const std::string& what) {
  return LogError(LogErrorKind::kUnsupportedFeature, what);
}

}  // namespace

arrow::Result<std::vector<std::string>> PartitionValueKeys(const Metadata& metadata) {
  const TableProperties properties(metadata.configuration);
  const auto mode = properties.Get("delta.columnMapping.mode");
  if (!mode || *mode == "none" || metadata.partition_columns.empty()) {
    return metadata.partition_columns;
  }
  auto parsed = ParseJson(metadata.schema_string);
  if (!parsed.ok()) {
    return LogError(
        LogErrorKind::kCorruptLog,
        "The table schema (metaData.schemaString) is not valid JSON: " + parsed.status().message());
  }
  const JsonValue* fields = parsed->Find("fields");
  std::vector<std::string> keys;
  for (const std::string& column : metadata.partition_columns) {
    const JsonValue* physical = nullptr;
    if (fields != nullptr && fields->type() == JsonValue::Type::kArray) {
      for (const JsonValue& field : fields->array()) {
        const JsonValue* name = field.Find("name");
        if (name == nullptr || name->type() != JsonValue::Type::kString ||
            name->string() != column) {
          continue;
        }
        const JsonValue* column_metadata = field.Find("metadata");
        if (column_metadata != nullptr) {
          physical = column_metadata->Find("delta.columnMapping.physicalName");
        }
      }
    }
    if (physical == nullptr || physical->type() != JsonValue::Type::kString) {
      return LogError(LogErrorKind::kCorruptLog,
                      "The partition column '" + column +
                          "' has no delta.columnMapping.physicalName in a table with column "
                          "mapping mode " +
                          *mode);
    }
    keys.push_back(physical->string());
  }
  return keys;
}

const std::vector<std::string>& SupportedReaderFeatures() {
  static const std::vector<std::string> features = {
      "columnMapping", "deletionVectors", "timestampNtz", "v2Checkpoint", "vacuumProtocolCheck"};
  return features;
}

bool ProtocolSupportsFeature(const Protocol& protocol, std::string_view feature) {
  if (protocol.min_writer_version >= 7) {
    return Contains(protocol.writer_features, feature) ||
           Contains(protocol.reader_features, feature);
  }
  const auto legacy = LegacyWriterFeatures(protocol.min_writer_version);
  if (std::find(legacy.begin(), legacy.end(), feature) != legacy.end()) return true;
  return feature == "columnMapping" && protocol.min_reader_version >= 2;
}

bool InCommitTimestampsEnabled(const Protocol& protocol, const Metadata& metadata) {
  return ProtocolSupportsFeature(protocol, "inCommitTimestamp") &&
         TableProperties(metadata.configuration).in_commit_timestamps_property();
}

arrow::Status CheckReadSupported(const Protocol& protocol) {
  if (protocol.min_reader_version > kMaxReaderVersion) {
    return Unsupported("The table requires Delta reader version " +
                       std::to_string(protocol.min_reader_version) +
                       "; neuralake reads up to reader version 3 (table features)");
  }
  if (protocol.min_reader_version == 3 && protocol.reader_features) {
    const auto& supported = SupportedReaderFeatures();
    std::vector<std::string> missing;
    for (const auto& feature : *protocol.reader_features) {
      if (std::find(supported.begin(), supported.end(), feature) == supported.end()) {
        missing.push_back(feature);
      }
    }
    if (!missing.empty()) {
      std::string names;
      for (const auto& name : missing) names += (names.empty() ? "" : ", ") + name;
      return Unsupported("The table requires the Delta reader feature(s) " + names +
                         ", which neuralake does not support; it cannot be read correctly");
    }
  }
  return arrow::Status::OK();
}

arrow::Status CheckWriteSupported(const Protocol& protocol, const Metadata& metadata) {
  ARROW_RETURN_NOT_OK(CheckReadSupported(protocol));
  auto writer = metadata.configuration.find(kWriterEngineProperty);
  if (writer != metadata.configuration.end() && writer->second != kNlkWriterEngine) {
    return arrow::Status::Invalid(
        "The table is written by '", writer->second, "' (table property ", kWriterEngineProperty,
        "=", writer->second,
        "), so nlk does not commit to, compact, vacuum or checkpoint it: one engine writes each "
        "table, because delta-spark's S3 commits are not safe beside another writer's. Read it "
        "freely; to hand it to nlk, set ",
        kWriterEngineProperty, "=", kNlkWriterEngine, " with the engine that owns it");
  }
  if (protocol.min_writer_version > kMaxWriterVersion) {
    return Unsupported("The table requires Delta writer version " +
                       std::to_string(protocol.min_writer_version) +
                       "; neuralake writes up to writer version 7 (table features)");
  }
  std::vector<std::string> features;
  if (protocol.min_writer_version >= 7) {
    if (protocol.writer_features) features = *protocol.writer_features;
    // Reader-writer features are listed in both lists; a reader-only listing is still binding.
    if (protocol.reader_features) {
      for (const auto& feature : *protocol.reader_features) {
        if (std::find(features.begin(), features.end(), feature) == features.end()) {
          features.push_back(feature);
        }
      }
    }
  } else {
    features = LegacyWriterFeatures(protocol.min_writer_version);
  }
  ARROW_ASSIGN_OR_RAISE(auto column_keys, ColumnMetadataKeys(metadata));
  const TableProperties properties(metadata.configuration);

  static const std::set<std::string> kAlwaysHonoured = {
      "appendOnly",   "changeDataFeed",      "deletionVectors",   "domainMetadata",
      "timestampNtz", "vacuumProtocolCheck", "inCommitTimestamp", "v2Checkpoint"};
  for (const auto& feature : features) {
    if (kAlwaysHonoured.count(feature) > 0) continue;
    // Features that only constrain writers once the metadata uses them.
    bool in_use = false;
    // Their SQL expressions are enforced by the data writer (data/constraint_enforcer.h) when
    // the program registered a SQL expression compiler.
    bool sql_expressions = false;
    if (feature == "invariants") {
      in_use = column_keys.count("delta.invariants") > 0;
      sql_expressions = true;
    } else if (feature == "checkConstraints") {
      in_use = std::any_of(
          metadata.configuration.begin(), metadata.configuration.end(),
          [](const auto& entry) { return entry.first.rfind("delta.constraints.", 0) == 0; });
      sql_expressions = true;
    } else if (feature == "generatedColumns") {
      in_use = column_keys.count("delta.generationExpression") > 0;
      sql_expressions = true;
    } else if (feature == "identityColumns") {
      in_use = AnyKeyStartsWith(column_keys, "delta.identity.");
    } else if (feature == "allowColumnDefaults") {
      in_use = column_keys.count("CURRENT_DEFAULT") > 0;
    } else if (feature == "columnMapping") {
      // Honoured: data files, statistics and partition values use physical names, added
      // columns get fresh ones, and renames and drops change only the metadata.
      const auto mode = properties.Get("delta.columnMapping.mode");
      if (mode && *mode != "none" && *mode != "name" && *mode != "id") {
        return Unsupported("The table uses delta.columnMapping.mode=" + *mode +
                           ", which neuralake does not know; it cannot be written");
      }
    } else {
      return Unsupported("The table requires the Delta writer feature '" + feature +
                         "', which neuralake cannot honour; it can be read but not written");
    }
    if (in_use && sql_expressions && HasSqlExpressionCompiler()) continue;
    if (in_use && sql_expressions) {
      return Unsupported("The table uses the Delta writer feature '" + feature +
                         "', whose SQL expressions this program cannot evaluate (it registered "
                         "no SQL expression compiler); it can be read but not written here");
    }
    if (in_use) {
      return Unsupported("The table uses the Delta writer feature '" + feature +
                         "', which neuralake cannot enforce when writing; it can be read but "
                         "not written");
    }
  }
  return arrow::Status::OK();
}

}  // namespace nlk::delta
