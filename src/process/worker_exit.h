// How the worker program (src/process/worker) ends, as the host sees it in
// waitpid(): the exit statuses it uses on purpose. Any other end is a
// signal (SIGKILL from the host or the kernel: a deadline, RLIMIT_CPU's hard
// limit, the parent-death signal).
#ifndef RINGFENCE_SRC_PROCESS_WORKER_EXIT_H_
#define RINGFENCE_SRC_PROCESS_WORKER_EXIT_H_

namespace ringfence::internal {

// An idle worker (--await-assignment) the host let go before giving it a
// module.
inline constexpr int kWorkerExitNotNeeded = 0;

// Setting up failed before kMessageReady: bad command line, channel magic or
// version wrong, a region could not be mapped at its address, the module's
// shared object refused to load, its entry returned NULL, versions or name
// differ, the sandbox could not be installed. The reason is one line on
// the worker's stderr ("ringfence-worker: ...").
inline constexpr int kWorkerExitSetupFailed = 1;
// The host sent something the protocol does not allow (an unknown message
// kind, an export index out of range, a reply with the wrong sequence
// number, a corrupt ring), or the ring to the host was full.
inline constexpr int kWorkerExitProtocolError = 2;
// The parent (--parent-pid) was already gone when the worker started.
inline constexpr int kWorkerExitOrphaned = 3;
// 128 + signal: a fatal signal (SIGSEGV, SIGSYS, SIGABRT, SIGXCPU, ...) was
// recorded in ChannelLayout::crash before the worker ended itself.
inline constexpr int kWorkerExitSignalBase = 128;

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_PROCESS_WORKER_EXIT_H_
