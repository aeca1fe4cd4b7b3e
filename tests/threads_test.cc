// Traps are per thread and per compartment: a module faulting over and over
// on one thread never disturbs calls on another (scenario S14, small scale).
#include <gtest/gtest.h>
#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ringfence/compartment.h"
#include "ringfence/compartment_pool.h"
#include "ringfence/log.h"
#include "tests/test_support.h"

namespace ringfence {
namespace {

using testing::ExampleModulePath;
using testing::LoadOrDie;

// Created on the thread that uses it.
std::unique_ptr<Compartment> CreateOnThisThread(std::shared_ptr<const Module> module) {
  StatusOr<std::unique_ptr<Compartment>> compartment = Compartment::Create(std::move(module));
  RF_CHECK(compartment.ok());
  return std::move(compartment).value();
}

class ThreadsTest : public ::testing::Test {
 protected:
  // exit_with prints; keep that off the test output.
  void SetUp() override { SetLogSink([](const LogRecord&) {}); }
  void TearDown() override { SetLogSink(nullptr); }
};

struct TrapCall {
  const char* name;
  TrapKind kind;
};

// Signal-path traps (out-of-bounds, stack exhaustion) and traps raised by
// module code (the rest), in rotation.
const TrapCall kTrapRotation[] = {
    {"out_of_bounds_load", TrapKind::kOutOfBounds},
    {"divide_by_zero", TrapKind::kDivideByZero},
    {"null_call", TrapKind::kIndirectCallMismatch},
    {"integer_overflow", TrapKind::kIntegerOverflow},
    {"invalid_conversion", TrapKind::kInvalidConversion},
};

// One trapping call on `compartment`; stack exhaustion every `stack_every`
// calls (it costs a full native stack, so not every time).
bool TrapOnce(Compartment& compartment, int i, int stack_every) {
  if (!testing::kSignalTrapsTestable) stack_every = 0;  // see test_support.h
  if (stack_every > 0 && i % stack_every == stack_every - 1) {
    Result<int32_t> result = compartment.Call<int32_t()>("stack_overflow");
    return result.trapped() && result.trap().kind == TrapKind::kStackExhausted &&
           result.trap().function == "recurse";
  }
  if (i % 7 == 6) {
    Result<void> result = compartment.Call<void(int32_t)>("exit_with", i);
    return result.trapped() && result.trap().kind == TrapKind::kExit &&
           result.trap().exit_code == i;
  }
  // Under TSan the rotation skips its first entry, the signal-path trap.
  const size_t first = testing::kSignalTrapsTestable ? 0 : 1;
  const TrapCall& call = kTrapRotation[first + i % (std::size(kTrapRotation) - first)];
  Result<int32_t> result = compartment.Call<int32_t()>(call.name);
  return result.trapped() && result.trap().kind == call.kind &&
         result.trap().export_name == call.name && result.trap().module == "misbehave";
}

TEST_F(ThreadsTest, TrapsOnOneThreadLeaveAnotherThreadsCallsCorrect) {
  constexpr int kTrapIterations = 2'000;
  constexpr int kMinimumGoodCalls = 20'000;
  auto misbehave = LoadOrDie(ExampleModulePath("misbehave"));
  auto calc = LoadOrDie(ExampleModulePath("calc"));

  std::atomic<bool> a_done = false;
  std::atomic<bool> b_started = false;
  int a_traps = 0, a_bad_traps = 0, a_bad_alive = 0;
  int64_t b_calls = 0, b_wrong = 0;
  uint64_t a_restarts = 0;

  std::thread a([&] {
    auto compartment = CreateOnThisThread(misbehave);
    while (!b_started) std::this_thread::yield();  // overlap with B for sure
    for (int i = 0; i < kTrapIterations; ++i) {
      if (TrapOnce(*compartment, i, /*stack_every=*/200)) {
        ++a_traps;
      } else {
        ++a_bad_traps;
      }
      Result<int32_t> alive = compartment->Call<int32_t()>("calls");
      if (!alive.ok() || alive.value() != 1) ++a_bad_alive;
    }
    a_restarts = compartment->restart_count();
    a_done = true;
  });
  std::thread b([&] {
    auto compartment = CreateOnThisThread(calc);
    auto add = compartment->GetExport<int32_t(int32_t, int32_t)>("add").value();
    auto multiply = compartment->GetExport<int64_t(int64_t, int64_t)>("multiply").value();
    b_started = true;
    for (int64_t i = 0; !a_done || i < kMinimumGoodCalls; ++i) {
      int32_t x = static_cast<int32_t>(i * 7919);
      Result<int32_t> sum = add(x, 12345);
      Result<int64_t> product = multiply(i, i + 0x100000000);
      if (!sum.ok() || sum.value() != static_cast<int32_t>(static_cast<uint32_t>(x) + 12345u)) {
        ++b_wrong;
      }
      if (!product.ok() || product.value() != i * (i + 0x100000000)) ++b_wrong;
      b_calls += 2;
    }
    if (compartment->restart_count() != 0 || compartment->last_trap().has_value()) ++b_wrong;
  });
  a.join();
  b.join();

  EXPECT_EQ(a_traps, kTrapIterations);
  EXPECT_EQ(a_bad_traps, 0);
  EXPECT_EQ(a_bad_alive, 0) << "a trapped compartment must serve the next call fresh";
  EXPECT_EQ(a_restarts, static_cast<uint64_t>(kTrapIterations));
  EXPECT_GE(b_calls, 2 * kMinimumGoodCalls);
  EXPECT_EQ(b_wrong, 0);
}

// Four threads, one compartment each, of the same module: good calls keep
// per-instance state that every trap resets, on that compartment only.
TEST_F(ThreadsTest, FourThreadsMixGoodCallsAndTrapsOnTheirOwnCompartments) {
  constexpr int kThreads = 4;
  constexpr int kIterations = 1'500;
  auto misbehave = LoadOrDie(ExampleModulePath("misbehave"));

  struct Tally {
    int traps = 0;
    int wrong = 0;
    uint64_t restarts = 0;
  };
  std::vector<Tally> tallies(kThreads);
  std::atomic<int> ready = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Tally& tally = tallies[t];
      auto compartment = CreateOnThisThread(misbehave);
      ++ready;
      while (ready < kThreads) std::this_thread::yield();
      int32_t expected_calls = 0;
      for (int i = 0; i < kIterations; ++i) {
        // Each thread traps on its own rhythm: 1 in 3, 4, 5 or 6 calls.
        if (i % (t + 3) == 0) {
          if (TrapOnce(*compartment, i + t, /*stack_every=*/0)) {
            ++tally.traps;
          } else {
            ++tally.wrong;
          }
          expected_calls = 0;
          continue;
        }
        Result<int32_t> calls = compartment->Call<int32_t()>("calls");
        if (!calls.ok() || calls.value() != ++expected_calls) ++tally.wrong;
      }
      tally.restarts = compartment->restart_count();
    });
  }
  for (std::thread& thread : threads) thread.join();

  for (int t = 0; t < kThreads; ++t) {
    SCOPED_TRACE("thread " + std::to_string(t));
    const int expected_traps = (kIterations + t + 2) / (t + 3);
    EXPECT_EQ(tallies[t].wrong, 0);
    EXPECT_EQ(tallies[t].traps, expected_traps);
    // Every trap but a final one is followed by a call that restarts.
    const bool ends_with_trap = (kIterations - 1) % (t + 3) == 0;
    EXPECT_EQ(tallies[t].restarts, static_cast<uint64_t>(expected_traps - (ends_with_trap ? 1 : 0)));
  }
}

