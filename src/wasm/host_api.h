// The function table the host hands every module it loads (module_abi.h).
#ifndef RINGFENCE_SRC_WASM_HOST_API_H_
#define RINGFENCE_SRC_WASM_HOST_API_H_

#include "ringfence/internal/module_abi.h"

namespace ringfence::internal {

// Process-wide, immutable, valid forever.
const rf_host_api& HostApi();

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_WASM_HOST_API_H_
