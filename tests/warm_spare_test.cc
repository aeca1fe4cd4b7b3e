// Warm spares (CompartmentOptions::warm_spare): a restart swaps in a standby
// instance made in advance on the spare maker thread. A swap is visible as
// a change of the live memory's base address (the spare lives in its own
// window); the synchronous restart keeps the same window.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>
#include <thread>
#include <vector>

#include "ringfence/compartment.h"
#include "ringfence/lock.h"
#include "ringfence/log.h"
#include "ringfence/module.h"
#include "ringfence/region.h"
#include "src/compartment/compartment_impl.h"
#include "tests/process_figures.h"
#include "tests/test_support.h"

namespace ringfence {
namespace {

using testing::CreateOrDie;
using testing::IsOk;
using testing::LoadOrDie;
using testing::TestModulePath;

constexpr int64_t kMiB = 1 << 20;
constexpr uint64_t kLimit = 16 * kMiB;  // regions go at or above it

std::shared_ptr<const Module> SpareModule() {
  static const std::shared_ptr<const Module> module = LoadOrDie(TestModulePath("lib_spare"));
  return module;
}

CompartmentOptions SpareOptions() {
  CompartmentOptions options;
  options.memory_limit_bytes = kLimit;
  options.warm_spare = true;
  return options;
}

std::unique_ptr<Compartment> CreateWithSpare() {
  return CreateOrDie(SpareModule(), SpareOptions());
}

std::shared_ptr<Region> CreateRegionOrDie(uint64_t size) {
  StatusOr<std::shared_ptr<Region>> region = Region::Create(size);
  RF_CHECK(region.ok());
  return *region;
}

// Base of the live instance's window (changes at a swap), or null.
const uint8_t* LiveBase(const Compartment& compartment) {
  const wasm_rt_memory_t* memory = internal::ImplOf(compartment).memory();
  return memory != nullptr ? memory->data : nullptr;
}

int32_t Call32(Compartment& compartment, std::string_view name) {
  Result<int32_t> result = compartment.Call<int32_t()>(name);
  EXPECT_TRUE(result.ok()) << name;
  return result.ok() ? result.value() : INT32_MIN;
}
int32_t Call32(Compartment& compartment, std::string_view name, int32_t a) {
  Result<int32_t> result = compartment.Call<int32_t(int32_t)>(name, a);
  EXPECT_TRUE(result.ok()) << name;
  return result.ok() ? result.value() : INT32_MIN;
}

bool TrapDivide(Compartment& compartment) {
  Result<int32_t> result = compartment.Call<int32_t(int32_t, int32_t)>("divide", 1, 0);
  return result.trapped() && result.trap().kind == TrapKind::kDivideByZero;
}

class WarmSpareTest : public ::testing::Test {
 protected:
  void SetUp() override { SetLogSink([](const LogRecord&) {}); }
  void TearDown() override { SetLogSink(nullptr); }
};

TEST_F(WarmSpareTest, WithoutTheOptionThereIsNoSpare) {
  auto compartment = CreateOrDie(SpareModule());
  EXPECT_FALSE(internal::ImplOf(*compartment).spare_ready());
  EXPECT_FALSE(compartment->WaitForSpare());
  const uint8_t* base = LiveBase(*compartment);
  ASSERT_TRUE(TrapDivide(*compartment));
  EXPECT_EQ(Call32(*compartment, "bump"), 1);
  EXPECT_EQ(LiveBase(*compartment), base);  // restarted in place
}

// After a trap the next call is served by the spare (other window), on a
// fresh instance whose start-up ran; then by the first window again, reset.
TEST_F(WarmSpareTest, TrapThenCallSwapsInAFreshSpare) {
  auto compartment = CreateWithSpare();
  ASSERT_TRUE(compartment->WaitForSpare());
  const uint8_t* first = LiveBase(*compartment);
  EXPECT_EQ(Call32(*compartment, "bump"), 1);
  EXPECT_EQ(Call32(*compartment, "bump"), 2);
  ASSERT_TRUE(TrapDivide(*compartment));
  EXPECT_EQ(compartment->state(), Compartment::State::kDead);
  ASSERT_TRUE(compartment->last_trap().has_value());
  EXPECT_EQ(compartment->last_trap()->kind, TrapKind::kDivideByZero);

  EXPECT_EQ(Call32(*compartment, "bump"), 1);  // fresh module state
  EXPECT_EQ(Call32(*compartment, "started"), 1);
  const uint8_t* second = LiveBase(*compartment);
  EXPECT_NE(second, first);  // swapped
  EXPECT_EQ(compartment->restart_count(), 1u);
  EXPECT_EQ(compartment->state(), Compartment::State::kReady);
  EXPECT_EQ(compartment->open_handles(), 0u);

  // The dead instance's window was reset and became the next spare.
  ASSERT_TRUE(compartment->WaitForSpare());
  EXPECT_EQ(Call32(*compartment, "bump"), 2);
  ASSERT_TRUE(IsOk(compartment->Restart()));
  EXPECT_EQ(LiveBase(*compartment), first);
  EXPECT_EQ(compartment->restart_count(), 2u);
  EXPECT_EQ(Call32(*compartment, "bump"), 1);
  // Memory the dead instance dirtied reads as the pristine image again:
  // the counter is a zero-initialised global, and it counted from 0.
  Window window = compartment->window();
  EXPECT_GT(window.size(), 0u);
}

// Out-of-bounds traps arrive as signals: the fault handler must find the
// swapped-in core's window too.
TEST_F(WarmSpareTest, SignalTrapsWorkInBothWindows) {
  RF_SKIP_SIGNAL_TRAPS_UNDER_TSAN();
  auto compartment = CreateWithSpare();
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(compartment->WaitForSpare());
    const uint8_t* before = LiveBase(*compartment);
    Result<int32_t> load = compartment->Call<int32_t(int32_t)>("load_at", int32_t{-16});
    ASSERT_TRUE(load.trapped());
    EXPECT_EQ(load.trap().kind, TrapKind::kOutOfBounds);
    EXPECT_EQ(Call32(*compartment, "bump"), 1);
    EXPECT_NE(LiveBase(*compartment), before);
  }
  EXPECT_EQ(compartment->restart_count(), 4u);
}

TEST_F(WarmSpareTest, KillWithNobodyInsideSwapsAtTheNextCall) {
  auto compartment = CreateWithSpare();
  ASSERT_TRUE(compartment->WaitForSpare());
  const uint8_t* first = LiveBase(*compartment);
  EXPECT_EQ(Call32(*compartment, "bump"), 1);
  compartment->Kill();
  EXPECT_EQ(compartment->state(), Compartment::State::kDead);
  EXPECT_EQ(internal::ImplOf(*compartment).memory(), nullptr);
  EXPECT_EQ(compartment->last_trap()->kind, TrapKind::kKilled);
  EXPECT_EQ(Call32(*compartment, "bump"), 1);
  EXPECT_NE(LiveBase(*compartment), first);
}

// A region mapped after Create is in both windows at the same offset; the
// spare made before the mapping is made again, so its start-up sees it.
TEST_F(WarmSpareTest, RegionsAreMappedIntoTheSpareAtTheSameOffset) {
  auto compartment = CreateWithSpare();
  std::shared_ptr<Region> data = CreateRegionOrDie(64 * 1024);
  std::shared_ptr<Region> control = CreateRegionOrDie(64 * 1024);
  ASSERT_TRUE(IsOk(compartment->MapRegion("data", data, kLimit)));
  ASSERT_TRUE(IsOk(compartment->MapRegion("control", control, kLimit + 64 * 1024)));
  ASSERT_TRUE(compartment->WaitForSpare());
  // The live instance started before the mapping; the spare after it.
  auto* words = reinterpret_cast<volatile uint32_t*>(control->bytes().data());
  EXPECT_EQ(words[0], 1u);

  const uint8_t* first = LiveBase(*compartment);
  EXPECT_EQ(Call32(*compartment, "data_offset"), static_cast<int32_t>(kLimit));
  EXPECT_EQ(compartment->Call<int32_t(int32_t, int32_t)>("data_write", 3, 77).value(), 0);
  EXPECT_EQ(data->bytes()[3], 77);
  ASSERT_TRUE(TrapDivide(*compartment));

  EXPECT_EQ(Call32(*compartment, "data_offset"), static_cast<int32_t>(kLimit));
  EXPECT_NE(LiveBase(*compartment), first);
  EXPECT_EQ(Call32(*compartment, "data_read", 3), 77);  // the same shared bytes
  data->bytes()[4] = 55;
  EXPECT_EQ(Call32(*compartment, "data_read", 4), 55);
  // And back in the first window, after its reset (regions stay mapped).
  ASSERT_TRUE(compartment->WaitForSpare());
  EXPECT_EQ(words[0], 2u);
  ASSERT_TRUE(TrapDivide(*compartment));
  EXPECT_EQ(Call32(*compartment, "data_read", 4), 55);
  EXPECT_EQ(LiveBase(*compartment), first);
}

// A provided lock is reachable from the swapped-in instance, and a death
// holding it passes it on marked owner died, from either window (each has
// its own lock-owner id).
TEST_F(WarmSpareTest, ProvidedLocksPassOnOwnerDiedAcrossSwaps) {
  auto compartment = CreateWithSpare();
  std::shared_ptr<Lock> lock = Lock::Create("shared");
  ASSERT_TRUE(IsOk(compartment->Provide("shared", lock)));
  const uint8_t* previous = LiveBase(*compartment);
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(compartment->WaitForSpare());
    int32_t handle = Call32(*compartment, "open_shared");
    ASSERT_GE(handle, 0);
    const uint8_t* base = LiveBase(*compartment);
    if (round > 0) EXPECT_NE(base, previous) << "round " << round;
    previous = base;
    Result<int32_t> died = compartment->Call<int32_t(int32_t)>("acquire_then_trap", handle);
    ASSERT_TRUE(died.trapped()) << "round " << round;
    EXPECT_FALSE(lock->held());  // released at death, not at the swap
    StatusOr<LockOutcome> outcome = lock->Acquire(std::chrono::seconds(10));
    ASSERT_TRUE(outcome.ok());
    EXPECT_EQ(*outcome, LockOutcome::kOwnerDied) << "round " << round;
    EXPECT_TRUE(IsOk(lock->MarkConsistent()));
    EXPECT_TRUE(IsOk(lock->Release()));
  }
  // The fresh instance takes and gives back the lock normally.
  int32_t handle = Call32(*compartment, "open_shared");
  EXPECT_EQ(Call32(*compartment, "acquire", handle), RF_OK);
  EXPECT_TRUE(lock->held());
  EXPECT_EQ(Call32(*compartment, "release", handle), RF_OK);
  EXPECT_FALSE(lock->held());
}

