// Runs a step of a module build that parses hostile input (a .wasm) in a
// forked child process under memory and CPU limits: a crash, a runaway
// allocation or an endless loop in that step (in ringfence's code or in
// wabt's) costs the build one clear error and nothing else.
#ifndef RINGFENCE_SRC_TOOLCHAIN_CONFINED_RUN_H_
#define RINGFENCE_SRC_TOOLCHAIN_CONFINED_RUN_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "ringfence/status.h"

namespace ringfence::internal {

struct ConfinedLimits {
  // Address space the step may map beyond what the process had at fork
  // (RLIMIT_AS, relative so that a host's reservations do not count).
  uint64_t memory_bytes = uint64_t{4} << 30;
  uint64_t cpu_seconds = 300;  // RLIMIT_CPU
  // Wall-clock time, which also ends a child that waits instead of running
  // (RLIMIT_CPU would never): SIGKILL when it passes.
  uint64_t wall_seconds = 600;
};

// Runs `step` in a child created by fork() and returns what it returned:
// its bytes, or its Status. The child shares nothing with the caller after
// the fork except files: a step that writes files hands them over that way
// (the caller owns the directory and removes it on every path).
//
// Errors besides the step's own (all kBuildFailed, each one line starting
// with `what`): it crashed (the signal is named), ran out of memory or CPU
// time or wall-clock time (the limit is named), or ended without an answer. kIoError if the
// child cannot be created.
//
// The child runs `step` on a copy of the calling thread only: `step` must
// not wait for anything another thread of the caller would do (locks held
// by other threads at the fork stay held in the child). Allocation is safe.
StatusOr<std::string> RunConfined(std::string_view what, const ConfinedLimits& limits,
                                  const std::function<StatusOr<std::string>()>& step);

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_TOOLCHAIN_CONFINED_RUN_H_
