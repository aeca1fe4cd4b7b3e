#include "src/process/worker/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <grp.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "src/process/worker_exit.h"

namespace ringfence::worker {
namespace {

[[noreturn]] void Fail(const char* what, int error) {
  std::fprintf(stderr, "ringfence-worker: %s: %s\n", what, std::strerror(error));
  std::exit(internal::kWorkerExitSetupFailed);
}

// One entry of the allowlist: `syscall` gets `action` when every condition
// holds (none: always).
struct SyscallRule {
  int syscall;
  uint32_t action;
  std::vector<scmp_arg_cmp> conditions;
};

constexpr uint32_t kAllow = SCMP_ACT_ALLOW;
// The kernel's first real-time signal (glibc's SIGRTMIN is above the two it
// keeps for itself).
constexpr scmp_datum_t kFirstRealTimeSignal = 32;

// Everything the worker, glibc (malloc, stdio, threads, abort) and the SDK
// services need once the module is loaded; the default for the rest is
// SCMP_ACT_TRAP. Opening anything (open, openat), sockets, processes
// (fork, vfork, clone without CLONE_THREAD), execve, ptrace, signals to
// other processes, new executable memory: all denied.
std::vector<SyscallRule> Allowlist(pid_t self) {
  // PROT_EXEC must be clear: the module runs only the code it was loaded
  // with (the range the worker reports in kMessageReady, which crash
  // reports and backtraces rely on), so no JIT and no injected code. glibc
  // needs no new executable mappings once the module is loaded (thread
  // stacks are not executable: the module is built with a non-executable
  // stack).
  const scmp_arg_cmp no_exec = SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
  return {
      {SCMP_SYS(read), kAllow, {}},    // stdin (/dev/null), the module's own pipes
      {SCMP_SYS(write), kAllow, {}},   // stdout/stderr: the host logs them
      {SCMP_SYS(writev), kAllow, {}},  // stdio may gather
      {SCMP_SYS(futex), kAllow, {}},   // the channel's doorbells, pthread locks
      {SCMP_SYS(mmap), kAllow, {no_exec}},      // malloc, thread stacks
      {SCMP_SYS(mprotect), kAllow, {no_exec}},  // malloc arenas, stack guards
      {SCMP_SYS(munmap), kAllow, {}},   // free
      {SCMP_SYS(mremap), kAllow, {}},   // realloc of large blocks (keeps protection)
      {SCMP_SYS(madvise), kAllow, {}},  // free() returning pages
      {SCMP_SYS(brk), kAllow, {}},      // malloc's main heap
      {SCMP_SYS(clock_gettime), kAllow, {}},    // when the vDSO falls back
      {SCMP_SYS(clock_nanosleep), kAllow, {}},  // nanosleep, usleep
      {SCMP_SYS(nanosleep), kAllow, {}},
      {SCMP_SYS(gettimeofday), kAllow, {}},
      {SCMP_SYS(getpid), kAllow, {}},   // raise(), abort()
      {SCMP_SYS(gettid), kAllow, {}},   // raise(), the crash handler
      {SCMP_SYS(getrandom), kAllow, {}},      // malloc's tcache seed, rand seeds
      {SCMP_SYS(sched_yield), kAllow, {}},
      {SCMP_SYS(sched_getaffinity), kAllow, {}},  // malloc sizes its arenas by CPU count
      {SCMP_SYS(rt_sigreturn), kAllow, {}},   // returning from any signal handler
      {SCMP_SYS(rt_sigprocmask), kAllow, {}}, // raise(), pthread_create
      {SCMP_SYS(sigaltstack), kAllow, {}},
      {SCMP_SYS(exit), kAllow, {}},        // a thread ends
      {SCMP_SYS(exit_group), kAllow, {}},  // the process ends (crash handler, exit())
      {SCMP_SYS(fstat), kAllow, {}},       // stdio sizes its buffer
      // glibc's fstat() is newfstatat(fd, "", buf, AT_EMPTY_PATH). Without
      // AT_EMPTY_PATH it is stat() of a path: denied. (With it and a
      // non-empty path the kernel still resolves the path: a module can
      // learn whether a file exists and its metadata, never its contents.)
      {SCMP_SYS(newfstatat), kAllow, {SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH)}},
      {SCMP_SYS(lseek), kAllow, {}},  // stdio on stdin
      {SCMP_SYS(close), kAllow, {}},  // fclose(stdout) and the like
      // raise() and abort(): signals to this process only.
      {SCMP_SYS(tgkill), kAllow, {SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(self), 0)}},
      {SCMP_SYS(kill), kAllow, {SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(self), 0)}},
      // pthread_create: threads share this sandbox; new processes are denied.
      {SCMP_SYS(clone), kAllow, {SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD)}},
      // clone3's flags are in memory, out of seccomp's reach: say "not
      // implemented" and glibc falls back to clone, checked above.
      {SCMP_SYS(clone3), SCMP_ACT_ERRNO(ENOSYS), {}},
      {SCMP_SYS(set_robust_list), kAllow, {}},  // every new thread registers one
      {SCMP_SYS(rseq), kAllow, {}},             // every new thread registers one
      // isatty() and terminal queries from stdio: "not a terminal".
      {SCMP_SYS(ioctl), SCMP_ACT_ERRNO(ENOTTY), {}},
      // Handlers for real-time signals only: glibc's first pthread_create
      // installs its SIGSETXID handler (33), pthread_cancel its SIGCANCEL
      // (32). Every standard signal stays as the worker set it, so no module
      // handler for SIGSEGV, SIGSYS ... hides a crash from the crash record
      // (the wasm backend has no signal handlers either).
      {SCMP_SYS(rt_sigaction), kAllow, {SCMP_A0(SCMP_CMP_GE, kFirstRealTimeSignal, 0)}},
      // Not allowed on purpose: membarrier (nothing here uses it), prctl,
      // prlimit64 and setrlimit (the limits are the host's).
  };
}

