#include "table_printer.h"

#include <arrow/type.h>

#include <ctime>
#include <iomanip>
#include <string>
#include <vector>

#include "common/json_value.h"
#include "common/json_writer.h"
#include "delta/data/schema.h"

namespace nlk::cli {
namespace {

std::string FormatMillis(int64_t millis) {
  std::time_t seconds = static_cast<std::time_t>(millis / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%S", &utc);
  char with_millis[40];
  std::snprintf(with_millis, sizeof(with_millis), "%s.%03dZ", buffer,
                static_cast<int>(millis % 1000));
  return with_millis;
}

// The row count a file's stats record, or -1 when unknown.
int64_t RecordCount(const delta::AddFile& file) {
  if (!file.stats) return -1;
  auto parsed = ParseJson(*file.stats);
  if (!parsed.ok()) return -1;
  const JsonValue* records = parsed->Find("numRecords");
  return records && records->type() == JsonValue::Type::kInteger ? records->integer() : -1;
}

std::string PartitionText(const delta::PartitionValues& values) {
  std::string text;
  for (const auto& [column, value] : values) {
    text += (text.empty() ? "" : "/") + column + "=" + (value ? *value : "NULL");
  }
  return text;
}

}  // namespace

arrow::Status PrintHistory(delta::Table& table, std::optional<int64_t> limit, bool json,
                           std::ostream& out) {
  ARROW_ASSIGN_OR_RAISE(auto commits, table.log()->History(limit));
  if (json) {
    JsonWriter writer;
    writer.BeginArray();
    for (const auto& commit : commits) {
      writer.BeginObject();
      writer.Key("version");
      writer.Int(commit.version);
      writer.Key("timestamp");
      writer.String(FormatMillis(commit.timestamp_ms));
      writer.Key("commitInfo");
      if (commit.commit_info) {
        writer.Raw(commit.commit_info->json);
      } else {
        writer.Null();
      }
      writer.EndObject();
    }
    writer.EndArray();
    out << writer.str() << std::endl;
    return arrow::Status::OK();
  }
  out << std::left << std::setw(8) << "version" << std::setw(26) << "timestamp"
      << "operation\n";
  for (const auto& commit : commits) {
    std::string operation = "?";
    std::string parameters;
    if (commit.commit_info) {
      if (commit.commit_info->operation) operation = *commit.commit_info->operation;
      auto parsed = ParseJson(commit.commit_info->json);
      if (parsed.ok()) {
        if (const JsonValue* values = parsed->Find("operationParameters")) {
          parameters = std::string(values->raw());
        }
      }
    }
    out << std::left << std::setw(8) << commit.version << std::setw(26)
        << FormatMillis(commit.timestamp_ms) << operation
        << (parameters.empty() || parameters == "{}" ? "" : " " + parameters) << '\n';
  }
  return arrow::Status::OK();
}

arrow::Status PrintDescription(delta::Table& table, const delta::Snapshot& snapshot, bool json,
                               std::ostream& out) {
  const delta::Metadata& metadata = snapshot.metadata();
  const delta::Protocol& protocol = snapshot.protocol();
  int64_t rows = 0;
  bool rows_known = true;
  for (const auto& file : snapshot.files()) {
    int64_t count = RecordCount(file);
    if (count < 0) {
      rows_known = false;
    } else {
      rows += count;
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto schema, delta::data::ParseDeltaSchema(metadata.schema_string));
  auto join = [](const std::vector<std::string>& items) {
    std::string text;
    for (const auto& item : items) text += (text.empty() ? "" : ", ") + item;
    return text;
  };
  if (json) {
    JsonWriter writer;
    writer.BeginObject();
    writer.Key("location");
    writer.String(table.store()->root_uri());
    writer.Key("version");
    writer.Int(snapshot.version());
    writer.Key("timestamp");
    writer.String(FormatMillis(snapshot.timestamp_ms()));
    writer.Key("id");
    writer.String(metadata.id);
    writer.Key("name");
    metadata.name ? writer.String(*metadata.name) : writer.Null();
    writer.Key("description");
    metadata.description ? writer.String(*metadata.description) : writer.Null();
    writer.Key("partitionColumns");
    writer.BeginArray();
    for (const auto& column : metadata.partition_columns) writer.String(column);
    writer.EndArray();
    writer.Key("schema");
    writer.Raw(metadata.schema_string);
    writer.Key("properties");
    writer.BeginObject();
    for (const auto& [key, value] : metadata.configuration) {
      writer.Key(key);
      writer.String(value);
    }
    writer.EndObject();
    writer.Key("minReaderVersion");
    writer.Int(protocol.min_reader_version);
    writer.Key("minWriterVersion");
    writer.Int(protocol.min_writer_version);
    writer.Key("numFiles");
    writer.Int(static_cast<int64_t>(snapshot.files().size()));
    writer.Key("sizeInBytes");
    writer.Int(snapshot.total_file_size());
    writer.Key("numRecords");
    rows_known ? writer.Int(rows) : writer.Null();
    writer.EndObject();
    out << writer.str() << std::endl;
    return arrow::Status::OK();
  }
  out << "location:    " << table.store()->root_uri() << '\n'
      << "version:     " << snapshot.version() << " (" << FormatMillis(snapshot.timestamp_ms())
      << ")\n"
      << "id:          " << metadata.id << '\n';
  if (metadata.name) out << "name:        " << *metadata.name << '\n';
  if (metadata.description) out << "description: " << *metadata.description << '\n';
  out << "protocol:    reader " << protocol.min_reader_version << ", writer "
      << protocol.min_writer_version;
  if (protocol.reader_features)
    out << ", reader features [" << join(*protocol.reader_features) << "]";
  if (protocol.writer_features)
    out << ", writer features [" << join(*protocol.writer_features) << "]";
  out << '\n'
      << "partitions:  "
      << (metadata.partition_columns.empty() ? "(none)" : join(metadata.partition_columns)) << '\n'
      << "files:       " << snapshot.files().size() << " (" << snapshot.total_file_size()
      << " bytes)\n"
      << "rows:        " << (rows_known ? std::to_string(rows) : "unknown (files without stats)")
      << '\n';
  for (const auto& [key, value] : metadata.configuration) {
    out << "property:    " << key << "=" << value << '\n';
  }
  out << "schema:\n";
  for (const auto& field : schema->fields()) {
    out << "  " << field->name() << ": " << field->type()->ToString()
        << (field->nullable() ? "" : " not null") << '\n';
  }
  return arrow::Status::OK();
}

arrow::Status PrintFiles(const delta::Snapshot& snapshot, bool json, std::ostream& out) {
  if (json) {
    JsonWriter writer;
    writer.BeginArray();
    for (const auto& file : snapshot.files()) {
      writer.BeginObject();
      writer.Key("path");
      writer.String(file.path);
      writer.Key("partitionValues");
      writer.BeginObject();
      for (const auto& [column, value] : file.partition_values) {
        writer.Key(column);
        value ? writer.String(*value) : writer.Null();
      }
      writer.EndObject();
      writer.Key("size");
      writer.Int(file.size);
      writer.Key("numRecords");
      int64_t records = RecordCount(file);
      records >= 0 ? writer.Int(records) : writer.Null();
      writer.Key("deletionVector");
      writer.Bool(file.deletion_vector.has_value());
      writer.EndObject();
    }
    writer.EndArray();
    out << writer.str() << std::endl;
    return arrow::Status::OK();
  }
  for (const auto& file : snapshot.files()) {
    int64_t records = RecordCount(file);
    out << file.path << "  " << file.size << " bytes  "
        << (records >= 0 ? std::to_string(records) + " rows" : "? rows")
        << (file.partition_values.empty() ? "" : "  " + PartitionText(file.partition_values))
        << (file.deletion_vector ? "  (deletion vector: " +
                                       std::to_string(file.deletion_vector->cardinality) + " rows)"
                                 : "")
        << '\n';
  }
  out << snapshot.files().size() << " files" << std::endl;
  return arrow::Status::OK();
}

}  // namespace nlk::cli
