/* lib_locks: uses host-provided locks (rf_lock_*) the way real modules do,
 * and misuses them the ways tests need: dies holding a lock, passes forged
 * handles and bad names, acquires twice. Handles are returned to the host,
 * which passes them back; they are only valid in the instance that opened
 * them. Every export returns the RF_* code it got, so the host sees exactly
 * what the service answered. */
#include <ringfence/module.h>

/* The host writes a lock name here (Window::CopyIn), then calls open_name. */
static char g_name[64];

RF_EXPORT(name_buffer) int32_t name_buffer(void) { return (int32_t)(uintptr_t)g_name; }

/* rf_lock_open on the first `length` bytes of the name buffer. */
RF_EXPORT(open_name) int32_t open_name(int32_t length) { return rf_lock_open(g_name, (size_t)length); }

/* Opens the lock the tests provide as "shared". */
RF_EXPORT(open_shared) int32_t open_shared(void) { return rf_lock_open("shared", 6); }

/* rf_lock_open with any (pointer, length): for the error cases. */
RF_EXPORT(open_raw) int32_t open_raw(int32_t name, int32_t length) {
  return rf_lock_open((const char*)(uintptr_t)(uint32_t)name, (size_t)(uint32_t)length);
}

RF_EXPORT(acquire) int32_t acquire(int32_t handle) { return rf_lock_acquire(handle); }
RF_EXPORT(release) int32_t release(int32_t handle) { return rf_lock_release(handle); }
RF_EXPORT(mark_consistent) int32_t mark_consistent(int32_t handle) {
  return rf_lock_mark_consistent(handle);
}
RF_EXPORT(close_handle) int32_t close_handle(int32_t handle) { return rf_handle_close(handle); }

/* Acquires and then traps (unreachable) while holding the lock. Returns the
 * acquire's error if it failed. */
RF_EXPORT(acquire_then_trap) int32_t acquire_then_trap(int32_t handle) {
  int32_t result = rf_lock_acquire(handle);
  if (result < 0) return result;
  __builtin_trap();
}

/* Divides: traps (divide by zero) for divisor 0, whatever locks are held. */
RF_EXPORT(divide) int32_t divide(int32_t dividend, int32_t divisor) { return dividend / divisor; }

/* `count` uncontended acquire/release pairs: RF_OK, or the first error. */
RF_EXPORT(acquire_release_loop) int32_t acquire_release_loop(int32_t handle, int32_t count) {
  for (int32_t i = 0; i < count; ++i) {
    int32_t result = rf_lock_acquire(handle);
    if (result != RF_OK) return result;
    result = rf_lock_release(handle);
    if (result != RF_OK) return result;
  }
  return RF_OK;
}

/* ---- With a shared region (rf_region_*): data the lock guards. ---- */

/* The guarded record at the start of the region: two counters an update
 * keeps equal. A holder that dies between the two stores leaves them
 * different: that is what "owner died" protects against. */
typedef struct {
  uint32_t first;
  uint32_t second;
} Record;

/* Opens the region the tests map as "record". */
RF_EXPORT(open_record) int32_t open_record(void) { return rf_region_open("record", 6); }

static volatile Record* record_of(int32_t region) {
  return (volatile Record*)(uintptr_t)(uint32_t)rf_region_offset(region);
}

/* `count` times: acquire, increment both counters of the record (with
 * plain loads and stores: only the lock makes this safe), release. RF_OK,
 * or the first error (an owner-died acquire is repaired and counted). */
RF_EXPORT(locked_increments) int32_t locked_increments(int32_t lock, int32_t region, int32_t count) {
  volatile Record* record = record_of(region);
  for (int32_t i = 0; i < count; ++i) {
    int32_t result = rf_lock_acquire(lock);
    if (result < 0) return result;
    if (result == RF_OWNER_DIED) {
      record->second = record->first;
      rf_lock_mark_consistent(lock);
    }
    uint32_t first = record->first;
    record->first = first + 1;
    uint32_t second = record->second;
    record->second = second + 1;
    result = rf_lock_release(lock);
    if (result != RF_OK) return result;
  }
  return RF_OK;
}

/* Acquires, increments the first counter only, and traps before the second:
 * dies halfway through an update. */
RF_EXPORT(half_update_then_trap) int32_t half_update_then_trap(int32_t lock, int32_t region) {
  volatile Record* record = record_of(region);
  int32_t result = rf_lock_acquire(lock);
  if (result < 0) return result;
  record->first = record->first + 1;
  __builtin_trap();
}

/* Acquires and checks the record; the lock stays held. Returns the
 * acquire's result (RF_OK, RF_OWNER_DIED), plus 10 if the record was torn.
 * After RF_OWNER_DIED the record is repaired and the lock marked consistent.
 * Errors as they come. */
RF_EXPORT(acquire_and_check) int32_t acquire_and_check(int32_t lock, int32_t region) {
  volatile Record* record = record_of(region);
  int32_t result = rf_lock_acquire(lock);
  if (result < 0) return result;
  int32_t torn = record->first != record->second ? 10 : 0;
  if (result == RF_OWNER_DIED) {
    record->second = record->first;
    int32_t marked = rf_lock_mark_consistent(lock);
    if (marked != RF_OK) return marked;
  }
  return result + torn;
}