TEST_F(WarmSpareTest, LinksWorkAfterASwap) {
  auto backend = CreateOrDie(LoadOrDie(TestModulePath("lib_backend")));
  auto compartment = CreateWithSpare();
  EXPECT_EQ(Call32(*compartment, "via_compute", 21), -static_cast<int32_t>(RF_CALL_NOT_LINKED));
  ASSERT_TRUE(IsOk(compartment->LinkModule("backend", *backend)));
  EXPECT_EQ(Call32(*compartment, "via_compute", 21), 42);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(compartment->WaitForSpare());
    const uint8_t* before = LiveBase(*compartment);
    ASSERT_TRUE(TrapDivide(*compartment));
    EXPECT_EQ(Call32(*compartment, "via_compute", 5 + i), 2 * (5 + i));
    EXPECT_NE(LiveBase(*compartment), before);
  }
  EXPECT_EQ(backend->Call<int32_t()>("calls_served").value(), 4);
}

// The spare's start-up traps (the control region says so): the restart
// falls back to the caller's thread, in the same window, and the spare is
// made again afterwards.
TEST_F(WarmSpareTest, SpareWhoseStartUpTrapsFallsBackToARestartInPlace) {
  auto compartment = CreateWithSpare();
  std::shared_ptr<Region> control = CreateRegionOrDie(64 * 1024);
  auto* words = reinterpret_cast<volatile uint32_t*>(control->bytes().data());
  words[1] = 1;  // start-ups trap
  ASSERT_TRUE(IsOk(compartment->MapRegion("control", control, kLimit)));
  EXPECT_FALSE(compartment->WaitForSpare());
  EXPECT_EQ(words[0], 1u);  // the spare's start-up ran, and trapped
  EXPECT_EQ(Call32(*compartment, "bump"), 1);  // the live instance is unaffected
  EXPECT_EQ(compartment->restart_count(), 0u);
  EXPECT_EQ(compartment->open_handles(), 0u);

  words[1] = 0;
  const uint8_t* base = LiveBase(*compartment);
  ASSERT_TRUE(TrapDivide(*compartment));
  EXPECT_EQ(Call32(*compartment, "bump"), 1);
  EXPECT_EQ(LiveBase(*compartment), base);  // in place: no spare was ready
  EXPECT_EQ(compartment->restart_count(), 1u);
  EXPECT_EQ(compartment->last_trap()->kind, TrapKind::kDivideByZero);
  ASSERT_TRUE(compartment->WaitForSpare());  // made again, and now it starts
  EXPECT_EQ(words[0], 3u);  // spare (trapped), restart in place, spare

  ASSERT_TRUE(TrapDivide(*compartment));
  EXPECT_EQ(Call32(*compartment, "bump"), 1);
  EXPECT_NE(LiveBase(*compartment), base);
  EXPECT_EQ(compartment->restart_count(), 2u);
}

