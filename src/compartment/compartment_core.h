// The host side of one compartment: its window, its live instance's memory,
// and its output buffers. Module code sees a pointer to it as the "instance"
// of every module it imports from, so host services receive it directly.
//
// Layout: the wasm2c instance follows the core in the same allocation, at
// kInstanceOffset, so the fault handler can get from a gate frame's instance
// pointer to the core without a lookup (and without taking a lock).
#ifndef RINGFENCE_SRC_COMPARTMENT_COMPARTMENT_CORE_H_
#define RINGFENCE_SRC_COMPARTMENT_COMPARTMENT_CORE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ringfence/internal/module_abi.h"
#include "ringfence/module_file.h"
#include "ringfence/result.h"
#include "ringfence/status.h"
#include "src/services/handle_table.h"
#include "src/wasm/window_reservation.h"

namespace ringfence {
struct CompartmentOptions;
class FaultInjector;
namespace internal {
class CompartmentImpl;
}
}

namespace ringfence::internal {
// Where a linked import (one from another module) goes.
struct LinkedImport {
  void* object = nullptr;  // null: not linked
  Result<uint64_t> (*call)(void* object, uint32_t export_index, const uint64_t* args) = nullptr;
  uint32_t export_index = 0;
};
}  // namespace ringfence::internal

struct rf_import_context {
  const ringfence::Module* module = nullptr;
  ringfence::internal::CompartmentImpl* compartment = nullptr;
  // Identifies this compartment as a lock owner (never 0, unique per process).
  uint32_t owner_id = 0;
  ringfence::internal::WindowReservation window;
  // The live instance's memory (inside the instance), set when the instance
  // allocates it; null while there is no instance or it has no memory.
  wasm_rt_memory_t* memory = nullptr;
  uint32_t memory_limit_pages = 0;
  // Bytes of the live instance's tables (host heap). They count with the
  // memory's pages against memory_limit_pages; zeroed when it is released.
  uint64_t table_bytes = 0;
  // A memory.grow was refused at the limit since the instance started.
  bool memory_refused = false;
  // Output written without a final newline yet, per stream.
  std::string pending_stdout;
  std::string pending_stderr;

  // The live instance's handles; released when it dies. Used only by the
  // thread executing the compartment.
  ringfence::internal::HandleTable handles;
  // Objects the host provides by name (Compartment::Provide / MapRegion);
  // they outlive instances. Changed only while no thread is inside.
  std::map<std::string, std::shared_ptr<ringfence::internal::HandleObject>, std::less<>> provided;
  // Linked imports, by import index. Changed only while no thread is inside.
  std::vector<ringfence::internal::LinkedImport> links;
  // RF_CALL_* outcome of the module's latest linked call.
  uint32_t last_call_status = 0;
  // CompartmentOptions::fault_injector (the compartment keeps it alive), or
  // null.
  ringfence::FaultInjector* fault_injector = nullptr;

  // RF_TRAP_NONE, or the trap kind the thread inside must unwind with: set
  // by a kill, a watchdog timeout, or a trap in a deeper frame of this same
  // compartment. Blocking services wait on this word too, so setting it
  // (then FutexWake) ends their wait. Cleared once no frame is left inside.
  std::atomic<uint32_t> kill_kind{0};

  // Process backend: how the worker ended, for the Trap being made (the
  // rest - kind, code addresses, exit code - is in the thread's rf_thread).
  // Set by the thread inside; cleared when the Trap is made.
  int32_t worker_signal = 0;
  std::string worker_syscall;
  std::string worker_detail;
  bool worker_reported = false;  // Trap::worker_reported
  // Process backend: CompartmentOptions::call_timeout in ns (0: none), which
  // also bounds a worker's start when the thread has no deadline.
  uint64_t start_limit_ns = 0;
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

// A core for `module` with its window reserved and a fresh lock-owner id;
// no instance yet. kResourceExhausted if no address space is left.
StatusOr<rf_import_context*> NewCore(const Module& module, const CompartmentOptions& options);
// Frees a core made by NewCore (unmapping its window); its instance, if
// any, must have been released.
void DestroyCore(rf_import_context* core);

// Blocking host services end with this: if the compartment was killed
// meanwhile, or the call's deadline passed, the thread unwinds to the gate
// where it entered (no more module code runs; the call's trap is the kill's
// kind, or timeout). The caller must hold nothing that needs destruction.
void UnwindIfKilled(rf_import_context* core);

// Waits, inside `core`'s frame, until `ns` nanoseconds passed (UINT64_MAX:
// no limit), the thread's deadline (t_thread_gate.deadline_ns) or a kill of
// `core`. Returns the trap kind that ended it early (the kill's kind, or
// RF_TRAP_TIMEOUT), or RF_TRAP_NONE if the time ran out first.
uint32_t WaitInside(rf_import_context* core, uint64_t ns);

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_COMPARTMENT_COMPARTMENT_CORE_H_
