#include "server/server_config.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <set>
#include <string_view>

#include "server/tls.h"

namespace nlk::server {
namespace {

arrow::Result<bool> ParseBool(std::string_view text, const std::string& where) {
  if (text == "true" || text == "TRUE" || text == "True" || text == "1") return true;
  if (text == "false" || text == "FALSE" || text == "False" || text == "0") return false;
  return arrow::Status::Invalid(where, ": '", text, "' is not a boolean (true or false)");
}

arrow::Result<TableFormat> ParseFormat(std::string_view text, const std::string& where) {
  if (text == "delta") return TableFormat::kDelta;
  if (text == "parquet") return TableFormat::kParquet;
  return arrow::Status::Invalid(where, ": format '", text,
                                "' is not supported (use delta or parquet)");
}

// "a/b/c.parquet" -> "c", "a/b/table/" -> "table".
std::string DefaultTableName(std::string uri) {
  while (!uri.empty() && uri.back() == '/') uri.pop_back();
  size_t slash = uri.rfind('/');
  std::string name = slash == std::string::npos ? uri : uri.substr(slash + 1);
  size_t dot = name.find('.');
  return dot == std::string::npos || dot == 0 ? name : name.substr(0, dot);
}

// Durations as ROAPI writes them ({secs, nanos}, serde's std::time::Duration), as a number of
// seconds, or as a string with a unit ("250ms", "2s").
arrow::Result<std::chrono::milliseconds> ParseDuration(const YAML::Node& node,
                                                       const std::string& where) {
  if (node.IsMap()) {
    int64_t seconds = node["secs"] ? node["secs"].as<int64_t>() : 0;
    int64_t nanos = node["nanos"] ? node["nanos"].as<int64_t>() : 0;
    return std::chrono::milliseconds(seconds * 1000 + nanos / 1'000'000);
  }
  if (!node.IsScalar()) {
    return arrow::Status::Invalid(where, ": expected a duration such as 1s, 250ms or {secs: 1}");
  }
  const std::string text = node.as<std::string>();
  double value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  std::string_view unit(end, text.data() + text.size() - end);
  if (error != std::errc() || value < 0) {
    return arrow::Status::Invalid(where, ": '", text, "' is not a duration (e.g. 1s or 250ms)");
  }
  if (unit.empty() || unit == "s") {
    return std::chrono::milliseconds(static_cast<int64_t>(value * 1000));
  }
  if (unit == "ms") return std::chrono::milliseconds(static_cast<int64_t>(value));
  return arrow::Status::Invalid(where, ": unknown duration unit '", unit, "' (use s or ms)");
}

arrow::Result<TableConfig> ParseTableNode(const YAML::Node& node, const std::string& where) {
  if (!node.IsMap()) return arrow::Status::Invalid(where, ": expected a map with name and uri");
  TableConfig table;
  if (!node["uri"]) return arrow::Status::Invalid(where, ": missing uri");
  table.uri = node["uri"].as<std::string>();
  table.name = node["name"] ? node["name"].as<std::string>() : DefaultTableName(table.uri);
  const std::string named = where + " (" + table.name + ")";
  if (table.uri.ends_with(".parquet")) table.format = TableFormat::kParquet;
  if (const YAML::Node option = node["option"]) {
    if (const YAML::Node format = option["format"]) {
      ARROW_ASSIGN_OR_RAISE(table.format, ParseFormat(format.as<std::string>(), named));
    }
    if (const YAML::Node memory = option["use_memory_table"]) {
      ARROW_ASSIGN_OR_RAISE(table.use_memory_table,
                            ParseBool(memory.as<std::string>(), named + " use_memory_table"));
    }
  }
  if (const YAML::Node partitions = node["partition_columns"]) {
    for (const YAML::Node& column : partitions) {
      table.partition_columns.push_back(column.IsMap() ? column["name"].as<std::string>()
                                                       : column.as<std::string>());
    }
  }
  if (const YAML::Node interval = node["reload_interval"]) {
    ARROW_ASSIGN_OR_RAISE(table.reload_interval,
                          ParseDuration(interval, named + " reload_interval"));
  }
  return table;
}

arrow::Status ParseLimits(const YAML::Node& node, ServerLimits& limits, const std::string& where) {
  for (const auto& entry : node) {
    const std::string key = entry.first.as<std::string>();
    const YAML::Node& value = entry.second;
    const std::string field = where + " limits." + key;
    if (key == "worker_threads") {
      limits.worker_threads = value.as<int>();
    } else if (key == "io_threads") {
      limits.io_threads = value.as<int>();
    } else if (key == "max_queued_requests") {
      limits.max_queued_requests = value.as<int>();
    } else if (key == "max_connections") {
      limits.max_connections = value.as<int>();
    } else if (key == "max_connections_per_address") {
      limits.max_connections_per_address = value.as<int>();
    } else if (key == "max_waiting_responses") {
      limits.max_waiting_responses = value.as<int>();
    } else if (key == "max_body_bytes") {
      limits.max_body_bytes = value.as<int64_t>();
    } else if (key == "max_result_rows") {
      limits.max_result_rows = value.as<int64_t>();
    } else if (key == "max_result_bytes") {
      limits.max_result_bytes = value.as<int64_t>();
    } else if (key == "max_query_memory_bytes") {
      limits.max_query_memory_bytes = value.as<int64_t>();
    } else if (key == "header_timeout") {
      ARROW_ASSIGN_OR_RAISE(limits.header_timeout, ParseDuration(value, field));
    } else if (key == "idle_timeout") {
      ARROW_ASSIGN_OR_RAISE(limits.idle_timeout, ParseDuration(value, field));
    } else if (key == "write_timeout") {
      ARROW_ASSIGN_OR_RAISE(limits.write_timeout, ParseDuration(value, field));
    } else if (key == "query_timeout") {
      ARROW_ASSIGN_OR_RAISE(limits.query_timeout, ParseDuration(value, field));
    } else {
      return arrow::Status::Invalid(field, ": unknown limit (see docs/serve.md)");
    }
  }
  return arrow::Status::OK();
}

arrow::Result<std::vector<std::string>> ParseStringList(const YAML::Node& node,
                                                        const std::string& where) {
  if (!node.IsSequence()) return arrow::Status::Invalid(where, " must be a list of strings");
  std::vector<std::string> values;
  for (const YAML::Node& value : node) values.push_back(value.as<std::string>());
  return values;
}

arrow::Status ParseAccess(const YAML::Node& root, AccessConfig& access, const std::string& path) {
  if (const YAML::Node auth = root["auth"]) {
    if (!auth.IsMap()) return arrow::Status::Invalid(path, ": `auth` must be a map");
    for (const auto& entry : auth) {
      const std::string key = entry.first.as<std::string>();
      const std::string where = path + ": auth." + key;
      if (key == "tokens") {
        access.tokens_file = entry.second.as<std::string>();
      } else if (key == "health") {
        ARROW_ASSIGN_OR_RAISE(access.health_access,
                              ParseEndpointAccess(entry.second.as<std::string>(), where));
      } else if (key == "metrics") {
        ARROW_ASSIGN_OR_RAISE(access.metrics_access,
                              ParseEndpointAccess(entry.second.as<std::string>(), where));
      } else {
        return arrow::Status::Invalid(where, ": unknown setting (tokens, health, metrics)");
      }
    }
  }
  if (const YAML::Node cors = root["cors"]) {
    if (!cors.IsMap() || !cors["allowed_origins"]) {
      return arrow::Status::Invalid(path, ": `cors` must be a map with `allowed_origins`");
    }
    ARROW_ASSIGN_OR_RAISE(access.allowed_origins, ParseStringList(cors["allowed_origins"],
                                                                  path + ": cors.allowed_origins"));
  }
  if (const YAML::Node hosts = root["allowed_hosts"]) {
    ARROW_ASSIGN_OR_RAISE(access.allowed_hosts, ParseStringList(hosts, path + ": allowed_hosts"));
  }
  return arrow::Status::OK();
}

arrow::Status ParseAudit(const YAML::Node& audit, AuditOptions& options, const std::string& path) {
  if (!audit.IsMap()) return arrow::Status::Invalid(path, ": `audit` must be a map with `table`");
  for (const auto& entry : audit) {
    const std::string key = entry.first.as<std::string>();
    const std::string where = path + ": audit." + key;
    if (key == "table") {
      options.uri = entry.second.as<std::string>();
    } else if (key == "statements") {
      ARROW_ASSIGN_OR_RAISE(options.statements, ParseBool(entry.second.as<std::string>(), where));
    } else if (key == "fail_closed") {
      ARROW_ASSIGN_OR_RAISE(options.fail_closed, ParseBool(entry.second.as<std::string>(), where));
    } else if (key == "flush_interval_ms") {
      options.flush_interval = std::chrono::milliseconds(entry.second.as<int64_t>());
    } else if (key == "max_batch") {
      options.max_batch = entry.second.as<size_t>();
    } else if (key == "max_queue") {
      options.max_queue = entry.second.as<size_t>();
    } else {
      return arrow::Status::Invalid(
          where,
          ": unknown setting (table, statements, fail_closed, flush_interval_ms, max_batch, "
          "max_queue)");
    }
  }
  if (options.uri.empty()) return arrow::Status::Invalid(path, ": audit.table is required");
  return arrow::Status::OK();
}

arrow::Status ParseTls(const YAML::Node& node, TlsConfig& tls, const std::string& path) {
  if (!node.IsMap()) return arrow::Status::Invalid(path, ": `tls` must be a map");
  for (const auto& entry : node) {
    const std::string key = entry.first.as<std::string>();
    const std::string value = entry.second.as<std::string>();
    if (key == "cert") {
      tls.cert_file = value;
    } else if (key == "key") {
      tls.key_file = value;
    } else if (key == "client_ca") {
      tls.client_ca_file = value;
    } else if (key == "min_version") {
      tls.min_version = value;
    } else {
      return arrow::Status::Invalid(path, ": tls.", key,
                                    ": unknown setting (cert, key, client_ca, min_version)");
    }
  }
  return arrow::Status::OK();
}

arrow::Result<ServerConfig> ParseConfigDocument(const YAML::Node& root, const std::string& path) {
  ServerConfig config;
  if (!root.IsMap()) return arrow::Status::Invalid(path, ": expected a map with `tables`");
  if (const YAML::Node address = root["addr"]) {
    if (address.IsMap()) {
      if (address["http"]) config.http_address = address["http"].as<std::string>();
      if (address["postgres"]) config.postgres_address = address["postgres"].as<std::string>();
      if (address["flight_sql"]) {
        config.flight_sql_address = address["flight_sql"].as<std::string>();
      }
    } else {
      config.http_address = address.as<std::string>();
    }
  }
  if (const YAML::Node interval = root["reload_interval"]) {
    ARROW_ASSIGN_OR_RAISE(config.default_reload_interval,
                          ParseDuration(interval, path + ": reload_interval"));
  }
  if (const YAML::Node tables = root["tables"]) {
    if (!tables.IsSequence()) return arrow::Status::Invalid(path, ": `tables` must be a list");
    for (size_t i = 0; i < tables.size(); ++i) {
      ARROW_ASSIGN_OR_RAISE(
          TableConfig table,
          ParseTableNode(tables[i], path + ": tables[" + std::to_string(i) + "]"));
      config.tables.push_back(std::move(table));
    }
  }
  if (const YAML::Node limits = root["limits"]) {
    ARROW_RETURN_NOT_OK(ParseLimits(limits, config.limits, path + ":"));
  }
  ARROW_RETURN_NOT_OK(ParseAccess(root, config.access, path));
  if (const YAML::Node audit = root["audit"]) {
    ARROW_RETURN_NOT_OK(ParseAudit(audit, config.audit, path));
  }
  if (const YAML::Node tls = root["tls"]) ARROW_RETURN_NOT_OK(ParseTls(tls, config.tls, path));
  return config;
}

}  // namespace

arrow::Result<TableConfig> ParseTableArgument(const std::string& argument) {
  const std::string where = "table argument '" + argument + "'";
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t comma = argument.find(',', start);
    parts.push_back(argument.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  TableConfig table;
  size_t equals = parts[0].find('=');
  if (equals == std::string::npos) {
    table.uri = parts[0];
    table.name = DefaultTableName(table.uri);
  } else {
    table.name = parts[0].substr(0, equals);
    table.uri = parts[0].substr(equals + 1);
  }
  if (table.uri.empty()) {
    return arrow::Status::Invalid(where, ": missing URI (use NAME=URI[,format=delta])");
  }
  if (table.uri.ends_with(".parquet")) table.format = TableFormat::kParquet;
  for (size_t i = 1; i < parts.size(); ++i) {
    size_t option_equals = parts[i].find('=');
    if (option_equals == std::string::npos) {
      return arrow::Status::Invalid(where, ": option '", parts[i], "' must be KEY=VALUE");
    }
    std::string key = parts[i].substr(0, option_equals);
    std::string value = parts[i].substr(option_equals + 1);
    if (key == "format") {
      ARROW_ASSIGN_OR_RAISE(table.format, ParseFormat(value, where));
    } else if (key == "use_memory_table") {
      ARROW_ASSIGN_OR_RAISE(table.use_memory_table, ParseBool(value, where));
    } else {
      return arrow::Status::Invalid(where, ": unknown option '", key,
                                    "' (known: format, use_memory_table)");
    }
  }
  return table;
}

arrow::Result<ServerConfig> LoadServerConfig(const std::string& path) {
  // yaml-cpp reports every problem by exception; none may leave this layer.
  try {
    return ParseConfigDocument(YAML::LoadFile(path), path);
  } catch (const YAML::BadFile&) {
    return arrow::Status::IOError("config file ", path, " cannot be read");
  } catch (const YAML::Exception& error) {
    return arrow::Status::Invalid("config file ", path, ": ", error.what());
  }
}

arrow::Status ValidateServerConfig(const ServerConfig& config) {
  std::set<std::string> names;
  for (const TableConfig& table : config.tables) {
    if (table.name.empty()) {
      return arrow::Status::Invalid("table at ", table.uri, " has an empty name");
    }
    if (!names.insert(table.name).second) {
      return arrow::Status::Invalid("table name '", table.name, "' is used twice");
    }
  }
  const ServerLimits& limits = config.limits;
  if (limits.worker_threads < 0 || limits.io_threads < 1 || limits.max_queued_requests < 0 ||
      limits.max_connections < 1 || limits.max_connections_per_address < 0 ||
      limits.max_waiting_responses < 0 || limits.max_body_bytes < 0 || limits.max_result_rows < 0 ||
      limits.max_result_bytes < 0 || limits.max_query_memory_bytes < 0) {
    return arrow::Status::Invalid(
        "limits must be positive (worker_threads, max_queued_requests, "
        "max_connections_per_address and max_waiting_responses may be 0)");
  }
  return ValidateTlsConfig(config.tls);
}

std::shared_ptr<const AccessRules> AccessRulesOf(const std::vector<TableConfig>& tables) {
  auto rules = std::make_shared<AccessRules>();
  for (const TableConfig& table : tables) {
    if (table.access) (*rules)[table.name] = *table.access;
  }
  return rules;
}

}  // namespace nlk::server
