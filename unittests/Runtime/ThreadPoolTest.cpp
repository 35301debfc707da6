//===- ThreadPoolTest.cpp - The runtime's thread pool ---------------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// lattice_parallel_for runs every iteration exactly once, with the bounds a
// step gives, whatever the thread count, when loops follow one another
// quickly (workers still spinning) or slowly (workers asleep), when several
// threads start loops at once, and when a loop body starts a loop; a
// worker that holds an iteration for long sends the loops that follow to
// the caller alone.
//
//===----------------------------------------------------------------------===//

#include "lattice_threads.h"

#include "gtest/gtest.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace {
struct Counts {
  std::vector<std::atomic<int>> hits;
  int64_t lower, upper, step;
  std::atomic<int> badBounds{0};
  explicit Counts(int64_t lower, int64_t upper, int64_t step)
      : hits((upper - lower + step - 1) / step), lower(lower), upper(upper),
        step(step) {}
};

void countStep(void *context, int64_t begin, int64_t end) {
  auto *counts = static_cast<Counts *>(context);
  int64_t want = begin + counts->step < counts->upper ? begin + counts->step
                                                      : counts->upper;
  if ((begin - counts->lower) % counts->step != 0 || end != want)
    ++counts->badBounds;
  ++counts->hits[(begin - counts->lower) / counts->step];
}

/// Runs one loop of [lower, upper) by `step` and checks it.
void checkLoop(int64_t lower, int64_t upper, int64_t step) {
  Counts counts(lower, upper, step);
  lattice_parallel_for(countStep, &counts, lower, upper, step);
  EXPECT_EQ(counts.badBounds.load(), 0);
  for (size_t i = 0; i < counts.hits.size(); ++i)
    ASSERT_EQ(counts.hits[i].load(), 1) << "iteration " << i;
}

TEST(ThreadPool, EveryIterationOnce) {
  for (int threads : {1, 2, 3, 8}) {
    SCOPED_TRACE(threads);
    int previous = lattice_set_call_threads(threads);
    checkLoop(0, 1, 1);
    checkLoop(0, 1000, 1);
    checkLoop(5, 1003, 7); // a partial last step
    checkLoop(-64, 64, 16);
    for (int i = 0; i < 200; ++i) // back to back: workers still spinning
      checkLoop(0, 37, 3);
    std::this_thread::sleep_for(std::chrono::milliseconds(5)); // asleep
    checkLoop(0, 100, 1);
    lattice_set_call_threads(previous);
  }
}

TEST(ThreadPool, EmptyLoopsRunNothing) {
  lattice_set_call_threads(4);
  Counts counts(0, 1, 1);
  lattice_parallel_for(countStep, &counts, 5, 5, 1);
  lattice_parallel_for(countStep, &counts, 5, 4, 1);
  lattice_parallel_for(countStep, &counts, 0, 10, 0);
  EXPECT_EQ(counts.hits[0].load(), 0);
  lattice_set_call_threads(1);
}

/// A loop started from inside a loop's body runs serially and completely.
void nested(void *context, int64_t begin, int64_t) {
  auto *inner = static_cast<std::vector<std::unique_ptr<Counts>> *>(context);
  lattice_parallel_for(countStep, (*inner)[begin].get(), 0, 50, 1);
}

TEST(ThreadPool, NestedLoops) {
  int previous = lattice_set_call_threads(4);
  std::vector<std::unique_ptr<Counts>> inner;
  for (int i = 0; i < 16; ++i)
    inner.push_back(std::make_unique<Counts>(0, 50, 1));
  lattice_parallel_for(nested, &inner, 0, 16, 1);
  for (auto &counts : inner)
    for (auto &hit : counts->hits)
      ASSERT_EQ(hit.load(), 1);
  lattice_set_call_threads(previous);
}

TEST(ThreadPool, ConcurrentCallers) {
  std::vector<std::thread> callers;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t)
    callers.emplace_back([&failures] {
      lattice_set_call_threads(2);
      for (int i = 0; i < 300; ++i) {
        Counts counts(0, 64, 1);
        lattice_parallel_for(countStep, &counts, 0, 64, 1);
        for (auto &hit : counts.hits)
          failures += hit.load() != 1;
      }
    });
  for (std::thread &caller : callers)
    caller.join();
  EXPECT_EQ(failures.load(), 0);
}
} // namespace

namespace {
struct Holder {
  std::thread::id caller;
  std::atomic<int> workerIterations{0};
  /// When the caller ran its last iteration and when a worker ended its
  /// last, in steady_clock ticks.
  std::atomic<int64_t> callerDone{0}, workerDone{0};
};

int64_t ticksNow() {
  return std::chrono::steady_clock::now().time_since_epoch().count();
}

/// Each iteration run by a worker sleeps 5 ms: a worker descheduled while
/// it holds an iteration, as when another process runs on its core.
void holdInWorker(void *context, int64_t, int64_t) {
  auto *holder = static_cast<Holder *>(context);
  if (std::this_thread::get_id() == holder->caller) {
    holder->callerDone = ticksNow();
    return;
  }
  ++holder->workerIterations;
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  holder->workerDone = ticksNow();
}

void recordThread(void *context, int64_t, int64_t) {
  auto *threads =
      static_cast<std::pair<std::mutex, std::set<std::thread::id>> *>(context);
  std::lock_guard<std::mutex> lock(threads->first);
  threads->second.insert(std::this_thread::get_id());
}
} // namespace

TEST(ThreadPool, StalledLoopSendsTheNextToTheCaller) {
  // Past any serial stretch that the tests before left.
  std::this_thread::sleep_for(std::chrono::milliseconds(130));
  int previous = lattice_set_call_threads(2);
  Holder holder;
  holder.caller = std::this_thread::get_id();
  // The serial stretch after a stall lasts 2 ms or more: the next loop
  // must start within it, which a loaded machine may not let this thread
  // do; and the caller must have waited for the worker. Otherwise the
  // attempt is made again.
  bool serialized = false;
  for (int attempt = 0; attempt < 20 && !serialized; ++attempt) {
    // Loops until a worker joins one (and stalls it): for up to 2 s, past
    // the serial stretch of a stall before (at most 128 ms) and a worker
    // that sleeps and takes a while to wake.
    holder.workerIterations = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (holder.workerIterations.load() == 0 &&
           std::chrono::steady_clock::now() < deadline)
      lattice_parallel_for(holdInWorker, &holder, 0, 64, 1);
    ASSERT_GT(holder.workerIterations.load(), 0) << "no worker ever joined";
    auto stalled = std::chrono::steady_clock::now();
    auto waited = std::chrono::steady_clock::duration(holder.workerDone -
                                                      holder.callerDone);
    if (waited < std::chrono::milliseconds(1))
      continue;
    std::pair<std::mutex, std::set<std::thread::id>> threads;
    lattice_parallel_for(recordThread, &threads, 0, 1000, 1);
    if (std::chrono::steady_clock::now() - stalled >
        std::chrono::milliseconds(1))
      continue;
    // The caller may have been switched out between its last iteration and
    // its wait (it then saw no wait: no stall); an attempt in which the
    // loop ran on the caller alone shows the back-off.
    serialized = threads.second == std::set<std::thread::id>{holder.caller};
  }
  EXPECT_TRUE(serialized) << "in 20 attempts, no loop that started within "
                             "1 ms of a stall ran on the caller alone";
  lattice_set_call_threads(previous);
}
