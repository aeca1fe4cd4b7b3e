// Fault injection: the plan grammar, the injector's decisions (seeded,
// per-site, independent of thread interleaving), and injected faults in
// compartments: at gate crossings (trap after the export ran, hang, slow)
// and at RF_FAULT_POINTs in module code (lib_faults).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ringfence/compartment.h"
#include "ringfence/fault_injection.h"
#include "ringfence/lock.h"
#include "ringfence/module.h"
#include "ringfence/region.h"
#include "tests/test_support.h"

namespace ringfence {
namespace {

using namespace std::chrono_literals;
using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::CreateOrDie;
using testing::Describe;
using testing::IsOk;
using testing::LoadOrDie;
using testing::TestModulePath;

using Clock = std::chrono::steady_clock;

FaultPlan ParseOrDie(std::string_view spec, uint64_t seed = 1) {
  StatusOr<FaultPlan> plan = FaultPlan::Parse(spec, seed);
  EXPECT_TRUE(plan.ok()) << spec << ": " << plan.status().ToString();
  return plan.ok() ? *plan : FaultPlan{};
}

// ---------------------------------------------------------------------------
// FaultPlan::Parse.

TEST(FaultPlanTest, EmptySpecInjectsNothing) {
  FaultPlan plan = ParseOrDie("", 9);
  EXPECT_EQ(plan.seed, 9u);
  EXPECT_EQ(plan.trap_rate, 0);
  EXPECT_EQ(plan.hang_rate, 0);
  EXPECT_EQ(plan.slow_rate, 0);
  EXPECT_EQ(plan.slow_delay, 2ms);
  EXPECT_TRUE(plan.point_rates.empty());
  EXPECT_TRUE(plan.triggers.empty());
}

TEST(FaultPlanTest, ParsesEveryKey) {
  FaultPlan plan = ParseOrDie(
      "trap=0.05,hang=0.01,slow=0.1,slow-ms=3,point=*:0.2,point=io:1,at=calc.add:3,"
      "at=io:2:hang,at=ns:sub:7:slow,point=ns:io:0.5,at=x.y:1:trap",
      42);
  EXPECT_EQ(plan.seed, 42u);
  EXPECT_DOUBLE_EQ(plan.trap_rate, 0.05);
  EXPECT_DOUBLE_EQ(plan.hang_rate, 0.01);
  EXPECT_DOUBLE_EQ(plan.slow_rate, 0.1);
  EXPECT_EQ(plan.slow_delay, 3ms);
  ASSERT_EQ(plan.point_rates.size(), 3u);
  EXPECT_DOUBLE_EQ(plan.point_rates.at("*"), 0.2);
  EXPECT_DOUBLE_EQ(plan.point_rates.at("io"), 1.0);
  EXPECT_DOUBLE_EQ(plan.point_rates.at("ns:io"), 0.5);  // the last ':' separates the rate
  ASSERT_EQ(plan.triggers.size(), 4u);
  EXPECT_EQ(plan.triggers[0].site, "calc.add");
  EXPECT_EQ(plan.triggers[0].hit, 3u);
  EXPECT_EQ(plan.triggers[0].action, FaultAction::kTrap);
  EXPECT_EQ(plan.triggers[1].site, "io");
  EXPECT_EQ(plan.triggers[1].hit, 2u);
  EXPECT_EQ(plan.triggers[1].action, FaultAction::kHang);
  EXPECT_EQ(plan.triggers[2].site, "ns:sub");
  EXPECT_EQ(plan.triggers[2].hit, 7u);
  EXPECT_EQ(plan.triggers[2].action, FaultAction::kSlow);
  EXPECT_EQ(plan.triggers[3].action, FaultAction::kTrap);
}

TEST(FaultPlanTest, FractionalSlowDelay) {
  EXPECT_EQ(ParseOrDie("slow-ms=0.5").slow_delay, 500us);
  EXPECT_EQ(ParseOrDie("slow-ms=0").slow_delay, 0ns);
}

TEST(FaultPlanTest, RatesMayAddUpToExactlyOne) {
  FaultPlan plan = ParseOrDie("trap=0.5,hang=0.25,slow=0.25");
  EXPECT_DOUBLE_EQ(plan.trap_rate + plan.hang_rate + plan.slow_rate, 1.0);
}

TEST(FaultPlanTest, ErrorsNameTheItemAndTheProblem) {
  struct Case {
    std::string spec;
    std::string item;  // what the message quotes
    std::string why;   // and a phrase of its reason
  };
  const std::vector<Case> cases = {
      {"trap=2", "item 1 'trap=2'", "not a number in [0, 1]"},
      {"trap=-0.1", "'trap=-0.1'", "not a number in [0, 1]"},
      {"trap=x", "'trap=x'", "not a number"},
      {"trap=nan", "'trap=nan'", "not a number"},
      {"trap=0.1x", "'trap=0.1x'", "not a number"},
      {"trap=", "'trap='", "not a number"},
      {"hang=0.1,trap=0.2,trap=0.3", "item 3 'trap=0.3'", "given twice"},
      {"bogus=1", "'bogus=1'", "unknown key 'bogus'"},
      {"trap", "'trap'", "expected key=value"},
      {",trap=0.1", "item 1 ''", "empty item"},
      {"trap=0.1,", "item 2 ''", "empty item"},
      {"trap=0.1,,hang=0.1", "item 2 ''", "empty item"},
      {"point=io", "'point=io'", "expected point=NAME:RATE"},
      {"point=:0.5", "'point=:0.5'", "point name is empty"},
      {"point=io:1.5", "'point=io:1.5'", "not a number in [0, 1]"},
      {"point=io:0.1,point=io:0.2", "item 2", "point 'io' is given twice"},
      {"point=" + std::string(257, 'p') + ":1", "item 1", "257 bytes long; at most 256"},
      {"at=calc.add", "'at=calc.add'", "expected at=SITE:HIT"},
      {"at=calc.add:0", "'at=calc.add:0'", "not a whole number >= 1"},
      {"at=calc.add:x", "'at=calc.add:x'", "not a whole number >= 1"},
      {"at=calc.add:3:explode", "'at=calc.add:3:explode'", "not a whole number >= 1"},
      {"at=:3", "'at=:3'", "site is empty"},
      {"at=hang", "'at=hang'", "expected at=SITE:HIT"},
      {"at=x:hang", "'at=x:hang'", "expected at=SITE:HIT:ACTION"},
      {"at=a.b:2,at=a.b:2:hang", "item 2", "given twice"},
      {"slow-ms=-1", "'slow-ms=-1'", "milliseconds"},
      {"slow-ms=1e9", "'slow-ms=1e9'", "milliseconds"},
  };
  for (const Case& c : cases) {
    StatusOr<FaultPlan> plan = FaultPlan::Parse(c.spec, 1);
    ASSERT_FALSE(plan.ok()) << c.spec;
    EXPECT_EQ(plan.status().code(), StatusCode::kInvalidArgument) << c.spec;
    EXPECT_THAT(plan.status().message(), AllOf(HasSubstr(c.item), HasSubstr(c.why))) << c.spec;
  }
  StatusOr<FaultPlan> over = FaultPlan::Parse("trap=0.6,hang=0.3,slow=0.2", 1);
  ASSERT_FALSE(over.ok());
  EXPECT_THAT(over.status().message(), HasSubstr("add up to 1.1"));
}

TEST(FaultPlanTest, ToSpecRoundTrips) {
  const std::string spec =
      "trap=0.05,hang=0.01,slow=0.1,slow-ms=0.5,point=*:0.2,point=io:1,at=calc.add:3,"
      "at=io:2:hang";
  FaultPlan plan = ParseOrDie(spec, 5);
  EXPECT_EQ(plan.ToSpec(), spec);
  FaultPlan again = ParseOrDie(plan.ToSpec(), 5);
  EXPECT_EQ(again.ToSpec(), spec);
  EXPECT_EQ(FaultPlan{}.ToSpec(), "");
}

// ---------------------------------------------------------------------------
// FaultInjector decisions.

// The actions of `n` crossings of module.export.
std::vector<FaultAction> Crossings(FaultInjector& injector, std::string_view module,
                                   std::string_view export_name, int n) {
  std::vector<FaultAction> actions;
  for (int i = 0; i < n; ++i) actions.push_back(injector.AtCrossing(module, export_name).action);
  return actions;
}

TEST(FaultInjectorTest, SameSeedSameSequencePerSiteWhateverTheInterleaving) {
  FaultPlan plan = ParseOrDie("trap=0.2,hang=0.1,slow=0.1,point=*:0.3", 7);
  // One injector visits the sites round-robin, the other one site at a time.
  FaultInjector round_robin(plan);
  FaultInjector one_by_one(plan);
  const std::vector<std::string> exports = {"a", "b", "c"};
  std::map<std::string, std::vector<FaultAction>> interleaved;
  for (int i = 0; i < 300; ++i) {
    for (const std::string& name : exports) {
      interleaved[name].push_back(round_robin.AtCrossing("m", name).action);
    }
    interleaved["point"].push_back(round_robin.AtPoint("m", "io").action);
  }
  for (const std::string& name : exports) {
    EXPECT_EQ(Crossings(one_by_one, "m", name, 300), interleaved[name]) << name;
  }
  std::vector<FaultAction> points;
  for (int i = 0; i < 300; ++i) points.push_back(one_by_one.AtPoint("m", "io").action);
  EXPECT_EQ(points, interleaved["point"]);
  EXPECT_EQ(round_robin.counts().traps, one_by_one.counts().traps);
  EXPECT_EQ(round_robin.counts().hangs, one_by_one.counts().hangs);
  EXPECT_EQ(round_robin.counts().slows, one_by_one.counts().slows);
}

TEST(FaultInjectorTest, DifferentSeedsDifferentSequences) {
  FaultInjector first(ParseOrDie("trap=0.5,point=*:0.5", 1));
  FaultInjector second(ParseOrDie("trap=0.5,point=*:0.5", 2));
  EXPECT_NE(Crossings(first, "m", "e", 200), Crossings(second, "m", "e", 200));
  std::vector<FaultAction> first_points, second_points;
  for (int i = 0; i < 200; ++i) {
    first_points.push_back(first.AtPoint("m", "io").action);
    second_points.push_back(second.AtPoint("m", "io").action);
  }
  EXPECT_NE(first_points, second_points);
  // Different sites of one seed differ too.
  FaultInjector third(ParseOrDie("trap=0.5", 1));
  EXPECT_NE(Crossings(third, "m", "x", 200), Crossings(third, "m", "y", 200));
}

TEST(FaultInjectorTest, RatesAreRoughlyHonoured) {
  FaultInjector injector(ParseOrDie("trap=0.3,hang=0.1,slow=0.2,slow-ms=4", 3));
  int traps = 0, hangs = 0, slows = 0;
  for (int i = 0; i < 10000; ++i) {
    FaultDecision decision = injector.AtCrossing("m", "e");
    traps += decision.action == FaultAction::kTrap;
    hangs += decision.action == FaultAction::kHang;
    if (decision.action == FaultAction::kSlow) {
      ++slows;
      EXPECT_EQ(decision.delay, 4ms);
    }
  }
  EXPECT_NEAR(traps, 3000, 300);
  EXPECT_NEAR(hangs, 1000, 200);
  EXPECT_NEAR(slows, 2000, 250);
  InjectionCounts counts = injector.counts();
  EXPECT_EQ(counts.traps, static_cast<uint64_t>(traps));
  EXPECT_EQ(counts.hangs, static_cast<uint64_t>(hangs));
  EXPECT_EQ(counts.slows, static_cast<uint64_t>(slows));
  EXPECT_EQ(counts.total(), static_cast<uint64_t>(traps + hangs + slows));
}

TEST(FaultInjectorTest, RateZeroNeverRateOneAlways) {
  FaultInjector never(ParseOrDie("trap=0,hang=0,slow=0,point=*:0,point=io:0"));
  FaultInjector traps(ParseOrDie("trap=1,point=*:1"));
  FaultInjector hangs(ParseOrDie("hang=1"));
  FaultInjector slows(ParseOrDie("slow=1"));
  for (int i = 0; i < 1000; ++i) {
    std::string export_name = "e" + std::to_string(i % 7);
    EXPECT_EQ(never.AtCrossing("m", export_name).action, FaultAction::kNone);
    EXPECT_EQ(never.AtPoint("m", "io").action, FaultAction::kNone);
    EXPECT_EQ(never.AtPoint("m", "other").action, FaultAction::kNone);
    EXPECT_EQ(traps.AtCrossing("m", export_name).action, FaultAction::kTrap);
    EXPECT_EQ(traps.AtPoint("m", export_name).action, FaultAction::kTrap);
    EXPECT_EQ(hangs.AtCrossing("m", export_name).action, FaultAction::kHang);
    EXPECT_EQ(hangs.AtPoint("m", "io").action, FaultAction::kNone);  // points only trap by rate
    EXPECT_EQ(slows.AtCrossing("m", export_name).action, FaultAction::kSlow);
  }
  EXPECT_EQ(never.counts().total(), 0u);
  EXPECT_EQ(traps.counts().traps, 2000u);
  EXPECT_EQ(hangs.counts().hangs, 1000u);
  EXPECT_EQ(slows.counts().slows, 1000u);
}

TEST(FaultInjectorTest, PointRateOfItsOwnOverridesStar) {
  FaultInjector injector(ParseOrDie("point=*:1,point=safe:0"));
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(injector.AtPoint("m", "safe").action, FaultAction::kNone);
    EXPECT_EQ(injector.AtPoint("m", "other").action, FaultAction::kTrap);
  }
  // Crossings are untouched by point rates.
  EXPECT_EQ(injector.AtCrossing("m", "safe").action, FaultAction::kNone);
}

TEST(FaultInjectorTest, TriggersFireExactlyAtTheirHit) {
  FaultInjector injector(ParseOrDie("at=m.e:3,at=io:2:slow,at=io:4:hang,slow-ms=7"));
  std::vector<FaultAction> crossings = Crossings(injector, "m", "e", 6);
  EXPECT_EQ(crossings, (std::vector<FaultAction>{FaultAction::kNone, FaultAction::kNone,
                                                 FaultAction::kTrap, FaultAction::kNone,
                                                 FaultAction::kNone, FaultAction::kNone}));
  // Another export of the module, and a point of the same name, count apart.
  EXPECT_EQ(Crossings(injector, "m", "f", 4), std::vector<FaultAction>(4, FaultAction::kNone));
  std::vector<FaultAction> points;
  for (int i = 0; i < 5; ++i) {
    FaultDecision decision = injector.AtPoint("m", "io");
    points.push_back(decision.action);
    if (decision.action == FaultAction::kSlow) {
      EXPECT_EQ(decision.delay, 7ms);
    }
  }
  EXPECT_EQ(points, (std::vector<FaultAction>{FaultAction::kNone, FaultAction::kSlow,
                                              FaultAction::kNone, FaultAction::kHang,
                                              FaultAction::kNone}));
  // A point's hits are counted per module: module n reaches its own 2nd hit.
  EXPECT_EQ(injector.AtPoint("n", "io").action, FaultAction::kNone);
  EXPECT_EQ(injector.AtPoint("n", "io").action, FaultAction::kSlow);
  InjectionCounts counts = injector.counts();
  EXPECT_EQ(counts.traps, 1u);
  EXPECT_EQ(counts.slows, 2u);
  EXPECT_EQ(counts.hangs, 1u);
}

TEST(FaultInjectorTest, TriggerTakesPrecedenceOverRates) {
  FaultInjector injector(ParseOrDie("trap=1,at=m.e:2:slow"));
  EXPECT_EQ(Crossings(injector, "m", "e", 3),
            (std::vector<FaultAction>{FaultAction::kTrap, FaultAction::kSlow, FaultAction::kTrap}));
}

TEST(FaultInjectorTest, DisabledInjectsNothingAndCountsNoHits) {
  FaultInjector injector(ParseOrDie("at=m.e:2,at=io:2"));
  EXPECT_TRUE(injector.enabled());
  EXPECT_EQ(injector.AtCrossing("m", "e").action, FaultAction::kNone);  // hit 1
  EXPECT_EQ(injector.AtPoint("m", "io").action, FaultAction::kNone);    // hit 1
  injector.set_enabled(false);
  EXPECT_FALSE(injector.enabled());
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(injector.AtCrossing("m", "e").action, FaultAction::kNone);
    EXPECT_EQ(injector.AtPoint("m", "io").action, FaultAction::kNone);
  }
  injector.set_enabled(true);
  EXPECT_EQ(injector.AtCrossing("m", "e").action, FaultAction::kTrap);  // hit 2
  EXPECT_EQ(injector.AtPoint("m", "io").action, FaultAction::kTrap);    // hit 2
  EXPECT_EQ(injector.counts().traps, 2u);
}

