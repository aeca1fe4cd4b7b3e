#include "tools/worker/native_module_loader.h"

#include <dlfcn.h>
#include <link.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "src/module/code_range.h"
#include "src/process/worker_exit.h"

namespace ringfence::worker {
namespace {

[[noreturn]] void Fail(const std::string& name, const std::string& what) {
  fmt::print(stderr, "ringfence-worker: module {}: {}\n", name, what);
  std::exit(internal::kWorkerExitSetupFailed);
}

// Slots in one kMessageCall.
constexpr size_t kMaxExportParams = 6;

}  // namespace

LoadedModule LoadNativeModule(int code_fd, const std::string& expected_name,
                              const rf_worker_api& api) {
  std::string path = fmt::format("/proc/self/fd/{}", code_fd);
  void* library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const char* error = dlerror();
    Fail(expected_name, fmt::format("the dynamic loader refused its code: {}",
                                    error != nullptr ? error : "unknown error"));
  }
  auto entry = reinterpret_cast<rf_native_entry_fn>(dlsym(library, RF_NATIVE_ENTRY_SYMBOL));
  if (entry == nullptr) Fail(expected_name, "its code has no " RF_NATIVE_ENTRY_SYMBOL);
  LoadedModule loaded;
  loaded.module = entry(&api);
  const rf_native_module* module = loaded.module;
  if (module == nullptr || module->abi_version != RF_NATIVE_ABI_VERSION) {
    Fail(expected_name, fmt::format("its code does not speak native ABI version {}",
                                    RF_NATIVE_ABI_VERSION));
  }
  if (module->name == nullptr || expected_name != module->name) {
    Fail(expected_name, fmt::format("its code says it is module {}",
                                    module->name != nullptr ? module->name : "(no name)"));
  }
  if (module->start == nullptr || (module->export_count != 0 && module->exports == nullptr)) {
    Fail(expected_name, "its module table is incomplete");
  }
  for (uint32_t i = 0; i < module->export_count; ++i) {
    const rf_native_export& entry_i = module->exports[i];
    if (entry_i.call == nullptr || entry_i.params == nullptr || entry_i.results == nullptr ||
        std::strlen(entry_i.params) > kMaxExportParams || std::strlen(entry_i.results) > 1) {
      Fail(expected_name, fmt::format("export {} has a signature the worker cannot call", i));
    }
  }
  link_map* map = nullptr;
  if (dlinfo(library, RTLD_DI_LINKMAP, &map) != 0 || map == nullptr) {
    Fail(expected_name, "cannot locate its code");
  }
  internal::CodeRange code = internal::ExecutableRange(static_cast<uintptr_t>(map->l_addr));
  if (code.begin >= code.end) Fail(expected_name, "its code has no executable segment");
  loaded.code_begin = code.begin;
  loaded.code_end = code.end;
  loaded.load_base = static_cast<uintptr_t>(map->l_addr);
  return loaded;
}

}  // namespace ringfence::worker
