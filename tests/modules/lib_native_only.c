/* lib_native_only: a module only a native build (`ringfence build --native`,
 * the process backend) can make: it reads the CPU's time-stamp counter and
 * vendor string with x86-64 inline assembly, which does not compile for
 * wasm32. Also what tests of the native toolchain call directly: a linked
 * import, and constructors (this C one, and a C++ static initializer in
 * lib_native_only_cxx.cc) that must run only when the worker calls start(). */
#include <stdint.h>

#include <ringfence/module.h>

RF_IMPORT(peer, twice) int32_t peer_twice(int32_t value);
RF_IMPORT(peer, mix) double peer_mix(int64_t a, float b, double c);

static volatile int32_t g_c_constructor_runs;

__attribute__((constructor)) static void count_c_constructor(void) { g_c_constructor_runs += 1; }

/* Defined by the C++ source; counts its static initializer's runs. */
int32_t native_only_cxx_initializer_runs(void);

RF_EXPORT(c_constructor_runs) int32_t c_constructor_runs(void) { return g_c_constructor_runs; }
RF_EXPORT(cxx_initializer_runs) int32_t cxx_initializer_runs(void) {
  return native_only_cxx_initializer_runs();
}

/* Low 32 bits of the time-stamp counter. */
RF_EXPORT(cycles) int32_t cycles(void) {
  uint32_t low, high;
  __asm__ volatile("rdtsc" : "=a"(low), "=d"(high));
  return (int32_t)low;
}

/* The first four bytes of the CPU vendor string ("Genu", "Auth", ...). */
RF_EXPORT(vendor_word) int32_t vendor_word(void) {
  uint32_t eax = 0, ebx, ecx, edx;
  __asm__ volatile("cpuid" : "+a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx));
  return (int32_t)ebx;
}
RF_IDEMPOTENT(vendor_word)

RF_EXPORT(call_twice) int32_t call_twice(int32_t value) { return peer_twice(value) + 1; }
RF_EXPORT(call_mix) double call_mix(int64_t a, float b, double c) { return peer_mix(a, b, c); }
