#include "ringfence/compartment.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <new>

#include <fmt/format.h>

#include "ringfence/fault_injection.h"
#include "ringfence/module.h"
#include "src/compartment/compartment_core.h"
#include "src/compartment/spare_maker.h"
#include "src/gate/fault_handler.h"
#include "src/gate/futex.h"
#include "src/gate/process_fence.h"
#include "src/gate/watchdog.h"
#include "src/process/process_instance.h"
#include "src/services/services.h"

namespace ringfence {
namespace {

constexpr std::align_val_t kCoreAlignment{64};

TrapKind TrapKindOf(uint32_t code) {
  switch (code) {
    case RF_TRAP_OOB: return TrapKind::kOutOfBounds;
    case RF_TRAP_INT_OVERFLOW: return TrapKind::kIntegerOverflow;
    case RF_TRAP_DIV_BY_ZERO: return TrapKind::kDivideByZero;
    case RF_TRAP_INVALID_CONVERSION: return TrapKind::kInvalidConversion;
    case RF_TRAP_UNREACHABLE: return TrapKind::kUnreachable;
    case RF_TRAP_CALL_INDIRECT: return TrapKind::kIndirectCallMismatch;
    case RF_TRAP_UNCAUGHT_EXCEPTION: return TrapKind::kUncaughtException;
    case RF_TRAP_EXHAUSTION: return TrapKind::kStackExhausted;
    case RF_TRAP_EXIT: return TrapKind::kExit;
    case RF_TRAP_MEMORY_LIMIT: return TrapKind::kMemoryLimit;
    case RF_TRAP_TIMEOUT: return TrapKind::kTimeout;
    case RF_TRAP_KILLED: return TrapKind::kKilled;
    case RF_TRAP_INJECTED: return TrapKind::kInjected;
    case RF_TRAP_SIGNAL: return TrapKind::kSignal;
    case RF_TRAP_SYSCALL: return TrapKind::kSyscallDenied;
    case RF_TRAP_PROTOCOL: return TrapKind::kProtocolViolation;
    case RF_TRAP_WORKER: return TrapKind::kWorkerFailed;
  }
  return TrapKind::kUnreachable;
}

// ThreadSanitizer cannot follow a jump out of a signal handler (it believes
// the thread stays in the handler), so a TSan build does not preempt module
// code: kills and deadlines still end every wait in a host service and take
// effect when a service returns or the call ends, but a module spinning in
// its own code runs until it calls the host or returns.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RF_NO_PREEMPTION_SIGNAL 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define RF_NO_PREEMPTION_SIGNAL 1
#endif
#ifdef RF_NO_PREEMPTION_SIGNAL
constexpr bool kPreemptWithSignal = false;
#else
constexpr bool kPreemptWithSignal = true;
#endif

void Preempt(const internal::ThreadGate* thread) {
  if (kPreemptWithSignal) pthread_kill(thread->self, internal::kPreemptSignal);
}

// Lock-owner ids of compartments: [1, 2^29); host threads use the rest.
uint32_t NextOwnerId() {
  static std::atomic<uint32_t> next{0};
  return next.fetch_add(1, std::memory_order_relaxed) % ((1u << 29) - 1) + 1;
}

Trap KilledTrap(const std::string& module, uint32_t kind) {
  Trap trap;
  trap.kind = TrapKindOf(kind);
  trap.module = module;
  return trap;
}

}  // namespace

namespace internal {

void DestroyCore(rf_import_context* core) {
  core->~rf_import_context();
  ::operator delete(core, kCoreAlignment);
}

StatusOr<rf_import_context*> NewCore(const Module& module, const CompartmentOptions& options) {
  size_t bytes = kInstanceOffset + module.abi().instance_size;
  auto* core = new (::operator new(bytes, kCoreAlignment)) rf_import_context();
  core->module = &module;
  core->owner_id = NextOwnerId();
  core->fault_injector = options.fault_injector.get();
  core->start_limit_ns = static_cast<uint64_t>(options.call_timeout.count());
  core->links.resize(module.descriptor().imports.size());
  uint64_t limit_pages = options.memory_limit_bytes / WindowReservation::kPageBytes;
  // wasm2c keeps a memory's size in 32 bits, so a full 4 GiB (65536 pages)
  // cannot be represented: the largest memory is one page less.
  core->memory_limit_pages = static_cast<uint32_t>(std::min<uint64_t>(limit_pages, 65535));
  Status reserved = core->window.Reserve();
  if (!reserved.ok()) {
    DestroyCore(core);
    return reserved;
  }
  return core;
}

}  // namespace internal

StatusOr<std::unique_ptr<Compartment>> Compartment::Create(std::shared_ptr<const Module> module,
                                                           CompartmentOptions options) {
  if (module == nullptr) return Status(StatusCode::kInvalidArgument, "no module given");
  if (options.call_timeout.count() < 0) {
    return Status(StatusCode::kInvalidArgument, "call_timeout must not be negative");
  }
  if (options.isolation && *options.isolation != module->isolation()) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("module {} was built for the {} backend, not {}: {}", module->name(),
                              IsolationName(module->isolation()),
                              IsolationName(*options.isolation),
                              module->isolation() == Isolation::kProcess
                                  ? "build it without --native to run it as wasm"
                                  : "build it with `ringfence build --native` to run it in a "
                                    "worker process"));
  }
  internal::InitThreadGate();
  StatusOr<rf_import_context*> live_core = internal::NewCore(*module, options);
  if (!live_core.ok()) return live_core.status();
  rf_import_context* core = *live_core;
  rf_import_context* spare_core = nullptr;
  if (options.warm_spare) {
    StatusOr<rf_import_context*> spare = internal::NewCore(*module, options);
    if (!spare.ok()) {
      internal::DestroyCore(core);
      return spare.status();
    }
    spare_core = *spare;
  }
  std::unique_ptr<Compartment> compartment(new Compartment(std::move(module), core, options));
  if (spare_core != nullptr) {
    // Owned from here on: the destructor frees it.
    compartment->spare_core_ = spare_core;
    spare_core->compartment = compartment.get();
    compartment->spare_job_ = std::make_unique<internal::SpareJob>();
    compartment->spare_job_->run = [](void* target) {
      static_cast<Compartment*>(target)->PrepareSpare();
    };
    compartment->spare_job_->target = compartment.get();
    compartment->spare_state_.store(kSpareFailed);  // nothing made yet
  }
  // The first start-up runs with this thread inside, as a call would, so a
  // deadline can preempt it (Instantiate).
  compartment->owner_ = internal::CurrentThreadGate();
  compartment->depth_.store(1, std::memory_order_relaxed);
  Status started = compartment->Instantiate();
  compartment->depth_.store(0, std::memory_order_release);
  RF_RETURN_IF_ERROR(started);
  if (spare_core != nullptr) compartment->RemakeSpare();
  return compartment;
}

