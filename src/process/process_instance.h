// The process backend's instances: a live instance of a process module is
// a worker process plus the channel to it (channel.h). To the compartment
// it looks like any instance: the module's rf_module_abi (made here, not
// by module code) starts one (spawn the worker, wait until it is locked
// down and its module started) and frees one (kill and reap the worker);
// calls go through ProcessCall.
//
// Host services the module asks for over the channel run on the calling
// thread, inside the compartment's frame, exactly as for the wasm backend:
// the core's "memory" is the channel's payload area, so the services read
// names and messages from it with their usual checks.
#ifndef RINGFENCE_SRC_PROCESS_PROCESS_INSTANCE_H_
#define RINGFENCE_SRC_PROCESS_PROCESS_INSTANCE_H_

#include <cstdint>
#include <vector>

#include "ringfence/internal/module_abi.h"
#include "ringfence/module_file.h"

namespace ringfence::internal {

// Native code addresses of a crashed worker are shown to the host at this
// base plus their offset in the module's shared object: never a host
// address, so the host's fault handler can never mistake host code for it.
inline constexpr uintptr_t kNativeCodeBase = 0xffff'f000'0000'0000;

// Fills `abi` (and `exports`, which it points into) for a process module.
// Export entries have no function or gate: calls take ProcessCall.
void MakeProcessAbi(const Module& module, rf_module_abi* abi, std::vector<rf_export>* exports);

// Runs export `index` in the worker of `core`'s live instance, serving the
// worker's service requests meanwhile, on the calling thread (inside the
// compartment's frame, with the call's deadline in t_thread_gate). On
// return either *result is the export's result, or the thread's trap_kind
// is set (with the worker killed and reaped, and the core's worker_* fields
// saying how it ended).
void ProcessCall(rf_import_context* core, uint32_t index, const uint64_t* args, uint64_t* result);

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_PROCESS_PROCESS_INSTANCE_H_
