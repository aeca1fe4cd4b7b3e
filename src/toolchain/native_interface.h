// A natively built module's interface, read from its LLVM IR (no wasm
// toolchain involved): the functions it exports, the call classes it
// declares and the functions it imports from other modules.
//
// What module.h's native expansions leave in the IR:
//   RF_EXPORT(f)         a defined function with external linkage and default
//                        visibility (the sources are compiled with
//                        -fvisibility=hidden, so nothing else has it)
//   RF_IMPORT(m, n)      a function declaration in section
//                        "ringfence.import:<m>:<n>"
//   RF_CALL_CLASS_(f, c) a used variable in section
//                        "ringfence.call_class:<f>:<c>"
#ifndef RINGFENCE_SRC_TOOLCHAIN_NATIVE_INTERFACE_H_
#define RINGFENCE_SRC_TOOLCHAIN_NATIVE_INTERFACE_H_

#include <string>
#include <vector>

#include "ringfence/module_file.h"
#include "ringfence/status.h"

namespace ringfence::internal {

struct NativeExport {
  ExportInfo info;
  // The function's linker symbol; empty for a call-class marker, which has
  // no code (its signature is () -> (), as in a wasm build).
  std::string symbol;
};

struct NativeImport {
  ImportInfo info;
  std::string symbol;  // the C symbol the module calls; the glue defines it
};

struct NativeInterface {
  // Exports in the order of the IR files and, within one, of definition;
  // each export's call-class markers right after it (where a wasm build
  // puts them: RF_CALL_CLASS_ follows the export in the source). Markers
  // naming no export come last.
  std::vector<NativeExport> exports;
  std::vector<NativeImport> imports;  // in order of first declaration
};

// The most parameters an export may take, and an import (a worker call
// carries its arguments in a fixed message).
inline constexpr size_t kMaxNativeExportParams = 6;
inline constexpr size_t kMaxNativeImportParams = 5;

// Reads LLVM bitcode or textual IR files (one per source, in source order).
// Errors: kBuildFailed for an unreadable file, an export or import whose
// signature is not made of int32_t/int64_t/float/double (named, with the
// offending type), varargs, too many parameters, two exports of one name,
// static constructors with a priority (the build runs constructors itself,
// in one order), a malformed import section.
StatusOr<NativeInterface> ReadNativeInterface(const std::vector<std::string>& ir_files);

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_TOOLCHAIN_NATIVE_INTERFACE_H_