Compartment::Compartment(std::shared_ptr<const Module> module, rf_import_context* core,
                         CompartmentOptions options)
    : module_(std::move(module)),
      options_(options),
      core_(core),
      instance_(internal::InstanceOfCore(core)) {
  core_->compartment = this;
  kill_retry_ = std::make_unique<internal::WatchdogEntry>();
  kill_retry_->fire = [](void* target) { return static_cast<Compartment*>(target)->RetryKill(); };
  kill_retry_->target = this;
}

Compartment::~Compartment() {
  RF_CHECK(depth_.load() == 0);  // no thread may be inside
  internal::DisarmWatchdog(kill_retry_.get());
  DestroySpare();
  if (live_instance_ != nullptr) DiscardInstance();
  internal::DestroyCore(core_);
}

bool Compartment::InstantiateCore(rf_import_context* core, Trap* trap) {
  rf_thread* thread = internal::CurrentThread();
  const rf_module_abi& abi = module_->abi();
  void* instance = internal::InstanceOfCore(core);
  std::memset(instance, 0, abi.instance_size);
  core->memory_refused = false;
  core->last_call_status = RF_CALL_OK;
  abi.instantiate(thread, instance, core);
  if (thread->trap_kind == RF_TRAP_NONE) return true;
  *trap = MakeTrap(UINT32_MAX, core);
  ReleaseCore(core);
  core->window.DropPages();
  return false;
}

