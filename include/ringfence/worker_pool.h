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

#include <cstddef>

namespace ringfence {

// How many idle workers the host keeps ready (1 by default). 0: none, each
// start spawns a worker and waits for it. More: for hosts that restart
// several process compartments at once. Surplus idle workers exit.
void SetIdleWorkers(size_t count);

}  // namespace ringfence

#endif  // RINGFENCE_WORKER_POOL_H_