TEST(FaultInjectorTest, WithdrawTakesACountBack) {
  FaultInjector injector(ParseOrDie("trap=1"));
  EXPECT_EQ(injector.AtCrossing("m", "e").action, FaultAction::kTrap);
  EXPECT_EQ(injector.AtCrossing("m", "e").action, FaultAction::kTrap);
  injector.Withdraw(FaultAction::kTrap);
  EXPECT_EQ(injector.counts().traps, 1u);
  injector.Withdraw(FaultAction::kNone);
  EXPECT_EQ(injector.counts().total(), 1u);
}

TEST(FaultInjectorTest, ConcurrentSitesMatchASingleThreadedRun) {
  FaultPlan plan = ParseOrDie("trap=0.25,hang=0.05,slow=0.1,point=*:0.3", 11);
  constexpr int kThreads = 4;
  constexpr int kCalls = 2000;
  FaultInjector shared(plan);
  std::vector<std::vector<FaultAction>> seen(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::string export_name = "e" + std::to_string(t);
      for (int i = 0; i < kCalls; ++i) {
        seen[t].push_back(shared.AtCrossing("m", export_name).action);
        seen[t].push_back(shared.AtPoint("m", export_name).action);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  FaultInjector reference(plan);
  uint64_t faults = 0;
  for (int t = 0; t < kThreads; ++t) {
    std::string export_name = "e" + std::to_string(t);
    std::vector<FaultAction> expected;
    for (int i = 0; i < kCalls; ++i) {
      expected.push_back(reference.AtCrossing("m", export_name).action);
      expected.push_back(reference.AtPoint("m", export_name).action);
    }
    EXPECT_EQ(seen[t], expected) << "thread " << t;
    for (FaultAction action : expected) faults += action != FaultAction::kNone;
  }
  EXPECT_EQ(shared.counts().total(), faults);
  EXPECT_EQ(reference.counts().total(), faults);
}

// ---------------------------------------------------------------------------
// In compartments (lib_faults).

std::shared_ptr<const Module> FaultsModule() {
  static const std::shared_ptr<const Module> module = LoadOrDie(TestModulePath("lib_faults"));
  return module;
}

class FaultCompartmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StatusOr<std::shared_ptr<Region>> region = Region::Create(Region::kGranuleBytes);
    ASSERT_TRUE(region.ok()) << region.status().ToString();
    region_ = *region;
    lock_ = Lock::Create("shared");
  }

  // A lib_faults compartment with `spec` injected (and "counter", "shared").
  std::unique_ptr<Compartment> Make(std::string_view spec, CompartmentOptions options = {},
                                    uint64_t seed = 1) {
    injector_ = std::make_shared<FaultInjector>(ParseOrDie(spec, seed));
    options.fault_injector = injector_;
    return MakeWith(options);
  }
  std::unique_ptr<Compartment> MakeWith(CompartmentOptions options) {
    std::unique_ptr<Compartment> compartment = CreateOrDie(FaultsModule(), options);
    EXPECT_TRUE(IsOk(compartment->MapRegion("counter", region_, uint64_t{1} << 30)));
    EXPECT_TRUE(IsOk(compartment->Provide("shared", lock_)));
    return compartment;
  }

  // The shared counter lib_faults bumps (what survives its instances).
  uint32_t Counter() const {
    uint32_t value;
    std::memcpy(&value, region_->bytes().data(), sizeof(value));
    return value;
  }

  std::shared_ptr<Region> region_;
  std::shared_ptr<Lock> lock_;
  std::shared_ptr<FaultInjector> injector_;
};

