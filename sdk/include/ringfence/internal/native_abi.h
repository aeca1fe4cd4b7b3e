/* The binary contract between a natively built module and the worker
 * process that hosts it (the process backend).
 *
 * `ringfence build --native` compiles the module's own sources natively and
 * links them with the native runtime (sdk/runtime/native_module_shim.c) and a
 * generated glue file into a shared object. The worker program dlopen()s it
 * and calls ringfence_native_module_v1(), handing over the worker's service
 * table and receiving the module's export table. The host never loads this
 * code: it only talks to the worker over the channel.
 *
 * C, so that module-side code and the worker (C++) share one definition.
 * Bump RF_NATIVE_ABI_VERSION whenever a layout below changes.
 */
#ifndef RINGFENCE_NATIVE_ABI_H_
#define RINGFENCE_NATIVE_ABI_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RF_NATIVE_ABI_VERSION 1u

/* What the worker gives a native module: the services of module.h, with
 * native pointers. Every function is called by module code on the worker's
 * serving thread, inside a call from the host; each forwards the request to
 * the host over the channel and returns the host's answer (the RF_* codes of
 * module.h). A service the host ends with a trap (a kill, a timeout, an
 * injected fault) does not return: the worker is killed. */
typedef struct rf_worker_api {
  uint32_t abi_version;
  void (*log)(int32_t level, const char* message, size_t length);
  int64_t (*clock_ns)(void);
  int32_t (*sleep_ns)(int64_t ns);
  int32_t (*handle_close)(int32_t handle);
  int32_t (*lock_open)(const char* name, size_t length);
  int32_t (*lock_acquire)(int32_t handle);
  int32_t (*lock_release)(int32_t handle);
  int32_t (*lock_mark_consistent)(int32_t handle);
  int32_t (*region_open)(const char* name, size_t length);
  int32_t (*region_offset)(int32_t handle);
  int32_t (*region_size)(int32_t handle);
  int32_t (*call_status)(void);
  /* A call to the module's import number `import_index` (its position in
   * the descriptor's import list); arguments and result as 64-bit slots
   * (module_abi.h's rf_slot_*). 0 on failure; call_status says why. */
  uint64_t (*call_linked)(uint32_t import_index, const uint64_t* args);
  int32_t (*fault_point)(const char* name, uint32_t length);
} rf_worker_api;

/* One export. `call` runs it with arguments and result as 64-bit slots. */
typedef struct rf_native_export {
  const char* name;
  const char* params;  /* one letter per parameter: i I f F */
  const char* results; /* "" or one letter */
  void (*call)(const uint64_t* args, uint64_t* result);
} rf_native_export;

/* What a native module gives the worker. Static data in the shared
 * object. */
typedef struct rf_native_module {
  uint32_t abi_version;
  const char* name;
  uint32_t export_count;
  const rf_native_export* exports;
  uint32_t import_count; /* linked imports (RF_IMPORT), descriptor order */
  /* Runs the module's static constructors. The build moves them out of the
   * shared object's .init_array, so loading the object runs no module code;
   * the worker calls this once, after it has locked itself down. */
  void (*start)(void);
} rf_native_module;

/* The one entry point. Returns NULL if `worker`'s version is not the
 * module's. */
typedef const rf_native_module* (*rf_native_entry_fn)(const rf_worker_api* worker);
#define RF_NATIVE_ENTRY_SYMBOL "ringfence_native_module_v1"

#ifdef __cplusplus
}
#endif

#endif /* RINGFENCE_NATIVE_ABI_H_ */
