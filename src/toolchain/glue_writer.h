// Generates the C file that turns wasm2c output into a loadable module: the
// gate trampolines (one per export, recovery armed), the forwarders that
// satisfy the module's imports, the function-name table for trap reports,
// and the ringfence_module_v4 entry point (module_abi.h).
#ifndef RINGFENCE_SRC_TOOLCHAIN_GLUE_WRITER_H_
#define RINGFENCE_SRC_TOOLCHAIN_GLUE_WRITER_H_

#include <string>

#include "ringfence/status.h"
#include "src/toolchain/wasm_translation.h"

namespace ringfence::internal {

struct GlueSources {
  // #includes "module_shim.c" and "module.c" (the wasm2c output): the
  // module's code, runtime, import forwarders, function names, entry point.
  std::string module_unit;
  // #includes "module_gate.h" and "module.h": the gates and the export
  // table, in a unit of their own (see module_gate.h for why).
  std::string gates_unit;
};

// kBuildFailed if the wasm2c header does not have the shape expected.
StatusOr<GlueSources> WriteGlue(const WasmTranslation& translation, const std::string& module_name);

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_TOOLCHAIN_GLUE_WRITER_H_
