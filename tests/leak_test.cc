// Nothing leaks across restarts (invariant 7): memory, file descriptors and
// address space stay flat over many trap/restart cycles and many compartment
// lifetimes in one process.
#include <gtest/gtest.h>
#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "ringfence/compartment.h"
#include "ringfence/log.h"
#include "tests/process_figures.h"
#include "tests/test_support.h"

namespace ringfence {
namespace {

using testing::CreateOrDie;
using testing::ExampleModulePath;
using testing::LoadOrDie;
using testing::OpenFileDescriptors;
using testing::ResidentBytes;
using testing::VirtualBytes;

constexpr int64_t kMiB = 1 << 20;

// Bytes the host's malloc has handed out and not got back (main arena):
// catches leaks far smaller than a page, e.g. a table not freed per restart.
int64_t HeapBytesInUse() { return static_cast<int64_t>(mallinfo2().uordblks); }

// Keeps module output (misbehave prints nothing on these paths, but be sure)
// out of the measurements and restores the default sink afterwards.
class LeakTest : public ::testing::Test {
 protected:
  void SetUp() override {
#ifdef RF_TEST_TSAN
    GTEST_SKIP() << "leaks are checked by the normal and ASan builds (see test_support.h)";
#endif
    SetLogSink([](const LogRecord&) {});
  }
  void TearDown() override { SetLogSink(nullptr); }
};

// One cycle: a trap through the fault handler (signal path), a trap raised by
// module code itself (no signal), and a good call on the fresh instance.
// Returns false, with a failure recorded, if anything went wrong.
bool RunCycle(const TypedExport<int32_t()>& out_of_bounds,
              const TypedExport<int32_t()>& divide_by_zero, const TypedExport<int32_t()>& calls) {
  Result<int32_t> load = out_of_bounds();
  if (!load.trapped() || load.trap().kind != TrapKind::kOutOfBounds) {
    ADD_FAILURE() << "out_of_bounds_load did not trap as out-of-bounds";
    return false;
  }
  Result<int32_t> divide = divide_by_zero();
  if (!divide.trapped() || divide.trap().kind != TrapKind::kDivideByZero) {
    ADD_FAILURE() << "divide_by_zero did not trap as divide-by-zero";
    return false;
  }
  Result<int32_t> good = calls();
  if (!good.ok() || good.value() != 1) {
    ADD_FAILURE() << "the call after two traps did not run on a fresh instance";
    return false;
  }
  return true;
}

TEST_F(LeakTest, TenThousandTrapRestartCyclesKeepRssAndFdsFlat) {
  constexpr int kWarmUpCycles = 200;
  constexpr int kCycles = 10'000;
  auto compartment = CreateOrDie(LoadOrDie(ExampleModulePath("misbehave")));
  auto out_of_bounds = compartment->GetExport<int32_t()>("out_of_bounds_load").value();
  auto divide_by_zero = compartment->GetExport<int32_t()>("divide_by_zero").value();
  auto calls = compartment->GetExport<int32_t()>("calls").value();

  for (int i = 0; i < kWarmUpCycles; ++i) {
    ASSERT_TRUE(RunCycle(out_of_bounds, divide_by_zero, calls)) << "cycle " << i;
  }
  const int64_t rss_before = ResidentBytes();
  const int64_t heap_before = HeapBytesInUse();
  const int fds_before = OpenFileDescriptors();
  const uint64_t restarts_before = compartment->restart_count();

  auto start = std::chrono::steady_clock::now();
  for (int i = kWarmUpCycles; i < kCycles; ++i) {
    ASSERT_TRUE(RunCycle(out_of_bounds, divide_by_zero, calls)) << "cycle " << i;
  }
  auto elapsed = std::chrono::steady_clock::now() - start;

  const int64_t rss_after = ResidentBytes();
  const int64_t heap_after = HeapBytesInUse();
  const int fds_after = OpenFileDescriptors();
  // Two restarts per cycle, every one of them counted.
  EXPECT_EQ(compartment->restart_count() - restarts_before,
            2u * static_cast<uint64_t>(kCycles - kWarmUpCycles));
  EXPECT_EQ(fds_after, fds_before);
  if (!testing::kMemoryFiguresMeaningful) return;  // ASan's quarantine holds freed memory
  EXPECT_LT(rss_after - rss_before, 4 * kMiB)
      << "RSS grew from " << rss_before / 1024 << " KiB to " << rss_after / 1024 << " KiB";
  // 19,600 restarts: even 8 bytes lost per restart would exceed this.
  EXPECT_LT(heap_after - heap_before, 64 * 1024)
      << "malloc'd bytes grew from " << heap_before << " to " << heap_after;
  RecordProperty("rss_growth_kib", std::to_string((rss_after - rss_before) / 1024));
  RecordProperty("heap_growth_bytes", std::to_string(heap_after - heap_before));
  RecordProperty("cycle_us",
                 std::to_string(std::chrono::duration<double, std::micro>(elapsed).count() /
                                (kCycles - kWarmUpCycles)));
}

// Each compartment reserves an 8 GiB window: one leaked reservation per
// lifetime would add terabytes here.
TEST_F(LeakTest, TwoThousandCompartmentLifetimesKeepAddressSpaceFlat) {
  constexpr int kWarmUp = 20;
  constexpr int kLifetimes = 2'000;
  auto module = LoadOrDie(ExampleModulePath("calc"));
  auto live_once = [&](int i) {
    auto compartment = CreateOrDie(module);
    Result<int32_t> sum = compartment->Call<int32_t(int32_t, int32_t)>("add", i, 1);
    if (!sum.ok() || sum.value() != i + 1) {
      ADD_FAILURE() << "add failed in lifetime " << i;
      return false;
    }
    // Half of them die trapped, so the discard-on-trap path is covered too.
    if (i % 2 == 1 && !compartment->Call<int32_t(int32_t, int32_t)>("divide", 1, 0).trapped()) {
      ADD_FAILURE() << "divide by zero did not trap in lifetime " << i;
      return false;
    }
    return true;
  };
  for (int i = 0; i < kWarmUp; ++i) ASSERT_TRUE(live_once(i));
  const int64_t vm_before = VirtualBytes();
  const int64_t rss_before = ResidentBytes();
  const int fds_before = OpenFileDescriptors();
  for (int i = kWarmUp; i < kLifetimes; ++i) ASSERT_TRUE(live_once(i));
  const int64_t vm_after = VirtualBytes();
  EXPECT_LT(vm_after - vm_before, 64 * kMiB)
      << "VmSize grew from " << vm_before / kMiB << " MiB to " << vm_after / kMiB << " MiB";
  EXPECT_LT(ResidentBytes() - rss_before, 8 * kMiB);
  EXPECT_EQ(OpenFileDescriptors(), fds_before);
}

// Loading and dropping a module gives back its code mapping and descriptors.
TEST_F(LeakTest, ModuleLoadUnloadKeepsFdsAndAddressSpaceFlat) {
  constexpr int kWarmUp = 5;
  constexpr int kLoads = 200;
  auto load_once = [] {
    auto module = LoadOrDie(ExampleModulePath("calc"));
    auto compartment = CreateOrDie(module);
    return compartment->Call<int32_t(int32_t, int32_t)>("add", 2, 3).value() == 5;
  };
  for (int i = 0; i < kWarmUp; ++i) ASSERT_TRUE(load_once());
  const int64_t vm_before = VirtualBytes();
  const int fds_before = OpenFileDescriptors();
  for (int i = 0; i < kLoads; ++i) ASSERT_TRUE(load_once()) << "load " << i;
  EXPECT_EQ(OpenFileDescriptors(), fds_before);
  EXPECT_LT(VirtualBytes() - vm_before, 32 * kMiB);
}

}  // namespace
}  // namespace ringfence
