#include "ingest/stream_writer.h"

#include <arrow/array/builder_base.h>
#include <arrow/record_batch.h>

#include <algorithm>
#include <map>
#include <utility>

#include "delta/log/log_error.h"

namespace nlk::ingest {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// How long Poll() may block while nothing is buffered: bounds how late a stop request is seen.
constexpr milliseconds kIdlePollTimeout{200};
constexpr milliseconds kSeekTimeout{10000};
constexpr std::chrono::seconds kLagUpdateInterval{1};
// A dead-letter commit that keeps losing races to other writers of the same partitions.
constexpr int kDeadLetterCommitAttempts = 10;

int64_t NowMs() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const RecordedTransactions& RecordedIn(const std::shared_ptr<const delta::Snapshot>& snapshot) {
  static const RecordedTransactions kNone;
  return snapshot == nullptr ? kNone : snapshot->app_transactions();
}

}  // namespace

std::string DeadLetterAppIdFor(const TopicPartition& topic_partition) {
  return std::string(kDeadLetterAppIdPrefix) + topic_partition.topic + ":" +
         std::to_string(topic_partition.partition);
}

std::string DefaultDeadLetterTableUri(const std::string& table_uri) {
  std::string base = table_uri;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  return base + "_dead_letters";
}

StreamWriter::StreamWriter(StreamWriterOptions options, IngestMetrics* metrics)
    : options_(std::move(options)), metrics_(metrics), policy_(options_.flush_limits) {}

StreamWriter::~StreamWriter() {
  if (consumer_ != nullptr) {
    // Leaving without Run()'s final flush: whatever is buffered is consumed again next time.
    failed_ = true;
    arrow::Status ignored = consumer_->Close();
  }
}

arrow::Result<std::unique_ptr<StreamWriter>> StreamWriter::Open(StreamWriterOptions options,
                                                                IngestMetrics* metrics) {
  if (options.table_uri.empty()) return arrow::Status::Invalid("no table URI given");
  ARROW_RETURN_NOT_OK(ValidateFlushLimits(options.flush_limits));
  if (options.dead_letter_table_uri.empty()) {
    options.dead_letter_table_uri = DefaultDeadLetterTableUri(options.table_uri);
  }
  if (options.dead_letter_table_uri == options.table_uri) {
    return arrow::Status::Invalid("the dead-letter table must differ from the table (",
                                  options.table_uri, ")");
  }
  if (options.consumer.prefetch_bytes == 0) {
    options.consumer.prefetch_bytes = PrefetchBytesFor(options.flush_limits);
  }
  std::unique_ptr<StreamWriter> writer(new StreamWriter(std::move(options), metrics));
  const StreamWriterOptions& settings = writer->options_;
  ARROW_ASSIGN_OR_RAISE(writer->table_, TableSink::Open(settings.table_uri, settings.create_schema,
                                                        settings.create_options));
  ARROW_ASSIGN_OR_RAISE(auto schema, writer->table_->Schema());
  auto accumulator = BatchAccumulator::Make(schema);
  if (!accumulator.ok()) {
    return accumulator.status().WithMessage(
        "table ", settings.table_uri, " cannot be ingested into: ", accumulator.status().message());
  }
  writer->accumulator_ = std::move(*accumulator);
  delta::CreateOptions dead_letter_create;
  dead_letter_create.name = "dead letters of " + settings.table_uri;
  ARROW_ASSIGN_OR_RAISE(writer->dead_letter_table_,
                        TableSink::Open(settings.dead_letter_table_uri, DeadLetterSchema(),
                                        std::move(dead_letter_create)));
  writer->decoder_ = std::make_unique<MessageDecoder>(settings.decoder);
  writer->pipeline_ = std::make_unique<FlushPipeline>(settings.max_flushes_in_flight);
  ARROW_ASSIGN_OR_RAISE(writer->consumer_, KafkaConsumer::Open(settings.consumer, writer.get()));
  return writer;
}

arrow::Result<std::vector<PartitionStart>> StreamWriter::OnAssigned(
    const std::vector<TopicPartition>& partitions) {
  // Our own flushes first (a cooperative assignment can come while one runs), then a fresh
  // snapshot: the previous owner committed its buffer just before letting go.
  ARROW_RETURN_NOT_OK(WaitForFlushes());
  ARROW_ASSIGN_OR_RAISE(auto snapshot, table_->Refresh());
  const RecordedTransactions& recorded = RecordedIn(snapshot);
  std::vector<PartitionStart> starts;
  for (const TopicPartition& partition : partitions) {
    offsets_.Assign(partition, RecordedOffset(recorded, partition));
    starts.push_back(ResumePosition(recorded, partition, options_.start_position));
  }
  return starts;
}

