#include "delta/log/data_freshness.h"

#include <array>
#include <string_view>

namespace nlk::delta {

bool MayBringNewData(const std::optional<CommitInfo>& commit_info) {
  static constexpr std::array<std::string_view, 6> kMaintenance = {
      "OPTIMIZE",          "VACUUM START",        "VACUUM END",
      "SET TBLPROPERTIES", "UNSET TBLPROPERTIES", "UPGRADE PROTOCOL"};
  if (!commit_info || !commit_info->operation) return true;
  for (std::string_view operation : kMaintenance) {
    if (*commit_info->operation == operation) return false;
  }
  return true;
}

std::optional<int64_t> NewestDataCommitMs(const std::vector<CommitRecord>& history) {
  for (const CommitRecord& commit : history) {
    if (MayBringNewData(commit.commit_info)) return commit.timestamp_ms;
  }
  if (history.empty()) return std::nullopt;
  return history.back().timestamp_ms;
}

}  // namespace nlk::delta
