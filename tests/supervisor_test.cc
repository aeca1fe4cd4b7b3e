// Supervision: restart policies (table-driven), backoff on an injected
// clock, restart intensity and failure, groups and escalation, critical
// modules, journal replay and replace-by-key, call classes (exactly-once,
// idempotent retry), crash reports (S10, S11).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "ringfence/deadline.h"
#include "ringfence/region.h"
#include "ringfence/supervisor.h"
#include "src/compartment/compartment_impl.h"
#include "tests/test_support.h"

namespace ringfence {
namespace {

using ::testing::HasSubstr;
using testing::IsOk;

constexpr size_t kLedgerBytes = 64 * 1024;
constexpr uint64_t kLedgerOffset = uint64_t{1} << 30;  // above the 256 MiB memory limit

// The lib_supervised module's shared ledger: [0] poison, [1] fail-next,
// [2 + id] side effects of call `id`.
class Ledger {
 public:
  Ledger() : region_(Region::Create(kLedgerBytes).value()) {}
  int32_t& word(size_t index) { return reinterpret_cast<int32_t*>(region_->bytes().data())[index]; }
  int32_t effects(int32_t id) { return word(2 + static_cast<size_t>(id)); }
  const std::shared_ptr<Region>& region() const { return region_; }

 private:
  std::shared_ptr<Region> region_;
};

ModuleOptions QuickRestarts() {
  ModuleOptions options;
  options.backoff.initial = std::chrono::nanoseconds(0);
  options.intensity = {5, std::chrono::seconds(10)};
  return options;
}

class SupervisorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    module_ = testing::LoadOrDie(testing::TestModulePath("lib_supervised"));
    ASSERT_NE(module_, nullptr);
  }

  // The root group's intensity is out of the way unless a test sets it.
  static SupervisorOptions RelaxedRoot() {
    SupervisorOptions options;
    options.root.intensity = {1'000'000, std::chrono::seconds(10)};
    return options;
  }

  std::unique_ptr<Supervisor> MakeSupervisor(SupervisorOptions options = RelaxedRoot()) {
    options.clock = &clock_;
    options.crash_lines_on_stderr = false;
    auto user_hook = options.on_crash;
    options.on_crash = [this, user_hook](const CrashReport& report) {
      std::lock_guard lock(reports_mutex_);
      reports_.push_back(report);
      if (user_hook) user_hook(report);
    };
    return Supervisor::Create(std::move(options)).value();
  }

  SupervisedModule* Add(Supervisor& supervisor, const std::string& name, ModuleOptions options,
                        std::string_view group = "") {
    StatusOr<SupervisedModule*> added = supervisor.AddModule(name, module_, options, group);
    EXPECT_TRUE(IsOk(added.status()));
    if (!added.ok()) return nullptr;
    EXPECT_TRUE(IsOk((*added)->compartment().MapRegion("ledger", ledger_.region(), kLedgerOffset)));
    return *added;
  }

  std::vector<CrashReport> reports() {
    std::lock_guard lock(reports_mutex_);
    return reports_;
  }

  ManualClock clock_;
  Ledger ledger_;
  std::shared_ptr<const Module> module_;
  std::mutex reports_mutex_;
  std::vector<CrashReport> reports_;
};

// ---- Policies, table-driven --------------------------------------------

enum class Death { kTrap, kCleanExit, kFailingExit };

struct PolicyCase {
  const char* name;
  Strategy strategy;
  RestartType restart;
  Death death;
  // For modules a, b, c (b dies): true if its instance is replaced.
  bool replaced[3];
  SupervisedModule::State b_state;
};

void PrintTo(const PolicyCase& test, std::ostream* out) { *out << test.name; }

class PolicyTest : public SupervisorTest, public ::testing::WithParamInterface<PolicyCase> {};

