#include "src/process/process_instance.h"

#include <linux/futex.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>
#include <optional>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "ringfence/internal/thread_gate.h"
#include "src/compartment/compartment_core.h"
#include "src/gate/futex.h"
#include "src/process/channel.h"
#include "src/process/output_pump.h"
#include "src/process/process_services.h"
#include "src/process/worker_cpu_watch.h"
#include "src/process/worker_messages.h"
#include "src/process/worker_path.h"
#include "src/process/worker_pool.h"
#include "src/process/worker_spawn.h"
#include "src/services/region_mapping.h"

namespace ringfence::internal {
namespace {

// How long a worker may take to start (spawn, load, lock down, run the
// module's constructors) when the thread has no deadline of its own and
// the compartment no call_timeout.
constexpr uint64_t kStartLimitNs = 10'000'000'000;
// With CompartmentOptions::call_timeout set, the start-up limit is that
// timeout, but not less than this: a start is not a call, and a tight call
// timeout must not fail a healthy worker's start.
constexpr uint64_t kMinStartLimitNs = 1'000'000'000;
// While starting, the host checks on the worker this often (the robust
// futex that reports its death is registered only part-way through).
constexpr uint64_t kStartPollNs = 1'000'000;
// During a call, how often a host that has been waiting asks the kernel
// whether the worker still lives. The robust futex (worker_alive) normally
// reports its death at once, but it is the worker's to set up: a worker
// that never registered it, or overwrote it, must not make the host wait
// forever.
constexpr uint64_t kDeathPollNs = 100'000'000;

// One live instance: the worker and the channel. Lives in the instance
// memory after the core (instance_size), built by Instantiate and cleared
// by Shutdown; all fields belong to the thread inside the compartment.
struct ProcessInstance {
  int channel_fd = -1;
  ChannelLayout* channel = nullptr;
  pid_t pid = 0;
  int pidfd = -1;
  // The assignment socket, kept until the worker is ready: closing it with
  // the worker's kWorkerPrepared unread would reset the worker's end
  // before it read its assignment.
  int socket_fd = -1;
  WorkerCode code;  // file_size from the module, the rest from the worker's ready
  uint32_t call_seq = 0;
  uint32_t service_seq = 0;
  // Its CPU outside calls is bounded (worker_cpu_watch.h) from when it is
  // ready until it is reaped; null before and after, or if unwatchable.
  WatchedWorker* watch = nullptr;
  uint32_t call_depth = 0;  // ProcessCall frames of this instance on the stack
  wasm_rt_memory_t payload{};  // the core's memory: the channel's payload area
};

ProcessInstance* InstanceOf(rf_import_context* core) {
  return static_cast<ProcessInstance*>(InstanceOfCore(core));
}

void CloseSocket(ProcessInstance& p) {
  if (p.socket_fd >= 0) close(p.socket_fd);
  p.socket_fd = -1;
}

void StopWatching(ProcessInstance& p) {
  UnwatchWorker(p.watch);
  p.watch = nullptr;
}

// Ends the worker (if any) and waits for it; idempotent. `status` gets how
// it ended (as waitid reports it) unless null.
void Reap(ProcessInstance& p, siginfo_t* status) {
  CloseSocket(p);
  StopWatching(p);
  if (p.pidfd < 0) return;
  siginfo_t info{};
  if (!ReapIfExited(p.pidfd, &info)) {
    KillWorker(p.pidfd);
    while (waitid(P_PIDFD, static_cast<id_t>(p.pidfd), &info, WEXITED) != 0 && errno == EINTR) {
    }
  }
  if (status != nullptr) *status = info;
  close(p.pidfd);
  p.pidfd = -1;
  p.pid = 0;
}

// The worker has exited (it is not reaped: Reap still collects its status).
bool HasExited(const ProcessInstance& p) {
  siginfo_t info{};
  return waitid(P_PIDFD, static_cast<id_t>(p.pidfd), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
         info.si_pid != 0;
}

void Shutdown(ProcessInstance& p) {
  Reap(p, nullptr);
  // Unmapping is done by the pool's thread, off the restart path.
  if (p.channel != nullptr || p.channel_fd >= 0) {
    RetireWorker(RetiredWorker{-1, p.channel, kChannelBytes, p.channel_fd});
  }
  p.channel = nullptr;
  p.channel_fd = -1;
}

// Sets the thread's pending trap from how the worker ended: its crash
// record if its signal handler left one, else its exit status. Reaps it,
// or has the pool reap it.
void TakeWorkerDeath(rf_import_context* core, ProcessInstance& p) {
  rf_thread& thread = t_thread_gate.thread;
  if (p.watch != nullptr && p.watch->stopped.load(std::memory_order_acquire)) {
    // The host killed it (whatever crash record it may have written since).
    uint64_t charged_ms = p.watch->charged_ns.load(std::memory_order_relaxed) / 1'000'000;
    Reap(p, nullptr);
    thread.trap_kind = RF_TRAP_SIGNAL;
    core->worker_signal = SIGKILL;
    core->worker_detail = fmt::format(
        "the host stopped the worker: it used {} ms of CPU outside calls (the bound is {} ms "
        "beyond {}% of a core), e.g. a thread left running after a call returned",
        charged_ms, kIdleCpuBurstNs / 1'000'000, static_cast<int>(kIdleCpuShare * 100));
    return;
  }
  CrashRecord record;
  std::memcpy(static_cast<void*>(&record), static_cast<const void*>(&p.channel->crash),
              sizeof record);
  if (std::optional<WorkerCrash> crash = DecodeCrashRecord(record, p.code)) {
    // The worker's handler ends it right after the record (exit_group);
    // SIGKILL from here stops all its threads in any case (a record may be
    // a lie). The kernel's teardown of the process (~0.7 ms) needs no
    // waiting here: the pool's thread reaps it.
    CloseSocket(p);
    StopWatching(p);
    KillWorker(p.pidfd);
    RetireWorker(RetiredWorker{p.pidfd, nullptr, 0, -1});
    p.pidfd = -1;
    p.pid = 0;
    thread.trap_kind = crash->trap_kind;
    thread.trap_pc = crash->pc;
    std::copy_n(crash->backtrace, crash->backtrace_depth, thread.backtrace);
    thread.backtrace_depth = crash->backtrace_depth;
    core->worker_signal = crash->signal;
    core->worker_reported = true;
    if (crash->trap_kind == RF_TRAP_SYSCALL) core->worker_syscall = std::move(crash->syscall);
    return;
  }
  siginfo_t status{};
  Reap(p, &status);
  if (status.si_code == CLD_EXITED) {
    thread.trap_kind = RF_TRAP_EXIT;
    thread.exit_code = status.si_status;
    return;
  }
  if (status.si_code == CLD_KILLED || status.si_code == CLD_DUMPED) {
    thread.trap_kind = RF_TRAP_SIGNAL;
    core->worker_signal = status.si_status;
    core->worker_detail = fmt::format("the worker process was killed by signal {} ({})",
                                      status.si_status, sigabbrev_np(status.si_status));
    return;
  }
  thread.trap_kind = RF_TRAP_WORKER;
  core->worker_detail = "the worker process vanished";
}

void Violation(rf_import_context* core, ProcessInstance& p, const std::string& what) {
  Reap(p, nullptr);
  t_thread_gate.thread.trap_kind = RF_TRAP_PROTOCOL;
  if (&what != &core->worker_detail) core->worker_detail = what;
}

// Ends the call with `kind` (a kill or the deadline): the worker dies now.
void Abandon(ProcessInstance& p, uint32_t kind) {
  Reap(p, nullptr);
  t_thread_gate.thread.trap_kind = kind;
}

// Sleeps until the worker rings, dies, the compartment is killed or
// `deadline_ns` passes (0: none), whichever is first (or spuriously).
void SleepOnChannel(rf_import_context* core, ProcessInstance& p, uint32_t doorbell,
                    uint32_t alive, uint64_t deadline_ns) {
  futex_waitv waiters[3] = {};
  waiters[0].uaddr = reinterpret_cast<uintptr_t>(FutexAddress(p.channel->host_doorbell));
  waiters[0].val = doorbell;
  waiters[0].flags = FUTEX_32;
  waiters[1].uaddr = reinterpret_cast<uintptr_t>(FutexAddress(p.channel->worker_alive));
  waiters[1].val = alive;
  waiters[1].flags = FUTEX_32;
  waiters[2].uaddr = reinterpret_cast<uintptr_t>(FutexAddress(core->kill_kind));
  waiters[2].val = RF_TRAP_NONE;
  waiters[2].flags = FUTEX_32 | FUTEX_PRIVATE_FLAG;
  timespec deadline{static_cast<time_t>(deadline_ns / 1'000'000'000),
                    static_cast<long>(deadline_ns % 1'000'000'000)};
  syscall(SYS_futex_waitv, waiters, 3, 0, deadline_ns != 0 ? &deadline : nullptr,
          CLOCK_MONOTONIC);
}

// The next message from the worker. False if none will come: then the
// thread's trap_kind says why (the worker died, garbage on the ring, a
// kill, the deadline) and the worker is reaped.
bool NextMessage(rf_import_context* core, ProcessInstance& p, Message* message) {
  uint64_t deadline_ns = t_thread_gate.deadline_ns;
  uint64_t death_check_ns = 0;  // set when the host first sleeps
  for (uint32_t spin = 0;; ++spin) {
    // Before the ring: a worker that never lets it run empty (a flood of
    // requests) must not keep a kill or the deadline (the watchdog's kill)
    // from ending the call.
    if (uint32_t kind = core->kill_kind.load(); kind != RF_TRAP_NONE) {
      Abandon(p, kind);
      return false;
    }
    uint32_t doorbell = p.channel->host_doorbell.load(std::memory_order_acquire);
    uint32_t alive = p.channel->worker_alive.load(std::memory_order_acquire);
    switch (RingPop(p.channel->to_host, message)) {
      case PopOutcome::kMessage: return true;
      case PopOutcome::kCorrupt:
        Violation(core, p, "the worker's ring indices are corrupt");
        return false;
      case PopOutcome::kEmpty: break;
    }
    // The worker's death (the kernel's robust-futex notice), or its crash
    // record, which its signal handler rings for before it ends itself.
    if ((alive & FUTEX_OWNER_DIED) != 0 ||
        p.channel->crash.written.load(std::memory_order_acquire) != 0) {
      TakeWorkerDeath(core, p);
      return false;
    }
    if (spin < kSpinIterations) {
      __builtin_ia32_pause();
      continue;
    }
    uint64_t now = MonotonicNs();
    if (deadline_ns != 0 && now >= deadline_ns) {
      Abandon(p, RF_TRAP_TIMEOUT);
      return false;
    }
    if (death_check_ns == 0) {
      death_check_ns = now + kDeathPollNs;
    } else if (now >= death_check_ns) {
      if (HasExited(p)) {
        TakeWorkerDeath(core, p);
        return false;
      }
      death_check_ns = now + kDeathPollNs;
    }
    uint64_t wake_ns = deadline_ns != 0 ? std::min(deadline_ns, death_check_ns) : death_check_ns;
    SleepOnChannel(core, p, doorbell, alive, wake_ns);
  }
}

bool Send(rf_import_context* core, ProcessInstance& p, const Message& message) {
  if (SendMessage(p.channel->to_worker, p.channel->worker_doorbell, message)) return true;
  // The worker is not reading: it is stuck, or playing with our indices.
  Violation(core, p, "the worker's ring is full");
  return false;
}

// The unwinder for the frames ProcessCall arms: compiled by the same
// compiler as their __builtin_setjmp, as __builtin_longjmp requires.
__attribute__((noreturn)) void UnwindProcessFrame(rf_frame* frame) {
  __builtin_longjmp(frame->jmp, 1);
}

// Whether the (dead) worker never got as far as its channel: killed while
// it waited idle, most likely. A worker marks worker_alive as soon as it
// has mapped the channel, before it loads the module.
bool DiedIdle(const ProcessInstance& p) {
  return p.channel->worker_alive.load(std::memory_order_acquire) == 0;
}

// Ends a start that failed: the worker (if any) is reaped and the thread's
// trap says why.
void FailStart(rf_import_context* core, ProcessInstance& p, uint32_t kind, std::string detail) {
  Reap(p, nullptr);
  t_thread_gate.thread.trap_kind = kind;
  core->worker_detail = std::move(detail);
}

enum class Readiness { kReady, kDiedIdle, kFailed };

// Waits for the assigned worker's first message, into `ready`. kFailed with
// the thread's trap set (and the worker reaped) if it died, broke the ring,
// was killed or missed `deadline_ns`; kDiedIdle (not reaped) if it died
// before reading its assignment.
Readiness AwaitReady(rf_import_context* core, ProcessInstance& p, uint64_t deadline_ns,
                     Message* ready) {
  while (true) {
    uint32_t doorbell = p.channel->host_doorbell.load(std::memory_order_acquire);
    PopOutcome popped = RingPop(p.channel->to_host, ready);
    if (popped == PopOutcome::kMessage) return Readiness::kReady;
    if (popped == PopOutcome::kCorrupt) {
      Violation(core, p, "the worker's ring indices are corrupt");
      return Readiness::kFailed;
    }
    if (HasExited(p)) {
      if (DiedIdle(p)) return Readiness::kDiedIdle;
      TakeWorkerDeath(core, p);
      if (core->worker_detail.empty()) core->worker_detail = "the worker died while starting";
      return Readiness::kFailed;
    }
    if (uint32_t kind = core->kill_kind.load(); kind != RF_TRAP_NONE) {
      Abandon(p, kind);
      return Readiness::kFailed;
    }
    uint64_t now = MonotonicNs();
    if (now >= deadline_ns) {
      FailStart(core, p, RF_TRAP_TIMEOUT, "the worker did not start in time");
      return Readiness::kFailed;
    }
    SharedFutexWait(p.channel->host_doorbell, doorbell, std::min(kStartPollNs, deadline_ns - now));
  }
}

// Starts the worker and waits until it is ready. False with the thread's
// trap set (and the worker reaped) if it is not.
bool StartWorker(rf_import_context* core, ProcessInstance& p) {
  auto fail = [&](uint32_t kind, std::string detail) {
    FailStart(core, p, kind, std::move(detail));
    return false;
  };
  StatusOr<std::string> program = WorkerProgramPath();
  if (!program.ok()) return fail(RF_TRAP_WORKER, program.status().message());
  p.channel_fd = memfd_create("ringfence-channel", MFD_CLOEXEC);
  if (p.channel_fd < 0 || ftruncate(p.channel_fd, kChannelBytes) != 0) {
    return fail(RF_TRAP_WORKER, fmt::format("cannot make a channel: {}", std::strerror(errno)));
  }
  void* shared = mmap(nullptr, kChannelBytes, PROT_READ | PROT_WRITE, MAP_SHARED, p.channel_fd, 0);
  if (shared == MAP_FAILED) {
    return fail(RF_TRAP_WORKER, fmt::format("cannot map a channel: {}", std::strerror(errno)));
  }
  p.channel = static_cast<ChannelLayout*>(shared);  // zero-filled by ftruncate
  p.channel->magic = kChannelMagic;
  p.channel->version = kChannelVersion;

  WorkerAssignment assignment;
  assignment.module_name = core->module->name();
  assignment.channel_fd = p.channel_fd;
  assignment.code_fd = core->module->native_code_fd();
  assignment.memory_limit_bytes = uint64_t{core->memory_limit_pages} * 65536;
  for (const auto& [name, object] : core->provided) {
    if (object->handle_kind() != HandleObject::Kind::kRegion) continue;
    const auto& mapping = static_cast<const RegionMapping&>(*object);
    assignment.regions.push_back({mapping.region().fd(), mapping.offset(), mapping.size()});
  }
  // A restart on demand runs before its call's deadline is set, and Create
  // has none: then the compartment's call_timeout bounds the start too.
  uint64_t deadline_ns = t_thread_gate.deadline_ns;
  if (deadline_ns == 0) {
    uint64_t limit_ns =
        core->start_limit_ns != 0 ? std::max(core->start_limit_ns, kMinStartLimitNs) : kStartLimitNs;
    deadline_ns = MonotonicNs() + limit_ns;
  }
  // An idle worker may die before it reads its assignment (killed from
  // outside while it waited): then one more is taken, which the pool
  // spawns if it has none. Any later failure is the start's.
  Message ready;
  for (int attempt = 0;; ++attempt) {
    bool last = attempt == 1;
    StatusOr<IdleWorker> worker = TakeIdleWorker(*program);
    if (!worker.ok()) return fail(RF_TRAP_WORKER, worker.status().message());
    p.pid = worker->pid;
    p.pidfd = std::exchange(worker->pidfd, -1);
    Status assigned = AssignWorker(*worker, assignment);
    p.socket_fd = std::exchange(worker->socket_fd, -1);
    if (assigned.ok()) {
      PumpWorkerOutput(core->module->name(), std::exchange(worker->stdout_fd, -1),
                       std::exchange(worker->stderr_fd, -1));
    }
    CloseIdleWorker(*worker);
    if (!assigned.ok()) {
      if (last) return fail(RF_TRAP_WORKER, assigned.message());
      Reap(p, nullptr);
      continue;
    }
    switch (AwaitReady(core, p, deadline_ns, &ready)) {
      case Readiness::kReady: break;
      case Readiness::kDiedIdle:
        if (!last) {
          Reap(p, nullptr);
          continue;
        }
        TakeWorkerDeath(core, p);
        return false;
      case Readiness::kFailed: return false;
    }
    break;
  }
  CloseSocket(p);
  std::optional<WorkerCode> code = DecodeReady(ready, p.code.file_size);
  if (!code) {
    Violation(core, p, fmt::format("the worker's first message (kind {}) is not a valid ready",
                                   ready.kind));
    return false;
  }
  p.code = *code;
  return true;
}

void Instantiate(rf_thread* thread, void* instance, rf_import_context* core) {
  auto* p = new (instance) ProcessInstance();
  p->code.file_size = core->module->native_code_size();
  core->worker_signal = 0;
  core->worker_syscall.clear();
  core->worker_detail.clear();
  core->worker_reported = false;
  if (!StartWorker(core, *p)) return;  // thread->trap_kind says why
  p->watch = WatchWorker(p->pid, p->pidfd);
  p->payload.data = p->channel->payload;
  p->payload.size = kPayloadBytes;
  p->payload.pages = 1;
  p->payload.max_pages = 1;
  core->memory = &p->payload;
  (void)thread;
}

void FreeInstance(void* instance) { Shutdown(*static_cast<ProcessInstance*>(instance)); }

wasm_rt_memory_t* Memory(void* instance) { return &static_cast<ProcessInstance*>(instance)->payload; }

// The call's exchange with the worker, after the frame is armed. Holds
// nothing that needs destruction: a service may unwind this thread past it.
void Exchange(rf_import_context* core, ProcessInstance& p, uint32_t index, const uint64_t* args,
              uint64_t* result) {
  Message call{};
  call.kind = kMessageCall;
  call.seq = ++p.call_seq;
  call.a = index;
  uint32_t params = static_cast<uint32_t>(core->module->descriptor().exports[index].signature.params.size());
  for (uint32_t i = 0; i < params && i < 6; ++i) call.slots[i] = args[i];
  if (!Send(core, p, call)) return;
  Message message;
  while (NextMessage(core, p, &message)) {
    CallMessage what = ClassifyCallMessage(message, call.seq, p.service_seq);
    if (what == CallMessage::kReturn) {
      *result = message.slots[0];
      return;
    }
    if (what == CallMessage::kViolation) {
      Violation(core, p, fmt::format("unexpected message kind {} seq {} during call {} of {}",
                                     message.kind, message.seq, call.seq,
                                     core->module->descriptor().exports[index].name));
      return;
    }
    p.service_seq = message.seq;
    Message reply{};
    reply.kind = kMessageServiceReply;
    reply.seq = message.seq;
    if (!ServeRequest(core, message, &reply.slots[0])) {
      Violation(core, p, core->worker_detail);
      return;
    }
    // A nested call into this module may have trapped meanwhile (and ended
    // the worker): then this call ends with the same trap.
    if (p.channel == nullptr || p.pidfd < 0) {
      uint32_t kind = core->kill_kind.load();
      t_thread_gate.thread.trap_kind = kind != RF_TRAP_NONE ? kind : uint32_t{RF_TRAP_WORKER};
      return;
    }
    if (!Send(core, p, reply)) return;
  }
}

}  // namespace

void MakeProcessAbi(const Module& module, rf_module_abi* abi, std::vector<rf_export>* exports) {
  exports->clear();
  for (const ExportInfo& info : module.descriptor().exports) {
    rf_export entry{};
    entry.name = info.name.c_str();
    exports->push_back(entry);
  }
  *abi = rf_module_abi{};
  abi->abi_version = RF_MODULE_ABI_VERSION;
  abi->name = module.descriptor().name.c_str();
  abi->instance_size = sizeof(ProcessInstance);
  abi->instantiate = Instantiate;
  abi->free_instance = FreeInstance;
  abi->memory = Memory;
  abi->export_count = static_cast<uint32_t>(exports->size());
  abi->exports = exports->data();
  abi->unwind = UnwindProcessFrame;
}

void ProcessCall(rf_import_context* core, uint32_t index, const uint64_t* args, uint64_t* result) {
  rf_thread* thread = &t_thread_gate.thread;
  ProcessInstance* p = InstanceOf(core);
  // A service that ends in a trap (kill, deadline, injected fault) unwinds
  // to here; the worker, stopped mid-request, dies with the call.
  rf_frame frame;
  frame.prev = thread->top;
  frame.instance = reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(p) | RF_FRAME_MODULE_GATE);
  if (__builtin_setjmp(frame.jmp)) {
    t_thread_gate.thread.top = frame.prev;
    ProcessInstance& unwound = *InstanceOf(core);
    Reap(unwound, nullptr);
    unwound.call_depth = 0;
    return;
  }
  thread->top = &frame;
  if (p->call_depth++ == 0) CallBegins(p->watch);
  Exchange(core, *p, index, args, result);
  if (--p->call_depth == 0) CallEnds(p->watch);
  thread->top = frame.prev;
}

}  // namespace ringfence::internal