TEST_F(FaultCompartmentTest, ModuleIsNamedAsSitesExpect) {
  EXPECT_EQ(FaultsModule()->name(), "lib_faults");
}

// A crossing trap: the export ran (its side effect stays), the caller gets a
// Trap of kind injected instead of the reply, and the next call works.
TEST_F(FaultCompartmentTest, CrossingTrapAfterTheExportRan) {
  std::unique_ptr<Compartment> compartment = Make("at=lib_faults.bump:2");
  Result<int32_t> first = compartment->Call<int32_t()>("bump");
  ASSERT_TRUE(first.ok()) << Describe(first);
  EXPECT_EQ(first.value(), 1);

  Result<int32_t> second = compartment->Call<int32_t()>("bump");
  ASSERT_TRUE(second.trapped()) << Describe(second);
  EXPECT_EQ(second.trap().kind, TrapKind::kInjected);
  EXPECT_EQ(second.trap().module, "lib_faults");
  EXPECT_EQ(second.trap().export_name, "bump");
  EXPECT_THAT(second.trap().ToString(), HasSubstr("trap: injected in lib_faults.bump"));
  EXPECT_EQ(Counter(), 2u);  // the side effect happened
  EXPECT_EQ(compartment->state(), Compartment::State::kDead);
  EXPECT_EQ(compartment->restart_count(), 0u);

  Result<int32_t> third = compartment->Call<int32_t()>("bump");
  ASSERT_TRUE(third.ok()) << Describe(third);
  EXPECT_EQ(third.value(), 3);
  EXPECT_EQ(compartment->restart_count(), 1u);  // a fresh instance served it
  EXPECT_EQ(injector_->counts().traps, 1u);
  EXPECT_EQ(injector_->counts().total(), 1u);
}

