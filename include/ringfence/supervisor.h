// Supervisor: restarts modules that die, within limits, and keeps every call
// accounted for.
//
//   auto supervisor = Supervisor::Create().value();
//   SupervisedModule* driver = supervisor->AddModule("driver", module).value();
//   Result<int32_t> block = driver->Call<int32_t(int32_t)>("read_block", 7);
//
// Each supervised module runs in its own Compartment. When it dies (a trap,
// a kill, a watchdog timeout) the supervisor decides what happens next from
// its policies (supervision_policy.h): restart it now, after a backoff, or
// not at all (failed or stopped), and whether its group's siblings restart
// too. A fresh instance first gets the module's journal replayed - the
// state-setting calls it had served - and only then serves calls.
//
// Outcomes of a supervised call: its value, or a Status. It never returns a
// Trap: the trap goes into a crash report, and the call's outcome depends on
// its call class (call_class.h):
//   - idempotent and state-setting calls are retried on the fresh instance,
//     up to ModuleOptions::max_retries times;
//   - other calls fail with kRestarted: they ran at most once;
//   - kUnavailable: the module has failed (restart intensity exceeded), is
//     stopped, or the host is shutting down; the message names the module
//     and the reason. Also when a restart is due only after the call's
//     deadline (backoff).
//   - kDeadlineExceeded: the deadline passed while waiting for a restart.
//   - the Compartment's own errors (no such export, wrong signature, ...).
//
// Every trap produces a CrashReport (crash_report.h), delivered to
// SupervisorOptions::on_crash and, as one readable line, to stderr.
//
// Threads: all methods are thread-safe. Calls to one module are serialised
// by its compartment; calls to different modules run in parallel. Call a
// supervised module only through its SupervisedModule (its compartment must
// not be called directly: that would bypass replay). Set-up (AddGroup,
// AddModule, Link, and Provide/MapRegion on compartment()) happens before
// calls start. The Supervisor must outlive every thread calling into it.
#ifndef RINGFENCE_SUPERVISOR_H_
#define RINGFENCE_SUPERVISOR_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ringfence/call_class.h"
#include "ringfence/clock.h"
#include "ringfence/compartment.h"
#include "ringfence/crash_report.h"
#include "ringfence/fault_injection.h"
#include "ringfence/metrics.h"
#include "ringfence/result.h"
#include "ringfence/status.h"
#include "ringfence/supervision_policy.h"

namespace ringfence {

namespace internal {
class Journal;
class RestartHistory;
struct GroupNode;
}  // namespace internal

struct ModuleOptions {
  CompartmentOptions compartment;  // restart_on_demand is turned off
  RestartType restart = RestartType::kPermanent;
  Intensity intensity;
  Backoff backoff;
  bool critical = false;
  // Retries of an idempotent or state-setting call after the module died
  // during it (each on a fresh instance).
  uint32_t max_retries = 3;
  // Most journal entries (distinct keys); a state-setting call with a new
  // key past it fails with kResourceExhausted before it runs.
  size_t journal_limit = 1024;
  // Calls remembered for crash reports.
  size_t recent_calls = 8;
};

// Per call: overrides the class the module declares for the export.
struct CallOptions {
  std::optional<CallClass> call_class;
  // For a state-setting call: its journal key (default: the export's
  // declared key parameter's value, else the export itself).
  std::optional<uint64_t> journal_key;
};

struct SupervisorOptions {
  // Time for backoff and intensity windows; null: SystemClock(). Must
  // outlive the supervisor.
  Clock* clock = nullptr;
  // Receives every crash report, on the thread that handled the trap, with
  // no supervisor lock held. Must not throw.
  std::function<void(const CrashReport&)> on_crash;
  // Also print each report as one line on stderr.
  bool crash_lines_on_stderr = true;
  // Called once when a critical failure (or Shutdown) shuts the host down,
  // with the reason; on the thread that detected it, no lock held.
  std::function<void(const std::string& reason)> on_shutdown;
  // Injects faults into every module's compartment (testing); may be null.
  std::shared_ptr<FaultInjector> fault_injector;
  // Policies of the root group (its failure shuts the host down).
  GroupOptions root;
};

class Supervisor;

class SupervisedModule {
 public:
  enum class State {
    kRunning,     // serving calls
    kRestarting,  // dead; restarts on the next call (after its backoff)
    kFailed,      // restart intensity exceeded; calls fail until Reset
    kStopped,     // not restarted (temporary, transient after a clean stop, Stop())
  };

