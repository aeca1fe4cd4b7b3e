// Generates the C file that turns a natively compiled module into what the
// worker loads (sdk/include/ringfence/internal/native_abi.h): one slot
// trampoline per export, a no-op one per call-class marker, a forwarder
// defining each RF_IMPORT'd symbol (calls worker->call_linked), start()
// running the constructors the build moved out of .init_array, and the entry
// point ringfence_native_module_v1.
#ifndef RINGFENCE_SRC_TOOLCHAIN_NATIVE_GLUE_WRITER_H_
#define RINGFENCE_SRC_TOOLCHAIN_NATIVE_GLUE_WRITER_H_

#include <string>

#include "src/toolchain/native_interface.h"

namespace ringfence::internal {

// The sections the build renames the module objects' constructor tables
// to (C identifiers, so the linker defines __start_/__stop_ symbols).
inline constexpr char kNativeInitArraySection[] = "rf_init_array";
inline constexpr char kNativeCtorsSection[] = "rf_ctors";

// The glue's source. It includes <ringfence/internal/native_abi.h> and links
// with sdk/runtime/native_module_shim.c (which owns the worker pointer).
std::string WriteNativeGlue(const NativeInterface& interface, const std::string& module_name);

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_TOOLCHAIN_NATIVE_GLUE_WRITER_H_