// The typed fast path would skip the injector: a compartment with one must
// never grant it, or the third call here would not trap.
TEST_F(FaultCompartmentTest, TypedExportCallsAreAllInjectable) {
  std::unique_ptr<Compartment> compartment = Make("at=lib_faults.add:3,at=lib_faults.add:5");
  auto add = compartment->GetExport<int32_t(int32_t, int32_t)>("add").value();
  std::vector<std::string> outcomes;
  for (int i = 0; i < 6; ++i) {
    Result<int32_t> sum = add(i, 1);
    outcomes.push_back(sum.ok() ? std::to_string(sum.value())
                                : std::string(sum.trapped() ? TrapKindName(sum.trap().kind)
                                                            : "failed"));
  }
  EXPECT_EQ(outcomes, (std::vector<std::string>{"1", "2", "injected", "4", "injected", "6"}));
}

TEST_F(FaultCompartmentTest, CrossingHangEndsAtTheDeadlineWithoutRunningTheExport) {
  CompartmentOptions options;
  options.call_timeout = 20ms;
  std::unique_ptr<Compartment> compartment = Make("at=lib_faults.bump:1:hang", options);
  Clock::time_point start = Clock::now();
  Result<int32_t> hung = compartment->Call<int32_t()>("bump");
  ASSERT_TRUE(hung.trapped()) << Describe(hung);
  EXPECT_EQ(hung.trap().kind, TrapKind::kTimeout);
  EXPECT_GE(Clock::now() - start, 20ms);
  EXPECT_EQ(Counter(), 0u);  // the export never ran
  EXPECT_EQ(injector_->counts().hangs, 1u);

  Result<int32_t> next = compartment->Call<int32_t()>("bump");
  ASSERT_TRUE(next.ok()) << Describe(next);
  EXPECT_EQ(next.value(), 1);
}

