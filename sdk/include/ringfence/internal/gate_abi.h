/* The part of the module ABI (module_abi.h) that the host's inline call
 * path needs: trap kinds, recovery frames and the per-thread gate state.
 * Separate so that the host's public headers reach it without wabt's
 * wasm-rt.h; module_abi.h includes it, and RF_MODULE_ABI_VERSION there
 * covers these layouts too.
 */
#ifndef RINGFENCE_GATE_ABI_H_
#define RINGFENCE_GATE_ABI_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Trap kinds raised by module code. Values 1..8 are wabt's wasm_rt_trap_t;
 * the rest are ringfence's own. */
enum {
  RF_TRAP_NONE = 0,
  RF_TRAP_OOB = 1,
  RF_TRAP_INT_OVERFLOW = 2,
  RF_TRAP_DIV_BY_ZERO = 3,
  RF_TRAP_INVALID_CONVERSION = 4,
  RF_TRAP_UNREACHABLE = 5,
  RF_TRAP_CALL_INDIRECT = 6,
  RF_TRAP_UNCAUGHT_EXCEPTION = 7,
  RF_TRAP_EXHAUSTION = 8,
  RF_TRAP_EXIT = 64,         /* proc_exit() from module code */
  RF_TRAP_MEMORY_LIMIT = 65, /* instantiation needs more than the limit */
  RF_TRAP_TIMEOUT = 66,      /* the call's deadline passed (watchdog) */
  RF_TRAP_KILLED = 67,       /* the host killed the compartment */
  RF_TRAP_INJECTED = 68,     /* a fault injected on purpose (testing) */
  /* Process backend (the worker process died): */
  RF_TRAP_SIGNAL = 69,       /* a fatal signal no other kind describes */
  RF_TRAP_SYSCALL = 70,      /* a system call its sandbox denies */
  RF_TRAP_PROTOCOL = 71,     /* garbage on the channel */
  RF_TRAP_WORKER = 72,       /* the worker could not start, or vanished */
};

/* Most module code addresses a trap's backtrace records. */
#define RF_BACKTRACE_MAX 32

/* A recovery point. Lives in the frame of whatever armed it: a module-side
 * gate trampoline, or the host's inline call path. A trap jumps back to it
 * with an unwinder compiled by the same compiler as the __builtin_setjmp that
 * filled `jmp` (the buffer's layout is the compiler's): the module's own for
 * frames its gates armed (marked by RF_FRAME_MODULE_GATE in `instance`), the
 * thread's inline_unwind for the host's. */
typedef struct rf_frame {
  void* jmp[5];             /* __builtin_setjmp buffer */
  struct rf_frame* prev;    /* enclosing gate on this thread, or NULL */
  void* instance;           /* wasm2c instance the gate entered, maybe marked */
} rf_frame;

typedef void (*rf_unwind_fn)(rf_frame* frame) __attribute__((noreturn));

/* Instances are 64-byte aligned, so the low bit of a frame's `instance` is
 * free to say which unwinder the frame needs. */
#define RF_FRAME_MODULE_GATE ((uintptr_t)1)

static inline void* rf_frame_instance(const rf_frame* frame) {
  return (void*)((uintptr_t)frame->instance & ~RF_FRAME_MODULE_GATE);
}

/* Per-thread gate state, owned by the host (one per thread). The innermost
 * gate is `top`; a trap records what happened here before unwinding. */
typedef struct rf_thread {
  rf_frame* top;
  /* Unwinder for frames the host armed inline (null until the host's inline
   * call path first ran on this thread). */
  rf_unwind_fn inline_unwind;
  uint32_t trap_kind;       /* RF_TRAP_*, RF_TRAP_NONE while no trap pending */
  int32_t exit_code;        /* for RF_TRAP_EXIT */
  uintptr_t trap_pc;        /* code address that trapped, 0 if unknown */
  uint64_t fault_address;   /* host address of a memory fault, 0 if none */
  /* Code addresses at the trap, innermost first: the trapping instruction
   * (when known), then the call sites (return address - 1) of the frames
   * that led to it, up to the innermost gate (rf_walk_frames). The host
   * keeps the leading run that lies in module code and clears the depth. */
  uint32_t backtrace_depth;
  uintptr_t backtrace[RF_BACKTRACE_MAX];
} rf_thread;

/* Jumps back to `thread`'s innermost frame, with the right unwinder. */
static inline __attribute__((noreturn)) void rf_unwind_top(const rf_thread* thread,
                                                           rf_unwind_fn module_unwind) {
  rf_frame* frame = thread->top;
  if (((uintptr_t)frame->instance & RF_FRAME_MODULE_GATE) != 0) module_unwind(frame);
  thread->inline_unwind(frame);
}

#ifdef __cplusplus
}
#endif

#endif /* RINGFENCE_GATE_ABI_H_ */
