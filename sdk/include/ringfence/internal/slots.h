/* Arguments and results of calls as 64-bit slots, shared by the host, the
 * wasm module runtime and the generated glue of native modules. C. */
#ifndef RINGFENCE_SLOTS_H_
#define RINGFENCE_SLOTS_H_

#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Arguments and results as 64-bit slots: the value's bits in the low end. */
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

#ifdef __cplusplus
}
#endif

#endif /* RINGFENCE_SLOTS_H_ */
