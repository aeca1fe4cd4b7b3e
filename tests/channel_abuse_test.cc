// Garbage on the channel is the module's crash, never the host's: a worker
// that breaks the protocol (tests/rogue_worker.cc, chosen through
// RINGFENCE_WORKER) ends its call - or its start - with a
// trap naming what it did, the worker is gone, and the host goes on: a wasm
// compartment still answers, and the same compartment, given the real
// worker again, restarts and answers too. Nothing leaks.
#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include "ringfence/compartment.h"
#include "ringfence/module.h"
#include "ringfence/worker_pool.h"
#include "src/process/output_pump.h"
#include "tests/cli_runner.h"
#include "tests/process_census.h"
#include "tests/test_support.h"

namespace ringfence {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;
using testing::IsOk;

// Points the host at the rogue worker in `mode` for its lifetime (through
// a link named rogue-MODE, which is how the rogue learns its mode), then
// restores RINGFENCE_WORKER.
class RogueWorker {
 public:
  explicit RogueWorker(const std::string& mode) : worker_("RINGFENCE_WORKER", Link(mode)) {}
  // Back to the real worker before the scope ends.
  void End() { worker_.Restore(); }

 private:
  static std::string Link(const std::string& mode) {
    static testing::TempDir links;
    std::string link = links.Path("rogue-" + mode);
    std::error_code ignored;
    std::filesystem::create_symlink(RF_ROGUE_WORKER_PATH, link, ignored);
    return link;
  }
  testing::ScopedEnvironmentVariable worker_;
};

StatusOr<std::unique_ptr<Compartment>> CreateCalc(std::chrono::nanoseconds timeout = {}) {
  CompartmentOptions options;
  options.isolation = Isolation::kProcess;
  options.call_timeout = timeout;
  return Compartment::Create(testing::LoadOrDie(testing::ExampleModulePath("calc_native")),
                             options);
}

Result<int32_t> Add(Compartment& calc) { return calc.Call<int32_t(int32_t, int32_t)>("add", 2, 3); }

// The host is fine: a wasm compartment works, and `calc` (whose worker was
// rogue) restarts with the real worker and works.
void ExpectHostWorks(Compartment& calc) {
  auto wasm = testing::CreateOrDie(testing::LoadOrDie(testing::ExampleModulePath("calc")));
  Result<int32_t> sum = Add(*wasm);
  ASSERT_TRUE(sum.ok()) << testing::Describe(sum);
  EXPECT_EQ(sum.value(), 5);
  uint64_t restarts = calc.restart_count();
  Result<int32_t> again = Add(calc);
  ASSERT_TRUE(again.ok()) << testing::Describe(again);
  EXPECT_EQ(again.value(), 5);
  EXPECT_EQ(calc.restart_count(), restarts + 1);
}

// Creates calc on the rogue worker in `mode`, calls add and returns its
// trap (after checking it is one); then ends the rogue and checks the host.
Trap CallRogue(const std::string& mode, std::chrono::nanoseconds timeout = {}) {
  RogueWorker rogue(mode);
  StatusOr<std::unique_ptr<Compartment>> calc = CreateCalc(timeout);
  EXPECT_TRUE(IsOk(calc.status()));
  if (!calc.ok()) return Trap{};
  Result<int32_t> sum = Add(**calc);
  EXPECT_TRUE(sum.trapped()) << testing::Describe(sum);
  Trap trap = sum.trapped() ? sum.trap() : Trap{};
  rogue.End();
  ExpectHostWorks(**calc);
  return trap;
}

void ExpectViolation(const Trap& trap, const std::string& detail) {
  EXPECT_EQ(trap.kind, TrapKind::kProtocolViolation) << trap.ToString();
  EXPECT_THAT(trap.detail, HasSubstr(detail)) << trap.ToString();
  EXPECT_EQ(trap.export_name, "add");
}

// Create fails cleanly (the rogue never became an instance), and the host
// then makes a real one.
void ExpectStartFails(const std::string& mode, const std::string& message,
                      std::chrono::nanoseconds timeout = {}) {
  {
    RogueWorker rogue(mode);
    StatusOr<std::unique_ptr<Compartment>> calc = CreateCalc(timeout);
    ASSERT_FALSE(calc.ok());
    EXPECT_EQ(calc.status().code(), StatusCode::kInstantiateFailed);
    EXPECT_THAT(calc.status().message(), HasSubstr(message));
  }
  StatusOr<std::unique_ptr<Compartment>> calc = CreateCalc(timeout);
  ASSERT_TRUE(IsOk(calc.status()));
  EXPECT_EQ(Add(**calc).value(), 5);
}

TEST(ChannelAbuseTest, AFirstMessageThatIsNotReadyFailsTheStart) {
  ExpectStartFails("bad_ready", "protocol-violation");
  ExpectStartFails("bad_ready", "(kind 17) is not a valid ready");
}

TEST(ChannelAbuseTest, AReadyWithAnEmptyCodeRangeFailsTheStart) {
  ExpectStartFails("bad_ready_range", "protocol-violation");
}

// The start-up wait is bounded by call_timeout when one is set (at least
// 1 s; else 10 s).
TEST(ChannelAbuseTest, AWorkerThatNeverSaysReadyFailsTheStartAtTheCallTimeout) {
  ExpectStartFails("never_ready", "did not start in time", std::chrono::milliseconds(300));
}

// The same bound holds for a restart on demand (which starts the worker
// before the call's own deadline is set).
TEST(ChannelAbuseTest, ARestartThatNeverGetsReadyFailsTheCallAtTheCallTimeout) {
  StatusOr<std::unique_ptr<Compartment>> calc = CreateCalc(std::chrono::milliseconds(300));
  ASSERT_TRUE(IsOk(calc.status()));
  ASSERT_TRUE((*calc)->Call<int32_t(int32_t, int32_t)>("divide", 1, 0).trapped());
  {
    RogueWorker rogue("never_ready");
    Result<int32_t> sum = Add(**calc);
    ASSERT_TRUE(sum.failed());
    ASSERT_FALSE(sum.trapped()) << testing::Describe(sum);
    EXPECT_EQ(sum.status().code(), StatusCode::kInstantiateFailed);
    EXPECT_THAT(sum.status().message(), HasSubstr("did not start in time"));
  }
  EXPECT_EQ(Add(**calc).value(), 5);
}

TEST(ChannelAbuseTest, CorruptRingIndicesAreAViolation) {
  ExpectViolation(CallRogue("corrupt_indices"), "ring indices are corrupt");
}

// The worker moves the tail of the ring the host writes: the host's reply
// finds the ring "full".
TEST(ChannelAbuseTest, ACorruptReplyRingIsAViolation) {
  ExpectViolation(CallRogue("corrupt_tail"), "ring is full");
}

TEST(ChannelAbuseTest, AReturnWithTheWrongSequenceNumberIsAViolation) {
  ExpectViolation(CallRogue("wrong_seq"), "unexpected message kind 17 seq 6 during call 1 of add");
}

TEST(ChannelAbuseTest, AnUnknownMessageKindIsAViolation) {
  ExpectViolation(CallRogue("unknown_kind"), "unexpected message kind 999");
}

TEST(ChannelAbuseTest, AnUnknownServiceIsAViolation) {
  ExpectViolation(CallRogue("unknown_service"), "unknown service 77");
}

TEST(ChannelAbuseTest, APayloadLargerThanThePayloadAreaIsAViolation) {
  ExpectViolation(CallRogue("huge_payload"), "announces 65537 payload bytes");
}

TEST(ChannelAbuseTest, ALinkedCallToAnImportTheModuleLacksIsAViolation) {
  ExpectViolation(CallRogue("bad_link"), "linked call to import 1000; the module has 0");
}

// Requests without waiting for replies, but well-numbered and read back: the
// host cannot tell them from a busy module and serves them. The call ends
// either when the worker falls behind reading the replies (the host's reply
// ring fills: a violation; what happens on a loaded machine, in tens of
// milliseconds) or at the call's deadline (timeout), which the host checks
// even while the ring never runs empty.
TEST(ChannelAbuseTest, AFloodOfRequestsEndsInAViolationOrAtTheCallDeadline) {
  Trap trap = CallRogue("flood", std::chrono::seconds(2));
  EXPECT_THAT(trap.kind, AnyOf(TrapKind::kProtocolViolation, TrapKind::kTimeout))
      << trap.ToString();
  if (trap.kind == TrapKind::kProtocolViolation) EXPECT_THAT(trap.detail, HasSubstr("ring is full"));
}

// The same flood, never reading the replies: the host's reply ring fills
// and that is a violation.
TEST(ChannelAbuseTest, AFloodThatNeverReadsRepliesIsAViolation) {
  ExpectViolation(CallRogue("flood_no_read", std::chrono::seconds(2)), "ring is full");
}

TEST(ChannelAbuseTest, AWorkerThatExitsMidCallIsAnExitTrap) {
  Trap trap = CallRogue("exit_silently");
  EXPECT_EQ(trap.kind, TrapKind::kExit) << trap.ToString();
  EXPECT_EQ(trap.exit_code, 0);
}

// The death notice (the robust futex) is the worker's to set up: a worker
// that skips it still cannot make the host wait forever.
TEST(ChannelAbuseTest, AWorkerThatExitsWithoutItsDeathNoticeIsStillAnExitTrap) {
  Trap trap = CallRogue("exit_unregistered");
  EXPECT_EQ(trap.kind, TrapKind::kExit) << trap.ToString();
  EXPECT_EQ(trap.exit_code, 0);
}

// worker_alive says "died" while the worker lives: the host ends it and
// reports how it ended (killed by the host).
TEST(ChannelAbuseTest, AFalseDeathNoticeEndsTheWorker) {
  Trap trap = CallRogue("fake_death");
  EXPECT_EQ(trap.kind, TrapKind::kSignal) << trap.ToString();
  EXPECT_EQ(trap.signal, SIGKILL);
}

// Out-of-range crash-record fields (depth, addresses outside the module's
// code) are ignored or clamped, not followed.
TEST(ChannelAbuseTest, AGarbageCrashRecordIsClampedNotFollowed) {
  Trap trap = CallRogue("garbage_crash");
  EXPECT_EQ(trap.kind, TrapKind::kOutOfBounds) << trap.ToString();
  EXPECT_EQ(trap.signal, SIGSEGV);
  EXPECT_LE(trap.backtrace.size(), size_t{RF_BACKTRACE_MAX});
}

// How long a worker's exit and its output take to settle, at most.
constexpr auto kSettleLimit = std::chrono::seconds(5);

using testing::ChildCount;
using testing::Eventually;
using testing::OpenFdCount;

// Every rogue is reaped and every channel, pidfd and pipe closed.
TEST(ChannelAbuseTest, AbuseLeaksNoFdsAndNoProcesses) {
  // Output pumps of earlier tests' workers may still be finishing: wait, and
  // compare with <= below.
  // No idle workers: a rogue kept idle would count as a child at the end.
  SetIdleWorkers(0);
  auto settled = [] {
    return internal::PumpedOutputCount() == 0 &&
           WaitForIdleWorkers(std::chrono::milliseconds(100));
  };
  Eventually(settled, kSettleLimit);
  int fds_before = OpenFdCount();
  int children_before = ChildCount();
  for (int round = 0; round < 5; ++round) {
    for (const char* mode : {"corrupt_indices", "corrupt_tail", "wrong_seq", "unknown_kind",
                             "unknown_service", "huge_payload", "bad_link", "flood_no_read",
                             "exit_silently", "exit_unregistered", "fake_death",
                             "garbage_crash"}) {
      SCOPED_TRACE(mode);
      RogueWorker rogue(mode);
      StatusOr<std::unique_ptr<Compartment>> calc = CreateCalc(std::chrono::seconds(2));
      ASSERT_TRUE(IsOk(calc.status()));
      Result<int32_t> sum = Add(**calc);
      ASSERT_TRUE(sum.trapped()) << testing::Describe(sum);
      EXPECT_THAT(sum.trap().kind, AnyOf(TrapKind::kProtocolViolation, TrapKind::kExit,
                                         TrapKind::kSignal, TrapKind::kOutOfBounds));
    }
    for (const char* mode : {"bad_ready", "bad_ready_range"}) {
      RogueWorker rogue(mode);
      ASSERT_FALSE(CreateCalc().ok());
    }
  }
  EXPECT_TRUE(Eventually(settled, kSettleLimit));
  EXPECT_LE(OpenFdCount(), fds_before);
  EXPECT_LE(ChildCount(), children_before);
  SetIdleWorkers(kDefaultIdleWorkers);
}

}  // namespace
}  // namespace ringfence
