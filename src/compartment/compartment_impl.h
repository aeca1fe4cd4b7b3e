// CompartmentImpl: the implementation behind a public Compartment
// (include/ringfence/compartment.h), reached through its one pointer.
//
// Where its code lives, by concern:
//   compartment_entry.cc      the entry protocol: Enter/Leave, the claim,
//                             the fast entry's out-of-line partners, kills
//   compartment_call.cc       the call: CallSlots in named steps (where a
//                             call is armed: the watchdog, fault injection)
//   compartment_trap.cc       where a trap becomes a value (TakeTrap, MakeTrap)
//   compartment_lifecycle.cc  instances: Create, Instantiate, Discard,
//                             Restart, StartInstance, RestartOnDemand (where
//                             the compartment decides to restart)
//   compartment_spare.cc      the warm spare
//   compartment_links.cc, compartment_provide.cc, compartment_regions.cc
//                             set-up
//   compartment.cc            the public Compartment, forwarding here
//
// Internal users (the supervisor, CompartmentPool, Window, tests) reach it
// with ImplOf(compartment).
#ifndef RINGFENCE_SRC_COMPARTMENT_COMPARTMENT_IMPL_H_
#define RINGFENCE_SRC_COMPARTMENT_COMPARTMENT_IMPL_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "ringfence/compartment.h"
#include "ringfence/internal/fast_call.h"
#include "ringfence/internal/module_abi.h"
#include "ringfence/module_file.h"
#include "ringfence/result.h"
#include "ringfence/status.h"
#include "ringfence/trap.h"

namespace ringfence {
enum class FaultAction;
}

namespace ringfence::internal {

struct SpareJob;
struct WatchdogEntry;
class CompartmentImpl;

// Where a linked import's calls go: a compartment (Compartment::Link) or
// something that routes them on, such as a supervisor. `call` has
// CallSlots' contract.
struct LinkTarget {
  CompartmentImpl* compartment;  // whose exports are linked (names, signatures)
  void* object;                  // passed to `call`
  Result<uint64_t> (*call)(void* object, uint32_t export_index, const uint64_t* args);
};

// Thread-safety: as Compartment's ("Threads" in compartment.h). The entry
// state (CallEntry) is the fast path's; the rest is guarded as each member
// says.
class CompartmentImpl : public CallEntry {
 public:
  // Compartment::Create's work (its contract): checks the options, reserves
  // the window(s) and makes the first instance.
  static StatusOr<std::unique_ptr<CompartmentImpl>> Create(std::shared_ptr<const Module> module,
                                                           CompartmentOptions options);
  ~CompartmentImpl();

  // The public operations (compartment.h has their contracts).
  Result<std::optional<Value>> CallDynamic(std::string_view name, std::span<const Value> args);
  Status Restart();
  void Kill();
  bool WaitForSpare();
  Status Link(std::string_view import_module, std::string_view import_name,
              CompartmentImpl& target, std::string_view export_name);
  Status LinkModule(std::string_view import_module, CompartmentImpl& target);
  Status Provide(std::string name, std::shared_ptr<Lock> lock);
  Status MapRegion(std::string name, std::shared_ptr<Region> region, uint64_t offset);
  Compartment::State state() const {
    return live_instance_ != nullptr ? Compartment::State::kReady : Compartment::State::kDead;
  }
  const std::shared_ptr<const Module>& module() const { return module_; }
  uint64_t restart_count() const { return restart_count_; }
  const std::optional<Trap>& last_trap() const { return last_trap_; }
  std::optional<Trap> LastTrapCopy() const;
  bool idle() const { return depth_.load(std::memory_order_relaxed) == 0; }
  uint32_t open_handles() const;
  // Looks up `name` and checks its signature: GetExport's work.
  StatusOr<ExportTarget> FindTypedExport(std::string_view name, const Signature& expected);

  // Link and LinkModule with calls routed through `target`.
  Status LinkTo(std::string_view import_module, std::string_view import_name,
                const LinkTarget& target, std::string_view export_name);
  Status LinkModuleTo(std::string_view import_module, const LinkTarget& target);

  // The live instance's memory, or null (none, dead, or a process module,
  // whose memory is its worker's own).
  const wasm_rt_memory_t* memory() const;
  // Calls export `index` with arguments and result as 64-bit slots (the
  // full path: waits for other threads, deadlines, watchdog). With
  // `expected_instance` (not 0) the call runs only on that instance
  // (instance_serial()); on another one it fails with kUnavailable, unrun.
  Result<uint64_t> CallSlots(uint32_t index, const uint64_t* args, uint64_t expected_instance = 0);
  // Numbers the instances, from 1; 0 while there is none. Stable while a
  // thread is inside. Safe from any thread.
  uint64_t instance_serial() const { return live_serial_.load(std::memory_order_acquire); }
  // The calling thread has a frame open in this compartment.
  bool InsideOnThisThread() const;
  // Kill with a given trap kind (RF_TRAP_KILLED, RF_TRAP_TIMEOUT). True if
  // another thread is inside and was sent the preemption signal.
  bool KillWith(uint32_t trap_kind);
  // For tests (warm_spare): a spare instance is ready, so the next restart
  // is a swap (a snapshot). Always false without warm_spare.
  bool spare_ready() const;
  // True if `thread` holds the claim or no thread is inside (for pools).
  bool IdleFor(const void* thread) const;
  // The thread that holds the fast-path claim (for pools; a snapshot).
  const void* fast_owner() const { return fast_owner_.load(std::memory_order_relaxed); }

