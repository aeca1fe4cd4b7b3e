// The catalogue of imports a ringfence host provides, shared by the module
// build (which generates a forwarder per import) and the loader (which
// refuses a module whose imports are not all provided).
#ifndef RINGFENCE_SRC_SERVICES_HOST_IMPORTS_H_
#define RINGFENCE_SRC_SERVICES_HOST_IMPORTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ringfence/value.h"

namespace ringfence::internal {

// How the module's glue satisfies an import.
enum class ImportBinding {
  kHostCall,      // forwards to rf_host_api::<host_field>
  kProcExit,      // raises a trap of kind exit
  kConstant,      // returns `constant` without calling the host (an errno or 0)
  kLinked,        // a function exported by another module, wired by the host
};

struct HostImport {
  ImportBinding binding;
  std::string host_field;  // for kHostCall: the rf_host_api member
  uint32_t constant = 0;   // for kConstant
};

// The binding for `module.name` with `signature`, or nullopt if this host
// does not provide it. An import from any module other than "ringfence",
// "wasi_snapshot_preview1" and "env" (where the linker puts symbols nobody
// defined) is linked: the host wires it to another module's export. Any wasi_snapshot_preview1 function returning an errno
// is provided: the ones ordinary C needs do their job, the rest report an
// error (EBADF for fd_*, ENOTCAPABLE for path_*, ENOTSUP for sock_*, ENOSYS
// otherwise) and never touch host resources.
std::optional<HostImport> LookupHostImport(std::string_view module, std::string_view name,
                                           const Signature& signature);

// A sentence naming what the host provides, for error messages.
std::string DescribeHostImports();

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_SERVICES_HOST_IMPORTS_H_