TEST_F(FaultCompartmentTest, CrossingHangEndsWithAKill) {
  std::unique_ptr<Compartment> compartment = Make("hang=1");  // no deadline: only a kill ends it
  std::thread killer([&] {
    // Kill once the call is inside (the hang keeps it there).
    while (compartment->idle()) std::this_thread::yield();
    compartment->Kill();
  });
  Result<int32_t> hung = compartment->Call<int32_t()>("bump");
  killer.join();
  ASSERT_TRUE(hung.trapped()) << Describe(hung);
  EXPECT_EQ(hung.trap().kind, TrapKind::kKilled);
  EXPECT_EQ(Counter(), 0u);
  injector_->set_enabled(false);
  Result<int32_t> next = compartment->Call<int32_t()>("bump");
  ASSERT_TRUE(next.ok()) << Describe(next);
  EXPECT_EQ(next.value(), 1);
}

TEST_F(FaultCompartmentTest, CrossingSlowDelaysThenRuns) {
  std::unique_ptr<Compartment> compartment = Make("slow=1,slow-ms=5");
  for (int i = 1; i <= 3; ++i) {
    Clock::time_point start = Clock::now();
    Result<int32_t> result = compartment->Call<int32_t()>("bump");
    Clock::duration took = Clock::now() - start;
    ASSERT_TRUE(result.ok()) << Describe(result);
    EXPECT_EQ(result.value(), i);
    EXPECT_GE(took, 5ms);
  }
  EXPECT_EQ(injector_->counts().slows, 3u);
  EXPECT_EQ(injector_->counts().total(), 3u);
}