void Compartment::ReleaseCore(rf_import_context* core) {
  module_->abi().free_instance(internal::InstanceOfCore(core));
  core->table_bytes = 0;  // free_instance freed every table
  // Newest handle first; locks the instance held pass on marked owner died.
  core->handles.ReleaseAll(core->owner_id);
  internal::FlushPendingOutput(core);
  core->memory = nullptr;
}

uint64_t Compartment::DeadlineFrom(uint64_t thread_deadline_ns) const {
  if (options_.call_timeout.count() <= 0) return thread_deadline_ns;
  uint64_t own = internal::MonotonicNs() + static_cast<uint64_t>(options_.call_timeout.count());
  return thread_deadline_ns == 0 ? own : std::min(thread_deadline_ns, own);
}

bool Compartment::InstantiateLive(Trap* trap) {
  uint64_t deadline_ns = DeadlineFrom(internal::t_thread_gate.deadline_ns);
  // A worker process's start has a limit of its own (start_limit_ns).
  if (deadline_ns == 0 || module_->isolation() != Isolation::kWasm) {
    return InstantiateCore(core_, trap);
  }
  internal::WatchdogEntry watch;
  watch.deadline_ns = deadline_ns;
  watch.fire = [](void* target) {
    static_cast<Compartment*>(target)->KillWith(RF_TRAP_TIMEOUT);
    return true;  // until the start-up disarms it
  };
  watch.target = this;
  internal::ArmWatchdog(&watch);
  bool started = InstantiateCore(core_, trap);
  internal::DisarmWatchdog(&watch);
  // The kill of a deadline that passed as start-up ended (or that ended
  // it) is spent: the instance either started or is gone.
  uint32_t timeout = RF_TRAP_TIMEOUT;
  core_->kill_kind.compare_exchange_strong(timeout, RF_TRAP_NONE);
  return started;
}

Status Compartment::Instantiate() {
  if (live_window_dirty_) {
    core_->window.DropPages();
    live_window_dirty_ = false;
  }
  Trap trap;
  if (!InstantiateLive(&trap)) {
    live_instance_ = nullptr;
    SetLastTrap(trap);
    return Status(StatusCode::kInstantiateFailed,
                  fmt::format("module {} trapped while starting: {}", module_->name(),
                              trap.ToString()));
  }
  if (ever_instantiated_) ++restart_count_;
  ever_instantiated_ = true;
  live_serial_.store(++instance_serial_, std::memory_order_release);
  live_instance_ = instance_;
  return Status::Ok();
}

void Compartment::DiscardInstance() {
  ReleaseCore(core_);
  // With a warm spare the window is reset off the call path: in the
  // background once the spare has taken over, or before a restart here.
  if (options_.warm_spare) {
    live_window_dirty_ = true;
  } else {
    core_->window.DropPages();
  }
  live_instance_ = nullptr;
  live_serial_.store(0, std::memory_order_release);
}

void Compartment::SetLastTrap(Trap trap) {
  std::lock_guard lock(trap_mutex_);
  last_trap_ = std::move(trap);
}

std::optional<Trap> Compartment::LastTrapCopy() const {
  std::lock_guard lock(trap_mutex_);
  return last_trap_;
}

void Compartment::RevokeClaim() {
  const void* holder = fast_owner_.load(std::memory_order_relaxed);
  if (holder == internal::kNoClaim) return;
  fast_owner_.store(internal::kNoClaim, std::memory_order_relaxed);
  if (holder == &internal::t_thread_gate) return;  // our own claim: nothing raced
  // Every fast entry that raced with the store above has now either
  // announced itself visibly or will see the claim gone; one announced is
  // waited out, after which its depth_ store, if any, is visible (see
  // TryEnterFast).
  internal::ProcessFence();
  internal::WaitOutOfFastEntry(static_cast<const internal::ThreadGate*>(holder), this);
}

