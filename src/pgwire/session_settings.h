// The run-time parameters of one PostgreSQL session (SET, SHOW, current_setting, pg_settings
// and the ParameterStatus messages sent at startup). The server is read-only, answers in UTF-8
// and writes dates in ISO style with times in UTC, so the parameters that would change that are
// fixed: setting them to what they already are is accepted, other values are refused, except
// TimeZone, which any client may set (JDBC sends the JVM's zone at startup) and which stays UTC:
// timestamptz values always carry their "+00" offset, so they read correctly anywhere.
// Parameters that only tune PostgreSQL's planner or storage are accepted and have no effect.
//
// Belongs to one session; not thread-safe.
#pragma once

#include <arrow/result.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nlk::pgwire {

// What the server claims to be: PostgreSQL 15, which the clients we test know well.
inline constexpr const char* kServerVersion = "15.0";
inline constexpr const char* kServerVersionNumber = "150000";

struct SettingDescription {
  const char* name;           // canonical spelling, e.g. "DateStyle"
  const char* default_value;  // "" for those filled from the session (user, application)
  const char* description;
  bool reported;  // sent as ParameterStatus at startup and when changed
};

class SessionSettings {
 public:
  SessionSettings(std::string user, std::string database);

  const std::string& user() const { return user_; }
  const std::string& database() const { return database_; }

  // The current value; nullopt for an unknown parameter. Names are case-insensitive.
  std::optional<std::string> Get(std::string_view name) const;
  // SET name = value. Unknown parameters (other than custom "prefix.name" ones) are an error
  // (42704); fixed ones may only be set to their value (22023 otherwise). Returns the canonical
  // name of a parameter clients must be told about (ParameterStatus), else empty.
  arrow::Result<std::string> Set(std::string_view name, std::string_view value);
  // RESET name / RESET ALL.
  arrow::Result<std::string> Reset(std::string_view name);
  void ResetAll();

  // Every parameter and its value, in name order (SHOW ALL, pg_settings).
  std::vector<std::pair<SettingDescription, std::string>> All() const;
  // The parameters sent at startup.
  std::vector<std::pair<std::string, std::string>> Reported() const;

  // The schemas of search_path in order, "$user" replaced by the user name.
  std::vector<std::string> SearchPath() const;

 private:
  std::string user_;
  std::string database_;
  std::map<std::string, std::string> values_;  // by lower-case name
};

}  // namespace nlk::pgwire
