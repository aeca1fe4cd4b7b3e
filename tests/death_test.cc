// A host bug is never masked (invariant 1, scenario S13): faults in host code
// kill the process even while ringfence's fault handler is installed - with no
// module running, inside a host service a module called, and after a module
// trap was contained.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>

#include "ringfence/compartment.h"
#include "ringfence/log.h"
#include "src/compartment/compartment_impl.h"
#include "tests/test_support.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define RF_TEST_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define RF_TEST_SANITIZED 1
#endif

// Under a sanitizer its own SEGV report ends the process (with exit code 1,
// not the signal), so only "it died" can be asserted there.
#ifdef RF_TEST_SANITIZED
#define EXPECT_HOST_SEGFAULT_KILLS(statement) EXPECT_DEATH(statement, "")
#else
#define EXPECT_HOST_SEGFAULT_KILLS(statement) \
  EXPECT_EXIT(statement, ::testing::KilledBySignal(SIGSEGV), "")
#endif

namespace ringfence {
namespace {

using testing::CreateOrDie;
using testing::ExampleModulePath;
using testing::LoadOrDie;

// A write through a pointer the compiler cannot prove null (a plain null
// store may be compiled to a trap instruction, which raises SIGILL instead).
[[gnu::noinline]] void WriteThrough(int* volatile* pointer, int value) { **pointer = value; }

int* volatile g_null_pointer = nullptr;

// Set-up for a child that is expected to die: no core file in the build
// tree, and a deadline, so a fault the handler wrongly claims (which can
// leave a lock held by a jumped-over host frame) fails fast instead of
// hanging the death test.
void PrepareToDie() {
  rlimit none = {0, 0};
  setrlimit(RLIMIT_CORE, &none);
  alarm(20);
}

class HostFaultDeathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The child re-runs only this test: the fault handler the parent
    // installed is installed again there by the test's own compartment.
    GTEST_FLAG_SET(death_test_style, "threadsafe");
  }
  void TearDown() override { SetLogSink(nullptr); }
};

TEST_F(HostFaultDeathTest, NullWriteWithNoModuleRunningKills) {
  EXPECT_HOST_SEGFAULT_KILLS({
    PrepareToDie();
    // A live compartment: the fault handler is installed and a window exists.
    auto compartment = CreateOrDie(LoadOrDie(ExampleModulePath("calc")));
    if (compartment->Call<int32_t(int32_t, int32_t)>("add", 1, 2).value() != 3) _exit(10);
    WriteThrough(&g_null_pointer, 1);
    _exit(11);  // only reached if the fault was swallowed
  });
}

TEST_F(HostFaultDeathTest, NullWriteInAHostServiceCalledByAModuleKills) {
  EXPECT_HOST_SEGFAULT_KILLS({
    PrepareToDie();
    auto compartment = CreateOrDie(LoadOrDie(ExampleModulePath("calc")));
    // The sink runs on the module's thread, inside its gate, below module
    // frames: the fault is the host's nonetheless.
    SetLogSink([](const LogRecord&) { WriteThrough(&g_null_pointer, 2); });
    uint32_t buffer = static_cast<uint32_t>(compartment->Call<int32_t()>("buffer").value());
    if (!compartment->window().CopyIn(buffer, "x").ok()) _exit(10);
    compartment->Call<int32_t(int32_t)>("greet", 1);
    _exit(11);
  });
}

// Harder for the handler: the faulting address lies inside the module's own
// window (its guard region), as a module's bad access would - but the
// faulting instruction is host code.
TEST_F(HostFaultDeathTest, HostWriteIntoTheWindowGuardFromAHostServiceKills) {
  EXPECT_HOST_SEGFAULT_KILLS({
    PrepareToDie();
    auto compartment = CreateOrDie(LoadOrDie(ExampleModulePath("calc")));
    static uint8_t* guard = nullptr;
    guard = internal::ImplOf(*compartment).memory()->data +
            (uint64_t{4} << 30);  // reserved, not accessible
    SetLogSink([](const LogRecord&) { *static_cast<volatile uint8_t*>(guard) = 1; });
    uint32_t buffer = static_cast<uint32_t>(compartment->Call<int32_t()>("buffer").value());
    if (!compartment->window().CopyIn(buffer, "x").ok()) _exit(10);
    compartment->Call<int32_t(int32_t)>("greet", 1);
    _exit(11);
  });
}

TEST_F(HostFaultDeathTest, NullWriteAfterAContainedTrapKills) {
  EXPECT_HOST_SEGFAULT_KILLS({
    PrepareToDie();
    auto compartment = CreateOrDie(LoadOrDie(ExampleModulePath("misbehave")));
    // A signal-path trap first: the handler has just claimed one fault.
    Result<int32_t> trapped = compartment->Call<int32_t()>("out_of_bounds_load");
    if (!trapped.trapped() || trapped.trap().kind != TrapKind::kOutOfBounds) _exit(10);
    if (compartment->Call<int32_t()>("alive").value() != 1) _exit(12);
    WriteThrough(&g_null_pointer, 3);
    _exit(11);
  });
}

// The same host write into a window guard, but with no module running: the
// address alone must never make a fault the module's.
TEST_F(HostFaultDeathTest, HostWriteIntoTheWindowGuardOutsideAnyCallKills) {
  EXPECT_HOST_SEGFAULT_KILLS({
    PrepareToDie();
    auto compartment = CreateOrDie(LoadOrDie(ExampleModulePath("calc")));
    volatile uint8_t* guard = internal::ImplOf(*compartment).memory()->data + (uint64_t{4} << 30);
    *guard = 1;
    _exit(11);
  });
}

// Control: the same child set-up without the host bug exits normally, so the
// deaths above are caused by the faults, not by the set-up.
TEST_F(HostFaultDeathTest, ControlWithoutTheBugExitsCleanly) {
  RF_SKIP_SIGNAL_TRAPS_UNDER_TSAN();
  EXPECT_EXIT(
      {
        auto compartment = CreateOrDie(LoadOrDie(ExampleModulePath("misbehave")));
        if (!compartment->Call<int32_t()>("out_of_bounds_load").trapped()) _exit(10);
        SetLogSink([](const LogRecord&) {});
        if (!compartment->Call<void(int32_t)>("exit_with", 1).trapped()) _exit(12);
        _exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace ringfence
