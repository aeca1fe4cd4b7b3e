/* Module-side runtime: wabt's wasm-rt.h interface, implemented by forwarding
 * to the ringfence host that loaded this module.
 *
 * Compiled into every module file in one translation unit with the wasm2c
 * output and the generated import forwarders (the generated file #includes
 * this one), with hidden visibility, so a module's shared object never binds
 * to wasm_rt_* symbols of the process it is loaded into. Memory, tables,
 * traps and function types involve the host: the host allocates a table's
 * elements and counts them against the compartment's memory limit. The gates
 * live in a separate translation unit (module_gate.h).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ringfence/internal/module_abi.h"

static const rf_host_api* rf_host;

/* In the gates unit (module_gate.h). */
__attribute__((noreturn)) void rf_unwind(rf_frame* frame);

/* Import forwarders end in a jump to the host: the module's own code is built
 * without sibling calls (so runaway recursion meets the stack guard), which
 * these one-line functions do not need. */
#if defined(__GNUC__) && !defined(__clang__)
#define RF_FORWARDER __attribute__((optimize("optimize-sibling-calls")))
#else
#define RF_FORWARDER
#endif

/* Largest table a module may allocate or grow to, in elements. */
#define RF_MAX_TABLE_ELEMENTS (1u << 22)

/* Raises a trap of `kind` at `pc` (0 if unknown). `frame` is the frame of
 * the runtime function called by the module code that trapped (or NULL): its
 * return address is the trap site, and the chain above it the backtrace. The
 * shim does not know where the module's code ends, so the walk stops only at
 * the gate; the host drops addresses outside the module. */
static __attribute__((noreturn, noinline)) void rf_raise(uint32_t kind,
                                                         uintptr_t pc,
                                                         const void* frame) {
  rf_thread* thread = rf_host->current_thread();
  if (thread->top == NULL) abort(); /* module code runs only inside a gate */
  thread->trap_kind = kind;
  thread->trap_pc = pc;
  thread->backtrace_depth =
      frame == NULL ? 0
                    : rf_walk_frames((uintptr_t)frame, (uintptr_t)frame,
                                     (uintptr_t)thread->top, 0, UINTPTR_MAX,
                                     thread->backtrace, RF_BACKTRACE_MAX);
  rf_unwind_top(thread, rf_unwind);
}

void wasm_rt_init(void) {}
bool wasm_rt_is_initialized(void) { return rf_host != NULL; }
void wasm_rt_free(void) {}

/* Not inlined: its frame and return address identify the trap site. */
__attribute__((noinline)) void wasm_rt_trap(wasm_rt_trap_t code) {
  /* The return address lies inside the module function that trapped. */
  rf_raise(code == WASM_RT_TRAP_NONE ? RF_TRAP_UNREACHABLE : (uint32_t)code,
           (uintptr_t)__builtin_return_address(0) - 1, __builtin_frame_address(0));
}

const char* wasm_rt_strerror(wasm_rt_trap_t trap) {
  switch (trap) {
    case WASM_RT_TRAP_NONE: return "no trap";
    case WASM_RT_TRAP_OOB: return "out of bounds";
    case WASM_RT_TRAP_INT_OVERFLOW: return "integer overflow";
    case WASM_RT_TRAP_DIV_BY_ZERO: return "integer divide by zero";
    case WASM_RT_TRAP_INVALID_CONVERSION: return "invalid conversion";
    case WASM_RT_TRAP_UNREACHABLE: return "unreachable";
    case WASM_RT_TRAP_CALL_INDIRECT: return "indirect call type mismatch";
    case WASM_RT_TRAP_UNCAUGHT_EXCEPTION: return "uncaught exception";
    case WASM_RT_TRAP_EXHAUSTION: return "call stack exhausted";
  }
  return "unknown trap";
}

