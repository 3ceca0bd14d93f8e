#include "pgwire/session_settings.h"

#include <algorithm>
#include <cctype>

#include "common/ascii.h"
#include "pgwire/sql_state.h"

namespace nlk::pgwire {
namespace {

// How a parameter may change.
enum class Policy {
  kFree,      // any value, stored (application_name, search_path, statement_timeout, ...)
  kNoEffect,  // any value, stored, without effect here (planner and storage tuning)
  kFixed,     // only its current value (a value the server cannot honour is refused)
  kReadOnly,  // not settable at all (server_version, ...)
};

struct Setting {
  SettingDescription description;
  Policy policy;
};

const std::vector<Setting>& Settings() {
  static const std::vector<Setting> kSettings = {
      {{"application_name", "", "Sets the application name to be reported.", true}, Policy::kFree},
      {{"block_size", "8192", "Shows the size of a disk block.", false}, Policy::kReadOnly},
      {{"bytea_output", "hex", "Sets the output format for bytea.", false}, Policy::kFixed},
      {{"check_function_bodies", "on", "Check routine bodies during CREATE FUNCTION.", false},
       Policy::kNoEffect},
      {{"client_encoding", "UTF8", "Sets the client's character set encoding.", true},
       Policy::kFixed},
      {{"client_min_messages", "notice", "Sets the message levels sent to the client.", false},
       Policy::kNoEffect},
      {{"DateStyle", "ISO, MDY", "Sets the display format for date and time values.", true},
       Policy::kFixed},
      {{"default_transaction_isolation", "read committed",
        "Sets the isolation level of each new transaction.", false},
       Policy::kNoEffect},
      {{"default_transaction_read_only", "on",
        "Sets the default read-only status of new transactions.", true},
       Policy::kFixed},
      {{"effective_cache_size", "4GB", "Planner's assumption about the data cache size.", false},
       Policy::kNoEffect},
      {{"extra_float_digits", "1", "Sets the number of digits displayed for floats.", false},
       Policy::kFree},
      {{"idle_in_transaction_session_timeout", "0",
        "Sets the maximum idle time within a transaction.", false},
       Policy::kNoEffect},
      {{"in_hot_standby", "off", "Shows whether hot standby is currently active.", true},
       Policy::kReadOnly},
      {{"integer_datetimes", "on", "Shows whether datetimes are integer based.", true},
       Policy::kReadOnly},
      {{"IntervalStyle", "postgres", "Sets the display format for interval values.", true},
       Policy::kFixed},
      {{"is_superuser", "off", "Shows whether the current user is a superuser.", true},
       Policy::kReadOnly},
      {{"jit", "off", "Allow JIT compilation.", false}, Policy::kNoEffect},
      {{"lc_collate", "C.UTF-8", "Shows the collation order locale.", false}, Policy::kReadOnly},
      {{"lc_ctype", "C.UTF-8", "Shows the character classification locale.", false},
       Policy::kReadOnly},
      {{"lc_messages", "C.UTF-8", "Sets the language in which messages are displayed.", false},
       Policy::kNoEffect},
      {{"lc_monetary", "C.UTF-8", "Sets the locale for formatting monetary amounts.", false},
       Policy::kNoEffect},
      {{"lc_numeric", "C.UTF-8", "Sets the locale for formatting numbers.", false},
       Policy::kNoEffect},
      {{"lc_time", "C.UTF-8", "Sets the locale for formatting date and time values.", false},
       Policy::kNoEffect},
      {{"lock_timeout", "0", "Sets the maximum wait for a lock.", false}, Policy::kNoEffect},
      {{"max_identifier_length", "63", "Shows the maximum identifier length.", false},
       Policy::kReadOnly},
      {{"max_index_keys", "32", "Shows the maximum number of index keys.", false},
       Policy::kReadOnly},
      {{"max_parallel_workers_per_gather", "2", "Sets parallel workers per executor node.", false},
       Policy::kNoEffect},
      {{"random_page_cost", "4", "Planner's estimate of a random page fetch.", false},
       Policy::kNoEffect},
      {{"row_security", "on", "Enable row security.", false}, Policy::kNoEffect},
      {{"search_path", "\"$user\", public", "Sets the schema search order for names.", false},
       Policy::kFree},
      {{"server_encoding", "UTF8", "Shows the server (database) character set encoding.", true},
       Policy::kReadOnly},
      {{"server_version", kServerVersion, "Shows the server version.", true}, Policy::kReadOnly},
      {{"server_version_num", kServerVersionNumber, "Shows the server version as an integer.",
        false},
       Policy::kReadOnly},
      {{"session_authorization", "", "Sets the session user name.", true}, Policy::kReadOnly},
      {{"standard_conforming_strings", "on", "Causes '...' strings to treat backslashes literally.",
        true},
       Policy::kFixed},
      {{"statement_timeout", "0", "Sets the maximum allowed duration of any statement.", false},
       Policy::kFree},
      {{"synchronous_commit", "on", "Sets the current transaction's synchronization level.", false},
       Policy::kNoEffect},
      {{"TimeZone", "UTC", "Sets the time zone for displaying and interpreting time stamps.", true},
       Policy::kFixed},
      {{"transaction_isolation", "read committed",
        "Sets the current transaction's isolation level.", false},
       Policy::kNoEffect},
      {{"transaction_read_only", "on", "Sets the current transaction's read-only status.", false},
       Policy::kFixed},
      {{"work_mem", "4MB", "Sets the maximum memory to be used for query workspaces.", false},
       Policy::kNoEffect},
      {{"xmloption", "content", "Sets whether XML data is a document or content fragment.", false},
       Policy::kNoEffect},
  };
  return kSettings;
}

const Setting* FindSetting(std::string_view name) {
  std::string key = AsciiLower(name);
  for (const Setting& setting : Settings()) {
    if (AsciiLower(setting.description.name) == key) return &setting;
  }
  return nullptr;
}

std::string_view Unquote(std::string_view value) {
  if (value.size() >= 2 && value.front() == '\'' && value.back() == '\'') {
    return value.substr(1, value.size() - 2);
  }
  return value;
}

std::optional<bool> BooleanValue(std::string_view value) {
  std::string lower = AsciiLower(value);
  if (lower == "on" || lower == "true" || lower == "yes" || lower == "1") return true;
  if (lower == "off" || lower == "false" || lower == "no" || lower == "0") return false;
  return std::nullopt;
}

// The value a fixed parameter takes for `value`, or an error saying why it cannot.
arrow::Result<std::string> FixedValue(const Setting& setting, const std::string& current,
                                      std::string_view value) {
  const std::string name = setting.description.name;
  const std::string lower = AsciiLower(value);
  if (name == "TimeZone") return current;  // accepted from any client, stays UTC (see header)
  if (name == "client_encoding") {
    if (lower == "utf8" || lower == "utf-8" || lower == "unicode" || lower == "sql_ascii" ||
        lower == "auto") {
      return current;
    }
    return SqlStateError(sqlstate::kInvalidParameterValue,
                         "client_encoding \"" + std::string(value) +
                             "\" is not supported: this server speaks UTF8 only");
  }
  if (name == "DateStyle") {
    if (lower.find("iso") != std::string::npos) {
      if (lower.find("dmy") != std::string::npos) return std::string("ISO, DMY");
      if (lower.find("ymd") != std::string::npos) return std::string("ISO, YMD");
      return std::string("ISO, MDY");
    }
    return SqlStateError(sqlstate::kInvalidParameterValue,
                         "DateStyle \"" + std::string(value) +
                             "\" is not supported: this server writes dates in ISO style only");
  }
  auto wanted = BooleanValue(value);
  auto have = BooleanValue(current);
  if ((wanted && have && *wanted == *have) || lower == AsciiLower(current)) return current;
  if (name == "default_transaction_read_only" || name == "transaction_read_only") {
    return SqlStateError(sqlstate::kReadOnlyTransaction,
                         "this server is read-only: " + name + " cannot be turned off");
  }
  return SqlStateError(sqlstate::kInvalidParameterValue,
                       "parameter \"" + name + "\" can only be " + current + " on this server");
}

}  // namespace

SessionSettings::SessionSettings(std::string user, std::string database)
    : user_(std::move(user)), database_(std::move(database)) {
  ResetAll();
}

void SessionSettings::ResetAll() {
  std::string application = values_["application_name"];
  values_.clear();
  for (const Setting& setting : Settings()) {
    values_[AsciiLower(setting.description.name)] = setting.description.default_value;
  }
  values_["session_authorization"] = user_;
  values_["application_name"] = application;
}

std::optional<std::string> SessionSettings::Get(std::string_view name) const {
  auto found = values_.find(AsciiLower(name));
  if (found == values_.end()) return std::nullopt;
  return found->second;
}

arrow::Result<std::string> SessionSettings::Set(std::string_view name, std::string_view value) {
  value = Unquote(value);
  const Setting* setting = FindSetting(name);
  if (setting == nullptr) {
    // "prefix.name" parameters are free for applications, as in PostgreSQL.
    if (name.find('.') != std::string_view::npos) {
      values_[AsciiLower(name)] = std::string(value);
      return std::string();
    }
    return SqlStateError(sqlstate::kUndefinedObject,
                         "unrecognized configuration parameter \"" + std::string(name) + "\"");
  }
  const std::string key = AsciiLower(setting->description.name);
  switch (setting->policy) {
    case Policy::kFree:
    case Policy::kNoEffect:
      values_[key] = std::string(value);
      break;
    case Policy::kFixed: {
      ARROW_ASSIGN_OR_RAISE(values_[key], FixedValue(*setting, values_[key], value));
      break;
    }
    case Policy::kReadOnly:
      return SqlStateError("55P02", "parameter \"" + std::string(setting->description.name) +
                                        "\" cannot be changed");
  }
  return setting->description.reported ? std::string(setting->description.name) : std::string();
}

arrow::Result<std::string> SessionSettings::Reset(std::string_view name) {
  const Setting* setting = FindSetting(name);
  if (setting == nullptr) {
    if (values_.erase(AsciiLower(name)) > 0) return std::string();
    return SqlStateError(sqlstate::kUndefinedObject,
                         "unrecognized configuration parameter \"" + std::string(name) + "\"");
  }
  if (setting->policy == Policy::kReadOnly) {
    return SqlStateError(
        "55P02", "parameter \"" + std::string(setting->description.name) + "\" cannot be changed");
  }
  std::string key = AsciiLower(setting->description.name);
  values_[key] = setting->description.default_value;
  return setting->description.reported ? std::string(setting->description.name) : std::string();
}

std::vector<std::pair<SettingDescription, std::string>> SessionSettings::All() const {
  std::vector<std::pair<SettingDescription, std::string>> all;
  for (const Setting& setting : Settings()) {
    all.emplace_back(setting.description, values_.at(AsciiLower(setting.description.name)));
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return AsciiLower(a.first.name) < AsciiLower(b.first.name);
  });
  return all;
}

std::vector<std::pair<std::string, std::string>> SessionSettings::Reported() const {
  std::vector<std::pair<std::string, std::string>> reported;
  for (const Setting& setting : Settings()) {
    if (!setting.description.reported) continue;
    reported.emplace_back(setting.description.name,
                          values_.at(AsciiLower(setting.description.name)));
  }
  return reported;
}

std::vector<std::string> SessionSettings::SearchPath() const {
  std::vector<std::string> schemas;
  std::string path = *Get("search_path");
  size_t start = 0;
  while (start <= path.size()) {
    size_t comma = path.find(',', start);
    if (comma == std::string::npos) comma = path.size();
    std::string item = path.substr(start, comma - start);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (item.size() >= 2 && item.front() == '"' && item.back() == '"') {
      item = item.substr(1, item.size() - 2);
    }
    if (item == "$user") item = user_;
    if (!item.empty()) schemas.push_back(item);
    start = comma + 1;
  }
  return schemas;
}

}  // namespace nlk::pgwire
