// Loads a module's native shared object into the worker (no module code
// runs: the build moved its constructors to rf_native_module::start).
#ifndef RINGFENCE_TOOLS_WORKER_NATIVE_MODULE_LOADER_H_
#define RINGFENCE_TOOLS_WORKER_NATIVE_MODULE_LOADER_H_

#include <cstdint>
#include <string>

#include "ringfence/internal/native_abi.h"

namespace ringfence::worker {

struct LoadedModule {
  const rf_native_module* module = nullptr;
  // The shared object's executable segments, [code_begin, code_end).
  uintptr_t code_begin = 0;
  uintptr_t code_end = 0;
  // Where the shared object is loaded (its offsets count from here).
  uintptr_t load_base = 0;
};

// dlopen()s /proc/self/fd/<code_fd>, calls its RF_NATIVE_ENTRY_SYMBOL with
// `api` and checks the answer: ABI versions, the name `expected_name`, at
// most 6 parameters and 1 result per export (what one kMessageCall
// carries). On any failure prints why to stderr and exits with
// kWorkerExitSetupFailed. The library stays loaded for the process's life;
// code_fd may be closed afterwards.
LoadedModule LoadNativeModule(int code_fd, const std::string& expected_name,
                              const rf_worker_api& api);

}  // namespace ringfence::worker

#endif  // RINGFENCE_TOOLS_WORKER_NATIVE_MODULE_LOADER_H_
