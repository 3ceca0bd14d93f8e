// The streaming writer behind `nlk ingest`: Kafka → Delta with exactly-once commits.
//
// Two threads. The polling thread polls a batch of messages (as a consumer-group member), decodes
// them into the row buffer (rejected messages become dead letters), and when the FlushPolicy says
// so, hands the buffer to a flush and starts a new one. Flushes run on a FlushPipeline thread:
// write the buffer as Parquet and commit it, one flush at a time, in the order they were handed
// over. At most `max_flushes_in_flight` flushes wait or run; handing over another one waits for
// room, so memory stays bounded by that many buffers plus the one being filled. Consuming and
// decoding therefore go on while the previous buffer is encoded and committed.
//
// Exactly-once. Each data commit carries, in the same atomic Delta commit as the files, one txn
// action per topic-partition with rows (or dead letters) in the flush: app id
// "nlk-ingest:<topic>:<partition>", version = the last offset flushed. The table is therefore the
// only record of progress. On start and on every assignment the writer reads a fresh snapshot
// and resumes each partition at its recorded version + 1; Kafka's committed offsets are only
// written (for lag tooling), never read. A writer killed at any moment either committed a flush
// (its offsets with it) or did not (neither), so a restart neither loses nor repeats a message.
//
// Several writers, one group. Partitions move between writers on rebalances. Before a revocation
// completes, the writer commits what it buffered (a cooperative rebalance lets it); partitions
// reported lost are not committed, their buffer is dropped. Against a writer that does not yet
// know it lost a partition (a "zombie"), each commit is checked: it starts from a snapshot in
// which the recorded version of every partition it carries equals the version this writer last
// saw, and it declares those app ids as read, so a commit of the same partition by anyone else,
// before or during ours, fails it (counted as a commit conflict). The writer then drops the whole
// buffer, and every flush queued behind the failed one (their offsets build on it), re-reads the
// table and rewinds every partition it still holds to the recorded positions. Appends of other
// partitions by other writers never conflict.
//
// Pipelining keeps this exact: flushes commit in order, and each carries per partition the offset
// the table must record before it ("previous": the last offset of the flush before it, or the
// table's) and the last offset it holds, so the check above compares the snapshot with
// "previous". Every rebalance event, and every rewind, first waits for the flushes in flight and
// applies their outcome, so a revocation commits everything buffered or in flight before the
// partitions go, and an assignment reads the table only after our own commits landed.
//
// Dead letters go to their own Delta table (schema: dead_letter.h), in a commit made BEFORE the
// data commit of the same flush, carrying txn actions "nlk-ingest-dlq:<topic>:<partition>" with
// the last dead-letter offset of each partition. The two tables cannot commit atomically
// together, so the order and the recorded versions make the pair exactly-once:
//   - dead-letter commit lands, writer dies before the data commit: the data table still records
//     the old offsets, the messages are consumed again, and the dead letters at or below the
//     dead-letter table's recorded version are recognised as already stored and not written
//     twice;
//   - the data commit never lands before the dead letters of its offsets are stored, so a
//     recorded data offset implies its dead letters are in the dead-letter table.
// The filtering happens when the dead-letter commit is prepared, against a fresh snapshot of
// that table, and the commit conflicts with a concurrent one for the same partition (then it is
// prepared again), so two writers racing over one range store each dead letter once.
//
// Shutdown: Run() returns when `stop` becomes true (SIGTERM/SIGINT), after a final flush, waiting
// for every flush in flight, and a clean leave of the group; the leave revokes the partitions,
// which flushes nothing more since the buffer is empty. On an error Run() stops without committing
// the buffer (the next run consumes it again) and returns the error; flushes already handed over
// finish (each is a complete, checked commit) before it returns.
//
// Thread-safety: a StreamWriter is not thread-safe; one thread calls Run(). Its flush thread uses
// the table sinks only while a flush is in flight, and the polling thread only after waiting for
// the flushes. The metrics it records may be read from any thread.
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>
#include <arrow/type_fwd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/batch_accumulator.h"
#include "ingest/dead_letter.h"
#include "ingest/flush_pipeline.h"
#include "ingest/flush_policy.h"
#include "ingest/ingest_metrics.h"
#include "ingest/kafka_consumer.h"
#include "ingest/message_decoder.h"
#include "ingest/partition_offsets.h"
#include "ingest/table_sink.h"

