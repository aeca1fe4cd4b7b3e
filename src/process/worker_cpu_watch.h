// Bounds the CPU a worker process uses while the host has no call in it.
//
// Inside a call the worker may use as much CPU as it likes, on as many
// cores as there are: the call's deadline (or its caller) bounds it, and
// the worker dies with a call that passes its deadline. Outside calls a
// worker has nothing to do, but module code can leave a thread behind that
// spins (or keep one spinning next to short calls). One host thread
// samples every watched worker's process CPU clock (all its threads) every
// kCpuWatchPeriodNs and charges it the CPU it used beyond what the calls
// in that period could account for (their wall time × the cores); the
// charge drains at kIdleCpuShare of a core, and a worker whose charge
// passes kIdleCpuBurstNs is sent SIGKILL. A spinning thread is so stopped
// within about kIdleCpuBurstNs of CPU plus two periods.
//
// The host's cost per call: two reads of the coarse clock (vDSO) and two
// atomic stores (on entry into and return from the worker), none per
// nested call.
#ifndef RINGFENCE_SRC_PROCESS_WORKER_CPU_WATCH_H_
#define RINGFENCE_SRC_PROCESS_WORKER_CPU_WATCH_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>

namespace ringfence::internal {

inline constexpr uint64_t kCpuWatchPeriodNs = 50'000'000;
inline constexpr uint64_t kIdleCpuBurstNs = 200'000'000;
inline constexpr double kIdleCpuShare = 0.05;

// One watched worker. Created by WatchWorker; the instance that owns the
// worker writes the call fields from its calling thread, the watch thread
// reads them. Freed by the watch thread after UnwatchWorker.
struct WatchedWorker {
  // Wall time spent in finished calls, and when the current call began
  // (0: none), by CLOCK_MONOTONIC_COARSE. Written by the instance's thread
  // only.
  std::atomic<uint64_t> call_ns_total{0};
  std::atomic<uint64_t> call_began_ns{0};
  // Set by the watch thread when it stopped the worker; the CPU it had been
  // charged then.
  std::atomic<bool> stopped{false};
  std::atomic<uint64_t> charged_ns{0};
};

// Starts watching worker `pid` (`pidfd` is duplicated: the caller keeps its
// own). nullptr if the worker's CPU clock cannot be had (then it is not
// watched). Thread-safe.
WatchedWorker* WatchWorker(pid_t pid, int pidfd);

// Stops watching; `worker` must not be used afterwards. Thread-safe.
void UnwatchWorker(WatchedWorker* worker);

// Marks a call into the worker as begun / ended (outermost calls only).
void CallBegins(WatchedWorker* worker);
void CallEnds(WatchedWorker* worker);

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_PROCESS_WORKER_CPU_WATCH_H_
