// The worker's lockdown, applied after the module is loaded and before any
// of its code runs (see main.cc for the order).
#ifndef RINGFENCE_SRC_PROCESS_WORKER_SANDBOX_H_
#define RINGFENCE_SRC_PROCESS_WORKER_SANDBOX_H_

#include <linux/filter.h>

#include <cstdint>
#include <vector>

#include "src/process/worker/worker_options.h"

namespace ringfence::worker {

// Address space the worker itself needs beyond what the module may use
// (--memory-limit), its code and its regions: the worker program and its
// libraries (libc, libstdc++, libseccomp, ~20 MiB of mappings), the main
// thread's stack as it grows (up to RLIMIT_STACK, 8 MiB by default), the
// channel and the signal stack (< 1 MiB), libc's main heap. The worker test
// checks that a serving worker stays below it.
inline constexpr uint64_t kWorkerAddressAllowance = uint64_t{64} << 20;
// RLIMIT_NOFILE: the worker keeps 0, 1, 2 and the channel; the module can
// open nothing (seccomp), so a small limit only bounds dup().
inline constexpr uint64_t kWorkerOpenFilesLimit = 16;

// Tasks (threads, the serving one included) a worker may have: RLIMIT_NPROC.
inline constexpr uint64_t kWorkerThreadLimit = 64;
// A worker started by root runs as uid and gid kWorkerUidBase + its pid
// (unique among live workers: pids are), which needs that uid mapped in the
// host's user namespace (all of it is, outside containers).
inline constexpr uint32_t kWorkerUidBase = 0x52460000;

// Closes every descriptor but 0, 1, 2 and `channel_fd`.
void CloseInheritedFds(int channel_fd);

// RLIMIT_AS = memory_limit + code_bytes + region_bytes +
// kWorkerAddressAllowance (none if memory_limit is 0), RLIMIT_FSIZE 0,
// RLIMIT_CORE 0, RLIMIT_NOFILE kWorkerOpenFilesLimit, RLIMIT_CPU
// cpu_seconds (soft: SIGXCPU, recorded as a crash; hard one second later:
// SIGKILL) if non-zero.
void SetResourceLimits(const WorkerOptions& options, uint64_t code_bytes, uint64_t region_bytes);

// Bounds the worker's threads at kWorkerThreadLimit with RLIMIT_NPROC, made
// a real per-worker bound: the kernel counts RLIMIT_NPROC per user (per
// user namespace since Linux 5.14) and never enforces it for uid 0 or a
// process with CAP_SYS_RESOURCE or CAP_SYS_ADMIN. So a worker started by
// root becomes uid kWorkerUidBase + pid (which drops every capability); any
// other worker moves into a user namespace of its own, where it is the
// only process its user has. Fails the worker's setup if neither works
// (e.g. user namespaces disabled for an unprivileged host): no worker runs
// without the bound. Re-arms the parent-death signal, which a change of
// credentials clears. Before the lockdown, with one thread.
void BoundThreads(pid_t parent_pid);

// A seccomp-bpf program (see PrepareSandbox).
struct SandboxFilter {
  std::vector<sock_filter> program;
};

// The sandbox goes on in two steps, because installing the allowlist takes
// the kernel a while (it checks the program and works out, per system
// call, whether it always allows) and an idle worker can do that before it
// has a module. PrepareSandbox sets PR_SET_NO_NEW_PRIVS and installs the
// allowlist (sandbox.cc's table) plus what loading the module needs; it
// returns a small second filter that takes the loading calls away again.
// A process's filters all apply, so after LockDown(that filter) what is
// allowed is exactly the allowlist. A system call outside it raises SIGSYS
// (SCMP_ACT_TRAP), which the crash handler records with the call's number.
// The crash handler must be installed first; the process must have one
// thread (the filters are not synchronised to others).
SandboxFilter PrepareSandbox();
void LockDown(const SandboxFilter& filter);

}  // namespace ringfence::worker

#endif  // RINGFENCE_SRC_PROCESS_WORKER_SANDBOX_H_
