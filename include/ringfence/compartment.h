// Compartment: one live instance of a module, in its own 4 GiB window.
//
// Create one from a loaded Module and call its exports:
//
//   auto compartment = Compartment::Create(module).value();
//   Result<int32_t> sum = compartment->Call<int32_t(int32_t, int32_t)>("add", 2, 3);
//
// or look an export up once and call it many times (the fast path):
//
//   auto add = compartment->GetExport<int32_t(int32_t, int32_t)>("add").value();
//   Result<int32_t> sum = add(2, 3);
//
// Outcomes of a call (see result.h): the value; a Trap if the module faulted
// (the instance is discarded at once - its memory reset, its tables freed -
// and the next call runs on a fresh instance made from the module's pristine
// state); or a Status if the call could not run (no such export, wrong
// signature, the fresh instance could not be made).
//
// Threads: a compartment runs module code on one thread at a time (wasm32
// code is single-threaded). Calls from several threads are safe: a thread
// that finds another inside waits, up to its call's deadline. The same thread
// may re-enter (host -> A -> host -> A). The thread that used a compartment
// last keeps a cheap claim on it, so calls from one thread cost a few stores;
// a call from another thread takes the claim over (a process-wide memory
// barrier, about a microsecond). For parallel throughput, use a
// CompartmentPool. A compartment must outlive its TypedExports and Windows,
// and no thread may be inside it when it is destroyed.
#ifndef RINGFENCE_COMPARTMENT_H_
#define RINGFENCE_COMPARTMENT_H_

#include <atomic>
#include <bit>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>

#include "ringfence/internal/thread_gate.h"
#include "ringfence/module_file.h"
#include "ringfence/result.h"
#include "ringfence/status.h"
#include "ringfence/trap.h"
#include "ringfence/value.h"
#include "ringfence/window.h"

