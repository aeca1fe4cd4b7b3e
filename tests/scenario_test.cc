// The fault scenarios, run against both backends: each module source is
// built twice, to wasm (run in this process) and natively (run in a
// sandboxed worker process), and every test here must pass with either.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "ringfence/compartment.h"
#include "ringfence/fault_injection.h"
#include "ringfence/lock.h"
#include "ringfence/module.h"
#include "ringfence/region.h"
#include "ringfence/supervisor.h"
#include "tests/test_support.h"

namespace ringfence {
namespace {

using ::testing::HasSubstr;
using testing::IsOk;

constexpr uint64_t kRegionOffset = uint64_t{1} << 30;  // above the 256 MiB memory limit

// A module file of the backend under test: natively built ones carry the
// suffix "_native".
std::string FileName(const std::string& name, Isolation isolation) {
  return isolation == Isolation::kProcess ? name + "_native" : name;
}

class ScenarioTest : public ::testing::TestWithParam<Isolation> {
 protected:
  std::shared_ptr<const Module> LoadExample(const std::string& name) {
    return testing::LoadOrDie(testing::ExampleModulePath(FileName(name, GetParam())));
  }
  std::shared_ptr<const Module> LoadTestModule(const std::string& name) {
    return testing::LoadOrDie(testing::TestModulePath(FileName(name, GetParam())));
  }
  std::unique_ptr<Compartment> Open(std::shared_ptr<const Module> module,
                                    CompartmentOptions options = {}) {
    options.isolation = GetParam();
    StatusOr<std::unique_ptr<Compartment>> compartment = Compartment::Create(module, options);
    EXPECT_TRUE(IsOk(compartment.status()));
    return compartment.ok() ? std::move(compartment).value() : nullptr;
  }
};

std::string BackendName(const ::testing::TestParamInfo<Isolation>& info) {
  return std::string(IsolationName(info.param));
}

TEST_P(ScenarioTest, CallsReturnValues) {
  auto calc = Open(LoadExample("calc"));
  ASSERT_NE(calc, nullptr);
  Result<int32_t> sum = calc->Call<int32_t(int32_t, int32_t)>("add", 2, 3);
  ASSERT_TRUE(sum.ok()) << testing::Describe(sum);
  EXPECT_EQ(sum.value(), 5);
  Result<std::optional<Value>> dynamic =
      calc->CallDynamic("add", std::vector<Value>{Value::I32(40), Value::I32(2)});
  ASSERT_TRUE(dynamic.ok());
  EXPECT_EQ(dynamic.value()->i32(), 42);
}

// S1: a fault kills the instance only; the next call runs on a fresh one.
TEST_P(ScenarioTest, EachTrapKindIsReportedAndTheModuleComesBack) {
  auto misbehave = Open(LoadExample("misbehave"));
  ASSERT_NE(misbehave, nullptr);
  struct Case {
    const char* export_name;
    TrapKind kind;
  } cases[] = {
      {"unreachable", TrapKind::kUnreachable},
      {"abort_now", TrapKind::kUnreachable},
      {"divide_by_zero", TrapKind::kDivideByZero},
      {"out_of_bounds_load", TrapKind::kOutOfBounds},
  };
  uint64_t restarts = misbehave->restart_count();
  for (const Case& test : cases) {
    SCOPED_TRACE(test.export_name);
    // In wasm a bad access is caught by a signal handler, which a TSan
    // build cannot follow (tests/test_support.h).
    if (!testing::kSignalTrapsTestable && GetParam() == Isolation::kWasm &&
        test.kind == TrapKind::kOutOfBounds) {
      continue;
    }
    ASSERT_TRUE(misbehave->Call<int32_t()>("calls").ok());
    Result<std::optional<Value>> died = misbehave->CallDynamic(test.export_name, {});
    ASSERT_TRUE(died.trapped()) << testing::Describe(died);
    EXPECT_EQ(died.trap().kind, test.kind) << died.trap().ToString();
    EXPECT_EQ(died.trap().export_name, test.export_name);
    // The fresh instance starts from the module's pristine state.
    Result<int32_t> calls = misbehave->Call<int32_t()>("calls");
    ASSERT_TRUE(calls.ok()) << testing::Describe(calls);
    EXPECT_EQ(calls.value(), 1);
    EXPECT_EQ(misbehave->restart_count(), ++restarts);
  }
}

TEST_P(ScenarioTest, ExitIsATrapWithItsCode) {
  auto misbehave = Open(LoadExample("misbehave"));
  ASSERT_NE(misbehave, nullptr);
  Result<void> exited = misbehave->Call<void(int32_t)>("exit_with", 7);
  ASSERT_TRUE(exited.trapped());
  EXPECT_EQ(exited.trap().kind, TrapKind::kExit);
  EXPECT_EQ(exited.trap().exit_code, 7);
  EXPECT_TRUE(misbehave->Call<int32_t()>("alive").ok());
}

// S3: a hang ends at the call's deadline.
TEST_P(ScenarioTest, AHangEndsAtTheDeadline) {
  if (!testing::kSignalTrapsTestable && GetParam() == Isolation::kWasm) {
    GTEST_SKIP() << "preemption is off in this build";
  }
  CompartmentOptions options;
  options.call_timeout = std::chrono::milliseconds(100);
  auto misbehave = Open(LoadExample("misbehave"), options);
  ASSERT_NE(misbehave, nullptr);
  Result<int32_t> spun = misbehave->Call<int32_t()>("spin_forever");
  ASSERT_TRUE(spun.trapped()) << testing::Describe(spun);
  EXPECT_EQ(spun.trap().kind, TrapKind::kTimeout);
  EXPECT_TRUE(misbehave->Call<int32_t()>("alive").ok());
}

TEST_P(ScenarioTest, KillFromAnotherThreadEndsTheCall) {
  if (!testing::kSignalTrapsTestable && GetParam() == Isolation::kWasm) {
    GTEST_SKIP() << "preemption is off in this build";
  }
  auto misbehave = Open(LoadExample("misbehave"));
  ASSERT_NE(misbehave, nullptr);
  std::thread killer([&] {
    while (misbehave->idle()) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    misbehave->Kill();
  });
  Result<int32_t> spun = misbehave->Call<int32_t()>("spin_forever");
  killer.join();
  ASSERT_TRUE(spun.trapped()) << testing::Describe(spun);
  EXPECT_EQ(spun.trap().kind, TrapKind::kKilled);
  EXPECT_TRUE(misbehave->Call<int32_t()>("alive").ok());
}

// S4: a lock held by a module that dies passes on marked owner died, and
// the data it guards is seen torn and repaired.
TEST_P(ScenarioTest, ALockHeldByADeadModuleIsHandedOnMarkedOwnerDied) {
  std::shared_ptr<const Module> module = LoadTestModule("lib_locks");
  std::shared_ptr<Lock> lock = Lock::Create("shared");
  std::shared_ptr<Region> record = Region::Create(Region::kGranuleBytes).value();
  std::unique_ptr<Compartment> first = Open(module), second = Open(module);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  for (Compartment* compartment : {first.get(), second.get()}) {
    ASSERT_TRUE(IsOk(compartment->Provide("shared", lock)));
    ASSERT_TRUE(IsOk(compartment->MapRegion("record", record, kRegionOffset)));
  }
  auto handles = [](Compartment& compartment) {
    int32_t lock_handle = compartment.Call<int32_t()>("open_shared").value();
    int32_t region_handle = compartment.Call<int32_t()>("open_record").value();
    return std::pair(lock_handle, region_handle);
  };
  auto [lock_a, region_a] = handles(*first);
  Result<int32_t> died = first->Call<int32_t(int32_t, int32_t)>("half_update_then_trap", lock_a,
                                                                region_a);
  ASSERT_TRUE(died.trapped()) << testing::Describe(died);
  auto [lock_b, region_b] = handles(*second);
  Result<int32_t> checked =
      second->Call<int32_t(int32_t, int32_t)>("acquire_and_check", lock_b, region_b);
  ASSERT_TRUE(checked.ok()) << testing::Describe(checked);
  EXPECT_EQ(checked.value(), RF_OWNER_DIED + 10);  // owner died, record torn
}

// Linked modules: a call into another module, and a trap there, seen by
// the caller as a failed call (RF_CALL_TRAPPED) while it keeps running.
TEST_P(ScenarioTest, LinkedCallsAndATrapInTheCallee) {
  auto backend = Open(LoadTestModule("lib_backend"));
  auto frontend = Open(LoadTestModule("lib_frontend"));
  ASSERT_NE(backend, nullptr);
  ASSERT_NE(frontend, nullptr);
  ASSERT_TRUE(IsOk(frontend->LinkModule("backend", *backend)));
  ASSERT_TRUE(IsOk(frontend->LinkModule("self", *frontend)));
  Result<int32_t> computed = frontend->Call<int32_t(int32_t)>("via_compute", 5);
  ASSERT_TRUE(computed.ok()) << testing::Describe(computed);
  Result<int32_t> direct = backend->Call<int32_t(int32_t)>("compute", 5);
  ASSERT_TRUE(direct.ok());
  Result<int32_t> divided = frontend->Call<int32_t(int32_t)>("via_divide", 0);
  ASSERT_TRUE(divided.ok()) << testing::Describe(divided);
  EXPECT_EQ(backend->last_trap()->kind, TrapKind::kDivideByZero);
  // Re-entry: frontend -> host -> frontend.
  Result<int32_t> reentered = frontend->Call<int32_t(int32_t)>("reenter", 4);
  ASSERT_TRUE(reentered.ok()) << testing::Describe(reentered);
  Result<int32_t> inner_trap = frontend->Call<int32_t(int32_t)>("reenter_trap", 4);
  EXPECT_TRUE(inner_trap.trapped()) << testing::Describe(inner_trap);
  EXPECT_TRUE(frontend->Call<int32_t()>("bump").ok());
}

// Supervision over either backend: journal replay restores state-setting
// calls, a call that may not run twice is refused with kRestarted and its
// effect counted once, an idempotent read is retried.
TEST_P(ScenarioTest, SupervisionReplaysRetriesAndNeverRunsTwice) {
  std::shared_ptr<Region> ledger = Region::Create(Region::kGranuleBytes).value();
  auto words = [&] { return reinterpret_cast<int32_t*>(ledger->bytes().data()); };
  SupervisorOptions supervisor_options;
  supervisor_options.crash_lines_on_stderr = false;
  supervisor_options.root.intensity = {1000, std::chrono::seconds(10)};
  auto supervisor = Supervisor::Create(supervisor_options).value();
  ModuleOptions options;
  options.backoff.initial = std::chrono::nanoseconds(0);
  options.intensity = {100, std::chrono::seconds(10)};
  options.compartment.isolation = GetParam();
  SupervisedModule* module =
      supervisor->AddModule("s", LoadTestModule("lib_supervised"), options).value();
  ASSERT_TRUE(IsOk(module->compartment().MapRegion("ledger", ledger, kRegionOffset)));

  ASSERT_TRUE(module->Call<int32_t(int32_t)>("configure", 42).ok());
  Result<int32_t> crashed = module->Call<int32_t()>("crash");
  ASSERT_TRUE(crashed.trapped() || crashed.failed());
  Result<int32_t> mode = module->Call<int32_t()>("mode");
  ASSERT_TRUE(mode.ok()) << testing::Describe(mode);
  EXPECT_EQ(mode.value(), 42);  // replayed into the fresh instance

  Result<int32_t> deposit = module->Call<int32_t(int32_t, int32_t)>("deposit", 3, 1);
  ASSERT_TRUE(deposit.failed()) << testing::Describe(deposit);
  EXPECT_EQ(deposit.status().code(), StatusCode::kRestarted);
  EXPECT_EQ(words()[2 + 3], 1);  // ran once, never again

  words()[1] = 1;  // the next flaky_read traps once
  Result<int32_t> read = module->Call<int32_t(int32_t)>("flaky_read", 21);
  ASSERT_TRUE(read.ok()) << testing::Describe(read);
  EXPECT_EQ(read.value(), 42);
}

// Fault injection at gate crossings and at the module's fault points.
TEST_P(ScenarioTest, InjectedFaultsLandInEitherBackend) {
  FaultPlan plan = FaultPlan::Parse("at=calc.add:2", 1).value();
  auto injector = std::make_shared<FaultInjector>(plan);
  CompartmentOptions options;
  options.fault_injector = injector;
  auto calc = Open(LoadExample("calc"), options);
  ASSERT_NE(calc, nullptr);
  EXPECT_TRUE((calc->Call<int32_t(int32_t, int32_t)>("add", 1, 1).ok()));
  Result<int32_t> injected = calc->Call<int32_t(int32_t, int32_t)>("add", 1, 1);
  ASSERT_TRUE(injected.trapped()) << testing::Describe(injected);
  EXPECT_EQ(injected.trap().kind, TrapKind::kInjected);
  EXPECT_TRUE((calc->Call<int32_t(int32_t, int32_t)>("add", 1, 1).ok()));
}

INSTANTIATE_TEST_SUITE_P(Backends, ScenarioTest,
                         ::testing::Values(Isolation::kWasm, Isolation::kProcess), BackendName);

}  // namespace
}  // namespace ringfence