void Compartment::SettlePendingKill() {
  uint32_t kind = core_->kill_kind.load();
  if (kind == RF_TRAP_NONE) return;
  if (live_instance_ != nullptr) {
    // The claim goes first: a holder's next call would otherwise enter by
    // the fast path, which does not look at the instance, and run module
    // code with none. (Enter may have granted the claim after the kill was
    // sent, if it came while Enter started an instance unlocked.)
    RevokeClaim();
    DiscardInstance();
    SetLastTrap(KilledTrap(module_->name(), kind));
  }
  core_->kill_kind.store(RF_TRAP_NONE);
}

Status Compartment::Enter(internal::ThreadGate& gate, uint64_t deadline_ns, uint32_t* outer_depth) {
  std::unique_lock lock(entry_mutex_);
  while (owner_ != &gate) {
    if (owner_ != nullptr) {
      RevokeClaim();
      uint32_t depth = depth_.load(std::memory_order_acquire);
      if (depth != 0) {
        // Another thread is inside: wait for it to leave.
        ++waiters_;
        lock.unlock();
        internal::WaitOutcome outcome = internal::FutexWait(depth_, depth, deadline_ns);
        lock.lock();
        --waiters_;
        if (outcome == internal::WaitOutcome::kTimedOut && depth_.load() != 0) {
          return Status(StatusCode::kDeadlineExceeded,
                        fmt::format("module {} stayed busy on another thread until the call's "
                                    "deadline",
                                    module_->name()));
        }
        continue;
      }
    }
    owner_ = &gate;
  }
  uint32_t depth = depth_.load(std::memory_order_acquire);
  if (depth == 0) SettlePendingKill();
  if (core_->kill_kind.load() != RF_TRAP_NONE || (depth > 0 && live_instance_ == nullptr)) {
    return Status(StatusCode::kUnavailable,
                  fmt::format("module {} died while this thread was inside it; the call that "
                              "entered it is being unwound",
                              module_->name()));
  }
  if (live_instance_ == nullptr && !options_.restart_on_demand) {
    return Status(StatusCode::kUnavailable,
                  fmt::format("module {} is dead and waits for its supervisor to restart it",
                              module_->name()));
  }
  if (live_instance_ == nullptr) {
    Status started = StartInstance(lock);
    if (!started.ok()) {
      if (waiters_ > 0) internal::FutexWake(depth_, INT_MAX);
      return started;
    }
  }
  depth_.store(depth + 1, std::memory_order_relaxed);
  *outer_depth = depth;
  // The fast path skips CallSlots, where faults are injected.
  // Nor with a kill pending (it may have come while StartInstance ran
  // unlocked): the frame's Leave discards the instance. (Process modules
  // have no code in this process: never.)
  if (waiters_ == 0 && options_.call_timeout.count() == 0 && gate.deadline_ns == 0 &&
      core_->kill_kind.load() == RF_TRAP_NONE && options_.fault_injector == nullptr &&
      module_->isolation() == Isolation::kWasm && internal::ProcessFenceAvailable()) {
    fast_owner_.store(&gate, std::memory_order_relaxed);
  }
  return Status::Ok();
}

void Compartment::AfterLastLeave() {
  std::lock_guard lock(entry_mutex_);
  if (waiters_ > 0) internal::FutexWake(depth_, INT_MAX);
  // Acquire: the frames that left (by LeaveFast, without the mutex) are
  // over before their instance goes.
  if (depth_.load(std::memory_order_acquire) == 0) SettlePendingKill();
}

