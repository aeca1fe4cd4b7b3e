// Module::Load: check the file, then map its code and bind it to this host.
#include <cxxabi.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "ringfence/internal/module_abi.h"
#include "ringfence/module_file.h"
#include "src/module/code_range.h"
#include "src/module/module_file_check.h"
#include "src/module/module_file_reader.h"
#include "src/module/native_code_check.h"
#include "src/process/process_instance.h"
#include "src/wasm/host_api.h"

namespace ringfence {
namespace {

// The code's own export table must be the one the descriptor announces.
Status CheckExportsMatch(const ModuleDescriptor& descriptor, const rf_module_abi& abi,
                         const std::string& origin) {
  auto mismatch = [&](std::string_view what) {
    return Status(StatusCode::kNotAModule,
                  fmt::format("{}: descriptor and code disagree ({})", origin, what));
  };
  if (std::string_view(abi.name) != descriptor.name) return mismatch("module name");
  if (abi.export_count != descriptor.exports.size()) return mismatch("number of exports");
  for (uint32_t i = 0; i < abi.export_count; ++i) {
    const rf_export& code = abi.exports[i];
    const ExportInfo& info = descriptor.exports[i];
    std::string params, results;
    for (ValueType type : info.signature.params) params += ValueTypeCode(type);
    if (info.signature.result) results += ValueTypeCode(*info.signature.result);
    if (info.name != code.name || params != code.params || results != code.results) {
      return mismatch(fmt::format("export {}", info.name));
    }
  }
  return Status::Ok();
}

// Copies `code` into a new sealed memfd. kLoadFailed if the kernel refuses.
StatusOr<int> StageCode(std::span<const uint8_t> code, const std::string& name,
                        const std::string& origin, unsigned flags) {
  int fd = memfd_create(("ringfence:" + name).c_str(), MFD_CLOEXEC | flags);
  if (fd < 0) {
    return Status(StatusCode::kLoadFailed,
                  fmt::format("{}: memfd_create failed: {}", origin, std::strerror(errno)));
  }
  size_t written = 0;
  while (written < code.size()) {
    ssize_t n = write(fd, code.data() + written, code.size() - written);
    if (n <= 0) {
      close(fd);
      return Status(StatusCode::kLoadFailed,
                    fmt::format("{}: cannot stage native code: {}", origin, std::strerror(errno)));
    }
    written += static_cast<size_t>(n);
  }
  return fd;
}

// Maps the shared object from memory (no temporary file to clean up). The
// memfd stays open while the library is loaded: the dynamic loader knows a
// library by its path, and a closed descriptor's number - hence the path -
// would be reused for the next module.
StatusOr<void*> OpenLibrary(std::span<const uint8_t> code, const std::string& name,
                            const std::string& origin, int* fd_out) {
  StatusOr<int> staged = StageCode(code, name, origin, 0);
  if (!staged.ok()) return staged.status();
  int fd = *staged;
  std::string path = fmt::format("/proc/self/fd/{}", fd);
  void* library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    close(fd);
    const char* error = dlerror();
    return Status(StatusCode::kLoadFailed,
                  fmt::format("{}: the dynamic loader refused its native code: {}", origin,
                              error != nullptr ? error : "unknown error"));
  }
  *fd_out = fd;
  return library;
}

}  // namespace

StatusOr<std::shared_ptr<const Module>> Module::Load(const std::string& path) {
  StatusOr<std::vector<uint8_t>> bytes = internal::ReadModuleFile(path);
  if (!bytes.ok()) return bytes.status();
  return LoadFromBytes(*bytes, path);
}

