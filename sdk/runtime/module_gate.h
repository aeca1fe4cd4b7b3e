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

#include <string.h>

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

/* Argument and result slots of rf_export.call: 64 bits each, the value's bits
 * in the low end. */
static inline uint32_t rf_slot_to_u32(uint64_t slot) { return (uint32_t)slot; }
static inline uint64_t rf_slot_to_u64(uint64_t slot) { return slot; }
static inline float rf_slot_to_f32(uint64_t slot) {
  uint32_t bits = (uint32_t)slot;
  float value;
  memcpy(&value, &bits, sizeof(value));
  return value;
}
static inline double rf_slot_to_f64(uint64_t slot) {
  double value;
  memcpy(&value, &slot, sizeof(value));
  return value;
}
static inline uint64_t rf_u32_to_slot(uint32_t value) { return value; }
static inline uint64_t rf_u64_to_slot(uint64_t value) { return value; }
static inline uint64_t rf_f32_to_slot(float value) {
  uint32_t bits;
  memcpy(&bits, &value, sizeof(bits));
  return bits;
}
static inline uint64_t rf_f64_to_slot(double value) {
  uint64_t bits;
  memcpy(&bits, &value, sizeof(bits));
  return bits;
}

#endif /* RINGFENCE_MODULE_GATE_H_ */
