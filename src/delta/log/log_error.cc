#include "delta/log/log_error.h"

namespace nlk::delta {

namespace {
constexpr char kTypeId[] = "nlk::delta::LogErrorDetail";
}

const char* LogErrorKindName(LogErrorKind kind) {
  switch (kind) {
    case LogErrorKind::kNotATable:
      return "NotADeltaTable";
    case LogErrorKind::kVersionNotFound:
      return "VersionNotFound";
    case LogErrorKind::kCorruptLog:
      return "CorruptLog";
    case LogErrorKind::kUnsupportedFeature:
      return "UnsupportedFeature";
    case LogErrorKind::kConcurrentAppend:
      return "ConcurrentAppend";
    case LogErrorKind::kConcurrentDeleteRead:
      return "ConcurrentDeleteRead";
    case LogErrorKind::kConcurrentDeleteDelete:
      return "ConcurrentDeleteDelete";
    case LogErrorKind::kMetadataChanged:
      return "MetadataChanged";
    case LogErrorKind::kProtocolChanged:
      return "ProtocolChanged";
    case LogErrorKind::kConcurrentTransaction:
      return "ConcurrentTransaction";
    case LogErrorKind::kConcurrentDomainMetadata:
      return "ConcurrentDomainMetadata";
    case LogErrorKind::kTooManyCommitAttempts:
      return "TooManyCommitAttempts";
  }
  return "Unknown";
}

const char* LogErrorDetail::type_id() const { return kTypeId; }

std::string LogErrorDetail::ToString() const {
  std::string text = LogErrorKindName(kind_);
  if (version_) text += " (version " + std::to_string(*version_) + ")";
  return text;
}

arrow::Status LogError(LogErrorKind kind, std::string message, std::optional<int64_t> version) {
  arrow::StatusCode code = arrow::StatusCode::Invalid;
  switch (kind) {
    case LogErrorKind::kNotATable:
    case LogErrorKind::kVersionNotFound:
      code = arrow::StatusCode::KeyError;
      break;
    case LogErrorKind::kCorruptLog:
      code = arrow::StatusCode::IOError;
      break;
    case LogErrorKind::kUnsupportedFeature:
      code = arrow::StatusCode::NotImplemented;
      break;
    default:
      // Conflicts: the operation was valid but lost a race.
      code = arrow::StatusCode::Cancelled;
      break;
  }
  return arrow::Status(code, std::move(message), std::make_shared<LogErrorDetail>(kind, version));
}

const LogErrorDetail* GetLogErrorDetail(const arrow::Status& status) {
  const auto& detail = status.detail();
  if (detail == nullptr || std::string_view(detail->type_id()) != kTypeId) return nullptr;
  return static_cast<const LogErrorDetail*>(detail.get());
}

bool IsLogError(const arrow::Status& status, LogErrorKind kind) {
  const LogErrorDetail* detail = GetLogErrorDetail(status);
  return detail != nullptr && detail->kind() == kind;
}

bool IsConcurrentModification(const arrow::Status& status) {
  const LogErrorDetail* detail = GetLogErrorDetail(status);
  if (detail == nullptr) return false;
  switch (detail->kind()) {
    case LogErrorKind::kConcurrentAppend:
    case LogErrorKind::kConcurrentDeleteRead:
    case LogErrorKind::kConcurrentDeleteDelete:
    case LogErrorKind::kMetadataChanged:
    case LogErrorKind::kProtocolChanged:
    case LogErrorKind::kConcurrentTransaction:
    case LogErrorKind::kConcurrentDomainMetadata:
      return true;
    default:
      return false;
  }
}

}  // namespace nlk::delta