TEST_F(FaultCompartmentTest, CrossingSlowPastTheDeadlineIsATimeout) {
  CompartmentOptions options;
  options.call_timeout = 5ms;
  std::unique_ptr<Compartment> compartment = Make("slow=1,slow-ms=10000", options);
  Result<int32_t> slow = compartment->Call<int32_t()>("bump");
  ASSERT_TRUE(slow.trapped()) << Describe(slow);
  EXPECT_EQ(slow.trap().kind, TrapKind::kTimeout);
  EXPECT_EQ(Counter(), 0u);
}

TEST_F(FaultCompartmentTest, FaultPointWithoutInjectorDoesNothing) {
  std::unique_ptr<Compartment> compartment = MakeWith({});
  Result<int32_t> result = compartment->Call<int32_t()>("through_io");
  ASSERT_TRUE(result.ok()) << Describe(result);
  EXPECT_EQ(result.value(), 7);
}

TEST_F(FaultCompartmentTest, FaultPointTrapsRightThere) {
  // Traps at the third "step": two steps' side effects happened, no more.
  std::unique_ptr<Compartment> compartment = Make("at=step:3");
  Result<int32_t> result = compartment->Call<int32_t(int32_t)>("steps", 5);
  ASSERT_TRUE(result.trapped()) << Describe(result);
  EXPECT_EQ(result.trap().kind, TrapKind::kInjected);
  EXPECT_EQ(result.trap().export_name, "steps");
  EXPECT_EQ(Counter(), 2u);
  // Hits go on counting: the next call passes "step" 4..8 without a fault.
  result = compartment->Call<int32_t(int32_t)>("steps", 5);
  ASSERT_TRUE(result.ok()) << Describe(result);
  EXPECT_EQ(Counter(), 7u);
  EXPECT_EQ(injector_->counts().traps, 1u);
}

