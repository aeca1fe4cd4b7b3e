/* calc: a small C module - arithmetic, and strings passed through a buffer.
 *
 *   ringfence call calc.rfm add 2 3          -> 5
 *   ringfence call calc.rfm divide 7 0       -> trap: divide-by-zero ...
 *
 * Strings: the host copies bytes into the module's buffer (offset from
 * `buffer`, room for `buffer_size` bytes), calls an export with the length,
 * and copies the result back out of the same buffer.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <ringfence/module.h>

#define BUFFER_SIZE 4096
static char buffer_[BUFFER_SIZE];

RF_EXPORT(add) int32_t add(int32_t a, int32_t b) { return a + b; }
RF_EXPORT(subtract) int32_t subtract(int32_t a, int32_t b) { return a - b; }
RF_EXPORT(multiply) int64_t multiply(int64_t a, int64_t b) { return a * b; }
RF_EXPORT(divide) int32_t divide(int32_t a, int32_t b) { return a / b; }
RF_EXPORT(average) double average(double a, double b) { return (a + b) / 2; }
RF_EXPORT(scale) float scale(float value, float factor) { return value * factor; }

RF_EXPORT(buffer) int32_t buffer(void) { return (int32_t)(uintptr_t)buffer_; }
RF_EXPORT(buffer_size) int32_t buffer_size(void) { return BUFFER_SIZE; }

/* Upper-cases the first `length` bytes of the buffer in place; returns the
 * number of bytes changed, or -1 if `length` does not fit. */
RF_EXPORT(to_upper) int32_t to_upper(int32_t length) {
  if (length < 0 || length > BUFFER_SIZE) return -1;
  int32_t changed = 0;
  for (int32_t i = 0; i < length; ++i) {
    char upper = (char)toupper((unsigned char)buffer_[i]);
    changed += upper != buffer_[i];
    buffer_[i] = upper;
  }
  return changed;
}

/* Reverses the first `length` bytes of the buffer in place. */
RF_EXPORT(reverse) int32_t reverse(int32_t length) {
  if (length < 0 || length > BUFFER_SIZE) return -1;
  for (int32_t i = 0, j = length - 1; i < j; ++i, --j) {
    char swap = buffer_[i];
    buffer_[i] = buffer_[j];
    buffer_[j] = swap;
  }
  return length;
}

/* Writes "hello, <name>" (name = first `length` bytes of the buffer) back
 * into the buffer; returns the new length. Also prints it to stdout, which
 * goes to the host's log. */
RF_EXPORT(greet) int32_t greet(int32_t length) {
  if (length < 0 || length > BUFFER_SIZE - 8) return -1;
  char name[BUFFER_SIZE];
  memcpy(name, buffer_, (size_t)length);
  name[length] = '\0';
  int written = snprintf(buffer_, BUFFER_SIZE, "hello, %s", name);
  printf("%s\n", buffer_);
  rf_log_str(RF_LOG_INFO, "greeted someone");
  return written;
}

/* Nanoseconds on the host's monotonic clock. */
RF_EXPORT(now_ns) int64_t now_ns(void) { return rf_clock_ns(); }

/* Counts calls into this instance: restarts reset it to zero. */
static int32_t calls_;
RF_EXPORT(count) int32_t count(void) { return ++calls_; }