StatusOr<std::shared_ptr<const Module>> Module::LoadFromBytes(std::span<const uint8_t> bytes,
                                                             const std::string& origin) {
  // Nothing of the file is mapped until all of it that can be checked is.
  StatusOr<internal::CheckedModuleFile> checked = internal::CheckModuleFile(bytes, origin);
  if (!checked.ok()) return checked.status();
  std::span<const uint8_t> native_code = checked->code;
  std::shared_ptr<Module> module(new Module());
  module->descriptor_ = std::move(checked->descriptor);
  module->call_classes_ = std::move(checked->call_classes);
  if (module->descriptor_.isolation == Isolation::kProcess) {
    RF_RETURN_IF_ERROR(module->LoadNative(native_code, origin));
    return std::shared_ptr<const Module>(std::move(module));
  }
  StatusOr<void*> library =
      OpenLibrary(native_code, module->descriptor_.name, origin, &module->code_fd_);
  if (!library.ok()) return library.status();
  module->library_ = *library;

  auto entry = reinterpret_cast<rf_module_entry_fn>(dlsym(module->library_, RF_MODULE_ENTRY_SYMBOL));
  if (entry == nullptr) {
    return Status(StatusCode::kNotAModule,
                  fmt::format("{}: native code has no {} entry point", origin, RF_MODULE_ENTRY_SYMBOL));
  }
  module->abi_ = entry(&internal::HostApi());
  if (module->abi_ == nullptr || module->abi_->abi_version != RF_MODULE_ABI_VERSION) {
    return Status(StatusCode::kAbiMismatch,
                  fmt::format("{}: native code does not speak module ABI version {}", origin,
                              RF_MODULE_ABI_VERSION));
  }
  RF_RETURN_IF_ERROR(CheckExportsMatch(module->descriptor_, *module->abi_, origin));

  link_map* map = nullptr;
  if (dlinfo(module->library_, RTLD_DI_LINKMAP, &map) != 0 || map == nullptr) {
    return Status(StatusCode::kLoadFailed, fmt::format("{}: cannot locate its code", origin));
  }
  internal::CodeRange code = internal::ExecutableRange(static_cast<uintptr_t>(map->l_addr));
  if (code.begin >= code.end) {
    return Status(StatusCode::kLoadFailed, fmt::format("{}: has no executable segment", origin));
  }
  module->code_begin_ = code.begin;
  module->code_end_ = code.end;

  const rf_module_abi& abi = *module->abi_;
  for (uint32_t i = 0; i < abi.function_count; ++i) {
    module->functions_.emplace_back(reinterpret_cast<uintptr_t>(abi.functions[i].code),
                                    abi.functions[i].name);
  }
  std::sort(module->functions_.begin(), module->functions_.end());
  return std::shared_ptr<const Module>(std::move(module));
}

Status Module::LoadNative(std::span<const uint8_t> code, const std::string& origin) {
  // Refused here, with the reason, rather than by every worker that loads it.
  if (Status checked = internal::CheckNativeCode(code); !checked.ok()) {
    return Status(checked.code(), fmt::format("{}: {}", origin, checked.message()));
  }
  // Workers read the code from this memfd; sealed, so none can change it
  // for the next.
  StatusOr<int> staged = StageCode(code, descriptor_.name, origin, MFD_ALLOW_SEALING);
  if (!staged.ok()) return staged.status();
  code_fd_ = *staged;
  // Each worker checks the code and then maps it: only the seal makes what
  // it maps what it checked.
  if (fcntl(code_fd_, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
    return Status(StatusCode::kLoadFailed, fmt::format("{}: cannot seal its staged code: {}",
                                                       origin, std::strerror(errno)));
  }
  native_code_size_ = code.size();
  process_abi_ = std::make_unique<rf_module_abi>();
  internal::MakeProcessAbi(*this, process_abi_.get(), &process_exports_);
  abi_ = process_abi_.get();
  code_begin_ = internal::kNativeCodeBase;
  code_end_ = internal::kNativeCodeBase + code.size();
  for (const NativeFunction& function : descriptor_.native_functions) {
    // CheckModuleFile refused a function outside the code.
    functions_.emplace_back(internal::kNativeCodeBase + function.offset, function.name.c_str());
  }
  std::sort(functions_.begin(), functions_.end());
  return Status::Ok();
}

Module::~Module() {
  if (library_ != nullptr) dlclose(library_);
  if (code_fd_ >= 0) close(code_fd_);
}

std::optional<uint32_t> Module::FindExport(std::string_view name) const {
  for (uint32_t i = 0; i < descriptor_.exports.size(); ++i) {
    if (descriptor_.exports[i].name == name) return i;
  }
  return std::nullopt;
}

namespace {

// The function entry at or below `pc` in `functions` (sorted), or end.
template <typename Functions>
typename Functions::const_iterator FunctionContaining(const Functions& functions, uintptr_t pc) {
  auto after = std::upper_bound(functions.begin(), functions.end(), pc,
                                [](uintptr_t value, const auto& entry) { return value < entry.first; });
  return after == functions.begin() ? functions.end() : std::prev(after);
}

}  // namespace

uintptr_t Module::FunctionEntry(uintptr_t pc) const {
  if (!ContainsCode(pc)) return 0;
  auto function = FunctionContaining(functions_, pc);
  return function == functions_.end() ? 0 : function->first;
}

std::string Module::FunctionAt(uintptr_t pc) const {
  if (!ContainsCode(pc)) return "";
  auto function = FunctionContaining(functions_, pc);
  if (function == functions_.end()) return "";
  const char* name = function->second;
  if (std::string_view(name).substr(0, 2) != "_Z") return name;  // not a C++ name
  int status = 0;
  char* demangled = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  std::string result = status == 0 && demangled != nullptr ? demangled : name;
  std::free(demangled);
  return result;
}

}  // namespace ringfence