// Starts `threads` threads, each calling `name` (() -> i32) `calls` times
// on `compartment` and counting the calls that did not return a value.
std::vector<std::thread> StartCallers(Compartment& compartment, const char* name, int threads,
                                      int calls, std::atomic<int>& failures) {
  std::vector<std::thread> started;
  for (int t = 0; t < threads; ++t) {
    started.emplace_back([&compartment, name, calls, &failures] {
      for (int i = 0; i < calls; ++i) {
        if (!compartment.Call<int32_t()>(name).ok()) ++failures;
      }
    });
  }
  return started;
}

// One compartment, many threads: calls are serialised (a racing increment
// in module memory would lose counts), a waiting thread takes the claim over
// when the one inside leaves, and every call is served.
TEST_F(ThreadsTest, ThreadsSharingOneCompartmentAreSerialised) {
  constexpr int kThreads = 4;
  constexpr int kCalls = 3'000;
  auto compartment = testing::CreateOrDie(LoadOrDie(ExampleModulePath("misbehave")));
  std::atomic<int> failures = 0;
  std::vector<std::thread> threads = StartCallers(*compartment, "calls", kThreads, kCalls, failures);
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(compartment->Call<int32_t()>("calls").value(), kThreads * kCalls + 1);
  EXPECT_EQ(compartment->restart_count(), 0u);
}

