#include "src/module/module_file_check.h"

#include <fmt/format.h>

#include "ringfence/internal/module_abi.h"
#include "src/base/sha256.h"
#include "src/module/call_classes.h"
#include "src/module/module_file_format.h"
#include "src/services/host_imports.h"

namespace ringfence::internal {
namespace {

Status CheckImports(const ModuleDescriptor& descriptor, const std::string& origin) {
  for (const ImportInfo& import : descriptor.imports) {
    if (!LookupHostImport(import.module, import.name, import.signature)) {
      return Status(StatusCode::kMissingImport,
                    fmt::format("{} imports {}.{} {}, which this host does not provide ({})",
                                origin, import.module, import.name, import.signature.ToString(),
                                DescribeHostImports()));
    }
  }
  return Status::Ok();
}

// A process module names its functions by offset into its code (for
// backtraces); each must lie inside it.
Status CheckNativeFunctions(const ModuleDescriptor& descriptor, std::span<const uint8_t> code,
                            const std::string& origin) {
  for (const NativeFunction& function : descriptor.native_functions) {
    if (function.offset >= code.size()) {
      return Status(StatusCode::kNotAModule,
                    fmt::format("{}: native function {} lies outside its code", origin,
                                function.name));
    }
  }
  return Status::Ok();
}

// The code must be the code the descriptor was written for. Detects a code
// part swapped or damaged after the build; anyone can recompute the hash,
// so it is no signature.
Status CheckContentHash(const ModuleDescriptor& descriptor, std::span<const uint8_t> code,
                        const std::string& origin) {
  std::string code_hash = Sha256Text(code);
  if (descriptor.content_hash == code_hash) return Status::Ok();
  return Status(StatusCode::kNotAModule,
                fmt::format("{}: its code does not match the content hash in its descriptor "
                            "(descriptor: {}, code: {}); rebuild it with `ringfence build`",
                            origin, descriptor.content_hash, code_hash));
}

}  // namespace

StatusOr<CheckedModuleFile> CheckModuleFile(std::span<const uint8_t> bytes,
                                            const std::string& origin) {
  StatusOr<ModuleFileParts> parts = UnpackModuleFile(bytes, origin);
  if (!parts.ok()) return parts.status();
  StatusOr<ModuleDescriptor> descriptor = ModuleDescriptor::FromJson(parts->descriptor_json);
  if (!descriptor.ok()) {
    return Status(descriptor.status().code(),
                  fmt::format("{}: {}", origin, descriptor.status().message()));
  }
  if (descriptor->abi_version != RF_MODULE_ABI_VERSION) {
    return Status(StatusCode::kAbiMismatch,
                  fmt::format("{}: descriptor says module ABI version {}, this ringfence loads {}",
                              origin, descriptor->abi_version, RF_MODULE_ABI_VERSION));
  }
  RF_RETURN_IF_ERROR(CheckImports(*descriptor, origin));
  StatusOr<std::vector<ExportCallClass>> classes = ParseCallClasses(*descriptor, origin);
  if (!classes.ok()) return classes.status();
  RF_RETURN_IF_ERROR(CheckNativeFunctions(*descriptor, parts->code, origin));
  RF_RETURN_IF_ERROR(CheckContentHash(*descriptor, parts->code, origin));
  return CheckedModuleFile{std::move(descriptor).value(), std::move(classes).value(), parts->code};
}

}  // namespace ringfence::internal
