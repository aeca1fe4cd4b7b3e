#include "src/gate/fault_handler.h"

#include <signal.h>
#include <ucontext.h>

#include <cstdint>
#include <mutex>

#include "ringfence/internal/thread_gate.h"
#include "src/compartment/compartment_core.h"

namespace ringfence::internal {
namespace {

struct sigaction g_previous_segv;
struct sigaction g_previous_bus;
struct sigaction g_previous_preempt;

uintptr_t FaultingPc(void* context) {
  return static_cast<uintptr_t>(static_cast<ucontext_t*>(context)->uc_mcontext.gregs[REG_RIP]);
}

// The trap kind for a fault we may claim, or RF_TRAP_NONE.
uint32_t ClassifyFault(int signo, const siginfo_t* info, void* context, ThreadGate& gate) {
  if (!gate.ready || gate.thread.top == nullptr) return RF_TRAP_NONE;
  rf_import_context* core = CoreOfInstance(rf_frame_instance(gate.thread.top));
  if (!core->module->ContainsCode(FaultingPc(context))) return RF_TRAP_NONE;
  auto address = reinterpret_cast<uintptr_t>(info->si_addr);
  if (core->window.Contains(address)) return RF_TRAP_OOB;
  if (signo == SIGSEGV && address >= gate.stack_low && address < gate.stack_high) {
    return RF_TRAP_EXHAUSTION;
  }
  return RF_TRAP_NONE;
}

void ForwardToPrevious(int signo, siginfo_t* info, void* context) {
  const struct sigaction& previous = signo == SIGSEGV ? g_previous_segv : g_previous_bus;
  if ((previous.sa_flags & SA_SIGINFO) != 0 && previous.sa_sigaction != nullptr) {
    previous.sa_sigaction(signo, info, context);
    return;
  }
  if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
    previous.sa_handler(signo);
    return;
  }
  // Default action: returning re-executes the faulting instruction, which now
  // kills the process the ordinary way. A signal sent by kill() is resent.
  signal(signo, SIG_DFL);
  if (info->si_code <= 0) raise(signo);
}

void OnFault(int signo, siginfo_t* info, void* context) {
  ThreadGate& gate = t_thread_gate;
  uint32_t kind = ClassifyFault(signo, info, context, gate);
  if (kind == RF_TRAP_NONE) {
    ForwardToPrevious(signo, info, context);
    return;
  }
  gate.thread.trap_kind = kind;
  gate.thread.trap_pc = FaultingPc(context);
  gate.thread.fault_address = reinterpret_cast<uintptr_t>(info->si_addr);
  // SA_NODEFER left the signal unblocked, and leaving the alternate stack by
  // jumping frees it, so nothing else needs restoring for the next fault.
  rf_unwind_top(&gate.thread, CoreOfInstance(rf_frame_instance(gate.thread.top))->module->abi().unwind);
}

void OnPreempt(int signo, siginfo_t* info, void* context) {
  ThreadGate& gate = t_thread_gate;
  if (gate.ready && gate.thread.top != nullptr) {
    rf_import_context* core = CoreOfInstance(rf_frame_instance(gate.thread.top));
    uint32_t kind = core->kill_kind.load(std::memory_order_relaxed);
    if (kind != RF_TRAP_NONE && core->module->ContainsCode(FaultingPc(context))) {
      gate.thread.trap_kind = kind;
      gate.thread.trap_pc = FaultingPc(context);
      rf_unwind_top(&gate.thread, core->module->abi().unwind);
    }
  }
  if ((g_previous_preempt.sa_flags & SA_SIGINFO) != 0 && g_previous_preempt.sa_sigaction != nullptr) {
    g_previous_preempt.sa_sigaction(signo, info, context);
  } else if (g_previous_preempt.sa_handler != SIG_DFL && g_previous_preempt.sa_handler != SIG_IGN) {
    g_previous_preempt.sa_handler(signo);
  }
}

}  // namespace

void InstallFaultHandlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction action = {};
    action.sa_sigaction = OnFault;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    RF_CHECK(sigaction(SIGSEGV, &action, &g_previous_segv) == 0);
    RF_CHECK(sigaction(SIGBUS, &action, &g_previous_bus) == 0);
    // SA_RESTART: host code the signal interrupts resumes its system calls.
    struct sigaction preempt = {};
    preempt.sa_sigaction = OnPreempt;
    preempt.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER | SA_RESTART;
    sigemptyset(&preempt.sa_mask);
    RF_CHECK(sigaction(kPreemptSignal, &preempt, &g_previous_preempt) == 0);
  });
}

}  // namespace ringfence::internal
