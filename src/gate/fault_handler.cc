#include "src/gate/fault_handler.h"

#include <pthread.h>
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

// Where the interrupted function keeps its return address, from its code:
// module code keeps frame pointers, but gcc (12) still leaves them out of
// leaf functions that use no stack, and a signal can land in a prologue or
// epilogue. x86-64 only.
enum class FrameState {
  kFramed,     // rbp is this function's frame: [rbp + 8] is its return address
  kAtEntry,    // nothing pushed yet (frameless leaf, or first instruction, or at ret): [rsp]
  kPushedRbp,  // between `push %rbp` and `mov %rsp,%rbp`: [rsp + 8]
};

FrameState FrameStateAt(const Module& module, uintptr_t pc) {
  uintptr_t entry = module.FunctionEntry(pc);
  if (entry == 0 || !module.ContainsCode(entry + 7)) return FrameState::kFramed;
  const auto* code = reinterpret_cast<const uint8_t*>(entry);
  size_t prologue = 0;
  if (code[0] == 0xf3 && code[1] == 0x0f && code[2] == 0x1e && code[3] == 0xfa) prologue = 4;  // endbr64
  bool framed = code[prologue] == 0x55 && code[prologue + 1] == 0x48 &&
                code[prologue + 2] == 0x89 && code[prologue + 3] == 0xe5;  // push %rbp; mov %rsp,%rbp
  if (!framed) return FrameState::kAtEntry;
  if (pc <= entry + prologue) return FrameState::kAtEntry;
  if (pc == entry + prologue + 1) return FrameState::kPushedRbp;
  // At the final `ret` (or `rep ret`) rbp has been popped already.
  const auto* at = reinterpret_cast<const uint8_t*>(pc);
  if (at[0] == 0xc3 || (at[0] == 0xf3 && module.ContainsCode(pc + 1) && at[1] == 0xc3)) {
    return FrameState::kAtEntry;
  }
  return FrameState::kFramed;
}

// Records the interrupted module code's backtrace in `thread`: the faulting
// pc, then the frame-pointer chain up to the innermost gate. Async-signal-
// safe: reads only module code and the live stack below the gate's frame,
// allocates nothing.
void RecordBacktrace(const ThreadGate& gate, rf_thread& thread, const Module& module,
                     uint32_t kind, void* context) {
  const ucontext_t* uc = static_cast<const ucontext_t*>(context);
  auto fp = static_cast<uintptr_t>(uc->uc_mcontext.gregs[REG_RBP]);
  auto sp = static_cast<uintptr_t>(uc->uc_mcontext.gregs[REG_RSP]);
  auto limit = reinterpret_cast<uintptr_t>(thread.top);
  uintptr_t pc = FaultingPc(context);
  uint32_t depth = 0;
  thread.backtrace_depth = 0;
  if (!module.ContainsCode(pc)) return;
  thread.backtrace[depth++] = pc;
  FrameState state = FrameStateAt(module, pc);
  // Out of stack, the stack pointer may point into the guard zone: reading
  // there would fault again. The caller's frame pointer is still good.
  if (state != FrameState::kFramed && kind != RF_TRAP_EXHAUSTION) {
    // rbp is still the caller's frame; the return address into the caller
    // is on top of the stack.
    uintptr_t slot = state == FrameState::kAtEntry ? sp : sp + sizeof(uintptr_t);
    uintptr_t ret = 0;
    if (slot >= gate.stack_low && slot < limit && (slot & (sizeof(uintptr_t) - 1)) == 0) {
      ret = *reinterpret_cast<const uintptr_t*>(slot);
    }
    // The caller must be module code below the gate (else it is the gate).
    if (!module.ContainsCode(ret - 1) || fp <= slot || fp >= limit) {
      thread.backtrace_depth = depth;
      return;
    }
    thread.backtrace[depth++] = ret - 1;
  }
  depth += rf_walk_frames(fp, sp, limit, 0, UINTPTR_MAX, thread.backtrace + depth,
                          RF_BACKTRACE_MAX - depth);
  // Keep the leading run in module code (the walk cannot see the range).
  uint32_t kept = 0;
  while (kept < depth && module.ContainsCode(thread.backtrace[kept])) ++kept;
  thread.backtrace_depth = kept;
}

// The trap kind for a fault we may claim, or RF_TRAP_NONE.
uint32_t ClassifyFault(int signo, const siginfo_t* info, void* context, ThreadGate& gate) {
  if (!gate.ready || gate.thread.top == nullptr || gate.thread.top == gate.calling_out) {
    return RF_TRAP_NONE;
  }
  // A gate armed without an instance is a host bug: never claimed (and the
  // core must not be looked up, or this handler would fault itself).
  if (rf_frame_instance(gate.thread.top) == nullptr) return RF_TRAP_NONE;
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
  const Module& module = *CoreOfInstance(rf_frame_instance(gate.thread.top))->module;
  gate.thread.trap_kind = kind;
  gate.thread.trap_pc = FaultingPc(context);
  gate.thread.fault_address = reinterpret_cast<uintptr_t>(info->si_addr);
  RecordBacktrace(gate, gate.thread, module, kind, context);
  // SA_NODEFER left the signal unblocked, and leaving the alternate stack by
  // jumping frees it, so nothing else needs restoring for the next fault.
  rf_unwind_top(&gate.thread, module.abi().unwind);
}

// Runs with kPreemptSignal blocked (no SA_NODEFER): senders repeat the
// signal (Kill() may be called in a loop, the watchdog retries), and a
// thread that is slow to be scheduled can have it pending again before
// its handler has run one instruction. Were it unblocked, the kernel would
// stack one more ~3 KiB signal frame on the alternate stack for every
// repetition until the stack overflowed and the kernel, unable to deliver
// anything, killed the process with a forced SIGSEGV.
void OnPreempt(int signo, siginfo_t* info, void* context) {
  ThreadGate& gate = t_thread_gate;
  if (gate.ready && gate.thread.top != nullptr && gate.thread.top != gate.calling_out &&
      rf_frame_instance(gate.thread.top) != nullptr) {
    rf_import_context* core = CoreOfInstance(rf_frame_instance(gate.thread.top));
    uint32_t kind = core->kill_kind.load(std::memory_order_relaxed);
    if (kind != RF_TRAP_NONE && core->module->ContainsCode(FaultingPc(context))) {
      gate.thread.trap_kind = kind;
      gate.thread.trap_pc = FaultingPc(context);
      RecordBacktrace(gate, gate.thread, *core->module, kind, context);
      // The jump skips sigreturn, which would have restored the mask of the
      // interrupted code: restore it here (it unblocks kPreemptSignal). A
      // signal arriving from here on finds this handler, not module code,
      // and is ignored: at most two of its frames are ever on the stack.
      pthread_sigmask(SIG_SETMASK, &static_cast<ucontext_t*>(context)->uc_sigmask, nullptr);
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
    // No SA_NODEFER: see OnPreempt.
    struct sigaction preempt = {};
    preempt.sa_sigaction = OnPreempt;
    preempt.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigemptyset(&preempt.sa_mask);
    RF_CHECK(sigaction(kPreemptSignal, &preempt, &g_previous_preempt) == 0);
  });
}

}  // namespace ringfence::internal
