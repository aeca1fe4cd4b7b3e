// Kernel services every module can import: sleeping, closing handles,
// opening host-provided objects by name, and calls to linked modules.
#include <algorithm>
#include <string>
#include <string_view>

#include "ringfence/compartment.h"
#include "ringfence/fault_injection.h"
#include "ringfence/internal/thread_gate.h"
#include "ringfence/module.h"
#include "src/gate/futex.h"
#include "src/services/services.h"
#include "src/wasm/host_api.h"

namespace ringfence::internal {
namespace {

constexpr uint32_t kMaxNameBytes = 256;

uint32_t Code(int32_t code) { return static_cast<uint32_t>(code); }

uint32_t CallLinked(rf_import_context* core, uint32_t import_index, const uint64_t* args,
                    uint64_t* result) {
  if (import_index >= core->links.size() || core->links[import_index].object == nullptr) {
    return RF_CALL_NOT_LINKED;
  }
  const LinkedImport& link = core->links[import_index];
  // The call is opaque to the compiler: the stores stay on either side of it.
  ThreadGate& gate = t_thread_gate;
  const rf_frame* outer = gate.calling_out;
  gate.calling_out = gate.thread.top;
  Result<uint64_t> outcome = link.call(link.object, link.export_index, args);
  gate.calling_out = outer;
  if (outcome.ok()) {
    *result = outcome.value();
    return RF_CALL_OK;
  }
  if (outcome.trapped()) return RF_CALL_TRAPPED;
  return outcome.status().code() == StatusCode::kDeadlineExceeded ? RF_CALL_TIMEOUT
                                                                  : RF_CALL_UNAVAILABLE;
}

}  // namespace

uint32_t WaitInside(rf_import_context* core, uint64_t ns) {
  uint64_t now = MonotonicNs();
  uint64_t until = ns == UINT64_MAX || ns > UINT64_MAX - now ? 0 : now + ns;  // 0: no limit
  bool until_deadline = false;
  uint64_t deadline = t_thread_gate.deadline_ns;
  if (deadline != 0 && (until == 0 || deadline <= until)) {
    until = deadline;
    until_deadline = true;
  }
  while (true) {
    // A kill sets the word and then wakes it: no wake-up is lost.
    uint32_t kind = core->kill_kind.load();
    if (kind != RF_TRAP_NONE) return kind;
    if (until != 0 && MonotonicNs() >= until) return until_deadline ? RF_TRAP_TIMEOUT : RF_TRAP_NONE;
    FutexWait(core->kill_kind, RF_TRAP_NONE, until);
  }
}

void UnwindIfKilled(rf_import_context* core) {
  uint32_t kind = core->kill_kind.load();
  if (kind != RF_TRAP_NONE) RaiseTrap(kind);
  uint64_t deadline = t_thread_gate.deadline_ns;
  if (deadline != 0 && MonotonicNs() >= deadline) RaiseTrap(RF_TRAP_TIMEOUT);
}

int32_t OpenProvided(rf_import_context* core, uint32_t name, uint32_t length,
                     HandleObject::Kind kind) {
  if (length > kMaxNameBytes) return RF_EINVAL;
  const uint8_t* text = WindowRange(core, name, length);
  if (text == nullptr) return RF_EFAULT;
  // Copied before use: another view of the window could change it.
  std::string copy(reinterpret_cast<const char*>(text), length);
  auto found = core->provided.find(copy);
  if (found == core->provided.end() || found->second->handle_kind() != kind) return RF_ENOTFOUND;
  return core->handles.Open(found->second);
}

uint32_t ServiceSleepNs(rf_import_context* core, uint64_t ns) {
  if (static_cast<int64_t>(ns) < 0) return Code(RF_EINVAL);
  WaitInside(core, ns);
  UnwindIfKilled(core);
  return Code(RF_OK);
}

uint32_t ServiceHandleClose(rf_import_context* core, uint32_t handle) {
  auto value = static_cast<int32_t>(handle);
  HandleObject* object = core->handles.Get(value);
  if (object != nullptr && object->BusyFor(core->owner_id)) return Code(RF_EBUSY);
  return Code(core->handles.Close(value));
}

uint32_t ServiceCallStatus(rf_import_context* core) { return core->last_call_status; }

uint32_t ServiceFaultPoint(rf_import_context* core, uint32_t name, uint32_t length) {
  if (length > kMaxNameBytes) return Code(RF_EINVAL);
  const uint8_t* text = WindowRange(core, name, length);
  if (text == nullptr) return Code(RF_EFAULT);
  if (core->fault_injector == nullptr) return Code(RF_OK);
  FaultDecision decision;
  {
    // Copied before use: another view of the window could change it. Gone
    // before any trap below jumps over this frame.
    std::string copy(reinterpret_cast<const char*>(text), length);
    decision = core->fault_injector->AtPoint(core->module->name(), copy);
  }
  switch (decision.action) {
    case FaultAction::kNone: break;
    case FaultAction::kTrap: RaiseTrap(RF_TRAP_INJECTED);
    case FaultAction::kHang:
      WaitInside(core, UINT64_MAX);
      UnwindIfKilled(core);
      break;
    case FaultAction::kSlow:
      WaitInside(core, static_cast<uint64_t>(std::max<int64_t>(decision.delay.count(), 0)));
      UnwindIfKilled(core);
      break;
  }
  return Code(RF_OK);
}

void ServiceCallLinked(rf_import_context* core, uint32_t import_index, const uint64_t* args,
                       uint64_t* result) {
  *result = 0;
  core->last_call_status = CallLinked(core, import_index, args, result);
  // The caller may have been killed (or a deeper frame of it trapped) while
  // this thread was in the callee: none of its code runs again.
  UnwindIfKilled(core);
}

}  // namespace ringfence::internal
