/* The "ringfence" host services for module code compiled natively (not to
 * wasm32), so the same module source also links as ordinary C: rf_log goes
 * to stderr, rf_clock_ns reads the monotonic clock, fault points never
 * fault. */
#include <stdio.h>
#include <time.h>

#include <ringfence/module.h>

void rf_log(int32_t level, const char* message, size_t length) {
  static const char* const kLevels[] = {"debug", "info", "warn", "error"};
  const char* name = level >= 0 && level <= 3 ? kLevels[level] : "log";
  fprintf(stderr, "[native %s] %.*s\n", name, (int)length, message);
}

int64_t rf_clock_ns(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

int32_t rf_fault_point(const char* name, uint32_t length) {
  (void)name;
  (void)length;
  return RF_OK;
}
