#include "ingest/partition_offsets.h"

#include <arrow/status.h>

#include <charconv>

namespace nlk::ingest {

std::string AppIdFor(const TopicPartition& topic_partition) {
  return std::string(kAppIdPrefix) + topic_partition.topic + ":" +
         std::to_string(topic_partition.partition);
}

std::optional<TopicPartition> ParseAppId(std::string_view app_id) {
  if (!app_id.starts_with(kAppIdPrefix)) return std::nullopt;
  app_id.remove_prefix(kAppIdPrefix.size());
  size_t separator = app_id.rfind(':');
  if (separator == std::string_view::npos || separator == 0) return std::nullopt;
  std::string_view digits = app_id.substr(separator + 1);
  int32_t partition = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), partition);
  if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() ||
      partition < 0) {
    return std::nullopt;
  }
  return TopicPartition{std::string(app_id.substr(0, separator)), partition};
}

arrow::Result<StartPosition> ParseStartPosition(std::string_view name) {
  if (name == "earliest") return StartPosition::kEarliest;
  if (name == "latest") return StartPosition::kLatest;
  return arrow::Status::Invalid("unknown start position '", name,
                                "' (expected earliest or latest)");
}

std::optional<int64_t> RecordedOffset(const RecordedTransactions& recorded,
                                      const TopicPartition& topic_partition) {
  auto found = recorded.find(AppIdFor(topic_partition));
  if (found == recorded.end()) return std::nullopt;
  return found->second.version;
}

PartitionStart ResumePosition(const RecordedTransactions& recorded,
                              const TopicPartition& topic_partition, StartPosition start) {
  if (auto offset = RecordedOffset(recorded, topic_partition)) {
    return {topic_partition, *offset + 1};
  }
  return {topic_partition, start == StartPosition::kEarliest ? kEarliestOffset : kLatestOffset};
}

std::vector<delta::SetTransaction> TransactionsFor(const std::vector<FlushedRange>& ranges,
                                                   int64_t now_ms) {
  std::vector<delta::SetTransaction> transactions;
  transactions.reserve(ranges.size());
  for (const FlushedRange& range : ranges) {
    transactions.push_back(
        delta::SetTransaction{AppIdFor(range.topic_partition), range.last, now_ms});
  }
  return transactions;
}

void PartitionOffsets::Assign(const TopicPartition& topic_partition,
                              std::optional<int64_t> committed) {
  partitions_[topic_partition] = State{committed, std::nullopt, std::nullopt, std::nullopt};
}

void PartitionOffsets::Revoke(const TopicPartition& topic_partition) {
  partitions_.erase(topic_partition);
}

bool PartitionOffsets::Accept(const TopicPartition& topic_partition, int64_t offset) {
  auto found = partitions_.find(topic_partition);
  if (found == partitions_.end()) return false;
  State& state = found->second;
  std::optional<int64_t> last = state.pending     ? state.pending
                                : state.in_flight ? state.in_flight
                                                  : state.committed;
  if (last && offset <= *last) return false;
  if (!state.first_uncommitted) state.first_uncommitted = offset;
  state.pending = offset;
  return true;
}

bool PartitionOffsets::has_pending() const {
  for (const auto& [topic_partition, state] : partitions_) {
    if (state.pending) return true;
  }
  return false;
}

std::vector<FlushedRange> PartitionOffsets::TakePending() {
  std::vector<FlushedRange> ranges;
  for (auto& [topic_partition, state] : partitions_) {
    if (!state.pending) continue;
    ranges.push_back(
        {topic_partition, state.in_flight ? state.in_flight : state.committed, *state.pending});
    state.in_flight = state.pending;
    state.pending.reset();
  }
  return ranges;
}

std::vector<PartitionStart> PartitionOffsets::OnCommitted(const std::vector<FlushedRange>& ranges) {
  std::vector<PartitionStart> advanced;
  for (const FlushedRange& range : ranges) {
    auto found = partitions_.find(range.topic_partition);
    if (found == partitions_.end()) continue;
    State& state = found->second;
    state.committed = range.last;
    if (state.in_flight && *state.in_flight <= range.last) state.in_flight.reset();
    // The first offset not yet in the table is unknown here (offsets may have gaps); only a
    // drop needs it, and then one past the committed offset is as good.
    if (!state.in_flight && !state.pending) state.first_uncommitted.reset();
    advanced.push_back({range.topic_partition, range.last + 1});
  }
  return advanced;
}

std::vector<PartitionStart> PartitionOffsets::OnDropped() {
  std::vector<PartitionStart> rewind;
  for (auto& [topic_partition, state] : partitions_) {
    if (!state.pending && !state.in_flight) continue;
    rewind.push_back(
        {topic_partition, state.committed ? *state.committed + 1 : *state.first_uncommitted});
    state.first_uncommitted.reset();
    state.in_flight.reset();
    state.pending.reset();
  }
  return rewind;
}

std::vector<TopicPartition> PartitionOffsets::assigned() const {
  std::vector<TopicPartition> result;
  for (const auto& [topic_partition, state] : partitions_) result.push_back(topic_partition);
  return result;
}

std::optional<int64_t> PartitionOffsets::committed(const TopicPartition& topic_partition) const {
  auto found = partitions_.find(topic_partition);
  if (found == partitions_.end()) return std::nullopt;
  return found->second.committed;
}

}  // namespace nlk::ingest