void SetLimit(int resource, rlim_t soft, rlim_t hard, const char* name) {
  rlimit limit{soft, hard};
  if (setrlimit(resource, &limit) != 0) Fail(name, errno);
}

// What loading the module needs beyond the allowlist (the first filter
// allows it, the second takes it back): receiving the assignment and
// moving its descriptors, the dynamic loader (openat of the code's memfd,
// its executable mappings), closing inherited descriptors, the limits, the
// worker's own user (BoundThreads),
// installing the second filter, and the crash handler giving a signal back
// to its default action (no crash record to write yet). `denied_when`: the
// second filter traps the call when these hold (none: always).
struct LoadingCall {
  int syscall;
  std::vector<scmp_arg_cmp> denied_when;
};

std::vector<LoadingCall> LoadingCalls() {
  const scmp_arg_cmp exec = SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC);
  return {
      {SCMP_SYS(recvmsg), {}},     {SCMP_SYS(sendto), {}},      {SCMP_SYS(fcntl), {}},
      {SCMP_SYS(dup2), {}},        {SCMP_SYS(openat), {}},      {SCMP_SYS(pread64), {}},
      {SCMP_SYS(close_range), {}}, {SCMP_SYS(prlimit64), {}},   {SCMP_SYS(setrlimit), {}},
      {SCMP_SYS(prctl), {}},       {SCMP_SYS(seccomp), {}},     {SCMP_SYS(mmap), {exec}},
      {SCMP_SYS(mprotect), {exec}},  {SCMP_SYS(setresuid), {}},  {SCMP_SYS(setresgid), {}},
      {SCMP_SYS(setgroups), {}},     {SCMP_SYS(unshare), {}},     {SCMP_SYS(getuid), {}},
      {SCMP_SYS(geteuid), {}},       {SCMP_SYS(getppid), {}},
      {SCMP_SYS(rt_sigaction), {SCMP_A0(SCMP_CMP_LT, kFirstRealTimeSignal, 0)}},
  };
}

