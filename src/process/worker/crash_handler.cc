#include "src/process/worker/crash_handler.h"

#include <linux/futex.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <pthread.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <type_traits>

#include "ringfence/internal/frame_walk.h"
#include "src/process/worker_exit.h"

namespace ringfence::worker {
namespace {

constexpr int kFatalSignals[] = {SIGSEGV, SIGBUS,  SIGILL,  SIGFPE, SIGABRT,
                                 SIGSYS,  SIGTRAP, SIGXCPU, SIGXFSZ};
// Big enough for the handler and a nested libc call; the serving thread's
// own stack may be exhausted when it runs.
constexpr size_t kAltStackBytes = 64 * 1024;
// A thread other than the serving one (a module's own thread) has no known
// stack bounds: its walk stays within this much above the faulting sp. A
// frame chain of garbage can still point into unmapped memory there; the
// nested fault then kills the worker without a record (the host still sees
// the signal).
constexpr uintptr_t kOtherThreadStackSpan = 256 * 1024;

std::atomic<internal::ChannelLayout*> crash_channel{nullptr};
uintptr_t serving_stack_top = 0;
pid_t serving_tid = 0;

void FatalSignal(int signal, siginfo_t* info, void* context) {
  const auto* ucontext = static_cast<const ucontext_t*>(context);
  internal::ChannelLayout* channel = crash_channel.load(std::memory_order_acquire);
  if (channel == nullptr) {
    // Nowhere to record it yet: the fault happens again (or abort()
    // raises again) with the default action.
    ::signal(signal, SIG_DFL);
    return;
  }
  internal::CrashRecord* crash = &channel->crash;
  // A second fatal signal on another thread while the first is recorded:
  // the record belongs to the first; this thread just waits to be ended.
  static std::atomic<int> claimed{0};
  if (claimed.exchange(1, std::memory_order_acq_rel) != 0) {
    // futex, not pause(): pause is not on the seccomp allowlist.
    static uint32_t never = 0;
    for (;;) syscall(SYS_futex, &never, FUTEX_WAIT_PRIVATE, 0, nullptr, nullptr, 0);
  }
  crash->signal = signal;
  crash->code = info->si_code;
  crash->address = reinterpret_cast<uintptr_t>(info->si_addr);
  crash->syscall = signal == SIGSYS ? info->si_syscall : -1;
  const greg_t* registers = ucontext->uc_mcontext.gregs;
  crash->pc = static_cast<uint64_t>(registers[REG_RIP]);
  uintptr_t sp = static_cast<uintptr_t>(registers[REG_RSP]);
  uintptr_t frame = static_cast<uintptr_t>(registers[REG_RBP]);
  uintptr_t top = static_cast<pid_t>(syscall(SYS_gettid)) == serving_tid
                      ? serving_stack_top
                      : sp + kOtherThreadStackSpan;
  // The frame-pointer walk of module traps (frame_walk.h), over [sp, top):
  // a corrupt chain ends it instead of faulting or looping. Return addresses
  // anywhere are recorded; the host keeps the leading ones in module code.
  static_assert(std::is_same_v<uintptr_t, uint64_t>, "the record's words are addresses");
  crash->depth = rf_walk_frames(frame, sp, top, 0, UINTPTR_MAX, crash->backtrace,
                                internal::kCrashBacktraceMax);
  crash->written.store(1, std::memory_order_release);
  // The host need not wait for the kernel to tear this process down to
  // learn of the crash.
  channel->host_doorbell.fetch_add(1, std::memory_order_seq_cst);
  internal::SharedFutexWake(channel->host_doorbell);
  syscall(SYS_exit_group, internal::kWorkerExitSignalBase + signal);
  __builtin_unreachable();
}

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "ringfence-worker: cannot install the crash handler: %s\n", what);
  std::exit(internal::kWorkerExitSetupFailed);
}

// The top of the calling thread's stack.
uintptr_t CurrentStackTop() {
  pthread_attr_t attributes;
  void* base = nullptr;
  size_t size = 0;
  if (pthread_getattr_np(pthread_self(), &attributes) != 0 ||
      pthread_attr_getstack(&attributes, &base, &size) != 0) {
    Fail("cannot find the serving thread's stack");
  }
  pthread_attr_destroy(&attributes);
  return reinterpret_cast<uintptr_t>(base) + size;
}

}  // namespace

void RecordCrashesIn(internal::ChannelLayout* channel) {
  crash_channel.store(channel, std::memory_order_release);
}

void InstallCrashHandler() {
  serving_stack_top = CurrentStackTop();
  serving_tid = static_cast<pid_t>(syscall(SYS_gettid));
  // The alternate stack, with a guard page below it.
  void* memory = mmap(nullptr, kAltStackBytes + 4096, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) Fail("no memory for the alternate stack");
  if (mprotect(memory, 4096, PROT_NONE) != 0) Fail("mprotect");
  stack_t alternate{};
  alternate.ss_sp = static_cast<char*>(memory) + 4096;
  alternate.ss_size = kAltStackBytes;
  if (sigaltstack(&alternate, nullptr) != 0) Fail("sigaltstack");
  struct sigaction action{};
  action.sa_sigaction = FatalSignal;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK;
  // Every fatal signal is blocked while the handler runs: a second one on
  // this thread would otherwise interrupt the record half-written.
  sigemptyset(&action.sa_mask);
  for (int signal : kFatalSignals) sigaddset(&action.sa_mask, signal);
  for (int signal : kFatalSignals) {
    if (sigaction(signal, &action, nullptr) != 0) Fail("sigaction");
  }
}

}  // namespace ringfence::worker
