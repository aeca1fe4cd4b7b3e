/* Gates: the recovery points every call into module code passes through.
 *
 * Included only by the generated gates file, which is compiled as its own
 * translation unit: a gate then calls module code it cannot see into, so the
 * compiler must assume that call can come back through the recovery point
 * and keeps the frame and the jump target intact. (Inlined into the module's
 * code, a leaf call lets the compiler drop both, since only a signal handler
 * would observe them.)
 */
#ifndef RINGFENCE_MODULE_GATE_H_
#define RINGFENCE_MODULE_GATE_H_

#include "ringfence/internal/module_abi.h"

/* Arms recovery for the module code the enclosing function calls. On a trap,
 * control returns here a second time and `on_trap` runs; the host reads the
 * trap from the thread. A few stores and no system call. */
#define RF_GATE_BEGIN(thread, inst, on_trap) \
  rf_frame rf_gate_frame;                    \
  rf_gate_frame.prev = (thread)->top;        \
  rf_gate_frame.instance = (void*)((uintptr_t)(inst) | RF_FRAME_MODULE_GATE); \
  if (__builtin_setjmp(rf_gate_frame.jmp)) { \
    (thread)->top = rf_gate_frame.prev;      \
    on_trap;                                 \
  }                                          \
  (thread)->top = &rf_gate_frame

#define RF_GATE_END(thread) (thread)->top = rf_gate_frame.prev

/* Jumps back to a gate's recovery point; built by the same compiler as the
 * gates, as __builtin_longjmp requires. */
__attribute__((noreturn)) void rf_unwind(rf_frame* frame) {
  __builtin_longjmp(frame->jmp, 1);
}

#endif /* RINGFENCE_MODULE_GATE_H_ */
