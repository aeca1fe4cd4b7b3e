/* ringfence module SDK: what module code includes.
 *
 * A module is ordinary C or C++ built with `ringfence build` (or the CMake
 * function ringfence_add_module). It runs in its own 4 GiB window; when it
 * crashes, only its compartment is restarted.
 *
 *   #include <ringfence/module.h>
 *
 *   RF_EXPORT(add) int32_t add(int32_t a, int32_t b) { return a + b; }
 *
 * Exported functions take and return int32_t, int64_t, float or double
 * (pointers are 32-bit window offsets: pass them as int32_t). Functions
 * exported the standard wasm way, __attribute__((export_name("x"))), are
 * callable too.
 *
 * The header compiles for wasm32 and natively (for native builds of the same
 * source).
 */
#ifndef RINGFENCE_MODULE_H_
#define RINGFENCE_MODULE_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define RF_EXTERN_C extern "C"
#else
#define RF_EXTERN_C
#endif

#if defined(__wasm__)
/* Exports the function that follows under `name`. */
#define RF_EXPORT(name) \
  RF_EXTERN_C __attribute__((export_name(#name), visibility("default")))
#define RF_HOST_SERVICE(name) \
  __attribute__((import_module("ringfence"), import_name(#name)))
#else
#define RF_EXPORT(name) RF_EXTERN_C __attribute__((visibility("default")))
#define RF_HOST_SERVICE(name)
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Log levels for rf_log. */
enum {
  RF_LOG_DEBUG = 0,
  RF_LOG_INFO = 1,
  RF_LOG_WARN = 2,
  RF_LOG_ERROR = 3,
};

/* Writes one message to the host's log, tagged with this module's name.
 * `message` need not be NUL-terminated. A message that does not lie inside
 * the module's memory is dropped. */
RF_HOST_SERVICE(log)
void rf_log(int32_t level, const char* message, size_t length);

/* Monotonic clock in nanoseconds (arbitrary origin, never goes back). */
RF_HOST_SERVICE(clock_ns)
int64_t rf_clock_ns(void);

/* rf_log for a NUL-terminated string. */
static inline void rf_log_str(int32_t level, const char* message) {
  size_t length = 0;
  while (message[length] != '\0') ++length;
  rf_log(level, message, length);
}

#ifdef __cplusplus
}
#endif

#endif /* RINGFENCE_MODULE_H_ */
