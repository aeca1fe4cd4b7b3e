// Everything Module::Load checks in a module file before it maps any of the
// file's code: container, descriptor, ABI version, imports, call classes,
// for a process module where its functions lie, and that the code is the
// one the descriptor's content_hash names. A pure function of the
// bytes (it maps, stages and runs nothing), so it can be tested on any input.
#ifndef RINGFENCE_SRC_MODULE_MODULE_FILE_CHECK_H_
#define RINGFENCE_SRC_MODULE_MODULE_FILE_CHECK_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ringfence/call_class.h"
#include "ringfence/module_file.h"
#include "ringfence/status.h"

namespace ringfence::internal {

struct CheckedModuleFile {
  ModuleDescriptor descriptor;
  std::vector<ExportCallClass> call_classes;  // one per descriptor export
  std::span<const uint8_t> code;              // a view into the checked bytes
};

// Errors, each naming `origin`: kNotAModule (not a module file, truncated,
// corrupt, a bad descriptor or call-class declaration, a process module's
// function outside its code, code that does not match the content hash), kAbiMismatch (file or descriptor built for
// another ABI), kMissingImport (an import this host does not provide).
StatusOr<CheckedModuleFile> CheckModuleFile(std::span<const uint8_t> bytes,
                                            const std::string& origin);

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_MODULE_MODULE_FILE_CHECK_H_
