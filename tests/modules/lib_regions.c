/* lib_regions: uses shared memory regions the host maps into its window
 * (rf_region_open, rf_region_offset, rf_region_size), with plain pointer
 * loads and stores. Accesses go through volatile pointers so clang neither
 * drops them nor turns loops into memory.fill/memory.copy (bulk-memory
 * instructions are checked against the module's own memory size and would
 * trap on region addresses). */
#include <ringfence/module.h>

/* The host writes a region name here (Window::CopyIn), then calls open_name. */
static char g_name[64];

/* A region's first byte, as a pointer; offsets are uint32 bits. */
static volatile uint8_t* region_base(int32_t handle) {
  return (volatile uint8_t*)(uintptr_t)(uint32_t)rf_region_offset(handle);
}

RF_EXPORT(name_buffer) int32_t name_buffer(void) { return (int32_t)(uintptr_t)g_name; }

/* rf_region_open on the first `length` bytes of the name buffer. */
RF_EXPORT(open_name) int32_t open_name(int32_t length) {
  return rf_region_open(g_name, (size_t)length);
}

/* rf_region_open with any (pointer, length): for the error cases. */
RF_EXPORT(open_raw) int32_t open_raw(int32_t name, int32_t length) {
  return rf_region_open((const char*)(uintptr_t)(uint32_t)name, (size_t)(uint32_t)length);
}

RF_EXPORT(offset) int32_t offset(int32_t handle) { return rf_region_offset(handle); }
RF_EXPORT(size) int32_t size(int32_t handle) { return rf_region_size(handle); }
RF_EXPORT(close_handle) int32_t close_handle(int32_t handle) { return rf_handle_close(handle); }

/* Byte `index` of the region. */
RF_EXPORT(read_byte) int32_t read_byte(int32_t handle, int32_t index) {
  return region_base(handle)[(uint32_t)index];
}

RF_EXPORT(write_byte) void write_byte(int32_t handle, int32_t index, int32_t value) {
  region_base(handle)[(uint32_t)index] = (uint8_t)value;
}

/* Writes byte `index` and then traps (unreachable): a write left behind by
 * an instance that died. */
RF_EXPORT(write_then_trap) void write_then_trap(int32_t handle, int32_t index, int32_t value) {
  region_base(handle)[(uint32_t)index] = (uint8_t)value;
  __builtin_trap();
}

/* Fills bytes [0, count) with (seed + i) & 0xff. */
RF_EXPORT(fill) void fill(int32_t handle, int32_t count, int32_t seed) {
  volatile uint8_t* base = region_base(handle);
  for (uint32_t i = 0; i < (uint32_t)count; ++i) base[i] = (uint8_t)(seed + i);
}

/* How many of bytes [0, count) equal (seed + i) & 0xff. */
RF_EXPORT(count_matching) int32_t count_matching(int32_t handle, int32_t count, int32_t seed) {
  volatile uint8_t* base = region_base(handle);
  int32_t matching = 0;
  for (uint32_t i = 0; i < (uint32_t)count; ++i) matching += base[i] == (uint8_t)(seed + i);
  return matching;
}

/* Loads one byte at any window address (no handle). */
RF_EXPORT(load_at) int32_t load_at(int32_t address) {
  return *(volatile uint8_t*)(uintptr_t)(uint32_t)address;
}

/* Module state that a restart resets (to tell an old instance from a new). */
static int32_t g_counter;
RF_EXPORT(bump) int32_t bump(void) { return ++g_counter; }