TEST_P(PolicyTest, DeathOfTheMiddleModule) {
  const PolicyCase& test = GetParam();
  auto supervisor = MakeSupervisor();
  ASSERT_TRUE(IsOk(supervisor->AddGroup("g", {test.strategy, {10, std::chrono::seconds(10)}})));
  ModuleOptions options = QuickRestarts();
  options.restart = test.restart;
  SupervisedModule* modules[3] = {Add(*supervisor, "a", options, "g"),
                                  Add(*supervisor, "b", options, "g"),
                                  Add(*supervisor, "c", options, "g")};
  uint64_t serials[3];
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(modules[i]->Call<int32_t(int32_t)>("configure", 7 + i).ok());
    serials[i] = internal::ImplOf(modules[i]->compartment()).instance_serial();
  }
  Result<void> died = test.death == Death::kTrap
                          ? Result<void>(modules[1]->Call<int32_t()>("crash").status())
                          : modules[1]->Call<void(int32_t)>("quit",
                                                            test.death == Death::kCleanExit ? 0 : 3);
  ASSERT_TRUE(died.failed());
  EXPECT_EQ(died.status().code(), StatusCode::kRestarted) << died.status().ToString();

  for (int i = 0; i < 3; ++i) {
    Result<int32_t> mode = modules[i]->Call<int32_t()>("mode");
    if (i == 1 && test.b_state == SupervisedModule::State::kStopped) {
      ASSERT_TRUE(mode.failed());
      EXPECT_EQ(mode.status().code(), StatusCode::kUnavailable);
      EXPECT_THAT(mode.status().message(), HasSubstr("module b is stopped"));
      continue;
    }
    ASSERT_TRUE(mode.ok()) << "module " << i << ": " << mode.status().ToString();
    EXPECT_EQ(mode.value(), 7 + i) << "state comes back by journal replay";
    bool replaced = internal::ImplOf(modules[i]->compartment()).instance_serial() != serials[i];
    EXPECT_EQ(replaced, test.replaced[i]) << "module " << "abc"[i];
  }
  EXPECT_EQ(modules[1]->state(), test.b_state);
}

using State = SupervisedModule::State;
INSTANTIATE_TEST_SUITE_P(
    Policies, PolicyTest,
    ::testing::Values(
        PolicyCase{"one_for_one_permanent", Strategy::kOneForOne, RestartType::kPermanent,
                   Death::kTrap, {false, true, false}, State::kRunning},
        PolicyCase{"one_for_all_permanent", Strategy::kOneForAll, RestartType::kPermanent,
                   Death::kTrap, {true, true, true}, State::kRunning},
        PolicyCase{"rest_for_one_permanent", Strategy::kRestForOne, RestartType::kPermanent,
                   Death::kTrap, {false, true, true}, State::kRunning},
        PolicyCase{"one_for_one_permanent_clean_exit", Strategy::kOneForOne,
                   RestartType::kPermanent, Death::kCleanExit, {false, true, false},
                   State::kRunning},
        PolicyCase{"one_for_one_transient_trap", Strategy::kOneForOne, RestartType::kTransient,
                   Death::kTrap, {false, true, false}, State::kRunning},
        PolicyCase{"one_for_one_transient_clean_exit", Strategy::kOneForOne,
                   RestartType::kTransient, Death::kCleanExit, {false, false, false},
                   State::kStopped},
        PolicyCase{"one_for_one_transient_failing_exit", Strategy::kOneForOne,
                   RestartType::kTransient, Death::kFailingExit, {false, true, false},
                   State::kRunning},
        PolicyCase{"one_for_all_transient_clean_exit", Strategy::kOneForAll,
                   RestartType::kTransient, Death::kCleanExit, {false, false, false},
                   State::kStopped},
        PolicyCase{"one_for_one_temporary_trap", Strategy::kOneForOne, RestartType::kTemporary,
                   Death::kTrap, {false, false, false}, State::kStopped},
        PolicyCase{"one_for_all_temporary_trap", Strategy::kOneForAll, RestartType::kTemporary,
                   Death::kTrap, {false, false, false}, State::kStopped},
        PolicyCase{"rest_for_one_temporary_trap", Strategy::kRestForOne, RestartType::kTemporary,
                   Death::kTrap, {false, false, false}, State::kStopped},
        PolicyCase{"rest_for_one_transient_trap", Strategy::kRestForOne, RestartType::kTransient,
                   Death::kTrap, {false, true, true}, State::kRunning}),
    [](const ::testing::TestParamInfo<PolicyCase>& info) { return std::string(info.param.name); });

// Intensity, per strategy: max_restarts restarts within the window are
// served; one more and the module fails, its calls failing fast.
struct IntensityCase {
  const char* name;
  Strategy strategy;
  uint32_t max_restarts;
};