TEST_F(FaultCompartmentTest, FaultPointRates) {
  std::unique_ptr<Compartment> always = Make("point=io:1");
  for (int i = 0; i < 3; ++i) {
    Result<int32_t> result = always->Call<int32_t()>("through_io");
    ASSERT_TRUE(result.trapped()) << Describe(result);
    EXPECT_EQ(result.trap().kind, TrapKind::kInjected);
  }
  std::unique_ptr<Compartment> never = Make("point=*:1,point=io:0");
  for (int i = 0; i < 3; ++i) {
    Result<int32_t> result = never->Call<int32_t()>("through_io");
    ASSERT_TRUE(result.ok()) << Describe(result);
    EXPECT_EQ(result.value(), 7);
  }
}

// A crossing trap decided for a call that then traps at a fault point: the
// caller sees one trap, and the injector counts one.
TEST_F(FaultCompartmentTest, CrossingTrapSupersededByAPointTrapIsNotCounted) {
  std::unique_ptr<Compartment> compartment = Make("at=lib_faults.through_io:1,at=io:1");
  Result<int32_t> result = compartment->Call<int32_t()>("through_io");
  ASSERT_TRUE(result.trapped()) << Describe(result);
  EXPECT_EQ(result.trap().kind, TrapKind::kInjected);
  EXPECT_EQ(injector_->counts().traps, 1u);
  EXPECT_EQ(injector_->counts().total(), 1u);
}

TEST_F(FaultCompartmentTest, FaultPointSlowWaitsThere) {
  std::unique_ptr<Compartment> compartment = Make("at=timed:1:slow,slow-ms=5");
  Result<int64_t> first = compartment->Call<int64_t()>("timed_point");
  ASSERT_TRUE(first.ok()) << Describe(first);
  EXPECT_GE(first.value(), 5'000'000);  // measured by the module itself
  Result<int64_t> second = compartment->Call<int64_t()>("timed_point");
  ASSERT_TRUE(second.ok()) << Describe(second);
  EXPECT_EQ(injector_->counts().slows, 1u);
  EXPECT_EQ(injector_->counts().total(), 1u);
}

TEST_F(FaultCompartmentTest, FaultPointHangEndsAtTheDeadline) {
  CompartmentOptions options;
  options.call_timeout = 20ms;
  std::unique_ptr<Compartment> compartment = Make("at=io:1:hang", options);
  Result<int32_t> hung = compartment->Call<int32_t()>("through_io");
  ASSERT_TRUE(hung.trapped()) << Describe(hung);
  EXPECT_EQ(hung.trap().kind, TrapKind::kTimeout);
  Result<int32_t> next = compartment->Call<int32_t()>("through_io");
  ASSERT_TRUE(next.ok()) << Describe(next);
  EXPECT_EQ(next.value(), 7);
}

