// Typed errors of the Delta log layer.
//
// Every error is an arrow::Status whose message is meant for a user; the attached detail lets a
// caller react to the kind of failure (retry after a conflict, tell "no table here" apart from an
// I/O failure) without parsing messages.
#pragma once

#include <arrow/status.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace nlk::delta {

enum class LogErrorKind {
  kNotATable,           // no _delta_log or no commits under the table root
  kVersionNotFound,     // a version or timestamp outside what the log can reconstruct
  kCorruptLog,          // the log breaks the protocol: gaps, malformed JSON, bad checkpoints
  kUnsupportedFeature,  // the table needs a reader or writer feature we do not implement
  kConcurrentAppend,
  kConcurrentDeleteRead,
  kConcurrentDeleteDelete,
  kMetadataChanged,
  kProtocolChanged,
  kConcurrentTransaction,
  kConcurrentDomainMetadata,
  kTooManyCommitAttempts,
};

// The user-facing name of a kind, e.g. "ConcurrentAppend".
const char* LogErrorKindName(LogErrorKind kind);

class LogErrorDetail : public arrow::StatusDetail {
 public:
  LogErrorDetail(LogErrorKind kind, std::optional<int64_t> version)
      : kind_(kind), version_(version) {}
  const char* type_id() const override;
  std::string ToString() const override;
  LogErrorKind kind() const { return kind_; }
  // For conflicts: the winning commit version. For kVersionNotFound: the requested version.
  std::optional<int64_t> version() const { return version_; }

 private:
  LogErrorKind kind_;
  std::optional<int64_t> version_;
};

arrow::Status LogError(LogErrorKind kind, std::string message,
                       std::optional<int64_t> version = std::nullopt);

// The detail of a status made by LogError, or nullptr.
const LogErrorDetail* GetLogErrorDetail(const arrow::Status& status);
bool IsLogError(const arrow::Status& status, LogErrorKind kind);
// True for every conflict kind: the caller may re-read the table and retry its operation.
bool IsConcurrentModification(const arrow::Status& status);

}  // namespace nlk::delta