void PrintTo(const IntensityCase& test, std::ostream* out) { *out << test.name; }

class IntensityTest : public SupervisorTest, public ::testing::WithParamInterface<IntensityCase> {};

TEST_P(IntensityTest, CrashLoopEndsInFailureThenReset) {
  const IntensityCase& test = GetParam();
  auto supervisor = MakeSupervisor();
  ASSERT_TRUE(IsOk(supervisor->AddGroup("g", {test.strategy, {100, std::chrono::seconds(10)}})));
  ModuleOptions options = QuickRestarts();
  options.intensity = {test.max_restarts, std::chrono::seconds(10)};
  SupervisedModule* a = Add(*supervisor, "a", options, "g");
  SupervisedModule* b = Add(*supervisor, "b", options, "g");
  for (uint32_t i = 0; i < test.max_restarts; ++i) {
    ASSERT_EQ(b->Call<int32_t()>("crash").status().code(), StatusCode::kRestarted);
    ASSERT_TRUE(b->Call<int32_t()>("mode").ok()) << "restart " << i + 1 << " is within intensity";
  }
  EXPECT_EQ(b->restart_count(), test.max_restarts);
  ASSERT_EQ(b->Call<int32_t()>("crash").status().code(), StatusCode::kRestarted);
  EXPECT_EQ(b->state(), State::kFailed);
  Result<int32_t> refused = b->Call<int32_t()>("mode");
  ASSERT_TRUE(refused.failed());
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(refused.status().message(), HasSubstr("module b has failed"));
  EXPECT_THAT(refused.status().message(), HasSubstr("restarts within"));
  EXPECT_TRUE(a->Call<int32_t()>("mode").ok()) << "a sibling keeps serving";

  ASSERT_TRUE(IsOk(supervisor->Reset("b")));
  EXPECT_EQ(b->state(), State::kRunning);
  EXPECT_TRUE(b->Call<int32_t()>("mode").ok());
}

INSTANTIATE_TEST_SUITE_P(
    Intensities, IntensityTest,
    ::testing::Values(IntensityCase{"one_for_one_0", Strategy::kOneForOne, 0},
                      IntensityCase{"one_for_one_3", Strategy::kOneForOne, 3},
                      IntensityCase{"one_for_all_2", Strategy::kOneForAll, 2},
                      IntensityCase{"rest_for_one_2", Strategy::kRestForOne, 2}),
    [](const ::testing::TestParamInfo<IntensityCase>& info) { return std::string(info.param.name); });

TEST_F(SupervisorTest, RestartsOutsideTheWindowDoNotCount) {
  auto supervisor = MakeSupervisor();
  ModuleOptions options = QuickRestarts();
  options.intensity = {2, std::chrono::seconds(1)};
  SupervisedModule* b = Add(*supervisor, "b", options);
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(b->Call<int32_t()>("crash").status().code(), StatusCode::kRestarted);
    clock_.Advance(std::chrono::milliseconds(600));  // at most 2 in any 1 s
  }
  EXPECT_EQ(b->state(), State::kRestarting) << "dead, restarting on its next call; not failed";
  EXPECT_TRUE(b->Call<int32_t()>("mode").ok());
}

// ---- Backoff on the injected clock -------------------------------------

TEST_F(SupervisorTest, BackoffIsImmediateThenExponentialWithACap) {
  auto supervisor = MakeSupervisor();
  ModuleOptions options;
  options.intensity = {100, std::chrono::seconds(100)};
  options.backoff = {std::chrono::milliseconds(10), 2.0, std::chrono::milliseconds(40)};
  SupervisedModule* b = Add(*supervisor, "b", options);
  std::vector<int64_t> waits_ms;
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(b->Call<int32_t()>("crash").status().code(), StatusCode::kRestarted);
    uint64_t before = clock_.NowNs();
    ASSERT_TRUE(b->Call<int32_t()>("mode").ok());  // sleeps on the manual clock: no real wait
    waits_ms.push_back(static_cast<int64_t>((clock_.NowNs() - before) / 1'000'000));
  }
  EXPECT_THAT(waits_ms, ::testing::ElementsAre(0, 10, 20, 40, 40));
}