namespace ringfence {

class FaultInjector;  // fault_injection.h
enum class FaultAction;

struct CompartmentOptions {
  // Most memory the module may have; memory.grow past it fails (returns -1,
  // so malloc returns NULL), and a module whose initial memory is larger
  // fails to start (kInstantiateFailed, trap kind memory-limit). Rounded down
  // to 64 KiB pages; at most 4 GiB - 64 KiB.
  uint64_t memory_limit_bytes = uint64_t{256} << 20;
  // Deadline of every call from the host (zero: none). A module still
  // running when it passes is preempted and the call returns a Trap of kind
  // timeout; a thread blocked in a host service is woken and unwound the
  // same way. Each start of an instance (Create, a restart) has the same
  // limit: start-up code still running then fails the start
  // (kInstantiateFailed, trap kind timeout). Calls the module makes to linked modules share the deadline.
  // With the process backend it also bounds a worker's start (at least
  // 1 s; 10 s without a call_timeout).
  std::chrono::nanoseconds call_timeout{0};
  // Whether a dead compartment makes a fresh instance for its next call.
  // A supervisor turns this off: it restarts the compartment itself
  // (Restart(), then replays its journal) and, until it has, calls fail with
  // kUnavailable without running.
  bool restart_on_demand = true;
  // Injects faults into calls and at the module's fault points (null: none;
  // see fault_injection.h). Shared: one injector may serve many
  // compartments. A compartment with an injector never takes the fast path:
  // every call asks the injector first.
  std::shared_ptr<FaultInjector> fault_injector;
  // Keeps a warm spare: a second instance, in a second window, made in
  // advance by a background thread (the module's start-up code runs there),
  // so that the restart after a trap, a kill or Restart() is a swap of
  // instances instead of a window reset plus a start-up on the caller's
  // thread. The discarded instance's window is reset in the background and
  // becomes the next spare. If no spare is ready when one is needed (faults
  // faster than spares are made, or the spare's start-up trapped) the restart
  // happens the ordinary way, on the caller's thread; no call waits for a
  // spare. Costs a second 8 GiB reservation and the spare's memory.
  // Set-up (Provide, MapRegion, Link) applies to both instances; a spare
  // made before a set-up call is made again after it.
  bool warm_spare = false;
  // The backend the caller expects (none: whichever the module was built
  // for). Create fails with kInvalidArgument if the module was built for
  // the other one. With the process backend the instance is a sandboxed
  // worker process (docs/process-backend.md); the warm spare is then a
  // pre-started worker.
  std::optional<Isolation> isolation;
};

class Compartment;
class Lock;
class Region;
namespace internal {
struct SpareJob;
struct WatchdogEntry;

// Where a linked import's calls go: a compartment (Compartment::Link) or
// something that routes them on, such as a supervisor. `call` has
// CallSlots' contract.
struct LinkTarget {
  Compartment* compartment;  // whose exports are linked (names, signatures)
  void* object;              // passed to `call`
  Result<uint64_t> (*call)(void* object, uint32_t export_index, const uint64_t* args);
};
}

namespace internal {
// The C type a gate trampoline uses for a C++ parameter or result type.
template <typename T> struct GateType;
template <> struct GateType<int32_t> { using type = uint32_t; };
template <> struct GateType<uint32_t> { using type = uint32_t; };
template <> struct GateType<int64_t> { using type = uint64_t; };
template <> struct GateType<uint64_t> { using type = uint64_t; };
template <> struct GateType<float> { using type = float; };
template <> struct GateType<double> { using type = double; };
template <> struct GateType<void> { using type = void; };

// A value's bits in a 64-bit slot (i32/f32 in the low half), and back.
template <typename T>
uint64_t ToSlot(T value) {
  if constexpr (sizeof(T) == 4) return std::bit_cast<uint32_t>(value);
  else return std::bit_cast<uint64_t>(value);
}
template <typename T>
T FromSlot(uint64_t slot) {
  if constexpr (sizeof(T) == 4) return std::bit_cast<T>(static_cast<uint32_t>(slot));
  else return std::bit_cast<T>(slot);
}

// Arguments to 64-bit slots, each converted to its parameter's type first.
template <typename Sig> struct SlotPacker;
template <typename R, typename... A>
struct SlotPacker<R(A...)> {
  static void Pack(uint64_t* slots, A... args) {
    size_t next = 0;
    ((slots[next++] = ToSlot(args)), ...);
  }
};

// A slot call's outcome as the typed result R.
template <typename R>
Result<R> FromSlotResult(const Result<uint64_t>& result) {
  if (result.trapped()) return result.trap();
  if (result.failed()) return result.status();
  if constexpr (std::is_void_v<R>) {
    return Result<void>();
  } else {
    return FromSlot<R>(result.value());
  }
}

template <typename Sig> struct SignatureOf;
template <typename R, typename... A>
struct SignatureOf<R(A...)> {
  static_assert((WasmTypeOf<A>().has_value() && ...),
                "export parameters must be int32_t, uint32_t, int64_t, uint64_t, float or double");
  static_assert(std::is_void_v<R> || WasmTypeOf<R>().has_value(),
                "export results must be void, int32_t, uint32_t, int64_t, uint64_t, float or double");
  using Return = R;
  static Signature Get() {
    Signature signature;
    (signature.params.push_back(*WasmTypeOf<A>()), ...);
    if constexpr (!std::is_void_v<R>) signature.result = *WasmTypeOf<R>();
    return signature;
  }
};
}  // namespace internal

// A checked, typed handle to one export of one compartment. Cheap to copy.
template <typename Sig>
class TypedExport;

template <typename R, typename... A>
class TypedExport<R(A...)> {
 public:
  // Calls the export. See the outcomes at the top of this file.
  [[gnu::always_inline]] inline Result<R> operator()(A... args) const;

 private:
  friend class Compartment;
  TypedExport(Compartment* compartment, uint32_t index, const rf_export& entry)
      : compartment_(compartment), index_(index), function_(entry.function), gate_(entry.gate) {}

  // The call for everything the fast path does not cover.
  [[gnu::noinline]] Result<R> SlowCall(A... args) const;

  Compartment* compartment_;
  uint32_t index_;
  void (*function_)();  // the export itself; needs a recovery point armed
  void (*gate_)();      // the module's gate, which arms one
};

class Compartment {
 public:
  enum class State {
    kReady,  // an instance is live and can serve calls
    kDead,   // the instance trapped and was discarded; the next call restarts it
  };

  // Reserves the window and makes the first instance (memory, tables, data,
  // then the module's _initialize). Errors: kResourceExhausted (no address
  // space for the window), kInstantiateFailed (the module trapped while
  // starting, e.g. its initial memory is over the limit).
  static StatusOr<std::unique_ptr<Compartment>> Create(
      std::shared_ptr<const Module> module, CompartmentOptions options = {});