arrow::Status StreamWriter::OnRevoked(const std::vector<TopicPartition>& partitions, bool lost) {
  arrow::Status status;
  if (lost || failed_) {
    // Flushes in flight cannot be called back; each one's commit is checked against the table,
    // so a partition another member took over fails it rather than duplicating rows. The buffer
    // is not committed: another member may own its partitions already.
    status = WaitForFlushes();
    DropBuffer();
  } else {
    status = StartFlush();
    if (status.ok()) status = WaitForFlushes();
  }
  for (const TopicPartition& partition : partitions) offsets_.Revoke(partition);
  return status;
}

arrow::Status StreamWriter::Run(const std::atomic<bool>& stop) {
  auto last_message = steady_clock::now();
  arrow::Status status;
  while (!stop.load(std::memory_order_relaxed)) {
    milliseconds timeout =
        policy_.empty() ? kIdlePollTimeout : std::min(kIdlePollTimeout, policy_.TimeUntilDue());
    auto polled = consumer_->Poll(timeout, policy_.MessagesThatFit(options_.max_poll_messages));
    if (!polled.ok()) {
      status = polled.status();
      break;
    }
    // A flush that failed or lost a conflict drops everything after it, so the outcome of the
    // flushes is applied before the new messages are buffered.
    if (!rewind_required_) {
      status = CollectFlushes();
      if (!status.ok()) break;
    }
    if (rewind_required_) {
      // A buffer was dropped (in a rebalance callback, or after a conflict); messages polled
      // around it may skip offsets relative to the rewound positions, so they are fetched again
      // instead.
      status = Rewind();
      if (!status.ok()) break;
      continue;
    }
    if (!polled->empty()) last_message = steady_clock::now();
    status = Buffer(*polled);
    if (!status.ok()) break;
    FlushReason reason = policy_.ShouldFlush();
    if (reason == FlushReason::kNone && polled->empty()) reason = policy_.ShouldFlushWhenIdle();
    if (reason != FlushReason::kNone) {
      status = StartFlush(reason);
      if (!status.ok()) break;
      // Time spent waiting for room in the pipeline is not idle time.
      last_message = steady_clock::now();
    }
    UpdateLag();
    if (options_.exit_when_idle.count() > 0) {
      // Idle means "assigned, and nothing arrived": while a rebalance is still waiting for a
      // dead member's session to expire there are no partitions yet, and leaving then would
      // abandon the backlog.
      auto assignment = consumer_->Assignment();
      if (!assignment.ok() || assignment->empty()) {
        last_message = steady_clock::now();
      } else if (polled->empty() && steady_clock::now() - last_message >= options_.exit_when_idle) {
        break;
      }
    }
  }
  if (status.ok() && !rewind_required_) status = StartFlush();
  // Flushes already handed over finish either way: each is a complete, checked commit.
  arrow::Status waited = WaitForFlushes();
  if (status.ok()) status = waited;
  if (!status.ok()) failed_ = true;
  // Leaving the group revokes every partition; with the buffer committed that flushes nothing.
  arrow::Status closed = consumer_->Close();
  consumer_.reset();
  if (status.ok()) status = closed;
  return status;
}

arrow::Status StreamWriter::Buffer(const std::vector<KafkaMessage>& messages) {
  int64_t payload_bytes = 0;
  int64_t accepted = 0;
  for (const KafkaMessage& message : messages) {
    payload_bytes += message.payload->size();
    // Redeliveries around seeks and rebalances, and partitions no longer ours, are skipped.
    if (!offsets_.Accept(message.topic_partition(), message.offset)) continue;
    ++accepted;
    if (message.timestamp_ms) policy_.OnProduced(*message.timestamp_ms);
    ARROW_ASSIGN_OR_RAISE(std::optional<DeadLetter> dead_letter,
                          decoder_->Decode(message, *accumulator_));
    if (dead_letter) {
      dead_letter_bytes_ += message.payload->size();
      dead_letters_.push_back(std::move(*dead_letter));
    }
  }
  if (accepted > 0) {
    policy_.OnMessages(accepted);
    policy_.OnBuffered(accumulator_->num_rows() + static_cast<int64_t>(dead_letters_.size()),
                       accumulator_->buffered_bytes() + dead_letter_bytes_);
  }
  if (metrics_ != nullptr) {
    metrics_->AddConsumed(static_cast<int64_t>(messages.size()), payload_bytes);
    metrics_->SetBuffered(accumulator_->num_rows(), accumulator_->buffered_bytes());
  }
  return arrow::Status::OK();
}

