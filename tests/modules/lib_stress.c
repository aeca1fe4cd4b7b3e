/* lib_stress: the module of the stress test. Every call takes the shared
 * lock "L", checks and updates the shared region "R" under it, and may fail
 * on purpose while holding the lock. `nested` does the same one level down,
 * through the import "callee" (another compartment of this module).
 *
 * Region layout (int32): [0] id of the compartment inside the critical
 * section (0: none), [1] completed sections, [2] repairs after owner death. */
#include <ringfence/module.h>

RF_IMPORT(callee, guarded) int32_t callee_guarded(int32_t fault, int32_t me);

enum {
  kFaultNone = 0,
  kFaultTrap = 1,   /* divide by zero while holding the lock */
  kFaultSpin = 2,   /* loop forever while holding it (watchdog) */
  kFaultSleep = 3,  /* block in a host service while holding it (watchdog) */
  kFaultTrapOutside = 4,
};

static int32_t lock_handle;
static volatile int32_t* shared;
static volatile int32_t zero;

/* Handles die with the instance: a fresh instance opens them again. */
static int32_t open_objects(void) {
  if (lock_handle > 0) return 0;
  lock_handle = rf_lock_open("L", 1);
  int32_t region = rf_region_open("R", 1);
  if (lock_handle <= 0 || region <= 0) return -1;
  shared = (volatile int32_t*)(uintptr_t)rf_region_offset(region);
  return 0;
}

/* 1: clean; 2: repaired after an owner died; -1: someone else was inside
 * the critical section (mutual exclusion broken); -2: no lock or region;
 * -100 + RF_E*: acquiring failed; -200 + RF_E*: releasing failed. */
RF_EXPORT(guarded) int32_t guarded(int32_t fault, int32_t me) {
  if (fault == kFaultTrapOutside) return 1 / zero;
  if (open_objects() != 0) return -2;
  int32_t acquired = rf_lock_acquire(lock_handle);
  int32_t result = 1;
  if (acquired == RF_OWNER_DIED) {
    shared[0] = 0; /* the dead owner's half-done section */
    shared[2] += 1;
    rf_lock_mark_consistent(lock_handle);
    result = 2;
  } else if (acquired != RF_OK) {
    return -100 + acquired;
  }
  if (shared[0] != 0) result = -1;
  shared[0] = me;
  if (fault == kFaultTrap) result = 1 / zero;
  if (fault == kFaultSpin) {
    for (;;) shared[1] += 0;
  }
  if (fault == kFaultSleep) rf_sleep_ns(60 * 1000000000LL);
  shared[1] += 1;
  shared[0] = 0;
  int32_t released = rf_lock_release(lock_handle);
  if (released != RF_OK) return -200 + released;
  return result;
}

/* guarded() in the linked callee; -10 - RF_CALL_* if that call failed. */
RF_EXPORT(nested) int32_t nested(int32_t fault, int32_t me) {
  int32_t result = callee_guarded(fault, me);
  if (rf_call_status() != RF_CALL_OK) return -10 - rf_call_status();
  return result;
}