namespace nlk::ingest {

inline constexpr std::string_view kDeadLetterAppIdPrefix = "nlk-ingest-dlq:";
std::string DeadLetterAppIdFor(const TopicPartition& topic_partition);

// "<table>_dead_letters", next to the table (a trailing '/' of the URI is ignored).
std::string DefaultDeadLetterTableUri(const std::string& table_uri);

struct StreamWriterOptions {
  std::string table_uri;
  // Empty: DefaultDeadLetterTableUri(table_uri).
  std::string dead_letter_table_uri;
  ConsumerOptions consumer;
  // The payload format, and whether new JSON fields / Arrow columns extend the table schema.
  DecoderOptions decoder;
  FlushLimits flush_limits;
  // Where partitions the table has never recorded start. Only earliest guarantees that nothing
  // produced before the first commit is skipped.
  StartPosition start_position = StartPosition::kEarliest;
  // The schema of the table when it does not exist yet (it is created on the first flush); null:
  // the table must exist.
  std::shared_ptr<arrow::Schema> create_schema;
  delta::CreateOptions create_options;
  // Stop (after a final flush) once no message arrived for this long while partitions were
  // assigned; zero: run until stopped.
  std::chrono::milliseconds exit_when_idle{0};
  // Upper bound of messages taken per poll, so flush checks happen regularly at high rates.
  size_t max_poll_messages = 50000;
  // Flushes handed over but not committed yet (at least 1). Each holds one buffer in memory. Two
  // keep the polling thread polling through an occasional slow flush: while it waits for room,
  // librdkafka's queue fills and its fetches back off, which costs more than the flush itself
  // (measured: 20 M samples in 3.4-4.2 s with two, 5.4-6.1 s with one).
  size_t max_flushes_in_flight = 2;
};

struct StreamWriterTotals {
  int64_t rows = 0;
  int64_t commits = 0;
  int64_t dead_letters = 0;
  int64_t conflicts = 0;
};

class StreamWriter : private RebalanceListener {
 public:
  // Checks the options, opens (or prepares to create) the table, and joins the consumer group.
  // `metrics` may be null; otherwise it must outlive the writer.
  static arrow::Result<std::unique_ptr<StreamWriter>> Open(StreamWriterOptions options,
                                                           IngestMetrics* metrics);
  ~StreamWriter() override;
  StreamWriter(const StreamWriter&) = delete;
  StreamWriter& operator=(const StreamWriter&) = delete;

  // Consumes and commits until `stop` is set or the idle limit passes (both end with a flush and
  // leaving the group), or an error.
  arrow::Status Run(const std::atomic<bool>& stop);

  const StreamWriterTotals& totals() const { return totals_; }

 private:
  explicit StreamWriter(StreamWriterOptions options, IngestMetrics* metrics);

  arrow::Result<std::vector<PartitionStart>> OnAssigned(
      const std::vector<TopicPartition>& partitions) override;
  arrow::Status OnRevoked(const std::vector<TopicPartition>& partitions, bool lost) override;

  // One buffer on its way into the table.
  struct FlushJob {
    std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
    int64_t rows = 0;
    std::vector<FlushedRange> ranges;
    std::vector<DeadLetter> dead_letters;
    // Set by the flush thread.
    SinkCommit commit;
    int64_t dead_letters_stored = 0;
    bool conflict = false;
    double seconds = 0;
  };

  // Decodes and buffers the messages of one poll.
  arrow::Status Buffer(const std::vector<KafkaMessage>& messages);
  // Hands the buffer to the flush thread (waiting while the pipeline is full). Nothing to do when
  // nothing is buffered. `reason` is why, for the flush policy (kNone: a rebalance or stopping).
  arrow::Status StartFlush(FlushReason reason = FlushReason::kNone);
  // Applies the outcome of the flushes that finished, without waiting.
  arrow::Status CollectFlushes();
  // Waits for every flush in flight and applies their outcome.
  arrow::Status WaitForFlushes();
  // Applies finished flushes in order: committed ones advance the offsets; after a conflict, the
  // flushes behind it and the buffer are dropped and the partitions marked for a rewind. Returns
  // the first error of a flush.
  arrow::Status ApplyFlushes(std::vector<FlushPipeline::Completion> completions);
  // Runs on the flush thread: dead letters first, then the data with the offsets. A conflict sets
  // job.conflict and fails the job so that the flushes queued behind it do not run.
  arrow::Status WriteAndCommit(FlushJob& job);
  // Stores the flush's dead letters that the dead-letter table does not hold yet.
  arrow::Status CommitDeadLetters(FlushJob& job);
  // Forgets the buffer and marks the partitions for a rewind. No flush may be in flight.
  void DropBuffer();
  // Re-reads the table and moves every assigned partition to its recorded position.
  arrow::Status Rewind();
  void UpdateLag();

  StreamWriterOptions options_;
  IngestMetrics* metrics_;
  std::unique_ptr<TableSink> table_;
  std::unique_ptr<TableSink> dead_letter_table_;
  std::unique_ptr<MessageDecoder> decoder_;
  std::unique_ptr<BatchAccumulator> accumulator_;
  FlushPolicy policy_;
  PartitionOffsets offsets_;
  std::vector<DeadLetter> dead_letters_;
  int64_t dead_letter_bytes_ = 0;
  std::unique_ptr<KafkaConsumer> consumer_;
  // Set when a buffer was dropped. Inside a rebalance callback the rest of that poll's messages
  // may skip offsets relative to the rewound positions, so after the poll they are discarded and
  // fetched again.
  bool rewind_required_ = false;
  // Set after an error: the final revocation must not commit a buffer of unknown state.
  bool failed_ = false;
  std::chrono::steady_clock::time_point last_lag_update_;
  StreamWriterTotals totals_;
  // Flushes handed over, oldest first, matching the pipeline's tickets.
  std::deque<std::shared_ptr<FlushJob>> jobs_;
  // Last: its thread runs jobs that use the members above, so it stops first.
  std::unique_ptr<FlushPipeline> pipeline_;
};

}  // namespace nlk::ingest
