// Where a trap becomes a value: the pending trap on the calling thread
// (its rf_thread's trap_kind and what the fault handler recorded) is turned
// into a Trap, the dead instance is discarded and the frame is left
// (TakeTrap, from the inline fast path and from CallSlots alike).
#include <algorithm>
#include <climits>

#include "src/base/trap_codes.h"
#include "src/compartment/compartment_core.h"
#include "src/compartment/compartment_impl.h"
#include "src/gate/futex.h"

namespace ringfence::internal {

Trap CompartmentImpl::MakeTrap(uint32_t export_index) { return MakeTrap(export_index, core_); }

Trap CompartmentImpl::MakeTrap(uint32_t export_index, rf_import_context* core) {
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

Trap CompartmentImpl::TakeTrap(uint32_t export_index, uint32_t outer_depth) {
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

Trap CallEntry::TakeTrap(uint32_t export_index, uint32_t outer_depth) {
  return static_cast<CompartmentImpl*>(this)->TakeTrap(export_index, outer_depth);
}

}  // namespace ringfence::internal
