/* cli_values: exports of every value type, for the CLI tests. The
 * reinterpreting exports show the exact bits that crossed the gate. */
#include <string.h>

#include <ringfence/module.h>

static int32_t g_last = -1;

/* A void export that returns normally: `call` prints an empty line. */
RF_EXPORT(remember) void remember(int32_t value) { g_last = value; }
RF_EXPORT(last) int32_t last(void) { return g_last; }

RF_EXPORT(id_f32) float id_f32(float x) { return x; }
RF_EXPORT(id_f64) double id_f64(double x) { return x; }
RF_EXPORT(sum_i64) int64_t sum_i64(int64_t a, int64_t b) { return a + b; }

RF_EXPORT(f32_bits) int32_t f32_bits(float x) {
  int32_t bits;
  memcpy(&bits, &x, sizeof(bits));
  return bits;
}
RF_EXPORT(f64_bits) int64_t f64_bits(double x) {
  int64_t bits;
  memcpy(&bits, &x, sizeof(bits));
  return bits;
}
RF_EXPORT(bits_f32) float bits_f32(int32_t bits) {
  float x;
  memcpy(&x, &bits, sizeof(x));
  return x;
}
RF_EXPORT(bits_f64) double bits_f64(int64_t bits) {
  double x;
  memcpy(&x, &bits, sizeof(x));
  return x;
}
