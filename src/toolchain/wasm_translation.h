// wasm32 bytes -> what a module file needs: the module's interface (from its
// real exports and imports) and its C translation (wabt's wasm2c library).
//
// Every name in a .wasm (exports, imports, the name section) is text the
// module's author chose, and wasm2c 1.0.32 copies names into the C it writes
// unescaped (in comments and identifiers). So wasm2c never sees one: exports
// and imports are renamed to generated identifiers before translation and
// the name section is never read into what wasm2c translates. The real names
// are kept here, for the descriptor and for trap reports.
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
// The module name every import is given for wasm2c (the generated header
// declares each import as "/* import: 'host' '<field>' */").
inline constexpr char kWasm2cImportModule[] = "host";

struct WasmTranslation {
  // Callable exports, in the module's export order, by their real names.
  std::vector<ExportInfo> exports;
  // For each of `exports`, the name wasm2c knew it by (generated, [a-z0-9]).
  std::vector<std::string> export_c_names;
  // For each of `exports`, the name of the module function it exports.
  std::vector<std::string> export_functions;
  // The wasm2c name of the "_initialize" export; "" if there is none.
  std::string initialize_c_name;
  std::vector<ImportInfo> imports;  // function imports, in order, real names
  // For each of `imports`, its field name for wasm2c (generated, [a-z0-9]),
  // in module kWasm2cImportModule.
  std::vector<std::string> import_c_names;
  std::optional<MemoryInfo> memory;
  // Names of the defined (not imported) functions, in index order: from the
  // name section (module text: escape it wherever it is printed), else
  // "func[INDEX]".
  std::vector<std::string> function_names;
  // Exports ringfence cannot call (multi-value, vectors, references), each
  // with the reason, for a warning.
  std::vector<std::string> skipped_exports;
  std::string content_hash;  // "sha256:<hex>" of the wasm bytes
  std::string c_source;      // wasm2c output
  std::string c_header;      // wasm2c header, included as "module.h"
};

// Errors (kBuildFailed): beyond a limit or using a feature ringfence does
// not translate (CheckWasmLimits, run first), not valid wasm, imports of
// memory/tables/globals, imports the host does not provide (each named).
// The input is hostile: run this where a crash or exhaustion of memory or
// time costs nothing but the build (ConfinedRun).
StatusOr<WasmTranslation> TranslateWasm(std::span<const uint8_t> wasm, const std::string& origin);

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_TOOLCHAIN_WASM_TRANSLATION_H_
