// Fault injection: seeded, reproducible faults at gate crossings and at
// named fault points in module code, for testing how a host and its
// supervision cope with modules that trap, hang or crawl.
//
//   auto plan = FaultPlan::Parse("trap=0.05,hang=0.01,point=io:0.2", /*seed=*/42).value();
//   auto injector = std::make_shared<FaultInjector>(plan);
//   CompartmentOptions options;
//   options.fault_injector = injector;
//   options.call_timeout = std::chrono::milliseconds(50);  // so a hang ends
//   auto compartment = Compartment::Create(module, options).value();
//
// Where faults happen:
//  - Crossings: every call into a compartment from the host or from a linked
//    module (the compartment's full call path, which every call with an
//    injector takes).
//    The site is "module.export".
//      trap: the export runs to completion, then the instance dies before
//            its reply (trap kind injected): its side effects happened, the
//            caller gets a Trap and never the value.
//      hang: the call waits inside the compartment, without running the
//            export, until its deadline (trap kind timeout) or a Kill()
//            (killed). Without a deadline it waits for a kill.
//      slow: the call waits `slow_delay` inside the compartment first (a
//            deadline or kill during the wait ends it as that trap), then
//            runs normally.
//  - Fault points: RF_FAULT_POINT("name") in module code (module.h). The site
//    is the point name. A trap there is a trap at that spot in the module
//    (holding a lock, halfway through an update); a hang or slow (from a
//    trigger) waits there like rf_sleep_ns.
//
// Determinism: each site has its own hit counter (1, 2, ... for the calls
// or points reached there while enabled; a point's counter is kept per
// module). A decision is a pure function of (seed, site, hit number), so one
// seed gives the same fault sequence per site whatever the thread
// interleaving, and the same whole run for a single-threaded caller.
#ifndef RINGFENCE_FAULT_INJECTION_H_
#define RINGFENCE_FAULT_INJECTION_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "ringfence/status.h"

namespace ringfence {

enum class FaultAction {
  kNone,
  kTrap,  // the module dies (trap kind injected)
  kHang,  // wait until the call's deadline or a kill
  kSlow,  // wait FaultDecision::delay first
};

// Stable lower-case name: "none", "trap", "hang", "slow".
std::string_view FaultActionName(FaultAction action);

struct FaultDecision {
  FaultAction action = FaultAction::kNone;
  std::chrono::nanoseconds delay{0};  // for kSlow
};

struct FaultPlan {
  uint64_t seed = 1;
  // Per gate crossing; one draw decides among them, so the three must add up
  // to at most 1 (Parse checks; a hand-made plan is used as given: a rate
  // <= 0 never fires, one >= 1 always).
  double trap_rate = 0;  // the call runs, then the module dies before its reply
  double hang_rate = 0;  // the call hangs until its deadline or a kill
  double slow_rate = 0;  // the call is delayed by slow_delay first
  std::chrono::nanoseconds slow_delay = std::chrono::milliseconds(2);
  // Fault points: the rate of a trap at the point of this name; "*" is the
  // rate for every point without its own entry.
  std::map<std::string, double, std::less<>> point_rates;
  // Chosen faults: `action` at the `hit`th (1-based) hit of `site`
  // ("module.export" for a crossing, the point name for a fault point).
  // A trigger takes precedence over the rates at that hit.
  struct Trigger {
    std::string site;
    uint64_t hit = 1;
    FaultAction action = FaultAction::kTrap;
  };
  std::vector<Trigger> triggers;

