/* lib_backend: the callee of nested-call tests. Linked under the import
 * module name "backend" by lib_frontend. */
#include <ringfence/module.h>

static int32_t calls;

RF_EXPORT(compute) int32_t compute(int32_t x) {
  ++calls;
  return x * 2;
}

RF_EXPORT(calls_served) int32_t calls_served(void) { return calls; }

RF_EXPORT(divide) int32_t divide(int32_t x) {
  volatile int32_t zero = 0;
  return x / zero;
}

/* Sleeps `ms` milliseconds in the host (a blocking host service), then
 * returns `ms`. */
RF_EXPORT(sleep_ms) int32_t sleep_ms(int32_t ms) {
  rf_sleep_ns((int64_t)ms * 1000000);
  return ms;
}

/* Never returns on its own. */
RF_EXPORT(spin) int32_t spin(int32_t x) {
  volatile int32_t forever = 1;
  while (forever) ++x;
  return x;
}
