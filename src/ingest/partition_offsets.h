// Exactly-once bookkeeping between Kafka offsets and Delta `txn` actions.
//
// Every commit of the writer carries one SetTransaction per topic-partition it has rows (or dead
// letters) for: app id "nlk-ingest:<topic>:<partition>", version = the last offset written. The
// commit is atomic, so the table records exactly the offsets whose messages it holds, and a
// writer resumes each partition at version + 1 no matter what Kafka's committed offsets say. A
// partition the table has never seen starts at the configured start position (earliest by
// default, so nothing produced before the first commit is skipped).
//
// The app id names the source, not the consumer group or the writer: renaming the group or adding
// writers must not replay a partition. Kafka topic names are limited to [a-zA-Z0-9._-], so the
// ':' separators make the id unambiguous; delta-spark's and delta-rs's own streaming writers use
// other prefixes, so their txn actions are never mistaken for ours.
//
// The table must keep txn actions: delta.setTransactionRetentionDuration, when set, must exceed
// the longest time a partition can go without messages, or that partition resumes from the start
// position again.
//
// Thread-safety: PartitionOffsets is not thread-safe; the writer's polling thread owns it. The free
// functions are pure.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "delta/log/actions.h"
#include "ingest/kafka_message.h"

namespace nlk::ingest {

inline constexpr std::string_view kAppIdPrefix = "nlk-ingest:";

std::string AppIdFor(const TopicPartition& topic_partition);
// The topic-partition of one of our app ids; nullopt for anything else (other writers' ids).
std::optional<TopicPartition> ParseAppId(std::string_view app_id);

// Where a partition the table has never recorded starts.
enum class StartPosition { kEarliest, kLatest };
// Accepts "earliest" and "latest".
arrow::Result<StartPosition> ParseStartPosition(std::string_view name);

// Kafka's logical offsets (the protocol's, and librdkafka's RD_KAFKA_OFFSET_BEGINNING/END).
inline constexpr int64_t kEarliestOffset = -2;
inline constexpr int64_t kLatestOffset = -1;

// A partition and the offset to consume it from: a real offset or a logical one.
struct PartitionStart {
  TopicPartition topic_partition;
  int64_t offset = kEarliestOffset;

  bool operator==(const PartitionStart&) const = default;
};

using RecordedTransactions = std::map<std::string, delta::SetTransaction>;

// The version the table records for `topic_partition`, if any.
std::optional<int64_t> RecordedOffset(const RecordedTransactions& recorded,
                                      const TopicPartition& topic_partition);

// One past the recorded version, or the logical offset of `start` when none is recorded.
PartitionStart ResumePosition(const RecordedTransactions& recorded,
                              const TopicPartition& topic_partition, StartPosition start);

// The offsets one flush takes out of the buffer of one partition: the table must record
// `previous` (nullopt: nothing) when the flush commits, and records `last` after it.
struct FlushedRange {
  TopicPartition topic_partition;
  std::optional<int64_t> previous;
  int64_t last = 0;

  bool operator==(const FlushedRange&) const = default;
};

// The txn actions that record `ranges` (version = the last offset of each), in their order.
std::vector<delta::SetTransaction> TransactionsFor(const std::vector<FlushedRange>& ranges,
                                                   int64_t now_ms);

// Tracks, per assigned partition, the last offset the table holds, the last one handed to
// flushes still in flight, and the last one buffered.
//
// Offsets move through three stages: buffered (Accept), in flight (TakePending hands the buffer
// to a flush) and committed (OnCommitted, once that flush's commit landed). Flushes commit in the
// order they were taken, so each range's `previous` is what the table records once every earlier
// flush committed.
class PartitionOffsets {
 public:
  // Takes over a partition whose last offset in the table is `committed` (nullopt: none).
  void Assign(const TopicPartition& topic_partition, std::optional<int64_t> committed);
  // Gives a partition up; whatever it had buffered or in flight must have been committed or
  // dropped first.
  void Revoke(const TopicPartition& topic_partition);

  // Whether a message is new to this writer, recording it as buffered if so. False for partitions
  // not assigned and for offsets at or below what the table, a flush in flight or the buffer
  // already holds, which a consumer can redeliver around seeks and rebalances.
  bool Accept(const TopicPartition& topic_partition, int64_t offset);

  bool has_pending() const;
  // Hands everything buffered to a flush: one range per partition with buffered messages, in
  // topic-partition order. The buffer is empty afterwards and its offsets are in flight.
  std::vector<FlushedRange> TakePending();
  // The flush of `ranges` committed: those offsets are now in the table. Returns the next offset
  // of each partition that advanced, for reporting consumer lag to Kafka. Ranges of partitions
  // no longer assigned are ignored.
  std::vector<PartitionStart> OnCommitted(const std::vector<FlushedRange>& ranges);
  // Everything buffered and in flight was dropped (after losing partitions, or a failed flush):
  // forgets it and returns where each affected partition must be consumed from again (one past
  // what the table holds, as far as this writer knows).
  std::vector<PartitionStart> OnDropped();

  std::vector<TopicPartition> assigned() const;
  std::optional<int64_t> committed(const TopicPartition& topic_partition) const;

 private:
  struct State {
    std::optional<int64_t> committed;
    std::optional<int64_t> in_flight;
    std::optional<int64_t> first_uncommitted;
    std::optional<int64_t> pending;
  };
  std::map<TopicPartition, State> partitions_;
};

}  // namespace nlk::ingest