  ~Compartment();
  Compartment(const Compartment&) = delete;
  Compartment& operator=(const Compartment&) = delete;

  // Looks up `name` and checks that its signature is Sig. Errors: kNotFound,
  // kSignatureMismatch.
  template <typename Sig>
  StatusOr<TypedExport<Sig>> GetExport(std::string_view name) {
    Signature expected = internal::SignatureOf<Sig>::Get();
    StatusOr<uint32_t> index = CheckExport(name, expected);
    if (!index.ok()) return index.status();
    return TypedExport<Sig>(this, *index, ExportEntry(*index));
  }

  // GetExport and call in one step.
  template <typename Sig, typename... Args>
  Result<typename internal::SignatureOf<Sig>::Return> Call(std::string_view name, Args... args) {
    StatusOr<TypedExport<Sig>> function = GetExport<Sig>(name);
    if (!function.ok()) return function.status();
    return (*function)(args...);
  }

  // Calls an export with runtime-typed arguments (for tools). Errors:
  // kNotFound, kInvalidArgument (wrong number or types of arguments).
  Result<std::optional<Value>> CallDynamic(std::string_view name, std::span<const Value> args);

  // Discards the current instance (if any) and makes a fresh one now.
  // kUnavailable if a thread is inside.
  Status Restart();

  // Kills the instance, from any thread. If no thread is inside, it is
  // discarded now. Otherwise the thread inside is preempted if it runs module
  // code, woken if it waits in a host service (a lock, a sleep), and unwound
  // to the gate where it entered: its call returns a Trap of kind killed, and
  // none of the module's code runs again. The next call starts a fresh
  // instance. Locks the instance held pass on marked owner died.
  void Kill();

  // Set-up (Provide, MapRegion, Link): call while no thread is inside,
  // typically before the compartment is handed to other threads.
  //
  // Makes `lock` available to the module under `name` (rf_lock_open). The
  // compartment shares ownership. kInvalidArgument for an empty name or one
  // already provided.
  Status Provide(std::string name, std::shared_ptr<Lock> lock);

  // Maps `region` into this compartment's window at byte `offset`, where the
  // module finds it under `name` (rf_region_open, rf_region_offset). The
  // offset must be a multiple of 64 KiB, at or above the memory limit (so the
  // module's own memory never grows into it), the region must end at or
  // below 4 GiB, and it must not overlap another region. The mapping stays
  // across restarts. kInvalidArgument otherwise.
  Status MapRegion(std::string name, std::shared_ptr<Region> region, uint64_t offset);

  // Links the module's import `import_module`.`import_name` (declared with
  // RF_IMPORT) to `target`'s export `export_name`. `target` may be this
  // compartment (re-entry) and must outlive this one. Errors: kNotFound (no
  // such import or export), kSignatureMismatch, kUnavailable (a thread is
  // inside).
  Status Link(std::string_view import_module, std::string_view import_name, Compartment& target,
              std::string_view export_name);
  // Links every import from `import_module` to `target`'s export of the same
  // name. Same errors.
  Status LinkModule(std::string_view import_module, Compartment& target);
  // Internal: Link and LinkModule with calls routed through `target`.
  Status LinkTo(std::string_view import_module, std::string_view import_name,
                const internal::LinkTarget& target, std::string_view export_name);
  Status LinkModuleTo(std::string_view import_module, const internal::LinkTarget& target);

  State state() const { return live_instance_ != nullptr ? State::kReady : State::kDead; }
  const Module& module() const { return *module_; }
  const std::shared_ptr<const Module>& shared_module() const { return module_; }
  // Instances made after the first (restarts after traps and Restart()).
  uint64_t restart_count() const { return restart_count_; }
  // The most recent trap, if any. Read it on a thread that calls the
  // compartment (it changes at the next trap); LastTrapCopy from others.
  const std::optional<Trap>& last_trap() const { return last_trap_; }
  // The same, copied safely from any thread.
  std::optional<Trap> LastTrapCopy() const;
  // Checked access to the module's memory.
  Window window() { return Window(this); }

  // No thread is inside right now (a snapshot: it may change at once).
  bool idle() const { return depth_.load(std::memory_order_relaxed) == 0; }
  // Handles the live instance has open.
  uint32_t open_handles() const;

