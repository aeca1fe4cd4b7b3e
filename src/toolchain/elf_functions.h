// The functions of a linked ELF shared object, from its symbol table
// (libelf), for a process module's descriptor (native_functions).
#ifndef RINGFENCE_SRC_TOOLCHAIN_ELF_FUNCTIONS_H_
#define RINGFENCE_SRC_TOOLCHAIN_ELF_FUNCTIONS_H_

#include <string>
#include <vector>

#include "ringfence/module_file.h"
#include "ringfence/status.h"

namespace ringfence::internal {

// Every defined function symbol (STT_FUNC, local ones included) of the
// object at `path`, as (offset = st_value, name), sorted by offset; one entry
// per offset (a global name preferred over a local alias). Prefers .symtab,
// falls back to .dynsym for a stripped object. Errors: kBuildFailed (not
// readable ELF).
StatusOr<std::vector<NativeFunction>> ReadElfFunctions(const std::string& path);

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_TOOLCHAIN_ELF_FUNCTIONS_H_
