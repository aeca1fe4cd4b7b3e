/* lib_frontend: calls another module through imports the host links
 * ("backend" -> lib_backend), and itself ("self" -> its own exports, for
 * re-entry host -> A -> host -> A). Every import call is followed by a log
 * line, so a test can see whether any of this module's code ran after the
 * callee returned. */
#include <ringfence/module.h>

RF_IMPORT(backend, compute) int32_t backend_compute(int32_t x);
RF_IMPORT(backend, divide) int32_t backend_divide(int32_t x);
RF_IMPORT(backend, sleep_ms) int32_t backend_sleep_ms(int32_t ms);
RF_IMPORT(backend, spin) int32_t backend_spin(int32_t x);
RF_IMPORT(self, leaf) int32_t self_leaf(int32_t x);
RF_IMPORT(self, leaf_trap) int32_t self_leaf_trap(int32_t x);

static int32_t counter;

static int32_t after_call(int32_t result) {
  rf_log_str(RF_LOG_INFO, "frontend resumed");
  return rf_call_status() == RF_CALL_OK ? result : -rf_call_status();
}

/* backend.compute(x), or -RF_CALL_* if the call failed. */
RF_EXPORT(via_compute) int32_t via_compute(int32_t x) { return after_call(backend_compute(x)); }
RF_EXPORT(via_divide) int32_t via_divide(int32_t x) { return after_call(backend_divide(x)); }
RF_EXPORT(via_sleep) int32_t via_sleep(int32_t ms) { return after_call(backend_sleep_ms(ms)); }
RF_EXPORT(via_spin) int32_t via_spin(int32_t x) { return after_call(backend_spin(x)); }

/* State that survives calls, and proves the instance lived. */
RF_EXPORT(bump) int32_t bump(void) { return ++counter; }

RF_EXPORT(leaf) int32_t leaf(int32_t x) { return x + 1; }
RF_EXPORT(leaf_trap) int32_t leaf_trap(int32_t x) {
  volatile int32_t zero = 0;
  return x / zero;
}
/* host -> frontend -> host -> frontend.leaf */
RF_EXPORT(reenter) int32_t reenter(int32_t x) { return after_call(self_leaf(x)) * 10; }
/* The inner frame traps: the outer frame must not resume. */
RF_EXPORT(reenter_trap) int32_t reenter_trap(int32_t x) { return after_call(self_leaf_trap(x)); }
/* `count` calls of self.leaf: a thread that spends its time crossing. The
 * sum of leaf(0..count-1), or -RF_CALL_* from the first call that failed. */
RF_EXPORT(reenter_many) int32_t reenter_many(int32_t count) {
  int32_t sum = 0;
  for (int32_t i = 0; i < count; ++i) {
    sum += self_leaf(i);
    if (rf_call_status() != RF_CALL_OK) return -rf_call_status();
  }
  return sum;
}

/* Sleeps in the host (a blocking host service). */
RF_EXPORT(sleep_ms) int32_t sleep_ms(int32_t ms) {
  int32_t result = rf_sleep_ns((int64_t)ms * 1000000);
  rf_log_str(RF_LOG_INFO, "frontend resumed");
  return result;
}

RF_EXPORT(spin) int32_t spin(int32_t x) {
  volatile int32_t forever = 1;
  while (forever) ++x;
  return x;
}