  // Internal: the live instance's memory, or null.
  const wasm_rt_memory_t* memory() const;
  // Internal: calls export `index` with arguments and result as 64-bit slots
  // (the full path: waits for other threads, deadlines, watchdog). With
  // `expected_instance` (not 0) the call runs only on that instance
  // (instance_serial()); on another one it fails with kUnavailable, unrun.
  Result<uint64_t> CallSlots(uint32_t index, const uint64_t* args, uint64_t expected_instance = 0);
  // Internal: numbers the instances, from 1; 0 while there is none. Stable
  // while a thread is inside.
  // Safe from any thread.
  uint64_t instance_serial() const { return live_serial_.load(std::memory_order_acquire); }
  // Internal: the calling thread has a frame open in this compartment.
  bool InsideOnThisThread() const;
  // Internal: kill with a given trap kind (RF_TRAP_KILLED, RF_TRAP_TIMEOUT).
  // True if another thread is inside and was sent the preemption signal.
  bool KillWith(uint32_t trap_kind);

  // Internal, for tests and benchmarks (warm_spare): a spare instance is
  // ready, so the next restart is a swap (a snapshot). Always false without
  // warm_spare.
  bool spare_ready() const;
  // Internal, for tests and benchmarks: blocks until the background thread
  // is done with this compartment's spare (it is ready, or its start-up
  // trapped), then returns spare_ready(). Returns false at once without
  // warm_spare. Never call it on a call path: it waits for start-up code.
  bool WaitForSpare();

 private:
  // True if `thread` holds the claim or no thread is inside (for pools).
  bool IdleFor(const void* thread) const;

  template <typename Sig> friend class TypedExport;
  friend class CompartmentPool;

  Compartment(std::shared_ptr<const Module> module, rf_import_context* core,
              CompartmentOptions options);

  // Slow-path entry for the calling thread: waits (up to `deadline_ns`)
  // until no other thread is inside, takes the claim, makes an instance if
  // there is none. On success depth_ was raised by one; *outer_depth is the
  // depth before. Errors: kDeadlineExceeded, kUnavailable, kInstantiateFailed.
  Status Enter(internal::ThreadGate& gate, uint64_t deadline_ns, uint32_t* outer_depth);
  // Leaves a frame entered at `outer_depth`: wakes a waiting thread and
  // settles a kill that came while the frame was open.
  void Leave(uint32_t outer_depth) {
    depth_.store(outer_depth, std::memory_order_release);
    if (outer_depth == 0) AfterLastLeave();
  }
  // After the depth fell to 0 (the store is done already, and must not be
  // repeated: another thread may have entered since): wakes a waiting
  // thread, settles a pending kill.
  [[gnu::noinline, gnu::cold]] void AfterLastLeave();
  // The fast entry, for a thread whose claim_token holds the claim:
  // announce the entry in the thread's gate, check the claim, raise the
  // depth, end the announcement. Only compiler fences between: a thread
  // revoking the claim issues a process-wide barrier, which orders the
  // announcement before the check on this CPU, so either the check sees
  // the claim gone or the revoker sees the announcement and waits for its
  // end (WaitOutOfFastEntry) before it reads the depth. So a fast entrant
  // never stores to the depth once another thread may have entered. On
  // success *outer_depth is the depth before; false (nothing changed)
  // means: take the slow path.
  [[gnu::always_inline]] bool TryEnterFast(internal::ThreadGate& gate, uint32_t* outer_depth) {
    std::atomic_ref<const void*> entering(gate.entering);
    entering.store(this, std::memory_order_relaxed);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    if (fast_owner_.load(std::memory_order_relaxed) != gate.claim_token) [[unlikely]] {
      entering.store(nullptr, std::memory_order_relaxed);
      return false;
    }
    uint32_t depth = depth_.load(std::memory_order_relaxed);
    depth_.store(depth + 1, std::memory_order_relaxed);
    entering.store(nullptr, std::memory_order_release);
    *outer_depth = depth;
    return true;
  }
  // Leaves a frame TryEnterFast entered; wakes and settles only if the
  // claim was revoked meanwhile (someone may wait, or a kill may be
  // pending). The same barrier argument: either the revoker sees the lower
  // depth, or this thread sees the claim gone.
  [[gnu::always_inline]] void LeaveFast(uint32_t outer_depth, const void* claim_token) {
    depth_.store(outer_depth, std::memory_order_release);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    if (fast_owner_.load(std::memory_order_relaxed) != claim_token && outer_depth == 0) [[unlikely]] {
      AfterLastLeave();
    }
  }
  // Makes a fresh instance, holding other threads off (depth_ at 1 while
  // the module's start-up code runs, entry_mutex_ released meanwhile);
  // depth_ is 0 again on return.
  Status StartInstance(std::unique_lock<std::mutex>& lock);
  // Stops fast-path entries by other threads (call with entry_mutex_ held).
  void RevokeClaim();
  // Discards the instance if a kill is pending and nobody is inside
  // (entry_mutex_ held).
  void SettlePendingKill();