  // Calls export `name` (see the outcomes at the top of this file).
  template <typename Sig, typename... Args>
  Result<typename internal::SignatureOf<Sig>::Return> Call(std::string_view name, Args... args) {
    return CallWith<Sig>(CallOptions{}, name, args...);
  }
  template <typename Sig, typename... Args>
  Result<typename internal::SignatureOf<Sig>::Return> CallWith(const CallOptions& options,
                                                               std::string_view name,
                                                               Args... args);
  // Runtime-typed arguments (for tools). kInvalidArgument for wrong types.
  Result<std::optional<Value>> CallDynamic(std::string_view name, std::span<const Value> args,
                                           const CallOptions& options = {});
  // The call path itself, with arguments and result as 64-bit slots.
  Result<uint64_t> CallSlots(uint32_t export_index, const uint64_t* args,
                             const CallOptions& options = {});
  // Calls that returned, and calls of class neither that ran twice (see
  // Supervisor::Totals).
  uint64_t answered() const { return answered_.load(std::memory_order_relaxed); }
  uint64_t duplicates() const { return duplicates_.load(std::memory_order_relaxed); }

  // A clean stop: the instance is discarded, calls fail with kUnavailable,
  // and the module is not restarted (even if permanent) until Reset.
  void Stop();
  // Clears the journal: fresh instances start from the module's pristine
  // state.
  void ClearJournal();

  const std::string& name() const { return name_; }
  State state() const;
  // Why the module failed or stopped ("" while it runs).
  std::string reason() const;
  uint64_t restart_count() const;
  size_t journal_size() const;
  const ModuleMetrics& metrics() const { return metrics_; }
  // The compartment, for set-up (Provide, MapRegion) and inspection.
  Compartment& compartment() { return *compartment_; }

  ~SupervisedModule();

 private:
  friend class Supervisor;
  SupervisedModule(Supervisor* supervisor, std::string name, std::unique_ptr<Compartment> compartment,
                   ModuleOptions options, internal::GroupNode* group);

  // Waits for (or performs) a due restart. On success the module serves:
  // *incarnation numbers its life (for death reports) and *instance is the
  // compartment instance the call must run on. Takes the supervisor lock.
  Status Admit(uint64_t deadline_ns, uint64_t* incarnation, uint64_t* instance);
  // Restarts the compartment and replays the journal, with `lock` (the
  // supervisor's) released meanwhile. A death during either is handled
  // like any other. Errors only if the restart cannot be attempted.
  Status RestartNow(std::unique_lock<std::mutex>& lock);
  // Replays the journal into the fresh instance: the trap if one happened.
  std::optional<Trap> Replay();
  // Reports the death of `incarnation` to the supervisor.
  void NoteDeath(uint64_t incarnation, const Trap& trap);
  Result<uint64_t> CallUntilAnswered(uint32_t export_index, const uint64_t* args,
                                     const CallOptions& options);
  // Records a finished call for crash reports.
  void Remember(uint32_t export_index, uint64_t duration_ns, std::string outcome);
  std::vector<RecentCall> RecentCalls() const;
  // The call's deadline (CLOCK_MONOTONIC ns, 0 = none): the earlier of the
  // thread's DeadlineScope and the module's call_timeout from now.
  uint64_t CallDeadline() const;
  std::optional<uint64_t> JournalKey(uint32_t export_index, const uint64_t* args,
                                     const CallOptions& options) const;

  Supervisor* supervisor_;
  std::string name_;
  std::unique_ptr<Compartment> compartment_;
  ModuleOptions options_;
  internal::GroupNode* group_;
  ModuleMetrics metrics_;
  std::atomic<uint64_t> answered_{0};
  std::atomic<uint64_t> duplicates_{0};

  // Guarded by the supervisor's mutex_.
  State state_ = State::kRunning;
  uint64_t incarnation_ = 1;
  uint64_t serving_instance_ = 0;  // compartment instance that serves calls
  uint64_t restart_at_ns_ = 0;  // kRestarting: when the restart is due
  bool restarting_ = false;     // a thread is restarting it now
  std::string reason_;
  uint64_t restarts_ = 0;
  std::unique_ptr<internal::RestartHistory> history_;

  // State-setting calls run one at a time, so the journal records them in
  // the order they ran: the one running sets state_call_running_ (guarded
  // by state_calls_mutex_), the others wait on state_call_done_.
  // journal_mutex_ guards the journal itself.
  std::mutex state_calls_mutex_;
  std::condition_variable state_call_done_;
  bool state_call_running_ = false;
  mutable std::mutex journal_mutex_;
  std::unique_ptr<internal::Journal> journal_;

  mutable std::mutex recent_mutex_;
  std::vector<RecentCall> recent_;  // ring of options_.recent_calls
  size_t recent_next_ = 0;
};

class Supervisor {
 public:
  static StatusOr<std::unique_ptr<Supervisor>> Create(SupervisorOptions options = {});
  // Stops every module. No thread may be calling into it.
  ~Supervisor();

