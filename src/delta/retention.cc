#include "delta/retention.h"

#include <arrow/scalar.h>
#include <arrow/type.h>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <map>
#include <set>

#include "common/json_writer.h"
#include "delta/data/partition_values.h"
#include "delta/data/schema.h"
#include "delta/log/protocol_support.h"
#include "delta/log/transaction.h"

namespace nlk::delta {
namespace {

constexpr int64_t kMicrosPerDay = 86'400'000'000LL;

std::string JoinColumns(const std::vector<std::string>& columns) {
  std::string text;
  for (const std::string& column : columns) text += (text.empty() ? "" : ", ") + column;
  return text.empty() ? "none" : text;
}

// "2026-09-08T00:00:00Z" for a time in microseconds.
std::string IsoInstant(int64_t micros) {
  std::time_t seconds = static_cast<std::time_t>(micros / 1'000'000);
  if (micros % 1'000'000 < 0) --seconds;
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

// "2026-09-08" for a day number.
std::string IsoDate(int64_t day) {
  std::string instant = IsoInstant(day * kMicrosPerDay);
  return instant.substr(0, 10);
}

// numRecords of a file's statistics JSON, 0 without.
int64_t NumRecords(const std::optional<std::string>& stats) {
  if (!stats) return 0;
  static constexpr std::string_view kKey = "\"numRecords\":";
  size_t at = stats->find(kKey);
  if (at == std::string::npos) return 0;
  at += kKey.size();
  while (at < stats->size() && (*stats)[at] == ' ') ++at;
  int64_t value = 0;
  std::from_chars(stats->data() + at, stats->data() + stats->size(), value);
  return value;
}

}  // namespace

arrow::Result<RetentionResult> ApplyRetention(DeltaLog& log, const RetentionOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  if (options.keep.count() <= 0) {
    return arrow::Status::Invalid("retention: keep must be a positive number of days, not ",
                                  options.keep.count());
  }
  ARROW_ASSIGN_OR_RAISE(auto snapshot, log.Latest());
  const Metadata& metadata = snapshot->metadata();
  ARROW_RETURN_NOT_OK(CheckWriteSupported(snapshot->protocol(), metadata));
  const auto& partitions = metadata.partition_columns;
  if (std::find(partitions.begin(), partitions.end(), options.column) == partitions.end()) {
    return arrow::Status::Invalid(
        "retention: '", options.column,
        "' is not a partition column of the table (partition columns: ", JoinColumns(partitions),
        "); retention deletes whole partitions, so it needs a date or timestamp partition "
        "column. Deleting rows inside files is a DML DELETE, not retention");
  }
  ARROW_ASSIGN_OR_RAISE(auto schema, data::ParseDeltaSchema(metadata.schema_string));
  auto field = schema->GetFieldByName(options.column);
  if (field == nullptr) {
    return arrow::Status::Invalid("retention: partition column '", options.column,
                                  "' is missing from the table's schema");
  }
  const auto& type = field->type();
  const bool is_date = type->id() == arrow::Type::DATE32;
  const bool is_timestamp = type->id() == arrow::Type::TIMESTAMP;
  if (!is_date && !is_timestamp) {
    return arrow::Status::Invalid("retention: partition column '", options.column, "' is ",
                                  type->ToString(), "; retention needs a date or timestamp column");
  }

  const int64_t now_ms = options.now_ms ? *options.now_ms : log.NowMs();
  const int64_t cutoff_us =
      now_ms * 1000 - static_cast<int64_t>(options.keep.count()) * kMicrosPerDay;
  RetentionResult result;
  result.read_version = snapshot->version();
  result.dry_run = options.dry_run;
  result.cutoff = IsoInstant(cutoff_us);

  // Each distinct partition value is decided once.
  std::map<std::string, bool> expired_values;
  auto expired = [&](const PartitionValues& values) -> arrow::Result<bool> {
    auto found = values.find(options.column);
    if (found == values.end() || !found->second || found->second->empty()) return false;
    auto known = expired_values.find(*found->second);
    if (known != expired_values.end()) return known->second;
    ARROW_ASSIGN_OR_RAISE(auto scalar, data::ParsePartitionValue(found->second, type));
    bool is_expired = false;
    if (scalar->is_valid && is_date) {
      int64_t day = std::static_pointer_cast<arrow::Date32Scalar>(scalar)->value;
      is_expired = (day + 1) * kMicrosPerDay <= cutoff_us;
    } else if (scalar->is_valid) {
      auto timestamp = std::static_pointer_cast<arrow::TimestampScalar>(scalar);
      const auto unit = std::static_pointer_cast<arrow::TimestampType>(type)->unit();
      int64_t micros = timestamp->value;
      switch (unit) {
        case arrow::TimeUnit::SECOND:
          micros *= 1'000'000;
          break;
        case arrow::TimeUnit::MILLI:
          micros *= 1000;
          break;
        case arrow::TimeUnit::MICRO:
          break;
        case arrow::TimeUnit::NANO:
          micros /= 1000;
          break;
      }
      is_expired = micros < cutoff_us;
    }
    expired_values.emplace(*found->second, is_expired);
    return is_expired;
  };

  auto transaction = log.StartTransaction(snapshot);
  const int64_t now = now_ms;
  std::set<std::string> expired_partitions;
  for (const AddFile& file : snapshot->files()) {
    ARROW_ASSIGN_OR_RAISE(bool is_expired, expired(file.partition_values));
    if (!is_expired) continue;
    expired_partitions.insert(*file.partition_values.at(options.column));
    ++result.files_removed;
    result.bytes_removed += file.size;
    result.rows_removed += NumRecords(file.stats);
    transaction->RemoveFile(MakeRemoveFile(file, now));
  }
  result.partitions.assign(expired_partitions.begin(), expired_partitions.end());
  // The predicate as SQL over the partition column: a date compares with the first day kept.
  if (is_date) {
    int64_t first_kept_day = cutoff_us / kMicrosPerDay;
    if (cutoff_us % kMicrosPerDay < 0) --first_kept_day;
    // A day is expired when it ends by the cutoff: every day before floor(cutoff) qualifies.
    result.predicate = options.column + " < '" + IsoDate(first_kept_day) + "'";
  } else {
    result.predicate = options.column + " < '" + result.cutoff + "'";
  }
  if (options.dry_run || result.files_removed == 0) {
    result.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - started)
                             .count();
    return result;
  }
  // A concurrent write into an expired partition conflicts and fails the commit (retried by
  // the next pass), so rows written meanwhile are never deleted unseen.
  transaction->ReadPartitions([expired](const PartitionValues& values) mutable {
    auto is_expired = expired(values);
    return !is_expired.ok() || *is_expired;
  });
  std::string predicate_json = "[";
  AppendJsonString(&predicate_json, result.predicate);
  predicate_json += "]";
  transaction->SetOperation("DELETE", {{"predicate", predicate_json}});
  ARROW_ASSIGN_OR_RAISE(CommitResult committed, transaction->Commit());
  result.committed_version = committed.version;
  result.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - started)
                           .count();
  return result;
}

}  // namespace nlk::delta