Result<uint64_t> Compartment::CallSlots(uint32_t index, const uint64_t* args,
                                        uint64_t expected_instance) {
  internal::ThreadGate& gate = *internal::CurrentThreadGate();
  rf_thread* thread = &gate.thread;
#if defined(__clang__)
  thread->inline_unwind = internal::UnwindInlineFrame;
#endif
  uint64_t deadline_ns = DeadlineFrom(gate.deadline_ns);
  uint32_t outer_depth = 0;
  // The fast entry of TypedExport::operator() serves linked calls and
  // CallDynamic from the thread holding the claim too.
  bool fast = deadline_ns == 0 && TryEnterFast(gate, &outer_depth);
  if (!fast) RF_RETURN_IF_ERROR(Enter(gate, deadline_ns, &outer_depth));
  if (expected_instance != 0 && expected_instance != instance_serial()) {
    if (fast) {
      LeaveFast(outer_depth, gate.claim_token);
    } else {
      Leave(outer_depth);
    }
    return Status(StatusCode::kUnavailable,
                  fmt::format("module {} was restarted before the call could enter",
                              module_->name()));
  }
  internal::WatchdogEntry watch;
  if (deadline_ns != 0) {
    watch.deadline_ns = deadline_ns;
    watch.fire = [](void* target) {
      static_cast<Compartment*>(target)->KillWith(RF_TRAP_TIMEOUT);
      return true;  // until the call disarms it
    };
    watch.target = this;
    internal::ArmWatchdog(&watch);
  }
  uint64_t saved_deadline = gate.deadline_ns;
  gate.deadline_ns = deadline_ns;
  uint64_t result = 0;
  FaultAction fault = FaultAction::kNone;
  if (core_->fault_injector != nullptr) [[unlikely]] fault = InjectAtCrossing(index);
  if (thread->trap_kind == RF_TRAP_NONE) {
    if (module_->isolation() == Isolation::kProcess) {
      internal::ProcessCall(core_, index, args, &result);
    } else {
      module_->abi().exports[index].call(thread, live_instance_, args, &result);
    }
    // An injected trap: the export ran (its side effects stay), the reply
    // is lost with the instance. If the export trapped by itself, that trap
    // stands and the injected one never happened.
    if (fault == FaultAction::kTrap) [[unlikely]] {
      if (thread->trap_kind == RF_TRAP_NONE) {
        thread->trap_kind = RF_TRAP_INJECTED;
      } else {
        core_->fault_injector->Withdraw(FaultAction::kTrap);
      }
    }
  }
  gate.deadline_ns = saved_deadline;
  if (deadline_ns != 0) internal::DisarmWatchdog(&watch);
  if (thread->trap_kind != RF_TRAP_NONE) return TakeTrap(index, outer_depth);
  if (fast) {
    LeaveFast(outer_depth, gate.claim_token);
  } else {
    Leave(outer_depth);
  }
  return result;
}

FaultAction Compartment::InjectAtCrossing(uint32_t index) {
  FaultDecision decision = core_->fault_injector->AtCrossing(
      module_->name(), module_->descriptor().exports[index].name);
  uint64_t wait_ns = 0;
  switch (decision.action) {
    case FaultAction::kNone:
    case FaultAction::kTrap: return decision.action;
    case FaultAction::kHang: wait_ns = UINT64_MAX; break;
    case FaultAction::kSlow: wait_ns = static_cast<uint64_t>(std::max<int64_t>(decision.delay.count(), 0)); break;
  }
  // Waits inside the frame (other threads wait for it, a kill or the
  // watchdog ends it) the way rf_sleep_ns does; if a kill or the deadline
  // ended it, the call ends as that trap without running the export.
  uint32_t ended_by = internal::WaitInside(core_, wait_ns);
  if (ended_by != RF_TRAP_NONE) {
    rf_thread& thread = internal::t_thread_gate.thread;
    thread.trap_kind = ended_by;
    thread.trap_pc = 0;
  }
  return decision.action;
}

void Compartment::Kill() {
  if (!KillWith(RF_TRAP_KILLED)) return;
  // The signal may have found the thread in host code, where it is ignored:
  // the watchdog repeats it until the thread has left.
  kill_retry_->deadline_ns = internal::MonotonicNs() + 1'000'000;
  internal::ArmWatchdog(kill_retry_.get());
}

bool Compartment::RetryKill() {
  std::lock_guard lock(entry_mutex_);
  if (depth_.load(std::memory_order_acquire) == 0 || core_->kill_kind.load() == RF_TRAP_NONE) {
    return false;
  }
  Preempt(static_cast<const internal::ThreadGate*>(owner_));
  return true;
}