arrow::Status StreamWriter::StartFlush(FlushReason reason) {
  policy_.OnFlushed(reason);
  if (!offsets_.has_pending()) return arrow::Status::OK();
  if (metrics_ != nullptr) metrics_->AddFlushStarted(FlushReasonName(reason));
  auto job = std::make_shared<FlushJob>();
  job->rows = accumulator_->num_rows();
  ARROW_ASSIGN_OR_RAISE(job->batches, accumulator_->TakeBatches());
  job->ranges = offsets_.TakePending();
  job->dead_letters = std::move(dead_letters_);
  dead_letters_.clear();
  dead_letter_bytes_ = 0;
  if (metrics_ != nullptr) metrics_->SetBuffered(0, 0);
  jobs_.push_back(job);
  // Waits while the pipeline is full: the back-pressure that bounds memory.
  pipeline_->Submit([this, job] { return WriteAndCommit(*job); });
  return CollectFlushes();
}

arrow::Status StreamWriter::CollectFlushes() { return ApplyFlushes(pipeline_->TakeCompleted()); }

arrow::Status StreamWriter::WaitForFlushes() { return ApplyFlushes(pipeline_->Drain()); }

arrow::Status StreamWriter::ApplyFlushes(std::vector<FlushPipeline::Completion> completions) {
  arrow::Status error;
  bool dropped = false;
  int64_t dropped_rows = 0;
  while (!completions.empty()) {
    for (const FlushPipeline::Completion& completion : completions) {
      std::shared_ptr<FlushJob> job = std::move(jobs_.front());
      jobs_.pop_front();
      if (completion.ran && completion.status.ok()) {
        std::vector<PartitionStart> positions = offsets_.OnCommitted(job->ranges);
        // Only for Kafka tooling's lag display; the table stays the record, so a failure is
        // harmless.
        if (consumer_ != nullptr) (void)consumer_->CommitForLag(positions);
        ++totals_.commits;
        totals_.rows += job->rows;
        totals_.dead_letters += job->dead_letters_stored;
        if (metrics_ != nullptr) {
          metrics_->AddDeadLetters(job->dead_letters_stored);
          metrics_->AddCommit(job->rows, job->commit.bytes, job->commit.version, job->seconds);
        }
        continue;
      }
      // Everything from here on is dropped: its offsets build on a commit that did not happen.
      dropped = true;
      dropped_rows += job->rows;
      totals_.dead_letters += job->dead_letters_stored;
      if (metrics_ != nullptr) metrics_->AddDeadLetters(job->dead_letters_stored);
      if (job->conflict) {
        ++totals_.conflicts;
        if (metrics_ != nullptr) metrics_->AddCommitConflict();
      } else if (completion.ran && error.ok()) {
        error = completion.status;
      }
    }
    // After a failure the pipeline cancels what is queued; wait for it, to drop it as well.
    completions = dropped ? pipeline_->Drain() : std::vector<FlushPipeline::Completion>{};
  }
  if (dropped) {
    if (metrics_ != nullptr) metrics_->AddDroppedRows(dropped_rows);
    DropBuffer();
  }
  return error;
}

arrow::Status StreamWriter::WriteAndCommit(FlushJob& job) {
  const auto started = steady_clock::now();
  ARROW_RETURN_NOT_OK(CommitDeadLetters(job));
  ARROW_ASSIGN_OR_RAISE(auto snapshot, table_->EnsureCreated());
  for (const FlushedRange& range : job.ranges) {
    if (RecordedOffset(RecordedIn(snapshot), range.topic_partition) != range.previous) {
      // Someone else committed this partition since we read it: it is theirs now.
      job.conflict = true;
    }
  }
  if (!job.conflict) {
    auto committed = table_->Commit(snapshot, job.batches, TransactionsFor(job.ranges, NowMs()),
                                    options_.decoder.schema_evolution);
    if (committed.ok()) {
      job.commit = std::move(*committed);
    } else if (delta::IsConcurrentModification(committed.status())) {
      job.conflict = true;
    } else {
      return committed.status();
    }
  }
  job.batches.clear();
  job.seconds = std::chrono::duration<double>(steady_clock::now() - started).count();
  if (job.conflict) {
    return arrow::Status::Cancelled("a commit conflict: another writer committed one of the ",
                                    "partitions of this flush");
  }
  return arrow::Status::OK();
}