TEST_F(SupervisorTest, CallDuringBackoffFailsClearlyIfItsDeadlineComesFirst) {
  auto supervisor = MakeSupervisor();
  ModuleOptions options;
  options.backoff = {std::chrono::seconds(5), 2.0, std::chrono::seconds(60)};
  SupervisedModule* b = Add(*supervisor, "b", options);
  ASSERT_EQ(b->Call<int32_t()>("crash").status().code(), StatusCode::kRestarted);
  ASSERT_TRUE(b->Call<int32_t()>("mode").ok());  // first restart: immediate
  ASSERT_EQ(b->Call<int32_t()>("crash").status().code(), StatusCode::kRestarted);
  {
    DeadlineScope deadline(std::chrono::milliseconds(100));
    Result<int32_t> early = b->Call<int32_t()>("mode");
    ASSERT_TRUE(early.failed());
    EXPECT_EQ(early.status().code(), StatusCode::kUnavailable);
    EXPECT_THAT(early.status().message(), HasSubstr("backing off"));
  }
  EXPECT_EQ(b->state(), State::kRestarting);
  clock_.Advance(std::chrono::seconds(5));
  DeadlineScope deadline(std::chrono::milliseconds(100));
  EXPECT_TRUE(b->Call<int32_t()>("mode").ok());
}

// ---- Groups, escalation, critical modules ------------------------------

TEST_F(SupervisorTest, GroupPastItsIntensityFailsWithAllItsModules) {
  auto supervisor = MakeSupervisor();
  ASSERT_TRUE(IsOk(supervisor->AddGroup("g", {Strategy::kOneForOne, {2, std::chrono::seconds(10)}})));
  SupervisedModule* a = Add(*supervisor, "a", QuickRestarts(), "g");
  SupervisedModule* b = Add(*supervisor, "b", QuickRestarts(), "g");
  SupervisedModule* outside = Add(*supervisor, "outside", QuickRestarts());
  ASSERT_EQ(a->Call<int32_t()>("crash").status().code(), StatusCode::kRestarted);
  ASSERT_EQ(b->Call<int32_t()>("crash").status().code(), StatusCode::kRestarted);
  EXPECT_EQ(a->state(), State::kRestarting);  // each within its own intensity
  ASSERT_EQ(a->Call<int32_t()>("crash").status().code(), StatusCode::kRestarted);
  EXPECT_EQ(a->state(), State::kFailed);
  EXPECT_EQ(b->state(), State::kFailed);
  EXPECT_THAT(b->reason(), HasSubstr("group g failed"));
  EXPECT_THAT(reports().back().action, HasSubstr("group g failed"));
  EXPECT_TRUE(outside->Call<int32_t()>("mode").ok());
  EXPECT_FALSE(supervisor->shutting_down());

  ASSERT_TRUE(IsOk(supervisor->Reset("g")));
  EXPECT_TRUE(a->Call<int32_t()>("mode").ok());
  EXPECT_TRUE(b->Call<int32_t()>("mode").ok());
}

TEST_F(SupervisorTest, CriticalModuleFailureShutsTheHostDownCleanly) {
  std::atomic<int> shutdowns{0};
  std::string reason;
  SupervisorOptions options = RelaxedRoot();
  options.on_shutdown = [&](const std::string& why) {
    reason = why;
    ++shutdowns;
  };
  auto supervisor = MakeSupervisor(options);
  ModuleOptions critical = QuickRestarts();
  critical.critical = true;
  critical.intensity = {1, std::chrono::seconds(10)};
  SupervisedModule* core = Add(*supervisor, "core", critical);
  SupervisedModule* other = Add(*supervisor, "other", QuickRestarts());
  ASSERT_EQ(core->Call<int32_t()>("crash").status().code(), StatusCode::kRestarted);
  EXPECT_FALSE(supervisor->shutting_down());
  ASSERT_EQ(core->Call<int32_t()>("crash").status().code(), StatusCode::kRestarted);
  supervisor->WaitForShutdown();  // returns: the shutdown happened
  EXPECT_EQ(shutdowns.load(), 1);
  EXPECT_THAT(reason, HasSubstr("critical module core failed"));
  EXPECT_EQ(supervisor->shutdown_reason(), reason);
  Result<int32_t> refused = other->Call<int32_t()>("mode");
  ASSERT_TRUE(refused.failed());
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(refused.status().message(), HasSubstr("shutting down"));
  EXPECT_EQ(supervisor->Reset("core").code(), StatusCode::kUnavailable);
}

