/* compute: CPU-bound work, the same C built as a module and natively, to
 * measure what running in a window costs (compute_ratio).
 *
 * Three kernels with different shapes: integer hashing over memory (FNV-1a
 * over a buffer the kernel fills), a prime sieve (byte loads and stores,
 * branches) and a dense matrix multiply (doubles).
 */
#include <stdint.h>
#include <string.h>

#include <ringfence/module.h>

#define SIEVE_LIMIT 200000
#define MATRIX_N 48
#define HASH_BYTES 65536

static uint8_t g_sieve[SIEVE_LIMIT + 1];
static double g_a[MATRIX_N][MATRIX_N], g_b[MATRIX_N][MATRIX_N], g_c[MATRIX_N][MATRIX_N];
static uint8_t g_data[HASH_BYTES];

static int32_t count_primes(void) {
  memset(g_sieve, 1, sizeof(g_sieve));
  g_sieve[0] = g_sieve[1] = 0;
  for (int32_t i = 2; (int64_t)i * i <= SIEVE_LIMIT; ++i) {
    if (!g_sieve[i]) continue;
    for (int32_t j = i * i; j <= SIEVE_LIMIT; j += i) g_sieve[j] = 0;
  }
  int32_t count = 0;
  for (int32_t i = 0; i <= SIEVE_LIMIT; ++i) count += g_sieve[i];
  return count;
}

static double multiply_matrices(int32_t seed) {
  for (int i = 0; i < MATRIX_N; ++i) {
    for (int j = 0; j < MATRIX_N; ++j) {
      g_a[i][j] = (double)((i * 31 + j * 17 + seed) % 97) / 97.0;
      g_b[i][j] = (double)((i * 13 + j * 7 + seed) % 89) / 89.0;
    }
  }
  for (int i = 0; i < MATRIX_N; ++i) {
    for (int j = 0; j < MATRIX_N; ++j) {
      double sum = 0;
      for (int k = 0; k < MATRIX_N; ++k) sum += g_a[i][k] * g_b[k][j];
      g_c[i][j] = sum;
    }
  }
  double trace = 0;
  for (int i = 0; i < MATRIX_N; ++i) trace += g_c[i][i];
  return trace;
}

static uint32_t hash_data(int32_t seed) {
  uint32_t state = (uint32_t)seed * 2654435761u + 1;
  for (int32_t i = 0; i < HASH_BYTES; ++i) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    g_data[i] = (uint8_t)state;
  }
  uint32_t hash = 2166136261u;
  for (int32_t i = 0; i < HASH_BYTES; ++i) hash = (hash ^ g_data[i]) * 16777619u;
  return hash;
}

/* Runs every kernel `rounds` times; returns a checksum so the work is not
 * optimised away and both builds can be checked to agree. */
RF_EXPORT(compute_workload) int64_t compute_workload(int32_t rounds) {
  int64_t checksum = 0;
  for (int32_t r = 0; r < rounds; ++r) {
    checksum += count_primes();
    checksum += (int64_t)(multiply_matrices(r) * 1000.0);
    checksum += hash_data(r);
  }
  return checksum;
}

/* The cheapest possible export: the gate's own cost. */
RF_EXPORT(compute_add) int32_t compute_add(int32_t a, int32_t b) { return a + b; }

/* Import-call cost: `n` calls to a host service that returns at once (a log
 * message outside the module's memory is dropped after its bounds check). */
#if defined(__wasm__)
RF_EXPORT(compute_import_calls) int32_t compute_import_calls(int32_t n) {
  for (int32_t i = 0; i < n; ++i) rf_log(RF_LOG_DEBUG, (const char*)(uintptr_t)0xfffffff0u, 16);
  return n;
}
#endif