// A trap in an inner frame of a re-entered compartment: nothing swaps until
// the outer frame has unwound. (lib_frontend's self link: host -> A -> A.)
TEST_F(WarmSpareTest, ReentrantTrapSwapsOnlyAfterTheOuterFrameUnwound) {
  CompartmentOptions options;
  options.warm_spare = true;
  auto frontend = CreateOrDie(LoadOrDie(TestModulePath("lib_frontend")), options);
  ASSERT_TRUE(IsOk(frontend->LinkModule("self", *frontend)));
  ASSERT_TRUE(frontend->WaitForSpare());
  const uint8_t* first = LiveBase(*frontend);
  EXPECT_EQ(Call32(*frontend, "reenter", 1), 20);
  Result<int32_t> trapped = frontend->Call<int32_t(int32_t)>("reenter_trap", 1);
  ASSERT_TRUE(trapped.trapped());
  EXPECT_EQ(trapped.trap().kind, TrapKind::kDivideByZero);
  EXPECT_EQ(frontend->state(), Compartment::State::kDead);
  EXPECT_EQ(Call32(*frontend, "bump"), 1);
  EXPECT_NE(LiveBase(*frontend), first);
  EXPECT_EQ(frontend->restart_count(), 1u);
  EXPECT_EQ(Call32(*frontend, "reenter", 2), 30);
}

