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
/* Declares a function this module imports from another module: the host
 * links `module`.`name` to an export of a compartment it chooses
 * (Compartment::Link). See rf_call_status for what a failed call returns. */
#define RF_IMPORT(module, name) \
  __attribute__((import_module(#module), import_name(#name)))
/* Declares a marker export that tells the host how `name` may be repeated. */
#define RF_CALL_CLASS_(name, text)                                          \
  RF_EXTERN_C __attribute__((export_name("ringfence.call_class:" #name ":" \
                                         text), visibility("default"))) void \
      rf_call_class_##name(void) {}
#else
/* Native builds (`ringfence build --native`, and plain native builds such as
 * the benchmarks' baselines). The native build driver reads the module's
 * LLVM IR: an export is a defined function with default visibility; an
 * import's and a call class's section name carries what the wasm attributes
 * carry above. */
#define RF_EXPORT(name) RF_EXTERN_C __attribute__((visibility("default")))
#define RF_HOST_SERVICE(name)
#define RF_IMPORT(module, name) \
  RF_EXTERN_C __attribute__((section("ringfence.import:" #module ":" #name)))
#define RF_CALL_CLASS_(name, text)                                         \
  __attribute__((used, section("ringfence.call_class:" #name ":" text))) \
  static const char rf_call_class_##name = 0;
#endif

/* Call classes: what a supervisor may do with a call to export `name` when
 * the module dies (see docs/supervision.md). Write one at file scope, after
 * the export; an export without one is "neither": if the module dies during
 * such a call, the caller gets a `restarted` error and the call never runs
 * twice.
 *
 * RF_IDEMPOTENT(name): running the call again gives the same result and
 * effect (a read, a pure computation). Retried on the fresh instance.
 *
 * RF_STATE_SETTING(name): the call establishes state the module needs later
 * (configuration, a mode). Successful calls are journaled and replayed, in
 * order, into every fresh instance before it serves anything; the last call
 * replaces earlier ones. A call in flight when the module dies is retried.
 *
 * RF_STATE_SETTING_KEYED(name, param): the same, but the last call for each
 * value of parameter `param` (0-based, an integer) replaces earlier ones.
 * Journaled calls are replayed with the same arguments: pass state by value
 * (pointers into the old instance's memory mean nothing to the new one). */
#define RF_IDEMPOTENT(name) RF_CALL_CLASS_(name, "idempotent")
#define RF_STATE_SETTING(name) RF_CALL_CLASS_(name, "state")
#define RF_STATE_SETTING_KEYED(name, param) RF_CALL_CLASS_(name, "state:key=" #param)

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
 * the module's memory is dropped; one longer than 16 KiB is cut there, with
 * a marker saying how many bytes were left out. */
RF_HOST_SERVICE(log)
void rf_log(int32_t level, const char* message, size_t length);

/* Monotonic clock in nanoseconds (arbitrary origin, never goes back). */
RF_HOST_SERVICE(clock_ns)
int64_t rf_clock_ns(void);

/* Results of the kernel services below: >= 0 is success (a handle, a size,
 * RF_OK or RF_OWNER_DIED), < 0 one of these errors. A service never traps on
 * a bad argument; it returns an error. */
enum {
  RF_OK = 0,
  RF_OWNER_DIED = 1,       /* lock acquired; its previous owner died holding it */
  RF_EBADHANDLE = -1,      /* not an open handle of this instance, or wrong kind */
  RF_ENOTFOUND = -2,       /* the host provides no object by that name */
  RF_EFAULT = -3,          /* a (pointer, length) outside the module's memory */
  RF_ENOTOWNER = -4,       /* releasing a lock this compartment does not hold */
  RF_EDEADLK = -5,         /* acquiring a lock this compartment already holds */
  RF_EUNRECOVERABLE = -6,  /* lock released after owner death without repair */
  RF_ETIMEDOUT = -7,       /* (host side only: a module's call is unwound instead) */
  RF_EBUSY = -8,           /* closing a lock this compartment holds */
  RF_ETOOMANY = -9,        /* the handle table is full */
  RF_EINVAL = -10,         /* an argument is out of range */
};

/* Sleeps `ns` nanoseconds; returns RF_OK (RF_EINVAL for ns < 0). Blocking services (this one, and
 * waiting for a lock or for a linked module) end early if the host kills
 * this compartment or the call's deadline passes: then the call is unwound
 * with a Trap of kind killed or timeout, and no more of this module's code
 * runs in it. */
RF_HOST_SERVICE(sleep_ns)
int32_t rf_sleep_ns(int64_t ns);

/* Closes a handle. RF_EBADHANDLE for a handle that is not open (forged,
 * stale or already closed), RF_EBUSY for a lock this compartment holds.
 * Handles die with the instance: after a restart none are open. */
RF_HOST_SERVICE(handle_close)
int32_t rf_handle_close(int32_t handle);

/* Locks the host shares between compartments (Compartment::Provide). Opens
 * the lock the host provided under `name`: a handle, or RF_ENOTFOUND. */
RF_HOST_SERVICE(lock_open)
int32_t rf_lock_open(const char* name, size_t length);

/* Acquires the lock, waiting at most until the call's deadline. Returns
 * RF_OK; RF_OWNER_DIED if the previous owner died holding it (the data it
 * guards may be half-updated: repair it, then rf_lock_mark_consistent before
 * releasing, or every later acquirer gets RF_EUNRECOVERABLE);
 * RF_EUNRECOVERABLE; RF_EDEADLK; RF_EBADHANDLE. If this
 * compartment dies holding a lock, the next waiter gets RF_OWNER_DIED. */
RF_HOST_SERVICE(lock_acquire)
int32_t rf_lock_acquire(int32_t handle);

/* Releases the lock: RF_OK, RF_ENOTOWNER, RF_EBADHANDLE. Releasing after
 * RF_OWNER_DIED without marking it consistent makes it unrecoverable. */
RF_HOST_SERVICE(lock_release)
int32_t rf_lock_release(int32_t handle);

/* Declares the data guarded by a lock acquired with RF_OWNER_DIED repaired.
 * RF_OK, RF_ENOTOWNER, RF_EBADHANDLE. */
RF_HOST_SERVICE(lock_mark_consistent)
int32_t rf_lock_mark_consistent(int32_t handle);

/* Shared memory regions the host maps into this module's window. Opens the
 * region provided under `name`: a handle, or RF_ENOTFOUND. */
RF_HOST_SERVICE(region_open)
int32_t rf_region_open(const char* name, size_t length);

/* Where the region lies in this module's memory (a pointer, as an offset) and
 * its size in bytes, as uint32 bits: a region may lie above 2 GiB, so only
 * -10..-1 are errors (RF_EBADHANDLE). The region survives this module's
 * restarts: what a dead instance wrote there stays (guard it with a lock). */
RF_HOST_SERVICE(region_offset)
int32_t rf_region_offset(int32_t handle);
RF_HOST_SERVICE(region_size)
int32_t rf_region_size(int32_t handle);

/* Outcome of this module's most recent call to a function imported from
 * another module (RF_IMPORT). A failed call returns 0 (all bits zero). */
enum {
  RF_CALL_OK = 0,
  RF_CALL_TRAPPED = 1,     /* the callee trapped; it restarts on its next call */
  RF_CALL_UNAVAILABLE = 2, /* the callee could not run (could not start, busy) */
  RF_CALL_NOT_LINKED = 3,  /* the host linked nothing to this import */
  RF_CALL_TIMEOUT = 4,     /* the deadline passed while waiting for the callee */
};
RF_HOST_SERVICE(call_status)
int32_t rf_call_status(void);

/* Fault points: places where a host testing its recovery may inject a
 * fault (FaultPlan::point_rates and triggers, include/ringfence/
 * fault_injection.h). Put one where a crash would hurt most: holding a lock,
 * halfway through an update, between a write and its commit.
 *
 *   RF_FAULT_POINT("after_write");
 *
 * `name` must be a string literal (at most 256 bytes). Without an injector
 * (the normal case) it returns RF_OK and does nothing else. With one, the
 * host may make this module trap right here (trap kind injected: the
 * compartment dies as if the module had crashed at this line), or wait here
 * (a hang until the call's deadline or a kill, or a slow-down), after which
 * the call may be unwound like rf_sleep_ns's. RF_EFAULT/RF_EINVAL for a name
 * outside the module's memory or too long. Natively it returns RF_OK. */
RF_HOST_SERVICE(fault_point)
int32_t rf_fault_point(const char* name, uint32_t length);
#define RF_FAULT_POINT(name) rf_fault_point("" name, (uint32_t)(sizeof("" name) - 1))

/* rf_log for a NUL-terminated string. */
static inline size_t rf_strlen(const char* text) {
  size_t length = 0;
  while (text[length] != '\0') ++length;
  return length;
}
static inline void rf_log_str(int32_t level, const char* message) {
  rf_log(level, message, rf_strlen(message));
}

#ifdef __cplusplus
}
#endif

#endif /* RINGFENCE_MODULE_H_ */