arrow::Status StreamWriter::CommitDeadLetters(FlushJob& job) {
  if (job.dead_letters.empty()) return arrow::Status::OK();
  for (int attempt = 0; attempt < kDeadLetterCommitAttempts; ++attempt) {
    ARROW_ASSIGN_OR_RAISE(auto snapshot, dead_letter_table_->EnsureCreated());
    const RecordedTransactions& recorded = RecordedIn(snapshot);
    std::vector<DeadLetter> unstored;
    std::map<TopicPartition, int64_t> last_offsets;
    for (const DeadLetter& dead_letter : job.dead_letters) {
      TopicPartition partition{dead_letter.topic, dead_letter.partition};
      auto stored = recorded.find(DeadLetterAppIdFor(partition));
      if (stored != recorded.end() && dead_letter.offset <= stored->second.version) continue;
      unstored.push_back(dead_letter);
      int64_t& last = last_offsets[partition];
      last = std::max(last, dead_letter.offset);
    }
    if (unstored.empty()) return arrow::Status::OK();
    std::vector<delta::SetTransaction> transactions;
    const int64_t now_ms = NowMs();
    for (const auto& [partition, offset] : last_offsets) {
      transactions.push_back({DeadLetterAppIdFor(partition), offset, now_ms});
    }
    ARROW_ASSIGN_OR_RAISE(auto batch, DeadLettersToRecordBatch(unstored, now_ms * 1000));
    auto committed = dead_letter_table_->Commit(snapshot, batch, transactions, false);
    if (committed.ok()) {
      job.dead_letters_stored = static_cast<int64_t>(unstored.size());
      return arrow::Status::OK();
    }
    if (!delta::IsConcurrentModification(committed.status())) {
      return committed.status().WithMessage("dead-letter table ", dead_letter_table_->uri(), ": ",
                                            committed.status().message());
    }
  }
  return arrow::Status::IOError("dead-letter table ", dead_letter_table_->uri(), ": ",
                                kDeadLetterCommitAttempts,
                                " commits in a row lost to concurrent writers; giving up");
}

void StreamWriter::DropBuffer() {
  const int64_t rows = accumulator_->num_rows();
  // Rows still in the accumulator are thrown away with the rest of the buffer.
  (void)accumulator_->TakeBatches();
  dead_letters_.clear();
  dead_letter_bytes_ = 0;
  (void)offsets_.OnDropped();
  policy_.OnFlushed();
  rewind_required_ = true;
  if (metrics_ != nullptr) {
    metrics_->AddDroppedRows(rows);
    metrics_->SetBuffered(0, 0);
  }
}

arrow::Status StreamWriter::Rewind() {
  ARROW_RETURN_NOT_OK(WaitForFlushes());
  rewind_required_ = false;
  ARROW_ASSIGN_OR_RAISE(auto snapshot, table_->Refresh());
  const RecordedTransactions& recorded = RecordedIn(snapshot);
  for (const TopicPartition& partition : offsets_.assigned()) {
    offsets_.Assign(partition, RecordedOffset(recorded, partition));
    ARROW_RETURN_NOT_OK(consumer_->Seek(
        ResumePosition(recorded, partition, options_.start_position), kSeekTimeout));
  }
  return arrow::Status::OK();
}

void StreamWriter::UpdateLag() {
  if (metrics_ == nullptr) return;
  const auto now = steady_clock::now();
  if (now - last_lag_update_ < kLagUpdateInterval) return;
  last_lag_update_ = now;
  std::map<TopicPartition, int64_t> lag;
  for (const TopicPartition& partition : offsets_.assigned()) {
    auto watermarks = consumer_->CachedWatermarks(partition);
    if (!watermarks) continue;
    std::optional<int64_t> committed = offsets_.committed(partition);
    const int64_t next = committed ? *committed + 1 : watermarks->first;
    lag[partition] = std::max<int64_t>(0, watermarks->second - next);
  }
  metrics_->SetLag(std::move(lag));
}

}  // namespace nlk::ingest