// Faults faster than spares are made: every call is still served, some by
// swaps and some in place; RSS, fds and address space stay flat.
TEST_F(WarmSpareTest, TwoThousandTrapRestartCyclesKeepRssAndFdsFlat) {
  constexpr int kWarmUp = 100;
  constexpr int kCycles = 2'000;
  auto compartment = CreateWithSpare();
  auto divide = compartment->GetExport<int32_t(int32_t, int32_t)>("divide").value();
  auto bump = compartment->GetExport<int32_t()>("bump").value();
  int swaps = 0;
  auto cycle = [&](int i) {
    if (i % 2 == 0) compartment->WaitForSpare();  // half of them swap for sure
    const uint8_t* before = LiveBase(*compartment);
    Result<int32_t> trapped = divide(1, 0);
    Result<int32_t> fresh = bump();
    if (!trapped.trapped() || !fresh.ok() || fresh.value() != 1) return false;
    swaps += LiveBase(*compartment) != before;
    return true;
  };
  for (int i = 0; i < kWarmUp; ++i) ASSERT_TRUE(cycle(i));
  const int64_t rss_before = testing::ResidentBytes();
  const int64_t vm_before = testing::VirtualBytes();
  const int fds_before = testing::OpenFileDescriptors();
  for (int i = kWarmUp; i < kCycles; ++i) ASSERT_TRUE(cycle(i)) << "cycle " << i;
  compartment->WaitForSpare();
  EXPECT_EQ(compartment->restart_count(), static_cast<uint64_t>(kCycles));
  EXPECT_GE(swaps, kCycles / 2);
  EXPECT_EQ(testing::OpenFileDescriptors(), fds_before);
  if (!testing::kMemoryFiguresMeaningful) return;
  EXPECT_LT(testing::ResidentBytes() - rss_before, 4 * kMiB);
  EXPECT_LT(testing::VirtualBytes() - vm_before, 64 * kMiB);
}

