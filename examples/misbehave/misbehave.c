/* misbehave: a module that goes wrong on purpose, one export per trap kind.
 * Each call kills only this module's compartment; the next call runs on a
 * fresh instance.
 *
 *   ringfence call misbehave.rfm divide_by_zero   -> trap: divide-by-zero ...
 *   ringfence call misbehave.rfm alive            -> 1
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ringfence/module.h>

static volatile int32_t g_zero = 0;
static volatile int32_t g_seven = 7;
static volatile int32_t g_minus_one = -1;
static volatile double g_nan = __builtin_nan("");
static volatile int32_t g_sink;
static void* volatile g_last_block;

/* Proof of life: 1, and how many calls this instance has served. */
static int32_t g_calls;
RF_EXPORT(alive) int32_t alive(void) { return 1; }
RF_EXPORT(calls) int32_t calls(void) { return ++g_calls; }

/* Loads and stores far outside the module's memory (but inside its window). */
RF_EXPORT(out_of_bounds_load) int32_t out_of_bounds_load(void) {
  return *(volatile int32_t*)(uintptr_t)0xfffffff0u;
}
RF_EXPORT(out_of_bounds_store) void out_of_bounds_store(int32_t offset) {
  *(volatile int32_t*)(uintptr_t)(uint32_t)offset = 42;
}

RF_EXPORT(unreachable) void unreachable(void) { __builtin_trap(); }
RF_EXPORT(abort_now) void abort_now(void) { abort(); }

RF_EXPORT(divide_by_zero) int32_t divide_by_zero(void) { return g_seven / g_zero; }
RF_EXPORT(integer_overflow) int32_t integer_overflow(void) { return INT_MIN / g_minus_one; }

/* wasm's trapping float-to-int conversions (C casts would be range-checked).
 * Native code has no trapping conversion: these exist in the wasm build only. */
#if defined(__wasm__)
RF_EXPORT(invalid_conversion) int32_t invalid_conversion(void) {
  return __builtin_wasm_trunc_s_i32_f64(g_nan);
}
RF_EXPORT(conversion_overflow) int32_t conversion_overflow(void) {
  return __builtin_wasm_trunc_s_i32_f64(1e20 + g_zero);
}
#endif

/* Calls through a function pointer of the wrong type, and through null. */
static int32_t takes_one(int32_t x) { return x + 1; }
typedef int32_t (*takes_two_fn)(int32_t, int32_t);
static volatile takes_two_fn g_wrong = (takes_two_fn)(void*)takes_one;
static volatile takes_two_fn g_null;
RF_EXPORT(indirect_call_mismatch) int32_t indirect_call_mismatch(void) { return g_wrong(1, 2); }
RF_EXPORT(null_call) int32_t null_call(void) { return g_null(1, 2); }

/* Unbounded recursion on the native stack (the store after the call keeps
 * it from becoming a loop). */
static int32_t recurse(int32_t depth) {
  g_sink = depth;
  int32_t result = recurse(depth + 1);
  g_sink = result;
  return result + 1;
}
RF_EXPORT(stack_overflow) int32_t stack_overflow(void) { return recurse(0); }

RF_EXPORT(exit_with) void exit_with(int32_t code) {
  printf("exiting with %d\n", code);
  exit(code);
}

/* Prints a partial line, then traps: the host still gets the text. */
RF_EXPORT(print_then_trap) void print_then_trap(void) {
  printf("about to fail");
  fflush(stdout);
  __builtin_trap();
}

/* Allocates 1 MiB blocks until malloc says no; returns how many it got.
 * Growth past the compartment's memory limit fails (malloc returns NULL)
 * without trapping. */
RF_EXPORT(allocate_until_refused) int32_t allocate_until_refused(void) {
  int32_t blocks = 0;
  while ((g_last_block = malloc(1 << 20)) != NULL) ++blocks;
  return blocks;
}

/* Allocates and dirties `bytes` of memory (kept until the instance goes):
 * a restart must give all of it back. Returns 1 if the allocation worked. */
RF_EXPORT(dirty) int32_t dirty(int32_t bytes) {
  char* block = malloc((size_t)bytes);
  if (block != NULL) memset(block, 0xab, (size_t)bytes);
  g_last_block = block;
  return block != NULL;
}

/* Scribbles over its own memory - allowed: it is the module's to ruin. */
RF_EXPORT(scribble) int32_t scribble(int32_t bytes) {
  volatile char* memory = (volatile char*)(uintptr_t)1024;
  for (int32_t i = 0; i < bytes; ++i) memory[i] = (char)i;
  return bytes;
}

/* Recursion with a large address-taken local: it exhausts the module's own
 * 1 MiB shadow stack (in its memory), which leaves the memory and traps as
 * out-of-bounds before the module's globals are touched. */
static int32_t shadow_recurse(int32_t depth) {
  volatile char block[4096];
  block[0] = (char)depth;
  g_sink = depth;
  return shadow_recurse(depth + 1) + block[0];
}
RF_EXPORT(shadow_stack_overflow) int32_t shadow_stack_overflow(void) { return shadow_recurse(0); }

/* Allocates until malloc says no, then gives up with abort() - the usual
 * fate of C code out of memory. The trap says the limit was hit first. */
RF_EXPORT(allocate_until_death) int32_t allocate_until_death(void) {
  while ((g_last_block = malloc(1 << 20)) != NULL) {
  }
  abort();
}

/* Never returns: only the watchdog (a call deadline) or Kill ends it. */
RF_EXPORT(spin_forever) int32_t spin_forever(void) {
  for (;;) g_sink = g_sink + 1;
}

/* Waits in a host service (rf_sleep_ns) for `seconds`: a call deadline or
 * Kill ends the wait early and unwinds the call. */
RF_EXPORT(sleep_seconds) int32_t sleep_seconds(int32_t seconds) {
  rf_sleep_ns((int64_t)seconds * 1000000000);
  return seconds;
}
