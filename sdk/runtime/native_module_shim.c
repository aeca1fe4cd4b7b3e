/* The "ringfence" host services for a module built with `ringfence build
 * --native`: each forwards to the worker's service table (native_abi.h),
 * which the generated glue's entry point stores in rf_native_worker before
 * any module code runs. Linked into the module's shared object, hidden.
 *
 * (sdk/runtime/native_services.c serves plain native builds instead, e.g.
 * the benchmarks' baselines, with no worker behind them.) */
#include <ringfence/internal/native_abi.h>
#include <ringfence/module.h>

const rf_worker_api* rf_native_worker;

/* The module's identity for __cxa_atexit (C++ static destructors). The
 * module is linked without the C runtime's start files, whose crtbegin.o
 * would define it - together with code the dynamic loader runs. */
__attribute__((visibility("hidden"))) void* __dso_handle = &__dso_handle;

void rf_log(int32_t level, const char* message, size_t length) {
  rf_native_worker->log(level, message, length);
}

int64_t rf_clock_ns(void) { return rf_native_worker->clock_ns(); }

int32_t rf_sleep_ns(int64_t ns) { return rf_native_worker->sleep_ns(ns); }

int32_t rf_handle_close(int32_t handle) { return rf_native_worker->handle_close(handle); }

int32_t rf_lock_open(const char* name, size_t length) {
  return rf_native_worker->lock_open(name, length);
}
int32_t rf_lock_acquire(int32_t handle) { return rf_native_worker->lock_acquire(handle); }
int32_t rf_lock_release(int32_t handle) { return rf_native_worker->lock_release(handle); }
int32_t rf_lock_mark_consistent(int32_t handle) {
  return rf_native_worker->lock_mark_consistent(handle);
}

int32_t rf_region_open(const char* name, size_t length) {
  return rf_native_worker->region_open(name, length);
}
int32_t rf_region_offset(int32_t handle) { return rf_native_worker->region_offset(handle); }
int32_t rf_region_size(int32_t handle) { return rf_native_worker->region_size(handle); }

int32_t rf_call_status(void) { return rf_native_worker->call_status(); }

int32_t rf_fault_point(const char* name, uint32_t length) {
  return rf_native_worker->fault_point(name, length);
}
