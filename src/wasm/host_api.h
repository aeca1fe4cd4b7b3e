// The function table the host hands every module it loads (module_abi.h).
#ifndef RINGFENCE_SRC_WASM_HOST_API_H_
#define RINGFENCE_SRC_WASM_HOST_API_H_

#include "ringfence/internal/module_abi.h"

namespace ringfence::internal {

// Process-wide, immutable, valid forever.
const rf_host_api& HostApi();

// Unwinds the calling thread to its innermost gate with a trap of `kind`.
// Called only from host services (inside a gate), from frames that hold
// nothing needing destruction.
[[noreturn]] void RaiseTrap(uint32_t kind);

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_WASM_HOST_API_H_