  // kInvalidArgument unless `name` is non-empty and not yet provided (names
  // are shared by locks and regions).
  Status CheckNewName(const std::string& name) const;
  StatusOr<uint32_t> CheckExport(std::string_view name, const Signature& expected) const;
  const rf_export& ExportEntry(uint32_t index) const;
  // Starts the live instance. Start-up code (the wasm start function,
  // _initialize) runs under the call's deadline (call_timeout, or the
  // thread's DeadlineScope): past it the watchdog preempts it like a call
  // and the start fails with a trap of kind timeout. The calling thread
  // must be the owner with a frame open (depth_ > 0), where a kill finds it.
  Status Instantiate();
  bool InstantiateLive(Trap* trap);
  // The deadline (CLOCK_MONOTONIC ns, 0: none) of a call or start-up that
  // begins now on a thread whose own deadline is `thread_deadline_ns`.
  uint64_t DeadlineFrom(uint64_t thread_deadline_ns) const;
  void DiscardInstance();

  // Warm spare (compartment_spare.cc). Runs `core`'s module start-up code
  // on the calling thread; on a trap, *trap says why and the instance is
  // released again. Touches nothing of the compartment but `core`.
  bool InstantiateCore(rf_import_context* core, Trap* trap);
  // Releases `core`'s instance: its tables, its handles (locks it held pass
  // on marked owner died), its pending output. The window is left as it is.
  void ReleaseCore(rf_import_context* core);
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
  // Turns the pending trap on this thread into a Trap, discards the
  // instance and leaves the frame entered at `outer_depth`.
  [[gnu::noinline, gnu::cold]] Trap TakeTrap(uint32_t export_index, uint32_t outer_depth);
  Trap MakeTrap(uint32_t export_index);
  // Asks the fault injector about a call to export `index` and carries out
  // a hang or slow (a kill or deadline meanwhile leaves its kind pending in
  // the thread's trap_kind). Returns the action decided.
  [[gnu::noinline, gnu::cold]] FaultAction InjectAtCrossing(uint32_t index);
  Trap MakeTrap(uint32_t export_index, rf_import_context* core);

  // Execution ownership (see "Threads" above). fast_owner_ is the thread
  // that may enter without the mutex: set only while the instance is live,
  // no deadline applies and no other thread waits. A thread that wants in
  // clears it, then a process-wide barrier makes every fast entry that
  // raced either visible in its thread's `entering` (and waited out, after
  // which its depth_ store is visible) or aware of the cleared claim.
  std::atomic<const void*> fast_owner_{internal::kNoClaim};
  std::atomic<uint32_t> depth_{0};  // frames the owner has open; futex word
  std::mutex entry_mutex_;
  const void* owner_ = nullptr;  // guarded by entry_mutex_: last thread inside
  uint32_t waiters_ = 0;         // guarded by entry_mutex_

  // Repeats the preemption signal of a Kill() until the thread has left.
  // Returns whether to repeat again.
  bool RetryKill();
  std::unique_ptr<internal::WatchdogEntry> kill_retry_;

