// Typed access to the table properties in metaData.configuration that the log layer acts on.
//
// Immutable after construction; thread-safe.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "delta/log/actions.h"

namespace nlk::delta {

inline constexpr int64_t kMillisecondsPerDay = 24LL * 60 * 60 * 1000;

// The engine that writes a table (docs/spark.md, "One writer per table"). Delta on S3 is safe for
// several writers only if all of them commit with put-if-absent; nlk does, delta-spark's S3 log
// store does not, so each table names its one writing engine in this property. Tables nlk
// creates get "nlk"; the Spark jobs create theirs with "spark". nlk changes no table whose
// property names another engine.
inline constexpr char kWriterEngineProperty[] = "neuralake.writer";
inline constexpr char kNlkWriterEngine[] = "nlk";

// Parses a Spark calendar interval as Delta uses it for durations, e.g. "interval 30 days",
// "interval 1 week", "2 hours", "interval 1 day 12 hours". Units: nanosecond(s) to week(s);
// months and years are refused because their length in milliseconds is not fixed.
arrow::Result<int64_t> ParseIntervalMilliseconds(std::string_view text);

class TableProperties {
 public:
  explicit TableProperties(const StringMap& configuration) : configuration_(&configuration) {}

  // delta.checkpointInterval: commit versions between automatic checkpoints (default 10).
  arrow::Result<int64_t> checkpoint_interval() const;
  // delta.logRetentionDuration (default 30 days).
  arrow::Result<int64_t> log_retention_milliseconds() const;
  // delta.deletedFileRetentionDuration: how long tombstones are kept (default 1 week).
  arrow::Result<int64_t> deleted_file_retention_milliseconds() const;
  // delta.enableExpiredLogCleanup (default true).
  bool expired_log_cleanup_enabled() const;
  // delta.appendOnly (default false).
  bool append_only() const;
  // delta.enableChangeDataFeed (default false).
  bool change_data_feed_enabled() const;
  // delta.enableInCommitTimestamps (default false); see also InCommitTimestampsEnabled().
  bool in_commit_timestamps_property() const;
  std::optional<int64_t> in_commit_timestamp_enablement_version() const;
  std::optional<int64_t> in_commit_timestamp_enablement_timestamp() const;

  std::optional<std::string> Get(std::string_view key) const;

 private:
  bool GetBool(std::string_view key, bool default_value) const;
  std::optional<int64_t> GetInt(std::string_view key) const;
  arrow::Result<int64_t> GetInterval(std::string_view key, int64_t default_value) const;

  const StringMap* configuration_;
};

}  // namespace nlk::delta
