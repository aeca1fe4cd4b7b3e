// Module: a loaded module file.
//
// A module file (built by `ringfence build` or ringfence_add_module) holds a
// descriptor and the module's native code. Loading checks the file's format,
// integrity and ABI version before any of its code is mapped; a file that is
// not a module, is truncated or corrupt, was built for another ABI, or needs
// a host service this host lacks is refused with a Status, never a crash.
//
// Trust: a module file is native code. Its sandbox protects the host from the
// module's bugs (wild pointers, traps, runaway recursion), not from a file
// crafted outside the toolchain. Load files you built.
//
// Ownership and threads: a Module is immutable after Load and shared by the
// compartments created from it (shared_ptr); it may be used from any thread.
#ifndef RINGFENCE_MODULE_FILE_H_
#define RINGFENCE_MODULE_FILE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ringfence/call_class.h"
#include "ringfence/status.h"
#include "ringfence/value.h"

struct rf_module_abi;
struct rf_export;

namespace ringfence {

struct ExportInfo {
  std::string name;
  Signature signature;

  // Whether this export only declares another export's call class
  // (RF_IDEMPOTENT and friends in module.h) and is not meant to be called.
  bool IsCallClassMarker() const;
};

struct ImportInfo {
  std::string module;  // "ringfence" or "wasi_snapshot_preview1"
  std::string name;
  Signature signature;
};

struct MemoryInfo {
  uint32_t initial_pages = 0;  // 64 KiB pages
  uint32_t max_pages = 0;      // declared maximum (65536 if none)
};

// Where a module's code runs (Compartment::Create, CompartmentOptions::isolation).
enum class Isolation {
  kWasm,     // built to wasm32, translated to native code, run in the host's
             // process inside a 4 GiB window (`ringfence build`)
  kProcess,  // built natively, run in a sandboxed worker process
             // (`ringfence build --native`)
};
// "wasm" or "process".
std::string_view IsolationName(Isolation isolation);

// A function of a natively built module: its entry's offset from the start
// of the module's shared object, and its (linker) name.
struct NativeFunction {
  uint64_t offset = 0;
  std::string name;
};

// What a module file says about itself.
struct ModuleDescriptor {
  std::string name;
  uint32_t abi_version = 0;
  // "sha256:<hex>" of the module's native code, the bytes that are loaded:
  // checked at load (kNotAModule if they differ).
  std::string content_hash;
  // Provenance, not checked: "sha256:<hex>" of the wasm the code was
  // translated from (wasm backend), empty for a natively built module.
  std::string source_hash;
  std::vector<ExportInfo> exports;
  std::vector<ImportInfo> imports;
  std::optional<MemoryInfo> memory;
  uint32_t function_count = 0;
  std::string built_by;
  // The backend the code was built for. A process module's code is a
  // native shared object that only a worker process loads.
  Isolation isolation = Isolation::kWasm;
  // Process modules: the shared object's functions, sorted by offset (for
  // naming the functions in a crashed worker's backtrace).
  std::vector<NativeFunction> native_functions;

  std::string ToJson(int indent = -1) const;
  static StatusOr<ModuleDescriptor> FromJson(std::string_view json);

  // The call class the module declares for each export, indexed like
  // `exports` (markers themselves are kNeither): what Module::call_class
  // reports once loaded. kNotAModule, naming `origin`, for a marker that
  // names no export, an unknown class, a key that is not an integer
  // parameter, or two markers for one export (never for a descriptor
  // ReadModuleDescriptor returned: it checks them).
  StatusOr<std::vector<ExportCallClass>> CallClasses(std::string_view origin) const;
};

// Reads only the descriptor of the module file at `path`, for tools that
// show what a module is (`ringfence inspect`): checks the file's format,
// checksum, ABI version and that its code matches the descriptor's
// content_hash, but maps and runs none of its code and needs none of its
// imports. Errors: as Module::Load, except kMissingImport and kLoadFailed.
StatusOr<ModuleDescriptor> ReadModuleDescriptor(const std::string& path);

class Module {
 public:
  // Loads a module file. Errors: kIoError (unreadable, not a regular file,
  // or larger than internal::kMaxModuleFileBytes), kNotAModule (wrong magic,
  // truncated, corrupt, bad descriptor, code not matching its
  // content_hash), kAbiMismatch, kMissingImport, kLoadFailed (native code
  // refused by the dynamic loader).
  static StatusOr<std::shared_ptr<const Module>> Load(const std::string& path);
  // Same, from the file's bytes; `origin` names it in messages.
  static StatusOr<std::shared_ptr<const Module>> LoadFromBytes(
      std::span<const uint8_t> bytes, const std::string& origin);

  ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  const ModuleDescriptor& descriptor() const { return descriptor_; }
  const std::string& name() const { return descriptor_.name; }
  // Index into descriptor().exports, or nullopt.
  std::optional<uint32_t> FindExport(std::string_view name) const;
  // The call class the module declares for export `index` (call_class.h).
  const ExportCallClass& call_class(uint32_t index) const { return call_classes_[index]; }

  Isolation isolation() const { return descriptor_.isolation; }

  // Internal: used by compartments and the fault handler. For a process
  // module the host makes this table itself (process_instance.h).
  const rf_module_abi& abi() const { return *abi_; }
  // Internal, process modules: the native code, as a memfd worker processes
  // load it from, and its size.
  int native_code_fd() const { return code_fd_; }
  uint64_t native_code_size() const { return native_code_size_; }
  bool ContainsCode(uintptr_t pc) const { return pc >= code_begin_ && pc < code_end_; }
  // Name of the module function containing `pc` (demangled where it is a
  // C++ name), or "" if unknown.
  std::string FunctionAt(uintptr_t pc) const;
  // Entry address of the module function FunctionAt(pc) names, or 0.
  // Allocates nothing and takes no lock: async-signal-safe.
  uintptr_t FunctionEntry(uintptr_t pc) const;

 private:
  Module() = default;
  // Keeps a process module's native code for worker processes (no code is
  // mapped into the host) and makes its rf_module_abi.
  Status LoadNative(std::span<const uint8_t> code, const std::string& origin);

  ModuleDescriptor descriptor_;
  std::vector<ExportCallClass> call_classes_;  // per export
  void* library_ = nullptr;  // dlopen handle
  int code_fd_ = -1;         // memfd holding the native code while loaded
  const rf_module_abi* abi_ = nullptr;
  uintptr_t code_begin_ = 0;
  uintptr_t code_end_ = 0;
  // Module function entry addresses, sorted, and their names.
  std::vector<std::pair<uintptr_t, const char*>> functions_;
  // Process modules: the table abi_ points to, and its exports.
  std::unique_ptr<rf_module_abi> process_abi_;
  std::vector<rf_export> process_exports_;
  uint64_t native_code_size_ = 0;
};

}  // namespace ringfence

#endif  // RINGFENCE_MODULE_FILE_H_
