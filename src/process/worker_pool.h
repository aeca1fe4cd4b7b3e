// The worker pool: one background thread, shared by the whole process, that
// starts worker processes ahead of need and reaps the ones that died.
//
// Starting a worker (exec, dynamic loading, building its sandbox filter)
// takes milliseconds; a restart takes an idle worker that has done all of
// that and gives it the module (worker_spawn.h), so only loading the
// module and locking down remain. Every worker is spawned by the pool's
// thread, which lives as long as the process: a worker's parent-death
// signal follows the thread that spawned it.
//
// Thread-safe. The thread starts on first use.
#ifndef RINGFENCE_SRC_PROCESS_WORKER_POOL_H_
#define RINGFENCE_SRC_PROCESS_WORKER_POOL_H_

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "ringfence/status.h"
#include "src/process/worker_spawn.h"

namespace ringfence::internal {

// An idle worker running `program`, now the caller's: a prepared one if
// there is one, else one still preparing, else one the pool's thread starts
// now (this waits for the spawn). The pool then starts a replacement in the
// background. Idle workers of another program are let go. kUnavailable if
// the spawn fails.
StatusOr<IdleWorker> TakeIdleWorker(const std::string& program);

// A worker that has been sent SIGKILL and is known to be ending, with the
// channel the host mapped for it: the pool's thread waits for it to exit,
// reaps it, then unmaps and closes the channel. Takes ownership.
struct RetiredWorker {
  int pidfd = -1;
  void* channel = nullptr;
  size_t channel_bytes = 0;
  int channel_fd = -1;
};
void RetireWorker(RetiredWorker worker);

// Its size: SetIdleWorkers and WaitForIdleWorkers (ringfence/worker_pool.h).

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_PROCESS_WORKER_POOL_H_
