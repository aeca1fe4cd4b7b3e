// The native half of the module build driver (`ringfence build --native`):
//
//   C/C++ sources --clang -emit-llvm--> LLVM bitcode --LLVM C API--> interface
//   bitcode --clang--> objects --objcopy--> constructors moved to rf_init_array
//   objects + glue (native_glue_writer) + native_module_shim.c
//     --link -nostartfiles--> .so --CheckNativeCode--> refused, or the code
//
// The shared object is what the worker process loads (native_abi.h); the
// host only reads the descriptor.
#ifndef RINGFENCE_SRC_TOOLCHAIN_NATIVE_BUILDER_H_
#define RINGFENCE_SRC_TOOLCHAIN_NATIVE_BUILDER_H_

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "ringfence/module_builder.h"
#include "ringfence/module_file.h"
#include "ringfence/status.h"
#include "src/toolchain/sdk_paths.h"
#include "src/toolchain/subprocess.h"

namespace ringfence::internal {

// A module file's contents, before packing.
struct BuiltModule {
  ModuleDescriptor descriptor;  // isolation kProcess
  std::vector<uint8_t> code;    // the ELF shared object
};

// Builds options.sources (C/C++ only; checked by the caller) in `work`, a
// scratch directory the caller owns, running every compiler with
// `commands` (its sandbox; output unset). Errors: kBuildFailed (a compiler or
// objcopy failed, an export/import signature is not supported: named in
// the message, or the linked object would run code or write outside itself
// while loading: src/module/native_code_check.h), kIoError.
StatusOr<BuiltModule> BuildNativeCode(const BuildOptions& options, const SdkPaths& sdk,
                                      const std::filesystem::path& work,
                                      const std::string& module_name,
                                      const CommandOptions& commands);

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_TOOLCHAIN_NATIVE_BUILDER_H_
