#include "delta/log/table_properties.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <limits>
#include <vector>

namespace nlk::delta {

namespace {

std::string Lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::vector<std::string_view> SplitWords(std::string_view text) {
  std::vector<std::string_view> words;
  size_t position = 0;
  while (position < text.size()) {
    while (position < text.size() && std::isspace(static_cast<unsigned char>(text[position]))) {
      ++position;
    }
    const size_t start = position;
    while (position < text.size() && !std::isspace(static_cast<unsigned char>(text[position]))) {
      ++position;
    }
    if (position > start) words.push_back(text.substr(start, position - start));
  }
  return words;
}

// Milliseconds per unit, as a fraction numerator/denominator to keep sub-millisecond units exact.
bool UnitMilliseconds(std::string unit, int64_t* numerator, int64_t* denominator) {
  if (unit.size() > 1 && unit.back() == 's') unit.pop_back();
  *denominator = 1;
  if (unit == "week") {
    *numerator = 7 * kMillisecondsPerDay;
  } else if (unit == "day") {
    *numerator = kMillisecondsPerDay;
  } else if (unit == "hour") {
    *numerator = 60LL * 60 * 1000;
  } else if (unit == "minute") {
    *numerator = 60LL * 1000;
  } else if (unit == "second") {
    *numerator = 1000;
  } else if (unit == "millisecond") {
    *numerator = 1;
  } else if (unit == "microsecond") {
    *numerator = 1;
    *denominator = 1000;
  } else if (unit == "nanosecond") {
    *numerator = 1;
    *denominator = 1000 * 1000;
  } else {
    return false;
  }
  return true;
}

}  // namespace

arrow::Result<int64_t> ParseIntervalMilliseconds(std::string_view text) {
  const std::string lower = Lowercase(text);
  auto words = SplitWords(lower);
  if (!words.empty() && words.front() == "interval") words.erase(words.begin());
  auto invalid = [&](std::string_view why) {
    return arrow::Status::Invalid("Invalid interval '", std::string(text), "': ", why,
                                  "; expected e.g. 'interval 30 days' or 'interval 12 hours'");
  };
  if (words.empty() || words.size() % 2 != 0) return invalid("expected pairs of number and unit");
  int64_t total = 0;
  for (size_t i = 0; i < words.size(); i += 2) {
    int64_t amount = 0;
    const auto [end, error] =
        std::from_chars(words[i].data(), words[i].data() + words[i].size(), amount);
    if (error != std::errc() || end != words[i].data() + words[i].size()) {
      return invalid("'" + std::string(words[i]) + "' is not a whole number");
    }
    int64_t numerator = 0;
    int64_t denominator = 1;
    if (!UnitMilliseconds(std::string(words[i + 1]), &numerator, &denominator)) {
      return invalid("unsupported unit '" + std::string(words[i + 1]) + "'");
    }
    if (amount != 0 && std::abs(amount) > std::numeric_limits<int64_t>::max() / numerator) {
      return invalid("too large");
    }
    total += amount * numerator / denominator;
  }
  if (total < 0) return invalid("a duration cannot be negative");
  return total;
}

std::optional<std::string> TableProperties::Get(std::string_view key) const {
  auto it = configuration_->find(std::string(key));
  if (it == configuration_->end()) return std::nullopt;
  return it->second;
}

bool TableProperties::GetBool(std::string_view key, bool default_value) const {
  auto value = Get(key);
  if (!value) return default_value;
  const std::string lower = Lowercase(*value);
  if (lower == "true") return true;
  if (lower == "false") return false;
  return default_value;
}

std::optional<int64_t> TableProperties::GetInt(std::string_view key) const {
  auto value = Get(key);
  if (!value) return std::nullopt;
  int64_t number = 0;
  const auto [end, error] = std::from_chars(value->data(), value->data() + value->size(), number);
  if (error != std::errc() || end != value->data() + value->size()) return std::nullopt;
  return number;
}

arrow::Result<int64_t> TableProperties::GetInterval(std::string_view key,
                                                    int64_t default_value) const {
  auto value = Get(key);
  if (!value) return default_value;
  auto parsed = ParseIntervalMilliseconds(*value);
  if (!parsed.ok()) {
    return arrow::Status::Invalid("Table property ", std::string(key), ": ",
                                  parsed.status().message());
  }
  return parsed;
}

arrow::Result<int64_t> TableProperties::checkpoint_interval() const {
  auto value = Get("delta.checkpointInterval");
  if (!value) return 10;
  auto number = GetInt("delta.checkpointInterval");
  if (!number || *number <= 0) {
    return arrow::Status::Invalid(
        "Table property delta.checkpointInterval must be a positive "
        "integer, got '",
        *value, "'");
  }
  return *number;
}

arrow::Result<int64_t> TableProperties::log_retention_milliseconds() const {
  return GetInterval("delta.logRetentionDuration", 30 * kMillisecondsPerDay);
}

arrow::Result<int64_t> TableProperties::deleted_file_retention_milliseconds() const {
  return GetInterval("delta.deletedFileRetentionDuration", 7 * kMillisecondsPerDay);
}

bool TableProperties::expired_log_cleanup_enabled() const {
  return GetBool("delta.enableExpiredLogCleanup", true);
}

bool TableProperties::append_only() const { return GetBool("delta.appendOnly", false); }

bool TableProperties::change_data_feed_enabled() const {
  return GetBool("delta.enableChangeDataFeed", false);
}

bool TableProperties::in_commit_timestamps_property() const {
  return GetBool("delta.enableInCommitTimestamps", false);
}

std::optional<int64_t> TableProperties::in_commit_timestamp_enablement_version() const {
  return GetInt("delta.inCommitTimestampEnablementVersion");
}

std::optional<int64_t> TableProperties::in_commit_timestamp_enablement_timestamp() const {
  return GetInt("delta.inCommitTimestampEnablementTimestamp");
}

}  // namespace nlk::delta