TEST_F(SupervisorTest, RootGroupPastItsIntensityShutsDown) {
  SupervisorOptions options;
  options.root.intensity = {2, std::chrono::seconds(10)};
  auto supervisor = MakeSupervisor(options);
  SupervisedModule* a = Add(*supervisor, "a", QuickRestarts());
  for (int i = 0; i < 3; ++i) ASSERT_FALSE(a->Call<int32_t()>("crash").ok());
  EXPECT_TRUE(supervisor->shutting_down());
  EXPECT_THAT(supervisor->shutdown_reason(), HasSubstr("the root group failed"));
}

// ---- Journal -------------------------------------------------------------

TEST_F(SupervisorTest, JournalReplaysTheLastWritesInOrder) {
  auto supervisor = MakeSupervisor();
  SupervisedModule* m = Add(*supervisor, "m", QuickRestarts());
  auto call = [&](const char* name, auto... args) {
    Result<int32_t> result = m->Call<int32_t(decltype(args)...)>(name, args...);
    EXPECT_TRUE(result.ok()) << name << ": " << result.status().ToString();
  };
  call("configure", 1);
  call("set_entry", 1, 10);
  call("set_entry", 2, 20);
  call("set_entry", 1, 11);  // replaces key 1, moves to the end
  call("configure", 2);      // replaces configure, moves to the end
  EXPECT_EQ(m->journal_size(), 3u);
  ASSERT_EQ(m->Call<int32_t()>("crash").status().code(), StatusCode::kRestarted);

  EXPECT_EQ(m->Call<int32_t()>("state_calls").value(), 3) << "only the journal's 3 entries ran";
  EXPECT_EQ(m->Call<int32_t()>("mode").value(), 2);
  EXPECT_EQ(m->Call<int32_t(int32_t)>("entry", 1).value(), 11);
  EXPECT_EQ(m->Call<int32_t(int32_t)>("entry", 2).value(), 20);
  int32_t expected = 0;
  for (int32_t step : {2 * 100 + 20, 1 * 100 + 11, 1000 + 2}) expected = expected * 31 + step;
  EXPECT_EQ(m->Call<int32_t()>("trace").value(), expected) << "replayed in last-write order";
  EXPECT_EQ(m->metrics().replayed_calls.value(), 3u);

  m->ClearJournal();
  ASSERT_EQ(m->Call<int32_t()>("crash").status().code(), StatusCode::kRestarted);
  EXPECT_EQ(m->Call<int32_t()>("mode").value(), 0) << "pristine state after ClearJournal";
  EXPECT_EQ(m->Call<int32_t()>("state_calls").value(), 0);
}

TEST_F(SupervisorTest, HostDeclaredStateSettingCallAndExplicitKey) {
  auto supervisor = MakeSupervisor();
  SupervisedModule* m = Add(*supervisor, "m", QuickRestarts());
  CallOptions keyed{CallClass::kStateSetting, 5};
  // deposit is "neither" in the module; the host journals it under key 5.
  ASSERT_TRUE(m->CallWith<int32_t(int32_t, int32_t)>(keyed, "deposit", 3, 0).ok());
  ASSERT_TRUE(m->CallWith<int32_t(int32_t, int32_t)>(keyed, "deposit", 4, 0).ok());
  EXPECT_EQ(m->journal_size(), 1u);
  ASSERT_FALSE(m->Call<int32_t()>("crash").ok());
  ASSERT_TRUE(m->Call<int32_t()>("mode").ok());  // restart + replay of deposit(4)
  EXPECT_EQ(ledger_.effects(3), 1);
  EXPECT_EQ(ledger_.effects(4), 2) << "ran once, then once more by replay";
}

