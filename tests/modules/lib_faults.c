/* lib_faults: a module for the fault-injection tests. Its exports leave a
 * side effect the host can see after the instance is gone (a counter in the
 * shared region "counter"), pass named fault points (RF_FAULT_POINT), and
 * hold the host lock "shared" across one. */
#include <ringfence/module.h>

/* Handle of the region "counter" in this instance (opened on first use; a
 * restart resets it to -1 with the rest of the module's state). */
static int32_t g_counter_region = -1;

static volatile uint32_t* counter(void) {
  if (g_counter_region < 0) g_counter_region = rf_region_open("counter", 7);
  return (volatile uint32_t*)(uintptr_t)(uint32_t)rf_region_offset(g_counter_region);
}

/* Increments the shared counter; returns its new value. */
RF_EXPORT(bump) int32_t bump(void) { return (int32_t)++*counter(); }

RF_EXPORT(add) int32_t add(int32_t a, int32_t b) { return a + b; }

/* Passes the fault point "io", then returns 7. */
RF_EXPORT(through_io) int32_t through_io(void) {
  RF_FAULT_POINT("io");
  return 7;
}

/* Passes the fault point "step" `count` times, bumping the shared counter
 * after each; returns `count`. */
RF_EXPORT(steps) int32_t steps(int32_t count) {
  for (int32_t i = 0; i < count; ++i) {
    RF_FAULT_POINT("step");
    ++*counter();
  }
  return count;
}

/* Nanoseconds spent passing the fault point "timed". */
RF_EXPORT(timed_point) int64_t timed_point(void) {
  int64_t start = rf_clock_ns();
  RF_FAULT_POINT("timed");
  return rf_clock_ns() - start;
}

/* Acquires the host lock "shared" (repairing nothing: it guards no data),
 * passes the fault point "locked" holding it, releases it. Returns the
 * acquire's result (RF_OK or RF_OWNER_DIED), or the first error. */
RF_EXPORT(locked_point) int32_t locked_point(void) {
  int32_t lock = rf_lock_open("shared", 6);
  if (lock < 0) return lock;
  int32_t acquired = rf_lock_acquire(lock);
  if (acquired < 0) return acquired;
  if (acquired == RF_OWNER_DIED) rf_lock_mark_consistent(lock);
  RF_FAULT_POINT("locked");
  int32_t released = rf_lock_release(lock);
  rf_handle_close(lock);
  return released < 0 ? released : acquired;
}

/* rf_fault_point with any (pointer, length): for the error cases. */
RF_EXPORT(point_raw) int32_t point_raw(int32_t name, int32_t length) {
  return rf_fault_point((const char*)(uintptr_t)(uint32_t)name, (uint32_t)length);
}
