#include "delta/data/scan_cache.h"

namespace nlk::delta::data {
namespace {

std::string FooterKey(const std::string& location, int64_t size) {
  return location + '\n' + std::to_string(size);
}

std::string StatisticsKey(const std::string& schema_key, const std::string& path,
                          const std::string& stats_json) {
  std::string key;
  key.reserve(schema_key.size() + path.size() + stats_json.size() + 2);
  key.append(schema_key).append(1, '\n').append(path).append(1, '\n').append(stats_json);
  return key;
}

// Parsed statistics hold a scalar per bound; charge them at a multiple of their JSON text.
constexpr int64_t kStatisticsBytesPerJsonByte = 4;
// A parsed footer is larger than its serialized form (schema tree, row group objects).
constexpr int64_t kFooterBytesPerSerializedByte = 4;

}  // namespace

ScanCache::ScanCache(const ScanCacheOptions& options)
    : footers_(options.footer_bytes), statistics_(options.statistics_bytes) {}

const std::shared_ptr<ScanCache>& ScanCache::Default() {
  // Leaked on purpose: scans running on pool threads at exit must not see it destroyed.
  static const auto* cache = new std::shared_ptr<ScanCache>(std::make_shared<ScanCache>());
  return *cache;
}

std::shared_ptr<parquet::FileMetaData> ScanCache::FindFooter(const std::string& location,
                                                             int64_t size) {
  return footers_.Find(FooterKey(location, size));
}

void ScanCache::InsertFooter(const std::string& location, int64_t size,
                             std::shared_ptr<parquet::FileMetaData> footer) {
  int64_t bytes = kFooterBytesPerSerializedByte * footer->size();
  footers_.Insert(FooterKey(location, size), std::move(footer), bytes);
}

std::shared_ptr<const FileStatistics> ScanCache::FindStatistics(const std::string& schema_key,
                                                                const std::string& path,
                                                                const std::string& stats_json) {
  return statistics_.Find(StatisticsKey(schema_key, path, stats_json));
}

void ScanCache::InsertStatistics(const std::string& schema_key, const std::string& path,
                                 const std::string& stats_json,
                                 std::shared_ptr<const FileStatistics> statistics) {
  int64_t bytes = kStatisticsBytesPerJsonByte * static_cast<int64_t>(stats_json.size());
  statistics_.Insert(StatisticsKey(schema_key, path, stats_json), std::move(statistics), bytes);
}

void ScanCache::SetCapacity(const ScanCacheOptions& options) {
  footers_.SetCapacity(options.footer_bytes);
  statistics_.SetCapacity(options.statistics_bytes);
}

ScanCache::Counts ScanCache::counts() const { return {footers_.counts(), statistics_.counts()}; }

}  // namespace nlk::delta::data
