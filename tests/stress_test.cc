// Stress (DESIGN.md S14): 8 threads x 4 compartments (two calling the other
// two) x random faults - traps, hangs in module code and in host services,
// deaths while holding the shared lock, kills from another thread - for a
// bounded time. No deadlock; every call returns a value, a trap or an error;
// the lock is never held by two compartments and never left held by a dead
// one; no compartment is left entered; descriptors and memory stay flat.
//
// RF_STRESS_SECONDS sets the duration (default 3). Under TSan, faults that
// need a signal to end (spinning module code) are left out: TSan cannot
// follow a jump out of a signal handler (see test_support.h), so a TSan
// build of the library sends no preemption signal at all; hangs there are
// waits in host services, which a kill or deadline ends without one.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>
#include <vector>

#include "ringfence/deadline.h"
#include "ringfence/lock.h"
#include "ringfence/log.h"
#include "ringfence/region.h"
#include "tests/process_figures.h"
#include "tests/test_support.h"

namespace ringfence {
namespace {

using ::ringfence::testing::CreateOrDie;
using ::ringfence::testing::LoadOrDie;
using ::ringfence::testing::TestModulePath;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kRegionOffset = uint64_t{1} << 30;

struct Tally {
  std::atomic<uint64_t> calls{0}, values{0}, traps{0}, errors{0}, repairs_seen{0};
  std::atomic<uint64_t> exclusion_broken{0}, lock_errors{0}, slow_calls{0};
};

class StressTest : public ::testing::Test {
 protected:
  void SetUp() override { SetLogSink([](const LogRecord&) {}); }
  void TearDown() override { SetLogSink(nullptr); }
};

TEST_F(StressTest, ThreadsCompartmentsAndFaultsAccountForEveryCall) {
  const char* seconds_text = std::getenv("RF_STRESS_SECONDS");
  const double seconds = seconds_text != nullptr ? std::atof(seconds_text) : 3.0;
  constexpr int kThreads = 8;

  auto module = LoadOrDie(TestModulePath("lib_stress"));
  std::shared_ptr<Lock> lock = Lock::Create("L");
  auto region = Region::Create(65536);
  ASSERT_TRUE(region.ok()) << region.status().ToString();
  std::vector<std::unique_ptr<Compartment>> compartments;
  for (int i = 0; i < 4; ++i) {
    compartments.push_back(CreateOrDie(module, {.call_timeout = std::chrono::milliseconds(50)}));
    ASSERT_TRUE(compartments[i]->Provide("L", lock).ok());
    ASSERT_TRUE(compartments[i]->MapRegion("R", *region, kRegionOffset).ok());
  }
  // 2 -> 0 and 3 -> 1: two nested pairs.
  ASSERT_TRUE(compartments[2]->LinkModule("callee", *compartments[0]).ok());
  ASSERT_TRUE(compartments[3]->LinkModule("callee", *compartments[1]).ok());

  Tally tally;
  std::atomic<bool> stop = false;
  auto worker = [&](unsigned seed, Clock::time_point until) {
    std::mt19937 random(seed);
    while (Clock::now() < until && !stop) {
      int which = static_cast<int>(random() % 4);
      int roll = static_cast<int>(random() % 100);
      int fault = roll < 88   ? 0
                  : roll < 92 ? 1
                  : roll < 94 ? 4
                  : roll < 97 ? 3
                              : (testing::kSignalTrapsTestable ? 2 : 3);
      const char* entry = which >= 2 ? "nested" : "guarded";
      Clock::time_point start = Clock::now();
      Result<int32_t> result =
          compartments[which]->Call<int32_t(int32_t, int32_t)>(entry, fault, which + 1);
      if (Clock::now() - start > std::chrono::seconds(5)) ++tally.slow_calls;
      ++tally.calls;
      if (result.ok()) {
        ++tally.values;
        int32_t value = result.value();
        if (value == 2) ++tally.repairs_seen;
        if (value == -1) ++tally.exclusion_broken;
        if (value == -2 || value <= -90) {
          ++tally.lock_errors;
          std::fprintf(stderr, "stress: lock error %d\n", value);
        }
      } else if (result.trapped()) {
        ++tally.traps;
      } else {
        ++tally.errors;
        if (result.status().code() != StatusCode::kDeadlineExceeded) {
          std::fprintf(stderr, "stress: %s\n", result.status().ToString().c_str());
        }
      }
    }
  };
  auto run = [&](double run_seconds, unsigned seed) {
    Clock::time_point until = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                 std::chrono::duration<double>(run_seconds));
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) threads.emplace_back(worker, seed + t, until);
    // Chaos: kill a random compartment now and then.
    threads.emplace_back([&, seed] {
      std::mt19937 random(seed * 7 + 1);
      while (Clock::now() < until && !stop) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5 + random() % 20));
        compartments[random() % 4]->Kill();
      }
    });
    // No deadlock: the threads must finish soon after the time is up.
    std::atomic<bool> finished = false;
    std::thread guard([&] {
      Clock::time_point limit = until + std::chrono::seconds(30);
      while (!finished && Clock::now() < limit) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (!finished) {
        std::fprintf(stderr, "stress: threads still running 30 s after the end: deadlock\n");
        std::abort();
      }
    });
    for (std::thread& thread : threads) thread.join();
    finished = true;
    guard.join();
  };

  run(0.5, 1);  // warm-up: threads' stacks, windows, the watchdog
  int fds_before = testing::OpenFileDescriptors();
  int64_t rss_before = testing::ResidentBytes() / 1024;
  uint64_t calls_before = tally.calls;
  run(seconds, 1000);
  int fds_after = testing::OpenFileDescriptors();
  int64_t rss_after = testing::ResidentBytes() / 1024;

  uint64_t calls = tally.calls - calls_before;
  std::printf("stress: %llu calls in %.1f s: %llu values, %llu traps, %llu errors, %llu repairs\n",
              static_cast<unsigned long long>(calls), seconds,
              static_cast<unsigned long long>(tally.values.load()),
              static_cast<unsigned long long>(tally.traps.load()),
              static_cast<unsigned long long>(tally.errors.load()),
              static_cast<unsigned long long>(tally.repairs_seen.load()));
  EXPECT_GT(calls, 1000u);
  EXPECT_EQ(tally.values + tally.traps + tally.errors, tally.calls);
  EXPECT_GT(tally.traps, 0u);
  EXPECT_GT(tally.repairs_seen, 0u) << "deaths while holding the lock must hand it on marked";
  EXPECT_EQ(tally.exclusion_broken, 0u);
  EXPECT_EQ(tally.lock_errors, 0u);
  EXPECT_EQ(tally.slow_calls, 0u);

  // Every thread has left: no compartment is still entered (a frame
  // unwound past its callee's exit would leave one busy for ever).
  for (const auto& compartment : compartments) EXPECT_TRUE(compartment->idle());

  // Nobody holds the lock now, and nothing dead does: it is free (or passes
  // on marked owner died) at once.
  EXPECT_FALSE(lock->held());
  StatusOr<LockOutcome> outcome = lock->Acquire(std::chrono::milliseconds(100));
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  if (*outcome == LockOutcome::kOwnerDied) ASSERT_TRUE(lock->MarkConsistent().ok());
  ASSERT_TRUE(lock->Release().ok());

  EXPECT_EQ(fds_after, fds_before);
  if (testing::kMemoryFiguresMeaningful) {
    EXPECT_LT(rss_after - rss_before, 64 * 1024) << "RSS grew from " << rss_before << " KiB to "
                                                 << rss_after << " KiB";
  }
}

}  // namespace
}  // namespace ringfence
