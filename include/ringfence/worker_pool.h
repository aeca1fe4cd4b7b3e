// The process backend's pool of idle worker processes.
//
// A process compartment's start (Create, a restart) hands the module to an
// idle worker: one already started, its libraries loaded and its sandbox
// installed, so only loading the module and locking down remain (about a
// quarter of a cold start). One background thread per host process keeps
// the pool filled and reaps crashed workers; it starts on the first
// process compartment. See docs/process-backend.md.
//
// Thread-safety: safe from any thread.
#ifndef RINGFENCE_WORKER_POOL_H_
#define RINGFENCE_WORKER_POOL_H_

#include <chrono>
#include <cstddef>

namespace ringfence {

inline constexpr size_t kDefaultIdleWorkers = 1;

// How many idle workers the host keeps ready (kDefaultIdleWorkers until
// set). 0: none, each start spawns a worker and waits for it. More: for
// hosts that restart several process compartments at once. Surplus idle
// workers exit.
void SetIdleWorkers(size_t count);

// Waits until the pool holds the idle workers SetIdleWorkers asks for, each
// ready for a module, and has reaped every worker that died or was let go;
// at once if no process compartment was made yet. False if starting a
// worker failed meanwhile or `limit` passed first. For a host about to need
// fast starts, and for measurements that must not time the pool's
// background work.
bool WaitForIdleWorkers(std::chrono::nanoseconds limit = std::chrono::seconds(10));

}  // namespace ringfence

#endif  // RINGFENCE_WORKER_POOL_H_
