#include "server/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

namespace nlk::server {
namespace {

using namespace std::chrono_literals;

// A hang guard for waits that must end.
constexpr auto kGuard = 30s;
// How long a task that must not run is given to show it does not.
constexpr auto kQuiet = 200ms;

bool Ready(std::future<void>& future, std::chrono::milliseconds wait) {
  return future.wait_for(wait) == std::future_status::ready;
}

TEST(WorkerPoolTest, QueuedTasksRunWhileATaskWaitsOutside) {
  WorkerPool pool(/*threads=*/1, /*max_queued=*/4, /*max_waiting=*/4);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> first_done;
  std::promise<void> second_ran;
  ASSERT_TRUE(pool.TrySubmit([&] {
    pool.WaitOutside([&] { released.wait(); });
    first_done.set_value();
  }));
  ASSERT_TRUE(pool.TrySubmit([&] { second_ran.set_value(); }));
  // The pool's only place is free while the first task waits, so the second runs.
  auto second = second_ran.get_future();
  ASSERT_TRUE(Ready(second, kGuard));
  EXPECT_EQ(pool.waiting(), 1);
  release.set_value();
  auto first = first_done.get_future();
  ASSERT_TRUE(Ready(first, kGuard));
  EXPECT_EQ(pool.waiting(), 0);
  pool.Stop();
}

TEST(WorkerPoolTest, BeyondMaxWaitingAWaitKeepsItsPlace) {
  WorkerPool pool(/*threads=*/1, /*max_queued=*/4, /*max_waiting=*/0);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> second_ran;
  ASSERT_TRUE(pool.TrySubmit([&] { pool.WaitOutside([&] { released.wait(); }); }));
  ASSERT_TRUE(pool.TrySubmit([&] { second_ran.set_value(); }));
  auto second = second_ran.get_future();
  EXPECT_FALSE(Ready(second, kQuiet));
  EXPECT_EQ(pool.busy(), 1);
  EXPECT_EQ(pool.waiting(), 0);
  release.set_value();
  ASSERT_TRUE(Ready(second, kGuard));
  pool.Stop();
}

TEST(WorkerPoolTest, ATaskBackFromWaitingTakesTheNextFreePlace) {
  WorkerPool pool(/*threads=*/1, /*max_queued=*/4, /*max_waiting=*/4);
  std::promise<void> release_first;
  std::shared_future<void> first_released = release_first.get_future().share();
  std::promise<void> release_second;
  std::shared_future<void> second_released = release_second.get_future().share();
  std::promise<void> second_started;
  std::promise<void> first_resumed;
  std::atomic<bool> second_finished{false};
  std::atomic<bool> resumed_after_second{false};
  ASSERT_TRUE(pool.TrySubmit([&] {
    pool.WaitOutside([&] { first_released.wait(); });
    resumed_after_second = second_finished.load();
    first_resumed.set_value();
  }));
  ASSERT_TRUE(pool.TrySubmit([&] {
    second_started.set_value();
    second_released.wait();
    second_finished = true;
  }));
  auto started = second_started.get_future();
  ASSERT_TRUE(Ready(started, kGuard));
  // The first task is done waiting, but the second holds the only place.
  release_first.set_value();
  auto resumed = first_resumed.get_future();
  EXPECT_FALSE(Ready(resumed, kQuiet));
  EXPECT_EQ(pool.busy(), 1);
  release_second.set_value();
  ASSERT_TRUE(Ready(resumed, kGuard));
  EXPECT_TRUE(resumed_after_second);
  pool.Stop();
}

TEST(WorkerPoolTest, RefusesBeyondTheQueueAndAfterStop) {
  WorkerPool pool(/*threads=*/1, /*max_queued=*/1, /*max_waiting=*/1);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> running;
  ASSERT_TRUE(pool.TrySubmit([&] {
    running.set_value();
    released.wait();
  }));
  auto started = running.get_future();
  ASSERT_TRUE(Ready(started, kGuard));
  EXPECT_TRUE(pool.TrySubmit([] {}));
  EXPECT_FALSE(pool.TrySubmit([] {}));
  release.set_value();
  pool.Stop();
  EXPECT_FALSE(pool.TrySubmit([] {}));
}

}  // namespace
}  // namespace nlk::server
