#include "ingest/partition_offsets.h"

#include <gtest/gtest.h>

namespace nlk::ingest {
namespace {

TEST(AppId, NamesTheTopicPartition) {
  EXPECT_EQ(AppIdFor({"samples", 3}), "nlk-ingest:samples:3");
  EXPECT_EQ(AppIdFor({"neural.raw-v2_x", 0}), "nlk-ingest:neural.raw-v2_x:0");
}

TEST(AppId, ParsesOnlyOurs) {
  auto parsed = ParseAppId("nlk-ingest:neural.raw-v2_x:17");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(*parsed, (TopicPartition{"neural.raw-v2_x", 17}));
  for (TopicPartition tp : {TopicPartition{"a", 0}, TopicPartition{"samples", 2147483647}}) {
    EXPECT_EQ(ParseAppId(AppIdFor(tp)), tp);
  }
  for (const char* other :
       {"", "nlk-ingest:", "nlk-ingest:samples", "nlk-ingest::1",
        "nlk-ingest:samples:", "nlk-ingest:samples:x", "nlk-ingest:samples:-1",
        "nlk-ingest:samples:1x", "kafka-delta-ingest-samples-1", "3f2a1c9e-streaming-query"}) {
    EXPECT_FALSE(ParseAppId(other).has_value()) << other;
  }
}

TEST(StartPosition, Parses) {
  EXPECT_EQ(*ParseStartPosition("earliest"), StartPosition::kEarliest);
  EXPECT_EQ(*ParseStartPosition("latest"), StartPosition::kLatest);
  auto bad = ParseStartPosition("beginning");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("expected earliest or latest"), std::string::npos);
}

TEST(ResumePosition, OnePastTheRecordedVersionElseTheStart) {
  RecordedTransactions recorded;
  recorded["nlk-ingest:samples:0"] = {"nlk-ingest:samples:0", 41, 1};
  recorded["nlk-ingest:samples:1"] = {"nlk-ingest:samples:1", 0, 1};
  recorded["some-other-writer"] = {"some-other-writer", 99, 1};
  EXPECT_EQ(ResumePosition(recorded, {"samples", 0}, StartPosition::kEarliest),
            (PartitionStart{{"samples", 0}, 42}));
  EXPECT_EQ(ResumePosition(recorded, {"samples", 1}, StartPosition::kLatest),
            (PartitionStart{{"samples", 1}, 1}));
  EXPECT_EQ(ResumePosition(recorded, {"samples", 2}, StartPosition::kEarliest),
            (PartitionStart{{"samples", 2}, kEarliestOffset}));
  EXPECT_EQ(ResumePosition(recorded, {"samples", 2}, StartPosition::kLatest),
            (PartitionStart{{"samples", 2}, kLatestOffset}));
  EXPECT_EQ(ResumePosition(recorded, {"spikes", 0}, StartPosition::kEarliest).offset,
            kEarliestOffset);
  EXPECT_EQ(RecordedOffset(recorded, {"samples", 0}), 41);
  EXPECT_EQ(RecordedOffset(recorded, {"samples", 9}), std::nullopt);
}

TEST(PartitionOffsets, AFlushTakesTheLastBufferedOffsetAndWhatTheTableMustHoldBefore) {
  PartitionOffsets offsets;
  offsets.Assign({"samples", 0}, std::nullopt);
  offsets.Assign({"samples", 1}, 10);
  offsets.Assign({"samples", 2}, 5);
  EXPECT_FALSE(offsets.has_pending());
  EXPECT_TRUE(offsets.TakePending().empty());

  EXPECT_TRUE(offsets.Accept({"samples", 0}, 0));
  EXPECT_TRUE(offsets.Accept({"samples", 0}, 1));
  // Gaps are normal (compacted topics, transaction markers).
  EXPECT_TRUE(offsets.Accept({"samples", 0}, 7));
  EXPECT_TRUE(offsets.Accept({"samples", 1}, 11));
  EXPECT_TRUE(offsets.has_pending());

  std::vector<FlushedRange> ranges = offsets.TakePending();
  EXPECT_EQ(ranges, (std::vector<FlushedRange>{{{"samples", 0}, std::nullopt, 7},
                                               {{"samples", 1}, 10, 11}}));
  EXPECT_FALSE(offsets.has_pending());
  auto transactions = TransactionsFor(ranges, 1234);
  ASSERT_EQ(transactions.size(), 2u);
  EXPECT_EQ(transactions[0].app_id, "nlk-ingest:samples:0");
  EXPECT_EQ(transactions[0].version, 7);
  EXPECT_EQ(transactions[0].last_updated, 1234);
  EXPECT_EQ(transactions[1].app_id, "nlk-ingest:samples:1");
  EXPECT_EQ(transactions[1].version, 11);

  auto advanced = offsets.OnCommitted(ranges);
  EXPECT_EQ(advanced, (std::vector<PartitionStart>{{{"samples", 0}, 8}, {{"samples", 1}, 12}}));
  EXPECT_EQ(offsets.committed({"samples", 0}), 7);
  EXPECT_EQ(offsets.committed({"samples", 2}), 5);
}

TEST(PartitionOffsets, FlushesInFlightChainTheirExpectedOffsets) {
  PartitionOffsets offsets;
  offsets.Assign({"samples", 0}, 10);
  offsets.Assign({"samples", 1}, std::nullopt);
  ASSERT_TRUE(offsets.Accept({"samples", 0}, 11));
  ASSERT_TRUE(offsets.Accept({"samples", 0}, 12));
  std::vector<FlushedRange> first = offsets.TakePending();
  ASSERT_EQ(first, (std::vector<FlushedRange>{{{"samples", 0}, 10, 12}}));

  // While the first flush is in flight, its offsets are neither accepted again nor committed.
  EXPECT_FALSE(offsets.Accept({"samples", 0}, 12));
  EXPECT_EQ(offsets.committed({"samples", 0}), 10);
  ASSERT_TRUE(offsets.Accept({"samples", 0}, 13));
  ASSERT_TRUE(offsets.Accept({"samples", 1}, 0));
  // The second flush expects the table to hold what the first one commits.
  std::vector<FlushedRange> second = offsets.TakePending();
  EXPECT_EQ(second, (std::vector<FlushedRange>{{{"samples", 0}, 12, 13},
                                               {{"samples", 1}, std::nullopt, 0}}));
  ASSERT_TRUE(offsets.Accept({"samples", 0}, 14));

  EXPECT_EQ(offsets.OnCommitted(first), (std::vector<PartitionStart>{{{"samples", 0}, 13}}));
  EXPECT_EQ(offsets.committed({"samples", 0}), 12);
  EXPECT_FALSE(offsets.Accept({"samples", 0}, 13)) << "still in flight with the second flush";
  offsets.OnCommitted(second);
  EXPECT_EQ(offsets.committed({"samples", 0}), 13);
  EXPECT_EQ(offsets.committed({"samples", 1}), 0);
  // The third flush follows the second.
  EXPECT_EQ(offsets.TakePending(), (std::vector<FlushedRange>{{{"samples", 0}, 13, 14}}));
}

TEST(PartitionOffsets, DroppingForgetsFlushesInFlightToo) {
  PartitionOffsets offsets;
  offsets.Assign({"samples", 0}, 10);
  ASSERT_TRUE(offsets.Accept({"samples", 0}, 11));
  std::vector<FlushedRange> in_flight = offsets.TakePending();
  ASSERT_TRUE(offsets.Accept({"samples", 0}, 12));
  // The flush failed: both it and the buffer are dropped, back to what the table holds.
  EXPECT_EQ(offsets.OnDropped(), (std::vector<PartitionStart>{{{"samples", 0}, 11}}));
  EXPECT_FALSE(offsets.has_pending());
  EXPECT_TRUE(offsets.Accept({"samples", 0}, 11));
  EXPECT_EQ(offsets.TakePending(), (std::vector<FlushedRange>{{{"samples", 0}, 10, 11}}));
}

TEST(PartitionOffsets, ACommitOfARevokedPartitionIsIgnored) {
  PartitionOffsets offsets;
  offsets.Assign({"samples", 0}, 10);
  ASSERT_TRUE(offsets.Accept({"samples", 0}, 11));
  std::vector<FlushedRange> ranges = offsets.TakePending();
  offsets.Revoke({"samples", 0});
  EXPECT_TRUE(offsets.OnCommitted(ranges).empty());
  EXPECT_TRUE(offsets.assigned().empty());
}

TEST(PartitionOffsets, RedeliveredAndForeignMessagesAreRefused) {
  PartitionOffsets offsets;
  offsets.Assign({"samples", 0}, 10);
  EXPECT_FALSE(offsets.Accept({"samples", 0}, 9));
  EXPECT_FALSE(offsets.Accept({"samples", 0}, 10));
  EXPECT_TRUE(offsets.Accept({"samples", 0}, 11));
  EXPECT_FALSE(offsets.Accept({"samples", 0}, 11));
  EXPECT_FALSE(offsets.Accept({"samples", 1}, 0));
  offsets.Revoke({"samples", 0});
  EXPECT_FALSE(offsets.Accept({"samples", 0}, 12));
  EXPECT_TRUE(offsets.assigned().empty());
}

TEST(PartitionOffsets, DroppingRewindsToTheFirstBufferedOffset) {
  PartitionOffsets offsets;
  offsets.Assign({"samples", 0}, 10);
  offsets.Assign({"samples", 1}, std::nullopt);
  offsets.Assign({"samples", 2}, 3);
  ASSERT_TRUE(offsets.Accept({"samples", 0}, 11));
  ASSERT_TRUE(offsets.Accept({"samples", 0}, 12));
  ASSERT_TRUE(offsets.Accept({"samples", 1}, 500));
  ASSERT_TRUE(offsets.Accept({"samples", 1}, 501));
  auto rewind = offsets.OnDropped();
  EXPECT_EQ(rewind, (std::vector<PartitionStart>{{{"samples", 0}, 11}, {{"samples", 1}, 500}}));
  EXPECT_FALSE(offsets.has_pending());
  EXPECT_EQ(offsets.committed({"samples", 0}), 10);
  // The same messages are accepted again after the rewind.
  EXPECT_TRUE(offsets.Accept({"samples", 0}, 11));
  EXPECT_TRUE(offsets.Accept({"samples", 1}, 500));
}

}  // namespace
}  // namespace nlk::ingest
