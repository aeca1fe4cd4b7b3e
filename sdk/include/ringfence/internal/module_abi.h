/* The binary contract between a loaded module file and the ringfence host.
 *
 * Every module file carries a shared object built from wasm2c output plus the
 * module-side runtime (module_shim.c) and a generated glue file. The host
 * dlopen()s it and calls ringfence_module_v4(), handing over the host's
 * function table and receiving the module's. Nothing else crosses: the shared
 * object has no undefined references to the host, only to libc and libm.
 *
 * This header is C so that module-side code (compiled by the module build
 * driver) and the host (C++) share one definition. Bump
 * RF_MODULE_ABI_VERSION whenever any layout below changes.
 */
#ifndef RINGFENCE_MODULE_ABI_H_
#define RINGFENCE_MODULE_ABI_H_

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ringfence/internal/frame_walk.h"
#include "ringfence/internal/gate_abi.h"
#include "ringfence/internal/slots.h"
#include "wasm-rt.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RF_MODULE_ABI_VERSION 4u

/* The farthest module code moves its stack pointer down without touching
 * the memory there: one page. Module code is compiled with
 * -fstack-clash-protection and the build refuses an object with a larger
 * step (src/toolchain/stack_probe_check.h), so running out of stack first
 * touches the guard page below the stack, never what lies beyond it. */
#define RF_MAX_STACK_STEP 4096u

/* An import context: what the wasm2c code passes as the `instance` of the
 * modules it imports ("ringfence", "wasi_snapshot_preview1"). The host owns
 * it; it stays valid for the life of the compartment. */
typedef struct rf_import_context rf_import_context;

/* What the host gives a module. All calls are made by module code on the
 * thread that is inside the gate. Offsets and lengths are window offsets
 * chosen by the module: the host checks them before use. */
typedef struct rf_host_api {
  uint32_t abi_version;
  rf_thread* (*current_thread)(void);

  /* wasm-rt memory management, backed by the compartment's window. */
  void (*allocate_memory)(wasm_rt_memory_t* memory, uint32_t initial_pages,
                          uint32_t max_pages);
  uint32_t (*grow_memory)(wasm_rt_memory_t* memory, uint32_t delta_pages);
  void (*free_memory)(wasm_rt_memory_t* memory);
  uint32_t (*register_func_type)(uint32_t params, uint32_t results,
                                 const wasm_rt_type_t* types);
  /* wasm-rt tables (funcref and externref alike) live in the host's heap and
   * count, with the memory's pages, against the compartment's memory limit.
   * resize_table makes `data` (NULL for a new table), an array of
   * `old_elements` elements of `element_size` bytes, hold `new_elements`,
   * the added ones zeroed, and returns the array; or returns NULL, leaving
   * `data` as it was, if the limit (or the host's heap) refuses. Only inside
   * a gate (instantiation, table.grow). free_table frees an array it made,
   * from any thread. */
  void* (*resize_table)(void* data, uint32_t old_elements, uint32_t new_elements,
                        uint32_t element_size);
  void (*free_table)(void* data);

  /* "ringfence" services (see sdk/include/ringfence/module.h). */
  void (*log)(rf_import_context* ctx, uint32_t level, uint32_t msg,
              uint32_t len);
  uint64_t (*clock_ns)(rf_import_context* ctx);

  /* WASI preview1 subset. Each returns a WASI errno. */
  uint32_t (*fd_write)(rf_import_context* ctx, uint32_t fd, uint32_t iovs,
                       uint32_t iovs_len, uint32_t nwritten);
  uint32_t (*fd_fdstat_get)(rf_import_context* ctx, uint32_t fd,
                            uint32_t stat);
  uint32_t (*clock_time_get)(rf_import_context* ctx, uint32_t clock_id,
                             uint64_t precision, uint32_t time);
  uint32_t (*clock_res_get)(rf_import_context* ctx, uint32_t clock_id,
                            uint32_t resolution);
  uint32_t (*random_get)(rf_import_context* ctx, uint32_t buf, uint32_t len);
  uint32_t (*sizes_get_empty)(rf_import_context* ctx, uint32_t count,
                              uint32_t size);

  /* Kernel services (see module.h). Handles and results are int32 values:
   * >= 0 success, < 0 an RF_E* error. */
  uint32_t (*sleep_ns)(rf_import_context* ctx, uint64_t ns);
  uint32_t (*handle_close)(rf_import_context* ctx, uint32_t handle);
  uint32_t (*lock_open)(rf_import_context* ctx, uint32_t name, uint32_t len);
  uint32_t (*lock_acquire)(rf_import_context* ctx, uint32_t handle);
  uint32_t (*lock_release)(rf_import_context* ctx, uint32_t handle);
  uint32_t (*lock_mark_consistent)(rf_import_context* ctx, uint32_t handle);
  uint32_t (*region_open)(rf_import_context* ctx, uint32_t name, uint32_t len);
  uint32_t (*region_offset)(rf_import_context* ctx, uint32_t handle);
  uint32_t (*region_size)(rf_import_context* ctx, uint32_t handle);
  uint32_t (*call_status)(rf_import_context* ctx);

  /* A call to a function imported from another module: `import_index` is the
   * import's position in the module's import list; arguments and result are
   * 64-bit slots (see rf_slot_* below). On failure the result is 0 and
   * call_status() says why. */
  void (*call_linked)(rf_import_context* ctx, uint32_t import_index,
                      const uint64_t* args, uint64_t* result);

  /* RF_FAULT_POINT (module.h): the name at window [name, name + len). RF_OK,
   * RF_EFAULT, RF_EINVAL; or, when the host injects a fault there, a trap
   * (kind injected) or a wait that may end in a trap (killed, timeout). */
  uint32_t (*fault_point)(rf_import_context* ctx, uint32_t name, uint32_t len);
} rf_host_api;