// Compartments destroyed while the spare maker is busy with them (queued,
// or running their start-up): no use after free (ASan), no hang.
TEST_F(WarmSpareTest, ManyCompartmentsComeAndGoWhileSparesAreMade) {
  constexpr int kRounds = 40;
  constexpr int kPerRound = 8;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<std::unique_ptr<Compartment>> compartments;
    for (int i = 0; i < kPerRound; ++i) {
      compartments.push_back(CreateWithSpare());
      if (i % 2 == 0) ASSERT_TRUE(TrapDivide(*compartments.back()));
    }
    for (int i = 0; i < kPerRound; i += 3) {
      EXPECT_EQ(Call32(*compartments[i], "bump"), 1);  // swap or restart in place
    }
    if (round % 4 == 0) compartments.front()->WaitForSpare();
    compartments.clear();  // most spares still queued or in the making
  }
}

// Threads calling one compartment while another thread kills it again and
// again: every call is served, returns a trap, or (a start-up killed) says
// the instance could not be made; the compartment serves afterwards. (Kills land at random points of the swap machinery; run
// under TSan too.)
void CallsDuringAKillStorm(Compartment* compartment) {
  constexpr int kThreads = 3;
  constexpr int kCalls = 2'000;
  // Without TSan (which sends no preemption signal) this storms the calling
  // threads with preemption signals: they must neither pile up on the
  // alternate signal stack nor leave a killed instance claimable.
  std::atomic<bool> done = false;
  std::atomic<int> served = 0, trapped = 0, start_killed = 0, failed = 0;
  std::vector<std::thread> callers;
  for (int t = 0; t < kThreads; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < kCalls; ++i) {
        Result<int32_t> result = (i + t) % 50 == 0
            ? compartment->Call<int32_t(int32_t, int32_t)>("divide", 1, 0)
            : compartment->Call<int32_t()>("bump");
        if (result.ok()) ++served;
        else if (result.trapped()) ++trapped;
        // A kill that lands while a start-up runs on the caller's thread
        // (no spare was ready) kills the start-up: a clear error.
        else if (result.status().code() == StatusCode::kInstantiateFailed) ++start_killed;
        else {
          ++failed;
          ADD_FAILURE() << result.status().ToString();
        }
      }
    });
  }
  std::thread killer([&] {
    while (!done.load()) {
      compartment->Kill();
      std::this_thread::yield();
    }
  });
  for (std::thread& caller : callers) caller.join();
  done = true;
  killer.join();
  EXPECT_EQ(served + trapped + start_killed + failed, kThreads * kCalls);
  EXPECT_EQ(failed, 0);
  EXPECT_GT(served, 0);
  compartment->WaitForSpare();
  EXPECT_GE(Call32(*compartment, "bump"), 1);
  EXPECT_EQ(compartment->state(), Compartment::State::kReady);
}

TEST_F(WarmSpareTest, CallsAndAKillStormAreAllAccountedFor) {
  CallsDuringAKillStorm(CreateWithSpare().get());
}

// The same storm without a spare: every restart runs start-up code on a
// caller's thread, where kills land too.
TEST_F(WarmSpareTest, CallsAndAKillStormWithoutASpareAreAllAccountedFor) {
  CallsDuringAKillStorm(CreateOrDie(SpareModule()).get());
}

}  // namespace
}  // namespace ringfence