TEST_F(FaultCompartmentTest, FaultPointHangEndsWithAKill) {
  std::unique_ptr<Compartment> compartment = Make("at=io:1:hang");
  std::thread killer([&] {
    while (compartment->idle()) std::this_thread::yield();
    compartment->Kill();
  });
  Result<int32_t> hung = compartment->Call<int32_t()>("through_io");
  killer.join();
  ASSERT_TRUE(hung.trapped()) << Describe(hung);
  EXPECT_EQ(hung.trap().kind, TrapKind::kKilled);
}

// S2 by injection: the module dies at a fault point while holding a lock;
// the next acquirer learns the owner died.
TEST_F(FaultCompartmentTest, FaultPointTrapHoldingALockPassesItOnOwnerDied) {
  std::unique_ptr<Compartment> victim = Make("at=locked:1");
  std::unique_ptr<Compartment> other = MakeWith({});
  Result<int32_t> died = victim->Call<int32_t()>("locked_point");
  ASSERT_TRUE(died.trapped()) << Describe(died);
  EXPECT_EQ(died.trap().kind, TrapKind::kInjected);

  Result<int32_t> next = other->Call<int32_t()>("locked_point");
  ASSERT_TRUE(next.ok()) << Describe(next);
  EXPECT_EQ(next.value(), RF_OWNER_DIED);
  // Repaired and released: the host acquires it plainly.
  StatusOr<LockOutcome> host = lock_->Acquire(1s);
  ASSERT_TRUE(host.ok()) << host.status().ToString();
  EXPECT_EQ(*host, LockOutcome::kAcquired);
  EXPECT_TRUE(IsOk(lock_->Release()));
  // The victim's fresh instance works too.
  Result<int32_t> again = victim->Call<int32_t()>("locked_point");
  ASSERT_TRUE(again.ok()) << Describe(again);
  EXPECT_EQ(again.value(), RF_OK);
}

TEST_F(FaultCompartmentTest, FaultPointRejectsBadNames) {
  for (bool with_injector : {false, true}) {
    std::unique_ptr<Compartment> compartment = with_injector ? Make("point=*:1") : MakeWith({});
    auto point_raw = compartment->GetExport<int32_t(int32_t, int32_t)>("point_raw").value();
    Result<int32_t> outside = point_raw(static_cast<int32_t>(0xfffffff0u), 64);
    ASSERT_TRUE(outside.ok()) << Describe(outside);
    EXPECT_EQ(outside.value(), RF_EFAULT);
    Result<int32_t> too_long = point_raw(0, 257);
    ASSERT_TRUE(too_long.ok()) << Describe(too_long);
    EXPECT_EQ(too_long.value(), RF_EINVAL);
  }
  EXPECT_EQ(injector_->counts().total(), 0u);
}

// A seeded random run: every injected trap reaches the caller as a Trap of
// kind injected, the injector's count matches, and the same seed gives the
// same run again.
TEST_F(FaultCompartmentTest, SeededRunIsReproducibleAndCountsMatch) {
  auto run = [&](uint64_t seed, uint64_t* traps_seen) {
    std::unique_ptr<Compartment> compartment = Make("trap=0.2,point=*:0.1", {}, seed);
    std::string outcomes;
    *traps_seen = 0;
    for (int i = 0; i < 200; ++i) {
      Result<int32_t> result = i % 2 == 0 ? compartment->Call<int32_t(int32_t, int32_t)>("add", i, 1)
                                          : compartment->Call<int32_t()>("through_io");
      if (result.trapped()) {
        EXPECT_EQ(result.trap().kind, TrapKind::kInjected) << Describe(result);
        ++*traps_seen;
        outcomes += 'T';
      } else {
        EXPECT_TRUE(result.ok()) << Describe(result);
        outcomes += '.';
      }
    }
    EXPECT_EQ(injector_->counts().traps, *traps_seen);
    return outcomes;
  };
  uint64_t first_traps = 0, second_traps = 0, other_traps = 0;
  std::string first = run(5, &first_traps);
  std::string second = run(5, &second_traps);
  std::string other = run(6, &other_traps);
  EXPECT_EQ(first, second);
  EXPECT_NE(first, other);
  EXPECT_GT(first_traps, 10u);  // ~30 expected
  EXPECT_LT(first_traps, 80u);
}

}  // namespace
}  // namespace ringfence
