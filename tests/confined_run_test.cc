// RunConfined, which runs the build's parsing of a hostile .wasm in a child
// under limits: whatever goes wrong there (a crash, unbounded allocation,
// an endless loop) becomes one clear Status, and the caller lives on.
#include <signal.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "src/toolchain/confined_run.h"
#include "tests/test_support.h"

namespace ringfence::internal {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr ConfinedLimits kSmall{uint64_t{256} << 20, 2, 60};

TEST(ConfinedRunTest, ReturnsTheStepsBytes) {
  StatusOr<std::string> result = RunConfined("step", kSmall, []() -> StatusOr<std::string> {
    return std::string("a\0b", 3);
  });
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(*result, std::string("a\0b", 3));
}

TEST(ConfinedRunTest, ReturnsTheStepsStatus) {
  StatusOr<std::string> result = RunConfined("step", kSmall, []() -> StatusOr<std::string> {
    return Status(StatusCode::kIoError, "cannot write x");
  });
  EXPECT_EQ(result.status().code(), StatusCode::kIoError);
  EXPECT_EQ(result.status().message(), "cannot write x");
}

// What an unknown bug in wabt would do: the build says what happened.
TEST(ConfinedRunTest, CrashIsABuildError) {
  StatusOr<std::string> result = RunConfined("translating x.wasm", kSmall,
                                             []() -> StatusOr<std::string> {
                                               raise(SIGSEGV);
                                               return std::string();
                                             });
  EXPECT_EQ(result.status().code(), StatusCode::kBuildFailed);
  EXPECT_EQ(result.status().message(), "translating x.wasm crashed (signal 11: Segmentation fault)");
}

TEST(ConfinedRunTest, AbortIsABuildError) {
  StatusOr<std::string> result = RunConfined("step", kSmall, []() -> StatusOr<std::string> {
    std::abort();
  });
  EXPECT_EQ(result.status().code(), StatusCode::kBuildFailed);
  EXPECT_THAT(result.status().message(), HasSubstr("step crashed (signal 6: Aborted)"));
}

TEST(ConfinedRunTest, UnboundedAllocationMeetsTheMemoryLimit) {
  if (!testing::kMemoryFiguresMeaningful) GTEST_SKIP() << "sanitizers handle running out of memory";
  StatusOr<std::string> result = RunConfined("step", kSmall, []() -> StatusOr<std::string> {
    std::vector<std::string> hoard;
    for (;;) hoard.emplace_back(size_t{1} << 20, 'x');
  });
  EXPECT_EQ(result.status().code(), StatusCode::kBuildFailed);
  EXPECT_EQ(result.status().message(), "step ran out of memory (the limit is 256 MiB)");
}

TEST(ConfinedRunTest, EndlessLoopMeetsTheCpuLimit) {
  StatusOr<std::string> result = RunConfined("step", {uint64_t{256} << 20, 1},
                                             []() -> StatusOr<std::string> {
                                               for (volatile uint64_t i = 0;; i = i + 1) {
                                               }
                                             });
  EXPECT_EQ(result.status().code(), StatusCode::kBuildFailed);
  EXPECT_THAT(result.status().message(), HasSubstr("step took more than 1 s of CPU time"));
}

// A step that waits (say for a lock another thread held at the fork) uses
// no CPU: the wall-clock limit still ends it.
TEST(ConfinedRunTest, WaitingForeverMeetsTheWallClockLimit) {
  StatusOr<std::string> result = RunConfined("step", {uint64_t{256} << 20, 60, 1},
                                             []() -> StatusOr<std::string> {
                                               while (true) pause();
                                             });
  EXPECT_EQ(result.status().code(), StatusCode::kBuildFailed);
  EXPECT_THAT(result.status().message(), HasSubstr("step took more than 1 s (the limit)"));
}

}  // namespace
}  // namespace ringfence::internal
