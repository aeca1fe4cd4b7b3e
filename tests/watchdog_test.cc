// Watchdog and kill (DESIGN.md S5, S8): call deadlines preempt a module
// spinning in its own code and wake one blocked in a host service; Kill works
// from another thread; memory growth past the limit is refused and a module
// that dies of it says so.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "ringfence/deadline.h"
#include "ringfence/log.h"
#include "tests/test_support.h"

namespace ringfence {
namespace {

using ::ringfence::testing::CreateOrDie;
using ::ringfence::testing::ExampleModulePath;
using ::ringfence::testing::LoadOrDie;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

// Preempting module code is a signal that unwinds the thread: see
// test_support.h for why TSan cannot follow it.
#define RF_SKIP_PREEMPTION_UNDER_TSAN() RF_SKIP_SIGNAL_TRAPS_UNDER_TSAN()

class WatchdogTest : public ::testing::Test {
 protected:
  void SetUp() override { SetLogSink([](const LogRecord&) {}); }
  void TearDown() override { SetLogSink(nullptr); }

  std::unique_ptr<Compartment> Misbehave(CompartmentOptions options = {}) {
    return CreateOrDie(LoadOrDie(ExampleModulePath("misbehave")), options);
  }
};

TEST_F(WatchdogTest, SpinningModuleIsPreemptedAtTheDeadline) {
  RF_SKIP_PREEMPTION_UNDER_TSAN();
  auto compartment = Misbehave({.call_timeout = std::chrono::milliseconds(50)});
  Clock::time_point start = Clock::now();
  Result<int32_t> result = compartment->Call<int32_t()>("spin_forever");
  auto took = Clock::now() - start;
  ASSERT_TRUE(result.trapped());
  EXPECT_EQ(result.trap().kind, TrapKind::kTimeout);
  EXPECT_EQ(result.trap().export_name, "spin_forever");
  EXPECT_EQ(result.trap().function, "spin_forever");
  EXPECT_GE(took, std::chrono::milliseconds(50));
  EXPECT_LT(took, std::chrono::seconds(5));
  // Restarted; the next call is served, and the deadline applies per call.
  EXPECT_EQ(compartment->Call<int32_t()>("alive").value(), 1);
  EXPECT_EQ(compartment->restart_count(), 1u);
}

TEST_F(WatchdogTest, ModuleBlockedInAHostServiceIsWokenAndUnwound) {
  auto compartment = Misbehave({.call_timeout = std::chrono::milliseconds(50)});
  Clock::time_point start = Clock::now();
  Result<int32_t> result = compartment->Call<int32_t(int32_t)>("sleep_seconds", 30);
  auto took = Clock::now() - start;
  ASSERT_TRUE(result.trapped());
  EXPECT_EQ(result.trap().kind, TrapKind::kTimeout);
  EXPECT_LT(took, std::chrono::seconds(5));
  EXPECT_EQ(compartment->Call<int32_t()>("alive").value(), 1);
}

TEST_F(WatchdogTest, CallsWithinTheDeadlineAreUntouched) {
  auto compartment = Misbehave({.call_timeout = std::chrono::seconds(10)});
  for (int i = 1; i <= 1000; ++i) ASSERT_EQ(compartment->Call<int32_t()>("calls").value(), i);
  EXPECT_EQ(compartment->restart_count(), 0u);
}

TEST_F(WatchdogTest, KillFromAnotherThreadPreemptsSpinningCode) {
  RF_SKIP_PREEMPTION_UNDER_TSAN();
  auto compartment = Misbehave();
  std::thread killer([&] {
    while (compartment->idle()) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    compartment->Kill();
  });
  Result<int32_t> result = compartment->Call<int32_t()>("spin_forever");
  killer.join();
  ASSERT_TRUE(result.trapped());
  EXPECT_EQ(result.trap().kind, TrapKind::kKilled);
  EXPECT_EQ(compartment->Call<int32_t()>("alive").value(), 1);
}

TEST_F(WatchdogTest, KillFromAnotherThreadWakesABlockedService) {
  auto compartment = Misbehave();
  std::thread killer([&] {
    while (compartment->idle()) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    compartment->Kill();
  });
  Clock::time_point start = Clock::now();
  Result<int32_t> result = compartment->Call<int32_t(int32_t)>("sleep_seconds", 30);
  killer.join();
  ASSERT_TRUE(result.trapped());
  EXPECT_EQ(result.trap().kind, TrapKind::kKilled);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
}

// A thread finding another inside waits for it - up to its own deadline.
TEST_F(WatchdogTest, SecondThreadWaitsForTheFirstUpToItsDeadline) {
  auto compartment = Misbehave();
  std::thread sleeper([&] {
    Result<int32_t> slept = compartment->Call<int32_t(int32_t)>("sleep_seconds", 1);
    EXPECT_TRUE(slept.ok());
  });
  while (compartment->idle()) std::this_thread::yield();
  {
    DeadlineScope deadline(std::chrono::milliseconds(50));
    Result<int32_t> gave_up = compartment->Call<int32_t()>("alive");
    ASSERT_TRUE(gave_up.failed());
    EXPECT_EQ(gave_up.status().code(), StatusCode::kDeadlineExceeded);
    EXPECT_THAT(gave_up.status().message(), HasSubstr("busy on another thread"));
  }
  // Without a deadline the wait lasts until the sleeper leaves.
  Result<int32_t> waited = compartment->Call<int32_t()>("alive");
  EXPECT_TRUE(waited.ok());
  EXPECT_TRUE(compartment->idle());
  sleeper.join();
  EXPECT_EQ(compartment->restart_count(), 0u);
}

TEST_F(WatchdogTest, DeadlineScopeAppliesToOneThreadsCalls) {
  RF_SKIP_PREEMPTION_UNDER_TSAN();
  auto compartment = Misbehave();
  ASSERT_EQ(compartment->Call<int32_t()>("calls").value(), 1);  // fast path claimed
  {
    DeadlineScope deadline(std::chrono::milliseconds(30));
    Result<int32_t> late = compartment->Call<int32_t()>("spin_forever");
    ASSERT_TRUE(late.trapped());
    EXPECT_EQ(late.trap().kind, TrapKind::kTimeout);
  }
  // The scope is gone: calls are fast again and unlimited.
  EXPECT_EQ(compartment->Call<int32_t()>("calls").value(), 1);
  EXPECT_EQ(compartment->Call<int32_t()>("calls").value(), 2);
}

TEST_F(WatchdogTest, ModuleThatDiesOfTheMemoryLimitSaysSo) {
  auto compartment = Misbehave({.memory_limit_bytes = uint64_t{8} << 20});
  Result<int32_t> result = compartment->Call<int32_t()>("allocate_until_death");
  ASSERT_TRUE(result.trapped());
  EXPECT_EQ(result.trap().kind, TrapKind::kUnreachable);
  ASSERT_TRUE(result.trap().memory_limit_refused.has_value());
  EXPECT_EQ(*result.trap().memory_limit_refused, uint64_t{8} << 20);
  EXPECT_THAT(result.trap().ToString(), HasSubstr("refused at the 8 MiB limit"));
  // A fresh instance starts with a clean record.
  ASSERT_TRUE(compartment->Call<int32_t()>("divide_by_zero").trapped());
  EXPECT_FALSE(compartment->last_trap()->memory_limit_refused.has_value());
}

}  // namespace
}  // namespace ringfence
