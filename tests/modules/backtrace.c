/* backtrace: traps three calls deep, for the trap backtrace tests.
 *
 * Each export enters outer_*, which calls middle_*, which calls inner_*, which
 * traps. The functions are kept apart at both levels: noinline for the wasm
 * compiler, and calls through volatile function pointers (call_indirect in
 * wasm, an indirect call in the native code) so the native compiler cannot
 * inline wasm2c's functions into each other either.
 */
#include <stdlib.h>

#include <ringfence/module.h>

static volatile int32_t g_zero = 0;
static volatile int32_t g_one = 1;
static volatile int32_t g_sink;

typedef int32_t (*step_fn)(int32_t);

/* Out-of-bounds load: a signal in the innermost function. */
__attribute__((noinline)) static int32_t inner_load(int32_t x) {
  return *(volatile int32_t*)(uintptr_t)(0xfffffff0u - (uint32_t)g_zero) + x;
}
static step_fn volatile g_inner_load = inner_load;
__attribute__((noinline)) static int32_t middle_load(int32_t x) {
  int32_t result = g_inner_load(x + 1);
  g_sink = result;  /* a use after the call: no tail call */
  return result;
}
static step_fn volatile g_middle_load = middle_load;
__attribute__((noinline)) static int32_t outer_load(int32_t x) {
  int32_t result = g_middle_load(x + 1);
  g_sink = result;
  return result;
}
static step_fn volatile g_outer_load = outer_load;
RF_EXPORT(nested_out_of_bounds) int32_t nested_out_of_bounds(int32_t x) { return g_outer_load(x) + 1; }

/* Divide by zero: a trap the module's runtime raises (wasm2c's check). */
__attribute__((noinline)) static int32_t inner_divide(int32_t x) { return x / g_zero; }
static step_fn volatile g_inner_divide = inner_divide;
__attribute__((noinline)) static int32_t middle_divide(int32_t x) {
  int32_t result = g_inner_divide(x + 1);
  g_sink = result;
  return result;
}
static step_fn volatile g_middle_divide = middle_divide;
__attribute__((noinline)) static int32_t outer_divide(int32_t x) {
  int32_t result = g_middle_divide(x + 1);
  g_sink = result;
  return result;
}
static step_fn volatile g_outer_divide = outer_divide;
RF_EXPORT(nested_divide) int32_t nested_divide(int32_t x) { return g_outer_divide(x) + 1; }

/* abort(): unreachable, raised in libc's abort below inner_abort. */
__attribute__((noinline)) static int32_t inner_abort(int32_t x) {
  if (x >= 0) abort();
  return x;
}
static step_fn volatile g_inner_abort = inner_abort;
__attribute__((noinline)) static int32_t middle_abort(int32_t x) {
  int32_t result = g_inner_abort(x + 1);
  g_sink = result;
  return result;
}
static step_fn volatile g_middle_abort = middle_abort;
__attribute__((noinline)) static int32_t outer_abort(int32_t x) {
  int32_t result = g_middle_abort(x + 1);
  g_sink = result;
  return result;
}
static step_fn volatile g_outer_abort = outer_abort;
RF_EXPORT(nested_abort) int32_t nested_abort(int32_t x) { return g_outer_abort(x) + 1; }

/* A host service traps the module: sleeping past the call's deadline. */
__attribute__((noinline)) static int32_t inner_sleep(int32_t x) {
  rf_sleep_ns(UINT64_C(60) * 1000000000u);
  return x;
}
static step_fn volatile g_inner_sleep = inner_sleep;
__attribute__((noinline)) static int32_t middle_sleep(int32_t x) {
  int32_t result = g_inner_sleep(x + 1);
  g_sink = result;
  return result;
}
static step_fn volatile g_middle_sleep = middle_sleep;
__attribute__((noinline)) static int32_t outer_sleep(int32_t x) {
  int32_t result = g_middle_sleep(x + 1);
  g_sink = result;
  return result;
}
static step_fn volatile g_outer_sleep = outer_sleep;
RF_EXPORT(nested_sleep) int32_t nested_sleep(int32_t x) { return g_outer_sleep(x) + 1; }

/* Spins until the watchdog preempts it (a signal at any instruction). */
__attribute__((noinline)) static int32_t inner_spin(int32_t x) {
  for (;;) g_sink = x;
}
static step_fn volatile g_inner_spin = inner_spin;
__attribute__((noinline)) static int32_t middle_spin(int32_t x) {
  int32_t result = g_inner_spin(x + 1);
  g_sink = result;
  return result;
}
static step_fn volatile g_middle_spin = middle_spin;
__attribute__((noinline)) static int32_t outer_spin(int32_t x) {
  int32_t result = g_middle_spin(x + 1);
  g_sink = result;
  return result;
}
static step_fn volatile g_outer_spin = outer_spin;
RF_EXPORT(nested_spin) int32_t nested_spin(int32_t x) { return g_outer_spin(x) + 1; }

/* Deep recursion that then traps: the backtrace stops at RF_BACKTRACE_MAX. */
__attribute__((noinline)) static int32_t deep(int32_t n) {
  if (n == 0) return (n + g_one) / g_zero;
  int32_t result = deep(n - 1);
  g_sink = result;
  return result;
}
RF_EXPORT(deep_divide) int32_t deep_divide(int32_t n) { return deep(n); }