/* One callable export. `function` is the export itself, R fn(void* instance,
 * P...), with R and P u32/u64/f32/f64 (void for no result): calling it
 * requires a recovery point armed by the caller. `gate` is a typed trampoline
 * that arms one itself,
 *   R gate(rf_thread*, void* instance, P...),
 * and `call` is the same gate with arguments and result passed as 64-bit
 * slots. On a trap the gates return with thread->trap_kind set. */
typedef struct rf_export {
  const char* name;
  const char* params;       /* one letter per parameter: i I f F */
  const char* results;      /* "" or one letter */
  void (*function)(void);
  void (*gate)(void);
  void (*call)(rf_thread* thread, void* instance, const uint64_t* args,
               uint64_t* results);
} rf_export;

/* A module function's entry address and its name (from the name section),
 * for naming the function a trap happened in. */
typedef struct rf_function_name {
  const void* code;
  const char* name;
} rf_function_name;

/* What a module gives the host. Static data inside the shared object: valid
 * until dlclose. */
typedef struct rf_module_abi {
  uint32_t abi_version;
  const char* name;
  size_t instance_size;
  /* Runs wasm2c's instantiate (memory, tables, data) and then the module's
   * _initialize, both under a gate. Returns with thread->trap_kind set if
   * either trapped; the instance must then be freed. */
  void (*instantiate)(rf_thread* thread, void* instance,
                      rf_import_context* imports);
  void (*free_instance)(void* instance);
  /* The instance's linear memory, or NULL for a module without memory. */
  wasm_rt_memory_t* (*memory)(void* instance);
  uint32_t export_count;
  const rf_export* exports;
  uint32_t function_count;
  const rf_function_name* functions;
  /* Jumps back to a frame the module's gates armed. Never returns. */
  rf_unwind_fn unwind;
} rf_module_abi;

/* The one symbol a module's shared object exports. Returns NULL if the host's
 * ABI version is not the module's. */
typedef const rf_module_abi* (*rf_module_entry_fn)(const rf_host_api* host);
#define RF_MODULE_ENTRY_SYMBOL "ringfence_module_v4"

#ifdef __cplusplus
}
#endif

#endif /* RINGFENCE_MODULE_ABI_H_ */