  // Parses a spec (e.g. from a command line), with `seed`:
  //
  //   spec   := "" | item ("," item)*
  //   item   := "trap=" RATE | "hang=" RATE | "slow=" RATE
  //           | "slow-ms=" MS                       delay of a slow (default 2)
  //           | "point=" NAME ":" RATE              trap rate at a fault point
  //           | "at=" SITE ":" HIT [":" ACTION]     a trigger (default trap)
  //   RATE   := decimal number in [0, 1]   (trap + hang + slow <= 1)
  //   MS     := decimal number in [0, 3600000], fractions allowed ("0.5")
  //   NAME   := "*" or a point name: 1..256 bytes, no ","
  //   SITE   := "module.export" or a point name: 1..256 bytes, no ","
  //   HIT    := decimal integer >= 1
  //   ACTION := "trap" | "hang" | "slow"
  //
  // A NAME or SITE may itself contain ":" (the last one, or the last two
  // for "at" with an ACTION, separate the fields). No spaces. Each of trap,
  // hang, slow, slow-ms at most once; each point NAME at most once; each
  // (SITE, HIT) at most once.
  // Example: "trap=0.05,hang=0.01,slow=0.1,slow-ms=3,point=*:0.2,point=io:1,at=calc.add:3".
  // Errors: kInvalidArgument naming the item and what is wrong with it.
  static StatusOr<FaultPlan> Parse(std::string_view spec, uint64_t seed);

  // The spec Parse turns back into this plan (without the seed): for crash
  // reports and "rerun with" hints. Rates print with enough digits to
  // round-trip.
  std::string ToSpec() const;
};

struct InjectionCounts {
  uint64_t traps = 0, hangs = 0, slows = 0;
  uint64_t total() const { return traps + hangs + slows; }
};

// Decides, per crossing and per fault point, whether to inject a fault.
// Thread-safe. Shared (std::shared_ptr) by the compartments that use it
// (CompartmentOptions::fault_injector); it must outlive calls in flight.
class FaultInjector {
 public:
  explicit FaultInjector(FaultPlan plan);
  FaultInjector(const FaultInjector&) = delete;
  FaultInjector& operator=(const FaultInjector&) = delete;

  // The decision for the next call into `module`.`export_name` (counts as one
  // hit of that site). kNone while disabled (and the hit is not counted).
  FaultDecision AtCrossing(std::string_view module, std::string_view export_name);
  // The decision at fault point `point` reached by `module` (one hit of that
  // point, counted per module). Rates only ever trap; a trigger may hang or
  // slow. kNone while disabled (not counted).
  FaultDecision AtPoint(std::string_view module, std::string_view point);

  // Takes back one fault of `action` decided earlier that could not take
  // effect: a crossing trap whose call trapped by itself first (e.g. at a
  // fault point). It stays out of counts(); the hit stays counted.
  void Withdraw(FaultAction action);

  // Faults injected so far: every non-kNone decision returned, less those
  // withdrawn.
  InjectionCounts counts() const;
  const FaultPlan& plan() const { return plan_; }
  // Off: decides kNone and counts no hits (e.g. while a supervisor replays a
  // journal into a fresh instance). On by default.
  void set_enabled(bool enabled) { enabled_.store(enabled, std::memory_order_relaxed); }
  bool enabled() const { return enabled_.load(std::memory_order_relaxed); }

 private:
  // The hit number of `site` in `hits`, after counting this one.
  uint64_t NextHit(std::map<std::string, uint64_t, std::less<>>& hits, const std::string& site);
  // The action a trigger chooses for (site, hit), if any.
  const FaultPlan::Trigger* TriggerFor(std::string_view site, uint64_t hit) const;
  FaultDecision Count(FaultAction action);

  const FaultPlan plan_;
  // Crossings draw from none of the rates unless some is positive.
  const bool crossing_rates_;
  std::atomic<bool> enabled_{true};
  std::mutex mutex_;
  std::map<std::string, uint64_t, std::less<>> crossing_hits_;  // guarded by mutex_
  std::map<std::string, uint64_t, std::less<>> point_hits_;     // guarded by mutex_
  std::atomic<uint64_t> traps_{0}, hangs_{0}, slows_{0};
};

}  // namespace ringfence

#endif  // RINGFENCE_FAULT_INJECTION_H_
