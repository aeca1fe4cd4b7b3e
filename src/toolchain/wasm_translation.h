// wasm32 bytes -> what a module file needs: the module's interface (from its
// real exports and imports) and its C translation (wabt's wasm2c library).
#ifndef RINGFENCE_SRC_TOOLCHAIN_WASM_TRANSLATION_H_
#define RINGFENCE_SRC_TOOLCHAIN_WASM_TRANSLATION_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ringfence/module_file.h"
#include "ringfence/status.h"

namespace ringfence::internal {

// The prefix wasm2c gives this module's C symbols (Z_m_...). Every module is
// its own shared object with hidden symbols, so one fixed name serves all.
inline constexpr char kWasm2cModuleName[] = "m";

struct WasmTranslation {
  // Callable exports, in the module's export order.
  std::vector<ExportInfo> exports;
  // For each of `exports`, the name of the module function it exports.
  std::vector<std::string> export_functions;
  bool has_initialize = false;
  std::vector<ImportInfo> imports;  // function imports, in order
  std::optional<MemoryInfo> memory;
  // Names of the defined (not imported) functions, in index order.
  std::vector<std::string> function_names;
  // Exports ringfence cannot call (multi-value, vectors, references), each
  // with the reason, for a warning.
  std::vector<std::string> skipped_exports;
  std::string content_hash;  // "sha256:<hex>" of the wasm bytes
  std::string c_source;      // wasm2c output
  std::string c_header;      // wasm2c header, included as "module.h"
};

// Errors (kBuildFailed): not valid wasm, imports of memory/tables/globals,
// more than one memory, 64-bit memory, imports the host does not provide
// (each named).
StatusOr<WasmTranslation> TranslateWasm(std::span<const uint8_t> wasm, const std::string& origin);

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_TOOLCHAIN_WASM_TRANSLATION_H_
