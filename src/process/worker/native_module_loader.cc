#include "src/process/worker/native_module_loader.h"

#include <dlfcn.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "src/module/code_range.h"
#include "src/module/native_code_check.h"
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

LoadedCode LoadNativeCode(int code_fd, const std::string& expected_name) {
  struct stat info;
  if (fstat(code_fd, &info) != 0 || info.st_size <= 0) Fail(expected_name, "its code is empty");
  size_t size = static_cast<size_t>(info.st_size);
  void* bytes = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, code_fd, 0);
  if (bytes == MAP_FAILED) Fail(expected_name, "cannot map its code");
  // The host sealed the memfd against writes: the loader reads these bytes.
  Status checked = internal::CheckNativeCode({static_cast<const uint8_t*>(bytes), size});
  munmap(bytes, size);
  if (!checked.ok()) Fail(expected_name, checked.message());

  std::string path = fmt::format("/proc/self/fd/{}", code_fd);
  void* library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const char* error = dlerror();
    Fail(expected_name, fmt::format("the dynamic loader refused its code: {}",
                                    error != nullptr ? error : "unknown error"));
  }
  link_map* map = nullptr;
  if (dlinfo(library, RTLD_DI_LINKMAP, &map) != 0 || map == nullptr) {
    Fail(expected_name, "cannot locate its code");
  }
  internal::CodeRange code = internal::ExecutableRange(static_cast<uintptr_t>(map->l_addr));
  if (code.begin >= code.end) Fail(expected_name, "its code has no executable segment");
  LoadedCode loaded;
  loaded.library = library;
  loaded.code_begin = code.begin;
  loaded.code_end = code.end;
  loaded.load_base = static_cast<uintptr_t>(map->l_addr);
  return loaded;
}

const rf_native_module* BindNativeModule(const LoadedCode& code, const std::string& expected_name,
                                         const rf_worker_api& api) {
  auto entry = reinterpret_cast<rf_native_entry_fn>(dlsym(code.library, RF_NATIVE_ENTRY_SYMBOL));
  if (entry == nullptr) Fail(expected_name, "its code has no " RF_NATIVE_ENTRY_SYMBOL);
  const rf_native_module* module = entry(&api);
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
  return module;
}

}  // namespace ringfence::worker
