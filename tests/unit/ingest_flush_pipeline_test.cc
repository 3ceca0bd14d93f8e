// The flush pipeline's guarantees that exactly-once ingest relies on: tasks run one at a time in
// submission order, no more than `capacity` are in flight, and a failure cancels everything
// queued behind it until the owner drains.
#include "ingest/flush_pipeline.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace nlk::ingest {
namespace {

using std::chrono::milliseconds;

// A task that blocks until released, so a test controls when it finishes.
class Gate {
 public:
  void Open() { opened_.set_value(); }
  void Wait() { released_.wait(); }

 private:
  std::promise<void> opened_;
  std::shared_future<void> released_ = opened_.get_future().share();
};

TEST(FlushPipeline, RunsTasksOneAtATimeInSubmissionOrder) {
  FlushPipeline pipeline(3);
  std::mutex mutex;
  std::vector<int> order;
  std::atomic<int> running{0};
  std::atomic<int> overlaps{0};
  for (int i = 0; i < 20; ++i) {
    pipeline.Submit([&, i] {
      if (running.fetch_add(1) != 0) ++overlaps;
      std::this_thread::sleep_for(milliseconds(1));
      {
        std::lock_guard<std::mutex> lock(mutex);
        order.push_back(i);
      }
      running.fetch_sub(1);
      return arrow::Status::OK();
    });
  }
  std::vector<FlushPipeline::Completion> completions = pipeline.Drain();
  ASSERT_EQ(completions.size(), 20u);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(order[i], i);
    EXPECT_EQ(completions[i].ticket, static_cast<uint64_t>(i));
    EXPECT_TRUE(completions[i].ran);
    EXPECT_TRUE(completions[i].status.ok());
  }
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_EQ(pipeline.in_flight(), 0u);
}

TEST(FlushPipeline, SubmitWaitsWhileCapacityTasksAreInFlight) {
  FlushPipeline pipeline(1);
  Gate gate;
  pipeline.Submit([&] {
    gate.Wait();
    return arrow::Status::OK();
  });
  EXPECT_EQ(pipeline.in_flight(), 1u);
  std::atomic<bool> second_submitted{false};
  std::thread submitter([&] {
    pipeline.Submit([] { return arrow::Status::OK(); });
    second_submitted = true;
  });
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_FALSE(second_submitted.load()) << "a second flush was accepted while one was running";
  gate.Open();
  submitter.join();
  EXPECT_TRUE(second_submitted.load());
  EXPECT_EQ(pipeline.Drain().size(), 2u);
}

TEST(FlushPipeline, TakeCompletedDoesNotWait) {
  FlushPipeline pipeline(2);
  Gate gate;
  pipeline.Submit([] { return arrow::Status::OK(); });
  pipeline.Submit([&] {
    gate.Wait();
    return arrow::Status::OK();
  });
  // The first completes on its own; the second waits for the gate.
  std::vector<FlushPipeline::Completion> done;
  for (int attempt = 0; attempt < 200 && done.empty(); ++attempt) {
    done = pipeline.TakeCompleted();
    if (done.empty()) std::this_thread::sleep_for(milliseconds(5));
  }
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].ticket, 0u);
  EXPECT_EQ(pipeline.in_flight(), 1u);
  gate.Open();
  auto rest = pipeline.Drain();
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].ticket, 1u);
}

TEST(FlushPipeline, AFailureCancelsTheTasksQueuedBehindItUntilDrained) {
  FlushPipeline pipeline(3);
  Gate gate;
  std::atomic<int> ran_after_failure{0};
  pipeline.Submit([&] {
    gate.Wait();
    return arrow::Status::IOError("commit failed");
  });
  pipeline.Submit([&] {
    ++ran_after_failure;
    return arrow::Status::OK();
  });
  pipeline.Submit([&] {
    ++ran_after_failure;
    return arrow::Status::OK();
  });
  gate.Open();
  // Submitted after the failure, before the owner has seen it: cancelled too.
  while (pipeline.in_flight() > 0) std::this_thread::sleep_for(milliseconds(1));
  pipeline.Submit([&] {
    ++ran_after_failure;
    return arrow::Status::OK();
  });
  std::vector<FlushPipeline::Completion> completions = pipeline.Drain();
  ASSERT_EQ(completions.size(), 4u);
  EXPECT_TRUE(completions[0].ran);
  EXPECT_TRUE(completions[0].status.IsIOError());
  for (size_t i = 1; i < completions.size(); ++i) {
    EXPECT_FALSE(completions[i].ran) << i;
    EXPECT_TRUE(completions[i].status.IsCancelled()) << i;
  }
  EXPECT_EQ(ran_after_failure.load(), 0);

  // Drained: later tasks run again.
  pipeline.Submit([&] {
    ++ran_after_failure;
    return arrow::Status::OK();
  });
  completions = pipeline.Drain();
  ASSERT_EQ(completions.size(), 1u);
  EXPECT_TRUE(completions[0].ran);
  EXPECT_EQ(completions[0].ticket, 4u);
  EXPECT_EQ(ran_after_failure.load(), 1);
}

TEST(FlushPipeline, DestructionWaitsForTheRunningTaskAndCancelsTheRest) {
  std::atomic<bool> started{false};
  std::atomic<bool> finished{false};
  std::atomic<bool> second_ran{false};
  {
    FlushPipeline pipeline(2);
    pipeline.Submit([&] {
      started = true;
      std::this_thread::sleep_for(milliseconds(50));
      finished = true;
      return arrow::Status::OK();
    });
    pipeline.Submit([&] {
      second_ran = true;
      return arrow::Status::OK();
    });
    while (!started) std::this_thread::sleep_for(milliseconds(1));
  }
  EXPECT_TRUE(finished.load());
  EXPECT_FALSE(second_ran.load());
}

}  // namespace
}  // namespace nlk::ingest
