// The call: CallSlots, the full call path every call but the inline fast
// path's takes, in its steps: enter, check the expected instance, arm the
// call (its deadline's watchdog: where a call is armed), inject a fault,
// run, disarm, then leave - or take the trap (compartment_trap.cc).
#include <algorithm>

#include <fmt/format.h>

#include "ringfence/fault_injection.h"
#include "src/compartment/call_deadline.h"
#include "src/compartment/compartment_core.h"
#include "src/compartment/compartment_impl.h"
#include "src/gate/watchdog.h"
#include "src/process/process_instance.h"
#include "src/services/services.h"

namespace ringfence::internal {

Result<uint64_t> CompartmentImpl::CallSlots(uint32_t index, const uint64_t* args,
                                            uint64_t expected_instance) {
  CallFrame frame;
  RF_RETURN_IF_ERROR(EnterCall(&frame));
  RF_RETURN_IF_ERROR(CheckExpectedInstance(frame, expected_instance));
  WatchdogEntry watch;
  uint64_t saved_deadline = 0;
  ArmCall(frame, &watch, &saved_deadline);
  FaultAction fault = FaultAction::kNone;
  if (core_->fault_injector != nullptr) [[unlikely]] fault = InjectAtCrossing(index);
  uint64_t result = 0;
  RunExport(index, args, fault, &result);
  DisarmCall(frame, &watch, saved_deadline);
  if (frame.gate->thread.trap_kind != RF_TRAP_NONE) return TakeTrap(index, frame.outer_depth);
  LeaveCall(frame);
  return result;
}

Result<uint64_t> CallEntry::CallSlots(uint32_t export_index, const uint64_t* args) {
  return static_cast<CompartmentImpl*>(this)->CallSlots(export_index, args);
}

Status CompartmentImpl::EnterCall(CallFrame* frame) {
  ThreadGate& gate = *CurrentThreadGate();
#if defined(__clang__)
  gate.thread.inline_unwind = UnwindInlineFrame;
#endif
  frame->gate = &gate;
  frame->deadline_ns = DeadlineFrom(gate.deadline_ns, options_.call_timeout);
  frame->outer_depth = 0;
  // The fast entry of TypedExport::operator() serves linked calls and
  // CallDynamic from the thread holding the claim too.
  frame->fast = frame->deadline_ns == 0 && TryEnterFast(gate, &frame->outer_depth);
  if (frame->fast) return Status::Ok();
  return Enter(gate, frame->deadline_ns, &frame->outer_depth);
}

void CompartmentImpl::LeaveCall(const CallFrame& frame) {
  if (frame.fast) {
    LeaveFast(frame.outer_depth, frame.gate->claim_token);
  } else {
    Leave(frame.outer_depth);
  }
}

Status CompartmentImpl::CheckExpectedInstance(const CallFrame& frame, uint64_t expected_instance) {
  if (expected_instance == 0 || expected_instance == instance_serial()) return Status::Ok();
  LeaveCall(frame);
  return Status(StatusCode::kUnavailable,
                fmt::format("module {} was restarted before the call could enter",
                            module_->name()));
}

void CompartmentImpl::ArmCall(const CallFrame& frame, WatchdogEntry* watch,
                              uint64_t* saved_deadline) {
  if (frame.deadline_ns != 0) {
    watch->deadline_ns = frame.deadline_ns;
    watch->fire = [](void* target) {
      static_cast<CompartmentImpl*>(target)->KillWith(RF_TRAP_TIMEOUT);
      return true;  // until the call disarms it
    };
    watch->target = this;
    ArmWatchdog(watch);
  }
  *saved_deadline = frame.gate->deadline_ns;
  frame.gate->deadline_ns = frame.deadline_ns;
}

void CompartmentImpl::DisarmCall(const CallFrame& frame, WatchdogEntry* watch,
                                 uint64_t saved_deadline) {
  frame.gate->deadline_ns = saved_deadline;
  if (frame.deadline_ns != 0) DisarmWatchdog(watch);
}

void CompartmentImpl::RunExport(uint32_t index, const uint64_t* args, FaultAction fault,
                                uint64_t* result) {
  rf_thread* thread = &t_thread_gate.thread;
  if (thread->trap_kind != RF_TRAP_NONE) return;
  if (module_->isolation() == Isolation::kProcess) {
    ProcessCall(core_, index, args, result);
  } else {
    module_->abi().exports[index].call(thread, live_instance_, args, result);
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

FaultAction CompartmentImpl::InjectAtCrossing(uint32_t index) {
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

}  // namespace ringfence::internal