  // The fast entry's out-of-line partners (CallEntry has their contracts;
  // its members forward here).
  [[gnu::noinline, gnu::cold]] void AfterLastLeave();
  [[gnu::noinline, gnu::cold]] Trap TakeTrap(uint32_t export_index, uint32_t outer_depth);

 private:
  CompartmentImpl(std::shared_ptr<const Module> module, rf_import_context* core,
                  CompartmentOptions options);

  // --- The entry protocol (compartment_entry.cc). ---

  // Slow-path entry for the calling thread: waits (up to `deadline_ns`)
  // until no other thread is inside, takes the claim, makes an instance if
  // there is none. On success depth_ was raised by one; *outer_depth is the
  // depth before. Errors: kDeadlineExceeded, kUnavailable, kInstantiateFailed.
  Status Enter(ThreadGate& gate, uint64_t deadline_ns, uint32_t* outer_depth);
  // Leaves a frame entered at `outer_depth`: wakes a waiting thread and
  // settles a kill that came while the frame was open.
  void Leave(uint32_t outer_depth) {
    depth_.store(outer_depth, std::memory_order_release);
    if (outer_depth == 0) AfterLastLeave();
  }
  // Stops fast-path entries by other threads (call with entry_mutex_ held).
  void RevokeClaim();
  // Discards the instance if a kill is pending and nobody is inside
  // (entry_mutex_ held).
  void SettlePendingKill();
  // Repeats the preemption signal of a Kill() until the thread has left.
  // Returns whether to repeat again.
  bool RetryKill();

  // --- The call, step by step (compartment_call.cc). ---

  // How a call entered: by the fast entry (claim held) or by Enter.
  struct CallFrame {
    ThreadGate* gate;
    uint64_t deadline_ns;
    uint32_t outer_depth;
    bool fast;
  };
  // Enters for a call on the calling thread (the fast entry if it can).
  Status EnterCall(CallFrame* frame);
  // Leaves a frame EnterCall entered, the way it entered.
  void LeaveCall(const CallFrame& frame);
  // kUnavailable (and the frame left) if the live instance is not
  // `expected_instance` (0: any).
  Status CheckExpectedInstance(const CallFrame& frame, uint64_t expected_instance);
  // Arms the watchdog for the call's deadline (none: nothing) and makes the
  // deadline the thread's for the call; DisarmCall undoes both.
  void ArmCall(const CallFrame& frame, WatchdogEntry* watch, uint64_t* saved_deadline);
  void DisarmCall(const CallFrame& frame, WatchdogEntry* watch, uint64_t saved_deadline);
  // Runs export `index` on the live instance (or the worker process) unless
  // a trap is pending already, then carries out an injected trap (`fault`,
  // InjectAtCrossing's decision); the outcome is in *result or the thread's
  // trap_kind.
  void RunExport(uint32_t index, const uint64_t* args, FaultAction fault, uint64_t* result);
  // Asks the fault injector about a call to export `index` and carries out
  // a hang or slow (a kill or deadline meanwhile leaves its kind pending in
  // the thread's trap_kind). Returns the action decided.
  [[gnu::noinline, gnu::cold]] FaultAction InjectAtCrossing(uint32_t index);

  // --- Instances (compartment_lifecycle.cc). ---

  // For a call that found no live instance (entry_mutex_ held, nobody
  // inside): kUnavailable without restart_on_demand (a supervisor restarts
  // the compartment itself), else StartInstance, waking waiting threads if
  // it failed. Errors: kUnavailable, kInstantiateFailed.
  Status RestartOnDemand(std::unique_lock<std::mutex>& lock);
  // Makes a fresh instance, holding other threads off (depth_ at 1 while
  // the module's start-up code runs, entry_mutex_ released meanwhile);
  // depth_ is 0 again on return.
  Status StartInstance(std::unique_lock<std::mutex>& lock);
  // Starts the live instance. Start-up code (the wasm start function,
  // _initialize) runs under the call's deadline (call_timeout, or the
  // thread's DeadlineScope): past it the watchdog preempts it like a call
  // and the start fails with a trap of kind timeout. The calling thread
  // must be the owner with a frame open (depth_ > 0), where a kill finds it.
  Status Instantiate();
  bool InstantiateLive(Trap* trap);
  void DiscardInstance();
  // Runs `core`'s module start-up code on the calling thread; on a trap,
  // *trap says why and the instance is released again. Touches nothing of
  // the compartment but `core`.
  bool InstantiateCore(rf_import_context* core, Trap* trap);
  // Releases `core`'s instance: its tables, its handles (locks it held pass
  // on marked owner died), its pending output. The window is left as it is.
  void ReleaseCore(rf_import_context* core);
  void SetLastTrap(Trap trap);

