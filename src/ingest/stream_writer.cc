#include "ingest/stream_writer.h"

#include <arrow/array/builder_base.h>

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
  ARROW_ASSIGN_OR_RAISE(writer->consumer_, KafkaConsumer::Open(settings.consumer, writer.get()));
  return writer;
}

arrow::Result<std::vector<PartitionStart>> StreamWriter::OnAssigned(
    const std::vector<TopicPartition>& partitions) {
  // A fresh snapshot: the previous owner committed its buffer just before letting go.
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
    // Another member may own them already: committing could duplicate its rows.
    DropBuffer(0);
  } else {
    status = Flush();
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
    auto polled = consumer_->Poll(timeout, options_.max_poll_messages);
    if (!polled.ok()) {
      status = polled.status();
      break;
    }
    if (rewind_required_) {
      // A buffer was dropped inside a rebalance callback; messages polled around it may skip
      // offsets relative to the rewound positions, so they are fetched again instead.
      status = Rewind();
      if (!status.ok()) break;
      continue;
    }
    if (!polled->empty()) last_message = steady_clock::now();
    status = Buffer(*polled);
    if (!status.ok()) break;
    if (policy_.ShouldFlush() != FlushReason::kNone) {
      status = Flush();
      if (status.ok() && rewind_required_) status = Rewind();
      if (!status.ok()) break;
    }
    UpdateLag();
    if (options_.exit_when_idle.count() > 0) {
      // Idle means "assigned, and nothing arrived": while a rebalance is still waiting for a
      // dead member's session to expire there are no partitions yet, and leaving then would
      // abandon the backlog.
      auto assignment = consumer_->Assignment();
      if (!assignment.ok() || assignment->empty()) {
        last_message = steady_clock::now();
      } else if (steady_clock::now() - last_message >= options_.exit_when_idle) {
        break;
      }
    }
  }
  if (status.ok()) status = Flush();
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
    ARROW_ASSIGN_OR_RAISE(std::optional<DeadLetter> dead_letter,
                          decoder_->Decode(message, *accumulator_));
    if (dead_letter) {
      dead_letter_bytes_ += message.payload->size();
      dead_letters_.push_back(std::move(*dead_letter));
    }
  }
  if (accepted > 0) {
    policy_.OnBuffered(accumulator_->num_rows() + static_cast<int64_t>(dead_letters_.size()),
                       accumulator_->buffered_bytes() + dead_letter_bytes_);
  }
  if (metrics_ != nullptr) {
    metrics_->AddConsumed(static_cast<int64_t>(messages.size()), payload_bytes);
    metrics_->SetBuffered(accumulator_->num_rows(), accumulator_->buffered_bytes());
  }
  return arrow::Status::OK();
}

arrow::Status StreamWriter::Flush() {
  if (!offsets_.has_pending()) {
    policy_.OnFlushed();
    return arrow::Status::OK();
  }
  const auto started = steady_clock::now();
  ARROW_ASSIGN_OR_RAISE(auto batch, accumulator_->Flush());
  const int64_t rows = batch->num_rows();

  ARROW_RETURN_NOT_OK(CommitDeadLetters());
  ARROW_ASSIGN_OR_RAISE(auto snapshot, table_->EnsureCreated());
  std::vector<delta::SetTransaction> transactions = offsets_.PendingTransactions(NowMs());
  bool owned = true;
  for (const delta::SetTransaction& txn : transactions) {
    std::optional<TopicPartition> partition = ParseAppId(txn.app_id);
    if (!partition ||
        RecordedOffset(RecordedIn(snapshot), *partition) != offsets_.committed(*partition)) {
      // Someone else committed this partition since we read it: it is theirs now.
      owned = false;
    }
  }
  bool conflict = !owned;
  SinkCommit commit;
  if (owned) {
    auto committed =
        table_->Commit(snapshot, batch, transactions, options_.decoder.schema_evolution);
    if (committed.ok()) {
      commit = std::move(*committed);
    } else if (delta::IsConcurrentModification(committed.status())) {
      conflict = true;
    } else {
      return committed.status();
    }
  }
  if (conflict) {
    ++totals_.conflicts;
    if (metrics_ != nullptr) metrics_->AddCommitConflict();
    DropBuffer(rows);
    return arrow::Status::OK();
  }

  std::vector<PartitionStart> positions = offsets_.OnCommitted();
  // Only for Kafka tooling's lag display; the table stays the record, so a failure is harmless.
  (void)consumer_->CommitForLag(positions);
  dead_letters_.clear();
  dead_letter_bytes_ = 0;
  policy_.OnFlushed();
  ++totals_.commits;
  totals_.rows += rows;
  if (metrics_ != nullptr) {
    const double seconds = std::chrono::duration<double>(steady_clock::now() - started).count();
    metrics_->AddCommit(rows, commit.bytes, commit.version, seconds);
    metrics_->SetBuffered(0, 0);
  }
  return arrow::Status::OK();
}

arrow::Status StreamWriter::CommitDeadLetters() {
  if (dead_letters_.empty()) return arrow::Status::OK();
  for (int attempt = 0; attempt < kDeadLetterCommitAttempts; ++attempt) {
    ARROW_ASSIGN_OR_RAISE(auto snapshot, dead_letter_table_->EnsureCreated());
    const RecordedTransactions& recorded = RecordedIn(snapshot);
    std::vector<DeadLetter> unstored;
    std::map<TopicPartition, int64_t> last_offsets;
    for (const DeadLetter& dead_letter : dead_letters_) {
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
      totals_.dead_letters += static_cast<int64_t>(unstored.size());
      if (metrics_ != nullptr) metrics_->AddDeadLetters(static_cast<int64_t>(unstored.size()));
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

void StreamWriter::DropBuffer(int64_t flushed_rows) {
  const int64_t rows = flushed_rows + accumulator_->num_rows();
  // Rows still in the accumulator are thrown away with the rest of the buffer.
  (void)accumulator_->Flush();
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
