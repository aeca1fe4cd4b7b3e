/* lib_spare: the module of the warm-spare tests. Its start-up code reports
 * to the host through a region the host may map as "control" (word 0 counts
 * start-ups, a nonzero word 1 makes start-up trap), so a test can make a
 * spare's start-up fail. It also keeps state a restart resets, uses a
 * provided lock ("shared"), a region ("data") and a linked import
 * ("backend" -> lib_backend). */
#include <ringfence/module.h>

RF_IMPORT(backend, compute) int32_t backend_compute(int32_t x);

static int32_t g_counter;
static int32_t g_started;

__attribute__((constructor)) static void start_up(void) {
  g_started = 1;
  int32_t region = rf_region_open("control", 7);
  if (region < 0) return;
  volatile uint32_t* words = (volatile uint32_t*)(uintptr_t)(uint32_t)rf_region_offset(region);
  words[0] = words[0] + 1;
  uint32_t fail = words[1];
  rf_handle_close(region);
  if (fail != 0) __builtin_trap();
}

/* 1 if this instance's start-up ran. */
RF_EXPORT(started) int32_t started(void) { return g_started; }
/* State a restart resets: 1 on a fresh instance. */
RF_EXPORT(bump) int32_t bump(void) { return ++g_counter; }
/* Traps (divide by zero, raised by module code: no signal) for b == 0. */
RF_EXPORT(divide) int32_t divide(int32_t a, int32_t b) { return a / b; }
/* Loads one byte at any window address: out of bounds past the memory. */
RF_EXPORT(load_at) int32_t load_at(int32_t address) {
  return *(volatile uint8_t*)(uintptr_t)(uint32_t)address;
}

/* ---- The region "data". ---- */
static int32_t data_handle(void) { return rf_region_open("data", 4); }

/* Window offset of "data", or the RF_E* error of opening it. */
RF_EXPORT(data_offset) int32_t data_offset(void) {
  int32_t region = data_handle();
  if (region < 0) return region;
  int32_t offset = rf_region_offset(region);
  rf_handle_close(region);
  return offset;
}

RF_EXPORT(data_read) int32_t data_read(int32_t index) {
  int32_t region = data_handle();
  if (region < 0) return region;
  volatile uint8_t* base = (volatile uint8_t*)(uintptr_t)(uint32_t)rf_region_offset(region);
  int32_t value = base[(uint32_t)index];
  rf_handle_close(region);
  return value;
}

RF_EXPORT(data_write) int32_t data_write(int32_t index, int32_t value) {
  int32_t region = data_handle();
  if (region < 0) return region;
  volatile uint8_t* base = (volatile uint8_t*)(uintptr_t)(uint32_t)rf_region_offset(region);
  base[(uint32_t)index] = (uint8_t)value;
  rf_handle_close(region);
  return 0;
}

/* ---- The lock "shared": handles are returned to the host. ---- */
RF_EXPORT(open_shared) int32_t open_shared(void) { return rf_lock_open("shared", 6); }
RF_EXPORT(acquire) int32_t acquire(int32_t handle) { return rf_lock_acquire(handle); }
RF_EXPORT(release) int32_t release(int32_t handle) { return rf_lock_release(handle); }
RF_EXPORT(mark_consistent) int32_t mark_consistent(int32_t handle) {
  return rf_lock_mark_consistent(handle);
}
/* Acquires and traps holding the lock; the acquire's error if it failed. */
RF_EXPORT(acquire_then_trap) int32_t acquire_then_trap(int32_t handle) {
  int32_t result = rf_lock_acquire(handle);
  if (result < 0) return result;
  __builtin_trap();
}

/* ---- backend.compute(x), or -RF_CALL_* if the linked call failed. ---- */
RF_EXPORT(via_compute) int32_t via_compute(int32_t x) {
  int32_t result = backend_compute(x);
  return rf_call_status() == RF_CALL_OK ? result : -(int32_t)rf_call_status();
}
