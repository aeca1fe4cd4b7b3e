// Where the built-in example modules are: --modules DIR if given, else
// <prefix>/share/ringfence/modules beside an installed ringfence, else the
// build tree's module directory.
#ifndef RINGFENCE_TOOLS_RINGFENCE_MODULE_DIR_H_
#define RINGFENCE_TOOLS_RINGFENCE_MODULE_DIR_H_

#include <string>

#include "ringfence/status.h"

namespace ringfence::cli {

// kNotFound naming the places looked at if none holds calc.rfm.
StatusOr<std::string> FindModuleDir(const std::string& requested);

}  // namespace ringfence::cli

#endif  // RINGFENCE_TOOLS_RINGFENCE_MODULE_DIR_H_
