// Running the compilers a module build needs.
#ifndef RINGFENCE_SRC_TOOLCHAIN_SUBPROCESS_H_
#define RINGFENCE_SRC_TOOLCHAIN_SUBPROCESS_H_

#include <string>
#include <vector>

#include "ringfence/status.h"

namespace ringfence::internal {

// Runs argv[0] (looked up in PATH) with the given arguments and waits. The
// child's stderr is the caller's, so compiler messages reach the user as the
// compiler wrote them. With `output` non-null its stdout is captured there.
// Errors: kBuildFailed if it cannot start or exits non-zero.
Status RunCommand(const std::vector<std::string>& argv, std::string* output = nullptr);

// argv as one shell-like line, for --verbose and error messages.
std::string CommandLine(const std::vector<std::string>& argv);

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_TOOLCHAIN_SUBPROCESS_H_
