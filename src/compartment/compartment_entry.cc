// The entry protocol of a compartment: who may be inside (the claim, the
// depth, waiting threads), the fast entry's out-of-line partner
// (AfterLastLeave), and kills, which end whatever is inside. Enter is also
// where the compartment restarts on demand: a call that finds the instance
// dead has a fresh one started (RestartOnDemand, compartment_lifecycle.cc).
#include <climits>

#include <fmt/format.h>

#include "src/base/trap_codes.h"
#include "src/compartment/compartment_core.h"
#include "src/compartment/compartment_impl.h"
#include "src/gate/fault_handler.h"
#include "src/gate/futex.h"
#include "src/gate/process_fence.h"
#include "src/gate/watchdog.h"

namespace ringfence::internal {
namespace {

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

Trap KilledTrap(const std::string& module, uint32_t kind) {
  Trap trap;
  trap.kind = TrapKindOf(kind);
  trap.module = module;
  return trap;
}

}  // namespace

void CompartmentImpl::RevokeClaim() {
  const void* holder = fast_owner_.load(std::memory_order_relaxed);
  if (holder == internal::kNoClaim) return;
  fast_owner_.store(internal::kNoClaim, std::memory_order_relaxed);
  if (holder == &internal::t_thread_gate) return;  // our own claim: nothing raced
  // Every fast entry that raced with the store above has now either
  // announced itself visibly or will see the claim gone; one announced is
  // waited out, after which its depth_ store, if any, is visible (see
  // TryEnterFast).
  internal::ProcessFence();
  internal::WaitOutOfFastEntry(static_cast<const internal::ThreadGate*>(holder),
                               static_cast<const CallEntry*>(this));
}

void CompartmentImpl::SettlePendingKill() {
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

Status CompartmentImpl::Enter(internal::ThreadGate& gate, uint64_t deadline_ns, uint32_t* outer_depth) {
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
  if (live_instance_ == nullptr) RF_RETURN_IF_ERROR(RestartOnDemand(lock));
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

void CompartmentImpl::AfterLastLeave() {
  std::lock_guard lock(entry_mutex_);
  if (waiters_ > 0) internal::FutexWake(depth_, INT_MAX);
  // Acquire: the frames that left (by LeaveFast, without the mutex) are
  // over before their instance goes.
  if (depth_.load(std::memory_order_acquire) == 0) SettlePendingKill();
}

void CallEntry::AfterLastLeave() { static_cast<CompartmentImpl*>(this)->AfterLastLeave(); }

void CompartmentImpl::Kill() {
  if (!KillWith(RF_TRAP_KILLED)) return;
  // The signal may have found the thread in host code, where it is ignored:
  // the watchdog repeats it until the thread has left.
  kill_retry_->deadline_ns = internal::MonotonicNs() + 1'000'000;
  internal::ArmWatchdog(kill_retry_.get());
}

bool CompartmentImpl::RetryKill() {
  std::lock_guard lock(entry_mutex_);
  if (depth_.load(std::memory_order_acquire) == 0 || core_->kill_kind.load() == RF_TRAP_NONE) {
    return false;
  }
  Preempt(static_cast<const internal::ThreadGate*>(owner_));
  return true;
}

bool CompartmentImpl::KillWith(uint32_t trap_kind) {
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

bool CompartmentImpl::InsideOnThisThread() const {
  for (const rf_frame* frame = internal::t_thread_gate.thread.top; frame != nullptr;
       frame = frame->prev) {
    if (internal::CoreOfInstance(rf_frame_instance(frame))->compartment == this) return true;
  }
  return false;
}

bool CompartmentImpl::IdleFor(const void* thread) const {
  return fast_owner_.load(std::memory_order_relaxed) == thread ||
         depth_.load(std::memory_order_relaxed) == 0;
}

}  // namespace ringfence::internal