  // Adds a group under `parent` ("" is the root). kInvalidArgument for an
  // empty or taken name, kNotFound for an unknown parent.
  Status AddGroup(std::string name, GroupOptions options, std::string_view parent = "");
  // Starts `module` in a compartment, supervised in `group` ("" is the
  // root). Errors: those of AddGroup, and Compartment::Create's.
  StatusOr<SupervisedModule*> AddModule(std::string name, std::shared_ptr<const Module> module,
                                        ModuleOptions options = {}, std::string_view group = "");
  // Links every import `importer` declares from `import_module` to the
  // export of the same name of `target`; calls go through `target`'s
  // supervision (classes, retries, restarts). See Compartment::LinkModule.
  Status Link(SupervisedModule& importer, std::string_view import_module,
              SupervisedModule& target);

  // The module named `name`, or null.
  SupervisedModule* Find(std::string_view name) const;
  std::vector<SupervisedModule*> modules() const;

  // Operator reset of a failed or stopped module, or of every module of a
  // group: their restart history is forgotten and they restart now (replay
  // included). kNotFound for an unknown name; a restart's own failure is
  // reported as the module's state.
  Status Reset(std::string_view name);

  // Shuts the host down: every module is killed (threads inside unwind) and
  // every call fails with kUnavailable from now on. Idempotent; the first
  // reason is kept.
  void Shutdown(const std::string& reason);
  bool shutting_down() const;
  std::string shutdown_reason() const;
  // Blocks until Shutdown (called or triggered by a critical failure).
  void WaitForShutdown();

  // Counts over all modules.
  struct Totals {
    uint64_t calls = 0;
    uint64_t traps = 0;
    uint64_t restarts = 0;        // fresh instances after deaths (replay succeeded)
    uint64_t retried = 0;         // calls retried after a death
    uint64_t failed_calls = 0;    // calls that ended in an error Status
    uint64_t replayed_calls = 0;  // journal entries replayed
    uint64_t answered = 0;        // calls that returned (a value or a Status)
    // Calls of class neither that ran more than once: a broken promise,
    // counted so that a test or a storm can check it stays 0.
    uint64_t duplicates = 0;
  };
  Totals totals() const;
  // Every module's metrics in Prometheus text exposition format.
  std::string PrometheusText() const;
  Clock& clock() const { return *clock_; }
  const std::shared_ptr<FaultInjector>& fault_injector() const { return options_.fault_injector; }

 private:
  friend class SupervisedModule;
  explicit Supervisor(SupervisorOptions options);

  // The death of `module`'s instance `incarnation` (stale ones are ignored):
  // decides restart, backoff, failure, group restarts, shutdown. Fills
  // *report if this thread handled it. Requires mutex_.
  bool HandleDeathLocked(SupervisedModule& module, uint64_t incarnation, const Trap& trap,
                         CrashReport* report);
  // Marks `module` for restart at `at_ns`, killing its instance. Requires mutex_.
  void ScheduleRestartLocked(SupervisedModule& module, uint64_t at_ns);
  void FailLocked(SupervisedModule& module, const std::string& reason);
  // Records a restart event in `group` and its ancestors; fails groups past
  // their intensity. Returns the reason of a shutdown this causes, or "".
  std::string EscalateLocked(internal::GroupNode* group, uint64_t now_ns);
  void RequestShutdownLocked(const std::string& reason);
  // Delivers a crash report and, if one was requested, the shutdown.
  void Publish(const CrashReport* report);
  SupervisedModule* FindLocked(std::string_view name) const;

  SupervisorOptions options_;
  Clock* clock_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;  // a module's state changed
  std::unique_ptr<internal::GroupNode> root_;
  std::map<std::string, internal::GroupNode*, std::less<>> groups_;
  std::vector<std::unique_ptr<SupervisedModule>> modules_;  // in the order added
  bool shutting_down_ = false;
  bool shutdown_announced_ = false;
  std::string shutdown_reason_;
};

template <typename Sig, typename... Args>
Result<typename internal::SignatureOf<Sig>::Return> SupervisedModule::CallWith(
    const CallOptions& options, std::string_view name, Args... args) {
  using R = typename internal::SignatureOf<Sig>::Return;
  std::optional<uint32_t> index = compartment_->module().FindExport(name);
  Signature expected = internal::SignatureOf<Sig>::Get();
  if (!index || compartment_->module().descriptor().exports[*index].signature != expected) {
    StatusOr<TypedExport<Sig>> typed = compartment_->GetExport<Sig>(name);  // the error
    return typed.status();
  }
  uint64_t slots[sizeof...(Args) + 1] = {};
  internal::SlotPacker<Sig>::Pack(slots, args...);
  return internal::FromSlotResult<R>(CallSlots(*index, slots, options));
}

}  // namespace ringfence

#endif  // RINGFENCE_SUPERVISOR_H_