  // --- Traps (compartment_trap.cc). ---

  Trap MakeTrap(uint32_t export_index);
  Trap MakeTrap(uint32_t export_index, rf_import_context* core);

  // --- Warm spare (compartment_spare.cc). ---

  // Makes the ready spare the live instance and queues the discarded one to
  // be made the next spare. False (nothing changed) if no spare is ready.
  // entry_mutex_ held, nobody inside, no live instance.
  bool SwapInSpare();
  // Queues the spare to be made (again) unless it is being made already.
  // A ready spare is discarded first. spare_mutex_ held, or the spare
  // maker known idle for this compartment.
  void RemakeSpare();
  // The spare maker's job: resets the spare's window, starts its instance.
  void PrepareSpare();
  // Cancels the spare maker's work on this compartment and frees the
  // spare (destructor).
  void DestroySpare();
  // Set-up calls (Provide, MapRegion, Link) change both cores: they hold
  // spare_mutex_ (so the spare maker is not inside the spare meanwhile) and
  // end with this, which has a spare made before the change made again.
  void SpareSetUpChanged();

  // --- Set-up (compartment_provide.cc). ---

  // kInvalidArgument unless `name` is non-empty and not yet provided (names
  // are shared by locks and regions).
  Status CheckNewName(const std::string& name) const;

  // Execution ownership (CallEntry: fast_owner_, depth_, live_instance_).
  std::mutex entry_mutex_;
  const void* owner_ = nullptr;  // guarded by entry_mutex_: last thread inside
  uint32_t waiters_ = 0;         // guarded by entry_mutex_

  std::unique_ptr<WatchdogEntry> kill_retry_;

  std::shared_ptr<const Module> module_;
  CompartmentOptions options_;
  rf_import_context* core_;  // owned; holds the instance and the window
  void* instance_;           // wasm2c instance inside core_
  bool ever_instantiated_ = false;
  uint64_t restart_count_ = 0;
  uint64_t instance_serial_ = 0;              // instances made so far
  std::atomic<uint64_t> live_serial_{0};      // the live one's, 0 while dead
  mutable std::mutex trap_mutex_;             // guards writes of last_trap_
  std::optional<Trap> last_trap_;

  // Warm spare (CompartmentOptions::warm_spare; all null/none without).
  // spare_core_ is a second core, owned, holding the standby instance;
  // it and core_ trade places at a swap (entry_mutex_ held, nobody inside).
  // spare_state_ says who may touch spare_core_: while kSpareMaking only
  // the spare maker (under spare_mutex_); while ready or failed, the
  // compartment's callers (under entry_mutex_) and set-up calls (under
  // spare_mutex_). The spare maker's store of ready/failed releases its
  // work on the core to whoever loads it.
  enum SpareState : uint32_t { kNoSpare, kSpareMaking, kSpareReady, kSpareFailed };
  rf_import_context* spare_core_ = nullptr;
  std::atomic<uint32_t> spare_state_{kNoSpare};  // futex word for WaitForSpare
  std::atomic<bool> spare_cancelled_{false};     // set by the destructor
  std::mutex spare_mutex_;  // spare preparation vs. set-up calls
  std::unique_ptr<SpareJob> spare_job_;
  // The live core's window still holds a dead instance's pages (with a
  // spare, they are reset lazily: in the background after a swap, or
  // before a synchronous restart). Guarded like core_.
  bool live_window_dirty_ = false;
};

// The internal accessor: Compartment's one pointer, for code in src/ and
// tests.
class CompartmentAccess {
 public:
  static CompartmentImpl& Of(Compartment& compartment) { return *compartment.impl_; }
  static const CompartmentImpl& Of(const Compartment& compartment) { return *compartment.impl_; }
  static std::unique_ptr<Compartment> Wrap(std::unique_ptr<CompartmentImpl> impl) {
    return std::unique_ptr<Compartment>(new Compartment(std::move(impl)));
  }
};
inline CompartmentImpl& ImplOf(Compartment& compartment) {
  return CompartmentAccess::Of(compartment);
}
inline const CompartmentImpl& ImplOf(const Compartment& compartment) {
  return CompartmentAccess::Of(compartment);
}

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_COMPARTMENT_COMPARTMENT_IMPL_H_
