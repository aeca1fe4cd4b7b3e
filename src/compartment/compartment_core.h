// The host side of one compartment: its window, its live instance's memory,
// and its output buffers. Module code sees a pointer to it as the "instance"
// of every module it imports from, so host services receive it directly.
//
// Layout: the wasm2c instance follows the core in the same allocation, at
// kInstanceOffset, so the fault handler can get from a gate frame's instance
// pointer to the core without a lookup (and without taking a lock).
#ifndef RINGFENCE_SRC_COMPARTMENT_COMPARTMENT_CORE_H_
#define RINGFENCE_SRC_COMPARTMENT_COMPARTMENT_CORE_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "ringfence/internal/module_abi.h"
#include "ringfence/module_file.h"
#include "src/wasm/window_reservation.h"

struct rf_import_context {
  const ringfence::Module* module = nullptr;
  ringfence::internal::WindowReservation window;
  // The live instance's memory (inside the instance), set when the instance
  // allocates it; null while there is no instance or it has no memory.
  wasm_rt_memory_t* memory = nullptr;
  uint32_t memory_limit_pages = 0;
  // Output written without a final newline yet, per stream.
  std::string pending_stdout;
  std::string pending_stderr;
};

namespace ringfence::internal {

inline constexpr size_t kInstanceOffset = (sizeof(rf_import_context) + 63) & ~size_t{63};

inline rf_import_context* CoreOfInstance(void* instance) {
  return reinterpret_cast<rf_import_context*>(static_cast<char*>(instance) - kInstanceOffset);
}
inline void* InstanceOfCore(rf_import_context* core) {
  return reinterpret_cast<char*>(core) + kInstanceOffset;
}

// Host pointer to [offset, offset + length) of the live memory, or null if
// that range is not entirely inside it.
inline uint8_t* WindowRange(const rf_import_context* core, uint64_t offset, uint64_t length) {
  const wasm_rt_memory_t* memory = core->memory;
  if (memory == nullptr || offset > memory->size || length > memory->size - offset) return nullptr;
  return memory->data + offset;
}

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_COMPARTMENT_COMPARTMENT_CORE_H_
