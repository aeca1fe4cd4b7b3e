// ringfence-worker: runs one natively built module in a sandboxed process
// for a ringfence host (the process backend). The host spawns it:
//
//   ringfence-worker --module NAME --parent-pid PID --channel-fd N --code-fd N
//                    [--region FD:ADDRESS:SIZE]... [--memory-limit BYTES]
//                    [--cpu-seconds S]
//
// with fd 0 = /dev/null, fds 1 and 2 = pipes the host reads (the module's
// output), the channel memfd (header initialised by the host), the module's
// shared object in a memfd and each shared region's memfd inherited at the
// numbers given. Or, kept idle by the host's worker pool until a module
// needs it,
//
//   ringfence-worker --parent-pid PID --await-assignment FD
//
// and the rest of the command line, with its descriptors, arrives over the
// socket FD (src/process/worker_assignment.h). How it ends:
// src/process/worker_exit.h.
//
// Order matters: the first seccomp filter, installed before the worker
// waits, still allows what receiving the assignment, mapping, loading and
// setting limits need; all of that happens before the lockdown takes those
// calls back. No module code runs before the lockdown: the code is checked
// to give the dynamic loader nothing to run (no constructors, no IFUNC
// resolvers) and the module's entry is called only after it.
#include <linux/futex.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "src/process/channel.h"
#include "src/process/worker/await_assignment.h"
#include "src/process/worker/crash_handler.h"
#include "src/process/worker/native_module_loader.h"
#include "src/process/worker/sandbox.h"
#include "src/process/worker/worker_channel.h"
#include "src/process/worker/worker_options.h"
#include "src/process/worker_exit.h"

namespace ringfence::worker {
namespace {

using internal::ChannelLayout;

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "ringfence-worker: %s\n", what);
  std::exit(internal::kWorkerExitSetupFailed);
}

uint64_t FileSize(int fd) {
  struct stat info;
  if (fstat(fd, &info) != 0) return 0;
  return static_cast<uint64_t>(info.st_size);
}

ChannelLayout* MapChannel(int fd) {
  if (FileSize(fd) < internal::kChannelBytes) Fail("the channel fd is not a channel (too small)");
  void* memory = mmap(nullptr, internal::kChannelBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (memory == MAP_FAILED) Fail("cannot map the channel");
  auto* layout = static_cast<ChannelLayout*>(memory);
  if (layout->magic != internal::kChannelMagic || layout->version != internal::kChannelVersion) {
    Fail("the channel's magic or version is not this worker's");
  }
  return layout;
}

// Maps each region at exactly its address (module code turns the 32-bit
// offset from rf_region_offset into a pointer); returns their total size.
uint64_t MapRegions(const WorkerOptions& options) {
  uint64_t total = 0;
  for (const RegionOption& region : options.regions) {
    if (FileSize(region.fd) < region.size) Fail("a region's fd is smaller than its size");
    void* wanted = reinterpret_cast<void*>(region.address);
    void* memory = mmap(wanted, region.size, PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_FIXED_NOREPLACE, region.fd, 0);
    if (memory != wanted) Fail("cannot map a region at its address");
    close(region.fd);
    total += region.size;
  }
  return total;
}

// The kernel's robust-futex list for the serving thread: one entry, the
// channel's robust_next, whose futex word is worker_alive. When this thread
// dies for any reason the kernel finds worker_alive == our tid, replaces it
// by FUTEX_OWNER_DIED (keeping FUTEX_WAITERS) and wakes the host.
robust_list_head robust_head;

void RegisterWorkerAlive(ChannelLayout* layout) {
  auto* entry = reinterpret_cast<robust_list*>(&layout->robust_next);
  layout->robust_next = reinterpret_cast<uintptr_t>(&robust_head.list);
  robust_head.list.next = entry;
  robust_head.futex_offset = static_cast<long>(offsetof(ChannelLayout, worker_alive)) -
                             static_cast<long>(offsetof(ChannelLayout, robust_next));
  robust_head.list_op_pending = nullptr;
  if (syscall(SYS_set_robust_list, &robust_head, sizeof(robust_head)) != 0) {
    Fail("set_robust_list failed");
  }
  uint32_t tid = static_cast<uint32_t>(syscall(SYS_gettid));
  layout->worker_alive.store(tid | FUTEX_WAITERS, std::memory_order_release);
}

int Run(int argc, char** argv) {
  // 1. Die with the host; a host already gone means nobody will serve us.
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) Fail("PR_SET_PDEATHSIG failed");
  WorkerOptions options = ParseWorkerOptions(argc, argv);
  if (getppid() != options.parent_pid) std::exit(internal::kWorkerExitOrphaned);

  // 2. What needs no module: an idle worker does it before it waits.
  InstallCrashHandler();
  SandboxFilter lockdown = PrepareSandbox();
  if (options.await_fd >= 0) {
    AnnouncePrepared(options.await_fd);
    options = AwaitAssignment(options, argv[0]);
  }
  if (options.channel_fd < 3 || options.code_fd < 3) Fail("fds 0-2 are not the channel or code");

  // 3-4. The channel (and the host's notice of our death through it),
  // then the regions at their addresses.
  ChannelLayout* layout = MapChannel(options.channel_fd);
  RegisterWorkerAlive(layout);
  uint64_t region_bytes = MapRegions(options);

  // 5. The module's code, checked and mapped; none of it runs.
  uint64_t code_bytes = FileSize(options.code_fd);
  LoadedCode loaded = LoadNativeCode(options.code_fd, options.module);

  // 6-7. Nothing inherited but the channel and stdio; limits.
  CloseInheritedFds(options.channel_fd);
  SetResourceLimits(options, code_bytes, region_bytes);
  BoundThreads(options.parent_pid);
  // The module's output reaches the host's log line by line (a crash loses
  // at most the line being written).
  std::setvbuf(stdout, nullptr, _IOLBF, 0);

  // 8-9. Crash record, lockdown.
  RecordCrashesIn(layout);
  LockDown(lockdown);

  // 10. The module's first code: its entry (its tables), its constructors;
  // then serve.
  const rf_native_module* module = BindNativeModule(loaded, options.module, WorkerApi());
  StartChannel(layout, module);
  module->start();
  SendReady(loaded.code_begin, loaded.code_end, loaded.load_base);
  Serve();
}

}  // namespace
}  // namespace ringfence::worker

int main(int argc, char** argv) { return ringfence::worker::Run(argc, argv); }