bool Compartment::KillWith(uint32_t trap_kind) {
  std::lock_guard lock(entry_mutex_);
  RevokeClaim();
  if (depth_.load(std::memory_order_acquire) == 0) {
    core_->kill_kind.store(trap_kind);
    SettlePendingKill();  // nobody inside: the instance goes now
    return false;
  }
  uint32_t none = RF_TRAP_NONE;
  core_->kill_kind.compare_exchange_strong(none, trap_kind);
  // Wakes the thread inside from a blocking host service ...
  internal::FutexWake(core_->kill_kind, INT_MAX);
  // ... or preempts it in module code. (Killing from inside, from a host
  // service the module called, takes effect when that service returns.)
  const auto* owner = static_cast<const internal::ThreadGate*>(owner_);
  if (owner == &internal::t_thread_gate) return false;
  Preempt(owner);
  return true;
}

Status Compartment::Restart() {
  std::unique_lock lock(entry_mutex_);
  RevokeClaim();
  if (depth_.load(std::memory_order_acquire) != 0) {
    return Status(StatusCode::kUnavailable,
                  fmt::format("cannot restart module {}: a thread is inside it", module_->name()));
  }
  owner_ = internal::CurrentThreadGate();
  if (live_instance_ != nullptr) DiscardInstance();
  core_->kill_kind.store(RF_TRAP_NONE);
  Status started = StartInstance(lock);
  if (waiters_ > 0) internal::FutexWake(depth_, INT_MAX);
  return started;
}

Status Compartment::StartInstance(std::unique_lock<std::mutex>& lock) {
  if (SwapInSpare()) return Status::Ok();
  depth_.store(1, std::memory_order_relaxed);
  lock.unlock();
  Status started = Instantiate();
  lock.lock();
  depth_.store(0, std::memory_order_release);
  // A spare whose start-up trapped is tried again, after this start-up so
  // the two do not compete.
  if (options_.warm_spare && spare_state_.load(std::memory_order_acquire) == kSpareFailed) {
    RemakeSpare();
  }
  return started;
}

Trap Compartment::MakeTrap(uint32_t export_index) { return MakeTrap(export_index, core_); }

Trap Compartment::MakeTrap(uint32_t export_index, rf_import_context* core) {
  rf_thread& thread = internal::t_thread_gate.thread;
  Trap trap;
  trap.kind = TrapKindOf(thread.trap_kind);
  trap.module = module_->name();
  trap.export_name = export_index == UINT32_MAX ? "<start>" : module_->descriptor().exports[export_index].name;
  trap.function = module_->FunctionAt(thread.trap_pc);
  if (thread.fault_address != 0 && core->window.Contains(thread.fault_address)) {
    trap.offset = thread.fault_address - reinterpret_cast<uintptr_t>(core->window.base());
  }
  trap.exit_code = thread.exit_code;
  // The module side cannot tell where its code ends: keep the leading run
  // of addresses inside it.
  uint32_t depth = std::min<uint32_t>(thread.backtrace_depth, RF_BACKTRACE_MAX);
  for (uint32_t i = 0; i < depth && module_->ContainsCode(thread.backtrace[i]); ++i) {
    std::string name = module_->FunctionAt(thread.backtrace[i]);
    trap.backtrace.push_back(name.empty() ? "?" : std::move(name));
  }
  thread.backtrace_depth = 0;
  if (core->memory_refused) {
    trap.memory_limit_refused = uint64_t{core->memory_limit_pages} * internal::WindowReservation::kPageBytes;
  }
  trap.signal = core->worker_signal;
  trap.syscall = std::move(core->worker_syscall);
  trap.detail = std::move(core->worker_detail);
  trap.worker_reported = core->worker_reported;
  core->worker_reported = false;
  core->worker_signal = 0;
  core->worker_syscall.clear();
  core->worker_detail.clear();
  thread.trap_kind = RF_TRAP_NONE;
  thread.trap_pc = 0;
  thread.fault_address = 0;
  thread.exit_code = 0;
  return trap;
}