  std::shared_ptr<const Module> module_;
  CompartmentOptions options_;
  rf_import_context* core_;  // owned; holds the instance and the window
  void* instance_;           // wasm2c instance inside core_
  // instance_ while it is live, null while the compartment is dead: the one
  // load and test the call path needs.
  void* live_instance_ = nullptr;
  bool ever_instantiated_ = false;
  uint64_t restart_count_ = 0;
  uint64_t instance_serial_ = 0;              // instances made so far
  std::atomic<uint64_t> live_serial_{0};      // the live one's, 0 while dead
  mutable std::mutex trap_mutex_;             // guards writes of last_trap_
  std::optional<Trap> last_trap_;
  void SetLastTrap(Trap trap);

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
  std::unique_ptr<internal::SpareJob> spare_job_;
  // The live core's window still holds a dead instance's pages (with a
  // spare, they are reset lazily: in the background after a swap, or
  // before a synchronous restart). Guarded like core_.
  bool live_window_dirty_ = false;
};

namespace internal {
#if defined(__clang__)
// Jumps back to a recovery point armed by TypedExport::operator() below;
// compiled by the same compiler, as __builtin_longjmp requires.
__attribute__((noreturn)) inline void UnwindInlineFrame(rf_frame* frame) {
  __builtin_longjmp(frame->jmp, 1);
}
#endif
}  // namespace internal

// The fast path, for a thread that holds the compartment's claim (it called
// it last, the instance is live, no deadline applies): raise the depth,
// check the claim again, arm recovery, call. With clang the recovery point
// is armed right here, inlined into the caller, and the export is called
// directly: a few stores, no system call, one call. Other compilers will not
// inline a function that uses __builtin_setjmp, so they call the module's
// own gate instead (an extra call level, same guarantees).
template <typename R, typename... A>
[[gnu::always_inline]] inline Result<R> TypedExport<R(A...)>::operator()(A... args) const {
  using Return = typename internal::GateType<R>::type;
  internal::ThreadGate& gate = internal::t_thread_gate;
  Compartment& compartment = *compartment_;
  uint32_t depth;
  if (!compartment.TryEnterFast(gate, &depth)) [[unlikely]] return SlowCall(args...);
#if defined(__clang__)
  rf_frame frame;
  frame.prev = gate.thread.top;
  if (__builtin_setjmp(frame.jmp)) [[unlikely]] {
    internal::t_thread_gate.thread.top = frame.prev;
    return compartment_->TakeTrap(index_, depth);
  }
  // Everything a value needs after the recovery point is loaded after it,
  // so the compiler need not keep it in memory across it.
  void* instance = compartment_->live_instance_;
  frame.instance = instance;
  internal::t_thread_gate.thread.top = &frame;
  using Function = Return (*)(void*, typename internal::GateType<A>::type...);
  Function function = reinterpret_cast<Function>(function_);
#else
  rf_thread* thread = &gate.thread;
  void* instance = compartment.live_instance_;
  using Gate = Return (*)(rf_thread*, void*, typename internal::GateType<A>::type...);
  Gate gate_function = reinterpret_cast<Gate>(gate_);
#endif
  if constexpr (std::is_void_v<R>) {
#if defined(__clang__)
    function(instance, static_cast<typename internal::GateType<A>::type>(args)...);
    internal::t_thread_gate.thread.top = frame.prev;
#else
    gate_function(thread, instance, static_cast<typename internal::GateType<A>::type>(args)...);
    if (thread->trap_kind != RF_TRAP_NONE) [[unlikely]] return compartment.TakeTrap(index_, depth);
#endif
    compartment_->LeaveFast(depth, internal::t_thread_gate.claim_token);
    return Result<void>();
  } else {
#if defined(__clang__)
    Return value = function(instance, static_cast<typename internal::GateType<A>::type>(args)...);
    internal::t_thread_gate.thread.top = frame.prev;
#else
    Return value =
        gate_function(thread, instance, static_cast<typename internal::GateType<A>::type>(args)...);
    if (thread->trap_kind != RF_TRAP_NONE) [[unlikely]] return compartment.TakeTrap(index_, depth);
#endif
    compartment_->LeaveFast(depth, internal::t_thread_gate.claim_token);
    return static_cast<R>(value);
  }
}

template <typename R, typename... A>
Result<R> TypedExport<R(A...)>::SlowCall(A... args) const {
#if defined(__clang__)
  // Frames this thread's fast path arms need this unwinder (set before the
  // call can grant the fast path).
  internal::CurrentThread()->inline_unwind = internal::UnwindInlineFrame;
#endif
  uint64_t slots[sizeof...(A) + 1] = {};
  internal::SlotPacker<R(A...)>::Pack(slots, args...);
  return internal::FromSlotResult<R>(compartment_->CallSlots(index_, slots));
}

}  // namespace ringfence

#endif  // RINGFENCE_COMPARTMENT_H_
