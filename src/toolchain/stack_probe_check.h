// Stack-clash check of a module's native code, run on every module the
// wasm backend builds.
//
// A function whose frame is larger than the guard page below a thread's
// stack must touch ("probe") each page as it moves the stack pointer down,
// or its first store can land past the guard in whatever lies below - the
// stack of another thread. Module code is compiled with
// -fstack-clash-protection, which moves the stack pointer at most one page
// between probes; this check proves it of the object that was built, so a
// compiler that ignores the flag (or a build that lost it) never yields a
// module file. The fault handler relies on the same bound
// (RF_MAX_STACK_STEP): it claims a stack fault as exhaustion only within one
// step of the stack.
#ifndef RINGFENCE_SRC_TOOLCHAIN_STACK_PROBE_CHECK_H_
#define RINGFENCE_SRC_TOOLCHAIN_STACK_PROBE_CHECK_H_

#include <cstdint>
#include <string>

#include "ringfence/internal/module_abi.h"
#include "ringfence/status.h"

namespace ringfence::internal {

// The largest single move of the stack pointer, in bytes, that module code
// may make without a probe: one page (gcc's and clang's probe interval).
inline constexpr int64_t kMaxStackStep = RF_MAX_STACK_STEP;

// Disassembles the executable sections of the x86-64 ELF object at `path`
// (linear sweep) and refuses any instruction that moves %rsp down by more
// than kMaxStackStep at once (sub/add of an immediate, lea with a
// displacement) or by an amount only known at run time (sub of a register).
// Moves that restore the stack pointer (mov from a register or memory, as
// epilogues and longjmp do) are allowed. Errors: kBuildFailed naming the
// instruction's address and what it does.
Status CheckStackProbes(const std::string& path);

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_TOOLCHAIN_STACK_PROBE_CHECK_H_