// The BPF program for `rules` over `default_action` (libseccomp hands it out
// only through a descriptor).
SandboxFilter BuildFilter(uint32_t default_action, const std::vector<SyscallRule>& rules) {
  scmp_filter_ctx filter = seccomp_init(default_action);
  if (filter == nullptr) Fail("seccomp_init", ENOMEM);
  for (const SyscallRule& rule : rules) {
    int error = seccomp_rule_add_array(filter, rule.action, rule.syscall,
                                       static_cast<unsigned>(rule.conditions.size()),
                                       rule.conditions.data());
    if (error != 0) Fail("seccomp_rule_add", -error);
  }
  int program_fd = memfd_create("ringfence-seccomp", MFD_CLOEXEC);
  if (program_fd < 0) Fail("memfd_create", errno);
  int error = seccomp_export_bpf(filter, program_fd);
  if (error != 0) Fail("seccomp_export_bpf", -error);
  seccomp_release(filter);
  off_t bytes = lseek(program_fd, 0, SEEK_END);
  if (bytes <= 0 || bytes % sizeof(sock_filter) != 0) Fail("seccomp_export_bpf", EINVAL);
  SandboxFilter built;
  built.program.resize(static_cast<size_t>(bytes) / sizeof(sock_filter));
  if (pread(program_fd, built.program.data(), static_cast<size_t>(bytes), 0) != bytes) {
    Fail("reading the seccomp program", errno);
  }
  close(program_fd);
  return built;
}

void Install(const SandboxFilter& filter) {
  sock_fprog program{static_cast<unsigned short>(filter.program.size()),
                     const_cast<sock_filter*>(filter.program.data())};
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program, 0, 0) != 0) {
    Fail("PR_SET_SECCOMP", errno);
  }
}

}  // namespace

void CloseInheritedFds(int channel_fd) {
  // Descriptors 0, 1 and 2 are the host's /dev/null and pipes.
  unsigned channel = static_cast<unsigned>(channel_fd);
  if (channel > 3 && syscall(SYS_close_range, 3u, channel - 1, 0u) != 0) {
    Fail("close_range", errno);
  }
  if (syscall(SYS_close_range, channel + 1, ~0u, 0u) != 0) Fail("close_range", errno);
}

void SetResourceLimits(const WorkerOptions& options, uint64_t code_bytes, uint64_t region_bytes) {
  if (options.memory_limit != 0) {
    rlim_t bytes = options.memory_limit + code_bytes + region_bytes + kWorkerAddressAllowance;
    SetLimit(RLIMIT_AS, bytes, bytes, "RLIMIT_AS");
  }
  SetLimit(RLIMIT_FSIZE, 0, 0, "RLIMIT_FSIZE");
  SetLimit(RLIMIT_CORE, 0, 0, "RLIMIT_CORE");
  SetLimit(RLIMIT_NOFILE, kWorkerOpenFilesLimit, kWorkerOpenFilesLimit, "RLIMIT_NOFILE");
  if (options.cpu_seconds != 0) {
    SetLimit(RLIMIT_CPU, options.cpu_seconds, options.cpu_seconds + 1, "RLIMIT_CPU");
  }
}

void BoundThreads(pid_t parent_pid) {
  if (getuid() == 0 || geteuid() == 0) {
    uid_t id = kWorkerUidBase + static_cast<uid_t>(getpid());
    if (setgroups(0, nullptr) != 0) Fail("setgroups", errno);
    if (setresgid(id, id, id) != 0) Fail("setresgid to the worker's own group", errno);
    if (setresuid(id, id, id) != 0) Fail("setresuid to the worker's own user", errno);
  } else if (unshare(CLONE_NEWUSER) != 0) {
    Fail("unshare(CLONE_NEWUSER) for a thread count of the worker's own (user namespaces "
         "unavailable: run the host as root, or allow unprivileged user namespaces)",
         errno);
  }
  SetLimit(RLIMIT_NPROC, kWorkerThreadLimit, kWorkerThreadLimit, "RLIMIT_NPROC");
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) Fail("PR_SET_PDEATHSIG", errno);
  if (getppid() != parent_pid) std::exit(internal::kWorkerExitOrphaned);
}

SandboxFilter PrepareSandbox() {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) Fail("PR_SET_NO_NEW_PRIVS", errno);
  std::vector<SyscallRule> loading = Allowlist(getpid());
  std::vector<SyscallRule> taken_back;
  for (const LoadingCall& call : LoadingCalls()) {
    loading.push_back({call.syscall, kAllow, {}});
    taken_back.push_back({call.syscall, SCMP_ACT_TRAP, call.denied_when});
  }
  // Both are built first: building needs calls neither allows.
  SandboxFilter loading_filter = BuildFilter(SCMP_ACT_TRAP, loading);
  SandboxFilter lockdown_filter = BuildFilter(SCMP_ACT_ALLOW, taken_back);
  Install(loading_filter);
  return lockdown_filter;
}

void LockDown(const SandboxFilter& filter) { Install(filter); }

}  // namespace ringfence::worker
