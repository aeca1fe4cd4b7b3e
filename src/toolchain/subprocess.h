// Running the compilers a module build needs.
#ifndef RINGFENCE_SRC_TOOLCHAIN_SUBPROCESS_H_
#define RINGFENCE_SRC_TOOLCHAIN_SUBPROCESS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "ringfence/status.h"

namespace ringfence::internal {

// Limits every compiler run gets: module source is hostile and a compiler
// can be made to run long, allocate without end or write huge files.
inline constexpr uint64_t kCommandCpuSeconds = 900;
inline constexpr uint64_t kCommandAddressSpaceBytes = uint64_t{16} << 30;
inline constexpr uint64_t kCommandFileBytes = uint64_t{4} << 30;

struct CommandOptions {
  std::string* output = nullptr;  // non-null: the command's stdout goes here
  // A Landlock ruleset (BuildSandbox) the command is confined to; -1: none.
  int landlock_ruleset = -1;
  // TMPDIR for the command (a confined compiler cannot write /tmp); "" keeps
  // the caller's.
  std::string temp_dir;
};

// Runs argv[0] (looked up in PATH) with the given arguments and waits,
// under the limits above and options.landlock_ruleset. The child's stderr
// is the caller's, so compiler messages reach the user as the compiler
// wrote them. Errors: kBuildFailed if it cannot start, exits non-zero or is
// killed (a limit is named when one was reached).
Status RunCommand(const std::vector<std::string>& argv, const CommandOptions& options = {});

// argv as one shell-like line, for --verbose and error messages.
std::string CommandLine(const std::vector<std::string>& argv);

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_TOOLCHAIN_SUBPROCESS_H_
