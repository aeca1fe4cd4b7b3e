// Loads a module's native shared object into the worker in two steps, so
// that none of the module's code runs before the lockdown: LoadNativeCode
// (before it) checks the object (src/module/native_code_check.h: nothing
// the dynamic loader would run, no write outside the object) and maps it;
// BindNativeModule (after it) calls the module's entry for its tables.
#ifndef RINGFENCE_SRC_PROCESS_WORKER_NATIVE_MODULE_LOADER_H_
#define RINGFENCE_SRC_PROCESS_WORKER_NATIVE_MODULE_LOADER_H_

#include <cstdint>
#include <string>

#include "ringfence/internal/native_abi.h"

namespace ringfence::worker {

struct LoadedCode {
  void* library = nullptr;  // the dlopen handle, for the process's life
  // The shared object's executable segments, [code_begin, code_end).
  uintptr_t code_begin = 0;
  uintptr_t code_end = 0;
  // Where the shared object is loaded (its offsets count from here).
  uintptr_t load_base = 0;
};

// Checks the shared object in `code_fd` with CheckNativeCode, then
// dlopen()s /proc/self/fd/<code_fd>; runs none of its code. On any failure
// prints why to stderr and exits with kWorkerExitSetupFailed. code_fd may
// be closed afterwards.
LoadedCode LoadNativeCode(int code_fd, const std::string& expected_name);

// Calls the loaded code's RF_NATIVE_ENTRY_SYMBOL with `api` - module code:
// only after the lockdown - and checks its answer: ABI versions, the name
// `expected_name`, at most 6 parameters and 1 result per export (what one
// kMessageCall carries). On any failure prints why and exits with
// kWorkerExitSetupFailed.
const rf_native_module* BindNativeModule(const LoadedCode& code, const std::string& expected_name,
                                         const rf_worker_api& api);

}  // namespace ringfence::worker

#endif  // RINGFENCE_SRC_PROCESS_WORKER_NATIVE_MODULE_LOADER_H_