Trap Compartment::TakeTrap(uint32_t export_index, uint32_t outer_depth) {
  uint32_t kind = internal::t_thread_gate.thread.trap_kind;
  Trap trap = MakeTrap(export_index);
  // Dead code never runs again: the instance goes now (unless a deeper frame
  // of this compartment already discarded it), a fresh one is made before
  // the next call.
  if (live_instance_ != nullptr) DiscardInstance();
  SetLastTrap(trap);
  std::lock_guard lock(entry_mutex_);
  fast_owner_.store(internal::kNoClaim, std::memory_order_relaxed);
  if (outer_depth > 0) {
    // Outer frames of this compartment are still on this thread's stack:
    // they unwind with the same trap when control comes back to them.
    uint32_t none = RF_TRAP_NONE;
    core_->kill_kind.compare_exchange_strong(none, kind);
  } else {
    core_->kill_kind.store(RF_TRAP_NONE);
  }
  depth_.store(outer_depth, std::memory_order_release);
  if (outer_depth == 0 && waiters_ > 0) internal::FutexWake(depth_, INT_MAX);
  return trap;
}

bool Compartment::InsideOnThisThread() const {
  for (const rf_frame* frame = internal::t_thread_gate.thread.top; frame != nullptr;
       frame = frame->prev) {
    if (internal::CoreOfInstance(rf_frame_instance(frame))->compartment == this) return true;
  }
  return false;
}

bool Compartment::IdleFor(const void* thread) const {
  return fast_owner_.load(std::memory_order_relaxed) == thread ||
         depth_.load(std::memory_order_relaxed) == 0;
}

uint32_t Compartment::open_handles() const { return core_->handles.open_count(); }

StatusOr<uint32_t> Compartment::CheckExport(std::string_view name, const Signature& expected) const {
  std::optional<uint32_t> index = module_->FindExport(name);
  if (!index) {
    std::string names;
    for (const ExportInfo& info : module_->descriptor().exports) {
      names += names.empty() ? "" : ", ";
      names += info.name;
    }
    return Status(StatusCode::kNotFound, fmt::format("module {} has no export '{}' (exports: {})",
                                                     module_->name(), name, names));
  }
  const Signature& actual = module_->descriptor().exports[*index].signature;
  if (actual != expected) {
    return Status(StatusCode::kSignatureMismatch,
                  fmt::format("export {}.{} has signature {}, not {}", module_->name(), name,
                              actual.ToString(), expected.ToString()));
  }
  return *index;
}

const rf_export& Compartment::ExportEntry(uint32_t index) const { return module_->abi().exports[index]; }

Result<std::optional<Value>> Compartment::CallDynamic(std::string_view name,
                                                      std::span<const Value> args) {
  std::optional<uint32_t> index = module_->FindExport(name);
  if (!index) return CheckExport(name, {}).status();
  const Signature& signature = module_->descriptor().exports[*index].signature;
  bool types_match = args.size() == signature.params.size();
  for (size_t i = 0; types_match && i < args.size(); ++i) {
    types_match = args[i].type == signature.params[i];
  }
  if (!types_match) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("export {}.{} takes {}", module_->name(), name, signature.ToString()));
  }
  std::vector<uint64_t> slots(args.size() + 1);
  for (size_t i = 0; i < args.size(); ++i) slots[i] = args[i].bits;
  Result<uint64_t> result = CallSlots(*index, slots.data());
  if (result.trapped()) return result.trap();
  if (result.failed()) return result.status();
  if (!signature.result) return std::optional<Value>();
  return std::optional<Value>(Value{*signature.result, result.value()});
}

const wasm_rt_memory_t* Compartment::memory() const {
  // A process module's memory is its worker's own; the core's "memory" is
  // only the channel's payload area.
  if (module_->isolation() == Isolation::kProcess) return nullptr;
  return live_instance_ != nullptr ? core_->memory : nullptr;
}

}  // namespace ringfence
