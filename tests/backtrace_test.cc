// Trap backtraces: the module functions on the stack at a trap, innermost
// first, for each way a trap is raised (a signal in module code, the module's
// runtime, a host service, watchdog preemption).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "ringfence/compartment.h"
#include "ringfence/log.h"
#include "tests/test_support.h"

namespace ringfence {
namespace {

using ::ringfence::testing::CreateOrDie;
using ::ringfence::testing::ExampleModulePath;
using ::ringfence::testing::LoadOrDie;
using ::ringfence::testing::TestModulePath;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class BacktraceTest : public ::testing::Test {
 protected:
  void SetUp() override { SetLogSink([](const LogRecord&) {}); }
  void TearDown() override { SetLogSink(nullptr); }

  std::unique_ptr<Compartment> Backtrace(CompartmentOptions options = {}) {
    return CreateOrDie(LoadOrDie(TestModulePath("backtrace")), options);
  }

  // Calls `export_name`(1) and returns its trap.
  static Trap TrapOf(Compartment& compartment, const std::string& export_name) {
    Result<int32_t> result = compartment.Call<int32_t(int32_t)>(export_name, 1);
    EXPECT_TRUE(result.trapped()) << export_name << " did not trap";
    if (!result.trapped()) return Trap{};
    return result.trap();
  }
};

TEST_F(BacktraceTest, SignalTrapNamesEveryFrameInnermostFirst) {
  RF_SKIP_SIGNAL_TRAPS_UNDER_TSAN();
  auto compartment = Backtrace();
  Trap trap = TrapOf(*compartment, "nested_out_of_bounds");
  EXPECT_EQ(trap.kind, TrapKind::kOutOfBounds) << trap.ToString();
  EXPECT_EQ(trap.function, "inner_load");
  EXPECT_THAT(trap.backtrace,
              ElementsAre("inner_load", "middle_load", "outer_load", "nested_out_of_bounds"));
}

TEST_F(BacktraceTest, RuntimeTrapNamesEveryFrameInnermostFirst) {
  auto compartment = Backtrace();
  Trap trap = TrapOf(*compartment, "nested_divide");
  EXPECT_EQ(trap.kind, TrapKind::kDivideByZero) << trap.ToString();
  EXPECT_EQ(trap.function, "inner_divide");
  EXPECT_THAT(trap.backtrace,
              ElementsAre("inner_divide", "middle_divide", "outer_divide", "nested_divide"));
}

TEST_F(BacktraceTest, AbortStartsInsideLibcAndEndsAtTheExport) {
  auto compartment = Backtrace();
  Trap trap = TrapOf(*compartment, "nested_abort");
  EXPECT_EQ(trap.kind, TrapKind::kUnreachable) << trap.ToString();
  // abort() is wasi-libc's; whatever it calls, the module's own frames follow
  // it in order.
  ASSERT_THAT(trap.backtrace, SizeIs(::testing::Ge(4u)));
  EXPECT_EQ(trap.backtrace.front(), trap.function);
  std::vector<std::string> tail(trap.backtrace.end() - 4, trap.backtrace.end());
  EXPECT_THAT(tail, ElementsAre("inner_abort", "middle_abort", "outer_abort", "nested_abort"));
}

TEST_F(BacktraceTest, HostServiceTrapStartsWhereTheModuleCalledTheService) {
  auto compartment = Backtrace({.call_timeout = std::chrono::milliseconds(20)});
  Trap trap = TrapOf(*compartment, "nested_sleep");
  EXPECT_EQ(trap.kind, TrapKind::kTimeout) << trap.ToString();
  // The import forwarder jumps to the host service (gcc) or calls it (clang).
  std::vector<std::string> frames = trap.backtrace;
  if (!frames.empty() && frames.front() == "ringfence.sleep_ns") frames.erase(frames.begin());
  EXPECT_THAT(frames, ElementsAre("inner_sleep", "middle_sleep", "outer_sleep", "nested_sleep"));
}

TEST_F(BacktraceTest, PreemptedModuleNamesWhereItWasSpinning) {
  RF_SKIP_SIGNAL_TRAPS_UNDER_TSAN();
  auto compartment = Backtrace({.call_timeout = std::chrono::milliseconds(20)});
  Trap trap = TrapOf(*compartment, "nested_spin");
  EXPECT_EQ(trap.kind, TrapKind::kTimeout) << trap.ToString();
  EXPECT_THAT(trap.backtrace,
              ElementsAre("inner_spin", "middle_spin", "outer_spin", "nested_spin"));
}

TEST_F(BacktraceTest, DeepStackIsCutAtTheLimit) {
  auto compartment = Backtrace();
  Result<int32_t> result = compartment->Call<int32_t(int32_t)>("deep_divide", 100);
  ASSERT_TRUE(result.trapped());
  const Trap& trap = result.trap();
  EXPECT_EQ(trap.kind, TrapKind::kDivideByZero);
  ASSERT_THAT(trap.backtrace, SizeIs(RF_BACKTRACE_MAX));
  for (const std::string& frame : trap.backtrace) EXPECT_EQ(frame, "deep");
}

TEST_F(BacktraceTest, ExampleTrapsKeepTheirFunctionAsTheFirstFrame) {
  auto compartment = CreateOrDie(LoadOrDie(ExampleModulePath("misbehave")));
  Result<int32_t> result = compartment->Call<int32_t()>("divide_by_zero");
  ASSERT_TRUE(result.trapped());
  ASSERT_THAT(result.trap().backtrace, ::testing::Not(IsEmpty()));
  EXPECT_EQ(result.trap().backtrace.front(), result.trap().function);
  EXPECT_EQ(result.trap().backtrace.back(), "divide_by_zero");
}

TEST_F(BacktraceTest, StackExhaustionKeepsTheInnermostFrames) {
  RF_SKIP_SIGNAL_TRAPS_UNDER_TSAN();
  auto compartment = CreateOrDie(LoadOrDie(ExampleModulePath("misbehave")));
  Result<int32_t> result = compartment->Call<int32_t()>("stack_overflow");
  ASSERT_TRUE(result.trapped());
  const Trap& trap = result.trap();
  EXPECT_EQ(trap.kind, TrapKind::kStackExhausted);
  ASSERT_THAT(trap.backtrace, SizeIs(RF_BACKTRACE_MAX));
  for (const std::string& frame : trap.backtrace) EXPECT_EQ(frame, "recurse");
}

TEST_F(BacktraceTest, ExitStartsAtTheImportTheModuleCalled) {
  auto compartment = CreateOrDie(LoadOrDie(ExampleModulePath("misbehave")));
  Result<void> result = compartment->Call<void(int32_t)>("exit_with", 7);
  ASSERT_TRUE(result.trapped());
  const Trap& trap = result.trap();
  EXPECT_EQ(trap.kind, TrapKind::kExit);
  ASSERT_THAT(trap.backtrace, SizeIs(::testing::Ge(2u)));
  EXPECT_EQ(trap.backtrace.front(), "wasi_snapshot_preview1.proc_exit");
  EXPECT_EQ(trap.backtrace.back(), "exit_with");
}

}  // namespace
}  // namespace ringfence
