// Reading the call classes a module declares (RF_IDEMPOTENT and friends in
// module.h), which arrive as marker exports named
// "ringfence.call_class:<export>:<class>".
#ifndef RINGFENCE_SRC_MODULE_CALL_CLASSES_H_
#define RINGFENCE_SRC_MODULE_CALL_CLASSES_H_

#include <string_view>
#include <vector>

#include "ringfence/call_class.h"
#include "ringfence/module_file.h"

namespace ringfence::internal {

inline constexpr std::string_view kCallClassMarkerPrefix = "ringfence.call_class:";

// One entry per export of `descriptor` (markers themselves are kNeither).
// kNotAModule, naming `origin`, for a marker that names no export, an unknown
// class, a key parameter that does not exist or is not an integer, or two
// markers for one export.
StatusOr<std::vector<ExportCallClass>> ParseCallClasses(const ModuleDescriptor& descriptor,
                                                        std::string_view origin);

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_MODULE_CALL_CLASSES_H_