// The same, with one thread trapping now and then: the others' calls are
// all served (by whichever instance is live), and every trap restarts once.
TEST_F(ThreadsTest, TrapsOnASharedCompartmentAreContained) {
  constexpr int kThreads = 3;
  constexpr int kCalls = 1'000;
  constexpr int kTraps = 100;
  auto compartment = testing::CreateOrDie(LoadOrDie(ExampleModulePath("misbehave")));
  std::atomic<int> failures = 0;
  std::vector<std::thread> threads = StartCallers(*compartment, "alive", kThreads, kCalls, failures);
  int traps = 0;
  for (int i = 0; i < kTraps; ++i) {
    Result<int32_t> result = compartment->Call<int32_t()>("divide_by_zero");
    if (result.trapped() && result.trap().kind == TrapKind::kDivideByZero) ++traps;
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(traps, kTraps);
  EXPECT_EQ(compartment->restart_count(), static_cast<uint64_t>(kTraps - 1) +
                                              (compartment->state() == Compartment::State::kReady));
}

// A pool spreads threads over its compartments; a trap restarts only the
// compartment that trapped.
TEST_F(ThreadsTest, PoolServesManyThreadsAndRestartsOnlyTheTrappedCompartment) {
  constexpr int kThreads = 4;
  constexpr int kCalls = 2'000;
  auto pool_or = CompartmentPool::Create(LoadOrDie(ExampleModulePath("misbehave")), 2);
  ASSERT_TRUE(pool_or.ok()) << pool_or.status().ToString();
  CompartmentPool& pool = **pool_or;
  std::atomic<int> failures = 0;
  std::atomic<int> traps = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCalls; ++i) {
        if (t == 0 && i % 100 == 0) {
          if (pool.Call<int32_t()>("divide_by_zero").trapped()) ++traps;
        } else if (!pool.Call<int32_t()>("alive").ok()) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(traps, kCalls / 100);
  uint64_t restarts = 0;
  int dead = 0;
  for (size_t i = 0; i < pool.size(); ++i) {
    restarts += pool.at(i).restart_count();
    dead += pool.at(i).state() == Compartment::State::kDead;
  }
  EXPECT_EQ(restarts + static_cast<uint64_t>(dead), static_cast<uint64_t>(traps.load()));
  EXPECT_EQ(CompartmentPool::Create(LoadOrDie(ExampleModulePath("misbehave")), 0).status().code(),
            StatusCode::kInvalidArgument);
}

// Stack exhaustion on a thread with a small stack is still caught against
// that thread's own guard, not the main thread's.
TEST_F(ThreadsTest, StackExhaustionOnASmallThreadStackIsContained) {
  RF_SKIP_SIGNAL_TRAPS_UNDER_TSAN();
  auto misbehave = LoadOrDie(ExampleModulePath("misbehave"));
  pthread_attr_t attributes;
  ASSERT_EQ(pthread_attr_init(&attributes), 0);
  ASSERT_EQ(pthread_attr_setstacksize(&attributes, 256 * 1024), 0);
  struct Context {
    std::shared_ptr<const Module> module;
    bool contained = false;
    bool alive_after = false;
  } context{misbehave};
  pthread_t thread;
  ASSERT_EQ(pthread_create(
                &thread, &attributes,
                [](void* argument) -> void* {
                  auto* context = static_cast<Context*>(argument);
                  auto compartment = CreateOnThisThread(context->module);
                  for (int i = 0; i < 3; ++i) {
                    Result<int32_t> result = compartment->Call<int32_t()>("stack_overflow");
                    context->contained = result.trapped() &&
                                         result.trap().kind == TrapKind::kStackExhausted;
                    if (!context->contained) break;
                  }
                  Result<int32_t> alive = compartment->Call<int32_t()>("alive");
                  context->alive_after = alive.ok() && alive.value() == 1;
                  return nullptr;
                },
                &context),
            0);
  ASSERT_EQ(pthread_join(thread, nullptr), 0);
  pthread_attr_destroy(&attributes);
  EXPECT_TRUE(context.contained);
  EXPECT_TRUE(context.alive_after);
}

}  // namespace
}  // namespace ringfence