uint32_t wasm_rt_register_func_type(uint32_t params, uint32_t results, ...) {
  uint32_t count = params + results;
  wasm_rt_type_t stack_types[16];
  wasm_rt_type_t* types = stack_types;
  if (count > 16) {
    types = (wasm_rt_type_t*)malloc(sizeof(wasm_rt_type_t) * count);
    if (types == NULL) abort(); /* load time, outside any gate */
  }
  va_list args;
  va_start(args, results);
  for (uint32_t i = 0; i < count; ++i) types[i] = (wasm_rt_type_t)va_arg(args, int);
  va_end(args);
  uint32_t index = rf_host->register_func_type(params, results, types);
  if (types != stack_types) free(types);
  return index;
}

void wasm_rt_allocate_memory(wasm_rt_memory_t* memory, uint32_t initial_pages,
                             uint32_t max_pages) {
  rf_host->allocate_memory(memory, initial_pages, max_pages);
}

uint32_t wasm_rt_grow_memory(wasm_rt_memory_t* memory, uint32_t delta) {
  return rf_host->grow_memory(memory, delta);
}

void wasm_rt_free_memory(wasm_rt_memory_t* memory) {
  rf_host->free_memory(memory);
}

/* Tables: the same code for funcref and externref element types. */
#define RF_DEFINE_TABLE(type)                                                 \
  void wasm_rt_allocate_##type##_table(wasm_rt_##type##_table_t* table,       \
                                       uint32_t elements,                     \
                                       uint32_t max_elements) {               \
    if (elements > RF_MAX_TABLE_ELEMENTS)                                     \
      rf_raise(RF_TRAP_MEMORY_LIMIT, 0, NULL);                                \
    table->data = (wasm_rt_##type##_t*)rf_host->resize_table(                 \
        NULL, 0, elements, sizeof(wasm_rt_##type##_t));                       \
    if (table->data == NULL) rf_raise(RF_TRAP_MEMORY_LIMIT, 0, NULL);         \
    table->size = elements;                                                   \
    table->max_size = max_elements;                                           \
  }                                                                           \
  void wasm_rt_free_##type##_table(wasm_rt_##type##_table_t* table) {         \
    if (table->data != NULL) rf_host->free_table(table->data);                \
    table->data = NULL;                                                       \
    table->size = 0;                                                          \
  }                                                                           \
  uint32_t wasm_rt_grow_##type##_table(wasm_rt_##type##_table_t* table,       \
                                       uint32_t delta,                        \
                                       wasm_rt_##type##_t init) {             \
    uint32_t old_size = table->size;                                          \
    uint64_t new_size = (uint64_t)old_size + delta;                           \
    if (new_size > table->max_size || new_size > RF_MAX_TABLE_ELEMENTS)       \
      return UINT32_MAX;                                                      \
    if (delta == 0) return old_size;                                          \
    wasm_rt_##type##_t* data = (wasm_rt_##type##_t*)rf_host->resize_table(    \
        table->data, old_size, (uint32_t)new_size, sizeof(wasm_rt_##type##_t)); \
    if (data == NULL) return UINT32_MAX;                                      \
    for (uint64_t i = old_size; i < new_size; ++i) data[i] = init;            \
    table->data = data;                                                       \
    table->size = (uint32_t)new_size;                                         \
    return old_size;                                                          \
  }

RF_DEFINE_TABLE(funcref)
RF_DEFINE_TABLE(externref)

/* proc_exit: the module asked to stop. Recorded as a trap of kind exit. */
static __attribute__((noreturn, noinline)) void rf_exit(int32_t code) {
  rf_thread* thread = rf_host->current_thread();
  thread->exit_code = code;
  rf_raise(RF_TRAP_EXIT, (uintptr_t)__builtin_return_address(0) - 1,
           __builtin_frame_address(0));
}

/* Called once by the module entry point before anything else runs. */
static const rf_host_api* rf_bind(const rf_host_api* host) {
  if (host == NULL || host->abi_version != RF_MODULE_ABI_VERSION) return NULL;
  rf_host = host;
  return host;
}