TEST_F(SupervisorTest, FullJournalRefusesNewKeysBeforeRunning) {
  auto supervisor = MakeSupervisor();
  ModuleOptions options = QuickRestarts();
  options.journal_limit = 2;
  SupervisedModule* m = Add(*supervisor, "m", options);
  ASSERT_TRUE(m->Call<int32_t(int32_t, int32_t)>("set_entry", 1, 1).ok());
  ASSERT_TRUE(m->Call<int32_t(int32_t, int32_t)>("set_entry", 2, 2).ok());
  Result<int32_t> refused = m->Call<int32_t(int32_t, int32_t)>("set_entry", 3, 3);
  ASSERT_TRUE(refused.failed());
  EXPECT_EQ(refused.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(m->Call<int32_t(int32_t)>("entry", 3).value(), 0) << "not run";
  EXPECT_TRUE(m->Call<int32_t(int32_t, int32_t)>("set_entry", 1, 9).ok()) << "known key";
}

TEST_F(SupervisorTest, ReplayThatTrapsCountsAgainstIntensityAndEndsFailed) {
  auto supervisor = MakeSupervisor();
  ModuleOptions options = QuickRestarts();
  options.intensity = {3, std::chrono::seconds(10)};
  SupervisedModule* m = Add(*supervisor, "m", options);
  ASSERT_TRUE(m->Call<int32_t(int32_t)>("configure", 666).ok());
  ledger_.word(0) = 1;  // from now on, replaying configure(666) traps
  ASSERT_EQ(m->Call<int32_t()>("crash").status().code(), StatusCode::kRestarted);
  Result<int32_t> after = m->Call<int32_t()>("mode");
  ASSERT_TRUE(after.failed());
  EXPECT_EQ(after.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(m->state(), State::kFailed);
  std::vector<CrashReport> crashes = reports();
  ASSERT_EQ(crashes.size(), 4u) << "the crash, then 3 replays that trapped";
  EXPECT_THAT(crashes[1].action, HasSubstr("during restart"));
  EXPECT_EQ(crashes[1].trap.export_name, "configure");
  EXPECT_THAT(crashes.back().action, ::testing::EndsWith("failed"));

  ledger_.word(0) = 0;
  ASSERT_TRUE(IsOk(supervisor->Reset("m")));
  EXPECT_EQ(m->Call<int32_t()>("mode").value(), 666) << "the journal survived the failure";
}

// ---- Call classes --------------------------------------------------------

TEST_F(SupervisorTest, NonIdempotentCallsRunExactlyOnce) {
  auto supervisor = MakeSupervisor();
  ModuleOptions options = QuickRestarts();
  options.intensity = {1000, std::chrono::seconds(10)};
  SupervisedModule* m = Add(*supervisor, "m", options);
  int ok = 0, restarted = 0;
  for (int32_t id = 0; id < 200; ++id) {
    Result<int32_t> result = m->Call<int32_t(int32_t, int32_t)>("deposit", id, id % 4 == 0);
    if (result.ok()) {
      EXPECT_EQ(result.value(), id);
      ++ok;
    } else {
      EXPECT_EQ(result.status().code(), StatusCode::kRestarted) << result.status().ToString();
      EXPECT_THAT(result.status().message(), HasSubstr("neither idempotent nor state-setting"));
      ++restarted;
    }
  }
  EXPECT_EQ(ok, 150);
  EXPECT_EQ(restarted, 50);
  for (int32_t id = 0; id < 200; ++id) ASSERT_EQ(ledger_.effects(id), 1) << "call " << id;
  EXPECT_EQ(m->metrics().retries.value(), 0u);
}

TEST_F(SupervisorTest, CallsDeclaredIdempotentAreRetriedBounded) {
  auto supervisor = MakeSupervisor();
  ModuleOptions options = QuickRestarts();
  options.max_retries = 2;
  SupervisedModule* m = Add(*supervisor, "m", options);
  ledger_.word(1) = 1;  // flaky_read traps once
  Result<int32_t> read = m->Call<int32_t(int32_t)>("flaky_read", 21);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read.value(), 42);
  EXPECT_EQ(m->metrics().retries.value(), 1u);
  EXPECT_EQ(m->restart_count(), 1u);

  // The host overrides deposit's class: a crash that always recurs is tried
  // 1 + max_retries times, then fails clearly (the ledger shows each run).
  CallOptions idempotent{CallClass::kIdempotent, std::nullopt};
  Result<int32_t> always = m->CallWith<int32_t(int32_t, int32_t)>(idempotent, "deposit", 7, 1);
  ASSERT_TRUE(always.failed());
  EXPECT_EQ(always.status().code(), StatusCode::kRestarted);
  EXPECT_THAT(always.status().message(), HasSubstr("2 retries are used up"));
  EXPECT_EQ(ledger_.effects(7), 3);
}

TEST_F(SupervisorTest, CrashReportSaysWhatHappened) {
  auto supervisor = MakeSupervisor();
  SupervisedModule* m = Add(*supervisor, "m", QuickRestarts());
  ASSERT_TRUE(m->Call<int32_t(int32_t)>("configure", 1).ok());
  ASSERT_TRUE(m->Call<int32_t()>("mode").ok());
  ASSERT_FALSE(m->Call<int32_t()>("crash").ok());
  std::vector<CrashReport> crashes = reports();
  ASSERT_EQ(crashes.size(), 1u);
  const CrashReport& report = crashes[0];
  EXPECT_EQ(report.module, "m");
  EXPECT_EQ(report.compartment, "m#1");
  EXPECT_EQ(report.trap.kind, TrapKind::kUnreachable);
  EXPECT_EQ(report.trap.export_name, "crash");
  EXPECT_EQ(report.action, "restart");
  ASSERT_EQ(report.recent_calls.size(), 3u);
  EXPECT_EQ(report.recent_calls[0].export_name, "configure");
  EXPECT_EQ(report.recent_calls[1].outcome, "ok");
  EXPECT_EQ(report.recent_calls[2].export_name, "crash");
  EXPECT_EQ(report.recent_calls[2].outcome, "trap: unreachable");
  EXPECT_GT(report.time_unix_ns, 0u);
}

TEST_F(SupervisorTest, StoppedModuleIsNotRestartedUntilReset) {
  auto supervisor = MakeSupervisor();
  SupervisedModule* m = Add(*supervisor, "m", QuickRestarts());
  m->Stop();
  Result<int32_t> refused = m->Call<int32_t()>("mode");
  ASSERT_TRUE(refused.failed());
  EXPECT_THAT(refused.status().message(), HasSubstr("stopped by the host"));
  ASSERT_TRUE(IsOk(supervisor->Reset("m")));
  EXPECT_TRUE(m->Call<int32_t()>("mode").ok());
}

TEST_F(SupervisorTest, BadNamesAreRefused) {
  auto supervisor = MakeSupervisor();
  Add(*supervisor, "m", QuickRestarts());
  EXPECT_EQ(supervisor->AddModule("m", module_).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(supervisor->AddModule("", module_).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(supervisor->AddModule("x", module_, {}, "nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(supervisor->AddGroup("m", {}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(supervisor->Reset("nope").code(), StatusCode::kNotFound);
  SupervisedModule* m = supervisor->Find("m");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->Call<int32_t()>("no_such").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(m->Call<int64_t()>("mode").status().code(), StatusCode::kSignatureMismatch);
}

// S11 with threads: many callers, crashes in flight; every call is
// accounted for and no side effect happens twice.
TEST_F(SupervisorTest, ThreadsWithCrashesInFlightLoseNothing) {
  auto supervisor = MakeSupervisor();
  ModuleOptions options = QuickRestarts();
  options.intensity = {100000, std::chrono::seconds(10)};
  SupervisedModule* m = Add(*supervisor, "m", options);
  ASSERT_TRUE(m->Call<int32_t(int32_t)>("configure", 5).ok());
  constexpr int kThreads = 4;
  constexpr int kCallsPerThread = 300;
  std::atomic<int> ok{0}, restarted{0}, other{0}, wrong_mode{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        int32_t id = t * kCallsPerThread + i;
        Result<int32_t> result = m->Call<int32_t(int32_t, int32_t)>("deposit", id, id % 7 == 0);
        if (result.ok()) {
          ++ok;
        } else if (result.status().code() == StatusCode::kRestarted) {
          ++restarted;
        } else {
          ++other;
        }
        Result<int32_t> mode = m->Call<int32_t()>("mode");
        if (!mode.ok() || mode.value() != 5) ++wrong_mode;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(ok + restarted + other, kThreads * kCallsPerThread);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(wrong_mode.load(), 0) << "every instance served only after replay";
  for (int32_t id = 0; id < kThreads * kCallsPerThread; ++id) {
    ASSERT_EQ(ledger_.effects(id), 1) << "call " << id;
  }
  EXPECT_EQ(restarted.load(), (kThreads * kCallsPerThread + 6) / 7);
}

}  // namespace
}  // namespace ringfence
